#!/usr/bin/env bash
# Kernel tier of NAT traversal (RFC 7296 2.23, RFC 3948): A sits behind an
# nftables masquerade router, B is outside.
#   1. xiked A -> xiked B: the IKE SA floats to 4500, both sides' states
#      carry ESP in UDP (encap espinudp), ping crosses the tunnel; a capture
#      on the router's public side shows ESP only inside UDP 4500 and A's
#      NAT keepalives (one octet 0xFF, counted by the router too) when idle;
#   2. the NAT mapping changes under a running ping (the masquerade port
#      range moved, conntrack flushed): B follows the kernel's
#      XFRM_MSG_MAPPING; the outage is printed and bounded;
#   3. the mapping changes again with the tunnel idle: A's next IKE message
#      (a liveness check) comes from the new port and B moves the IKE SA and
#      its Child SAs before any ESP does (RFC 7296 2.23);
#   4. strongSwan behind the NAT initiating to xiked B, and a mapping change
#      under ping that xiked follows;
#   5. xiked A behind the NAT initiating to strongSwan.
# Dead peer detection has its own scenario (dpd.sh).
#   tests/vm/run tests/vm/scenarios/natt.sh BUILD_DIR
# XIKED_VM_OUT=DIR keeps the daemons' logs, the capture and the pings.
#
# Topology (namespaces; inner addresses on lo):
#   a (xiked A / strongSwan)  veth_a 192.168.1.2/24 -- veth_ra 192.168.1.1  r  veth_rb 203.0.113.1/24 -- veth_b 203.0.113.2  b (xiked B / strongSwan)
#     10.1.0.1                                (masquerade out of veth_rb)                              10.2.0.1
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$here/../lib.sh"
# shellcheck source=tests/vm/xiked.sh
. "$here/../xiked.sh"
vm_require
xk_init "${1:-build}"
CAP_DIR=/tmp/xiked-natt
mkdir -p "$CAP_DIR"
CAP_PID=""
PING_PID=""
save_logs() {
  [ -n "${XIKED_VM_OUT:-}" ] || return 0
  local d
  # Files only: 9p refuses to create sockets.
  for d in "$XK_DIR" "$VM_SS_DIR" "$CAP_DIR"; do
    mkdir -p "$XIKED_VM_OUT/natt/${d##*/}"
    find "$d" -type f \( -name '*.log' -o -name '*.conf' -o -name '*.out' -o -name '*.txt' \
      -o -name '*.pcap' \) -exec cp {} "$XIKED_VM_OUT/natt/${d##*/}/" \; 2>/dev/null || true
  done
}
on_exit() {
  local rc=$?
  set +e
  cap_stop
  [ -z "$PING_PID" ] || kill "$PING_PID" 2>/dev/null
  xk_cleanup
  save_logs
  (exit "$rc")
  vm_on_exit
}
trap on_exit EXIT
export XIKED_CHARON_LOG=${XIKED_CHARON_LOG:-2}

note "kernel $(uname -r)"
if vm_kernel_init; then ok "load IPsec modules, warm up kernel algorithms"
else fail "load IPsec modules, warm up kernel algorithms"; fi
modprobe -a nf_tables nft_nat nft_masq nft_chain_nat nf_nat nf_conntrack_netlink 2>/dev/null || true
T0=${EPOCHREALTIME/./}

# ---------------------------------------------------------------- topology
ns_new a r b
ns_link a veth_a r veth_ra
ns_link r veth_rb b veth_b
ns_addr a veth_a 192.168.1.2/24
ns_addr r veth_ra 192.168.1.1/24
ns_addr r veth_rb 203.0.113.1/24
ns_addr b veth_b 203.0.113.2/24
ns_addr a lo 10.1.0.1/32
ns_addr b lo 10.2.0.1/32
# A's default route through its NAT router, as a host behind one has; the routes into
# the tunnel are xiked's (table 220).
ns a ip route add default via 192.168.1.1
ns r sysctl -qw net.ipv4.ip_forward=1
# Masquerade A behind 203.0.113.1; count one-octet UDP payloads to 4500 (keepalives).
ns r nft -f - <<'EOF'
table ip nat {
  chain post {
    type nat hook postrouting priority 100;
    oifname "veth_rb" masquerade
  }
}
table ip xkcount {
  counter keepalives {
  }
  chain fw {
    type filter hook forward priority 0;
    udp dport 4500 udp length 9 counter name "keepalives"
  }
}
EOF
check "router forwards a -> b (masqueraded)" ns_ping a -c 1 -W 5 203.0.113.2
# Inner addresses take only what came out of a tunnel, so a ping that gets
# through proves the tunnel (the routes and the NAT alone would carry it).
for n in a b; do
  ns "$n" nft -f - <<'EOF'
table inet tunnel_only {
  chain in {
    type filter hook input priority 0;
    ip daddr 10.0.0.0/8 meta ipsec missing drop
  }
}
EOF
done
check "without a tunnel, nothing gets through" eval '! ns_ping a -c 1 -W 1 -I 10.1.0.1 10.2.0.1'

keepalives() { ns r nft list counter ip xkcount keepalives | sed -nE 's/.*packets ([0-9]+).*/\1/p'; }

# nat_remap [PORTS]: UDP leaving the router now takes a port of PORTS (e.g.
# 20000-20099; none: the source port is kept where free) and the router
# forgets every mapping, as a NAT reboot or a mapping timeout would.
nat_remap() {
  local rules='oifname "veth_rb" masquerade'
  [ -z "${1:-}" ] || rules="oifname \"veth_rb\" meta l4proto udp masquerade to :$1; $rules"
  # One transaction: with the chain empty for a moment, new flows would leave
  # untranslated (B would see, and follow, A's private address).
  ns r nft -f - <<EOF
flush chain ip nat post
table ip nat {
  chain post {
    $rules
  }
}
EOF
  ns r conntrack -F 2>/dev/null
}

# A capture on the router's public side (tcpdump), to check what crosses the
# NAT on the wire.
cap_start() { # cap_start NAME
  CAP_FILE=$CAP_DIR/$1.pcap
  # Started directly (not through a function) so CAP_PID is tcpdump itself.
  ip netns exec r tcpdump -i veth_rb -n -U -Z root -w "$CAP_FILE" 'udp or ip proto 50' \
    2> "$CAP_DIR/$1.tcpdump.txt" &
  CAP_PID=$!
  wait_for 20 "tcpdump to listen" grep -q 'listening on' "$CAP_DIR/$1.tcpdump.txt"
}
cap_stop() {
  [ -n "$CAP_PID" ] || return 0
  # SIGTERM: a background job of a script ignores SIGINT.
  kill -TERM "$CAP_PID" 2>/dev/null
  wait_for 10 "tcpdump to end" pid_gone "$CAP_PID" || kill -KILL "$CAP_PID" 2>/dev/null
  wait "$CAP_PID" 2>/dev/null
  CAP_PID=""
}
cap_count() { tcpdump -r "$CAP_FILE" -n "$1" 2>/dev/null | wc -l; } # cap_count FILTER

# on_the_wire: the capture holds ESP in UDP 4500 (a non-zero SPI where the
# non-ESP marker would be) both ways, NAT keepalives (one octet 0xFF to 4500)
# from the NAT's public address, and no bare ESP (protocol 50) at all.
on_the_wire() {
  local esp_out esp_in ka bare ike
  esp_out=$(cap_count 'src 203.0.113.1 and udp dst port 4500 and udp[4:2] > 12 and udp[8:4] != 0')
  esp_in=$(cap_count 'dst 203.0.113.1 and udp src port 4500 and udp[4:2] > 12 and udp[8:4] != 0')
  ka=$(cap_count 'src 203.0.113.1 and udp dst port 4500 and udp[4:2] = 9 and udp[8] = 0xff')
  ike=$(cap_count 'udp port 4500 and udp[4:2] > 12 and udp[8:4] = 0')
  bare=$(cap_count 'ip proto 50')
  echo "on the wire: ESP in UDP 4500 out $esp_out, in $esp_in; keepalives $ka;" \
    "IKE on 4500 $ike; bare ESP $bare"
  [ "$esp_out" -ge 3 ] && [ "$esp_in" -ge 3 ] && [ "$ka" -ge 2 ] && [ "$bare" -eq 0 ]
}

# ping_run SECS: ping 10.2.0.1 from 10.1.0.1 every 0.2 s for SECS seconds in
# the background (PING_PID, output in $CAP_DIR/ping-N.txt).
PING_N=0
ping_run() {
  PING_N=$((PING_N + 1))
  PING_OUT=$CAP_DIR/ping-$PING_N.txt
  ns_ping a -i 0.2 -w "$1" -I 10.1.0.1 10.2.0.1 > "$PING_OUT" 2>&1 &
  PING_PID=$!
}
# ping_outage MAX: once the ping ended, its longest run of missing replies
# (as time: a request every 0.2 s) is printed and must be under MAX seconds,
# and the replies must have come back before the end.
ping_outage() {
  local max=$1 seqs sent
  wait "$PING_PID" 2>/dev/null
  PING_PID=""
  seqs=$(sed -nE 's/.*seq=([0-9]+).*/\1/p' "$PING_OUT" | sort -n | uniq)
  sent=$(sed -nE 's/^([0-9]+) packets transmitted.*/\1/p' "$PING_OUT")
  awk -v sent="${sent:-0}" -v max="$max" '
    { if (n && $1 - prev > gap) gap = $1 - prev; prev = $1; n++ }
    END {
      printf "%d of %d replies; longest outage %.1f s (bound %s s)\n", n, sent, gap * 0.2, max
      exit !(n > 0 && gap * 0.2 < max && sent - prev <= 3)
    }' <<< "$seqs" | tee "$PING_OUT.outage"
  return "${PIPESTATUS[0]}"
}
outage_note() { note "outage: $(cat "$PING_OUT.outage" 2>/dev/null)"; }

conf_a() {
  xk_conf A <<EOF
[conn peer]
local_addr = 192.168.1.2
remote_addr = 203.0.113.2
local_id = a.example
remote_id = b.example
auth = psk
psk = "$XK_PSK"
ike = aes256gcm16-prfsha256-x25519
esp = aes256gcm16
local_ts = 10.1.0.0/24
remote_ts = 10.2.0.0/24
keepalive = 2s
EOF
}

conf_b() {
  xk_conf B <<EOF
[conn peer]
local_addr = 203.0.113.2
remote_addr = %any
local_id = b.example
remote_id = a.example
auth = psk
psk = "$XK_PSK"
ike = aes256gcm16-prfsha256-x25519
esp = aes256gcm16
local_ts = 10.2.0.0/24
remote_ts = 10.1.0.0/24
EOF
}

# encap_in NS: every ESP state of NS is UDP-encapsulated, A's side from/to 4500.
encap_in() {
  local out
  out=$(ip -n "$1" xfrm state)
  echo "$out" | sed -E 's/0x[0-9a-f]{16,}/KEY/g'
  [ "$(grep -c '^src' <<< "$out")" -eq 2 ] || return 1
  [ "$(grep -c 'encap type espinudp' <<< "$out")" -eq 2 ] || return 1
  [ "$1" != a ] || [ "$(grep -c 'encap type espinudp sport 4500 dport 4500' <<< "$out")" -eq 2 ]
}

ping3() {
  local out
  out=$(ns_ping a -c 3 -W 5 -I 10.1.0.1 10.2.0.1 2>&1) || { echo "$out"; return 1; }
  [[ $out == *'3 packets received'* ]] || { echo "$out"; return 1; }
}

# keepalives_flow: with the tunnel idle, A's keepalives (every 2 s) cross the router.
keepalives_flow() {
  local k0 k1
  k0=$(keepalives)
  sleep 7
  k1=$(keepalives)
  echo "keepalives counted: $k0 -> $k1"
  [ "$((k1 - k0))" -ge 2 ]
}

# b_out_encap: B's view of A, the encapsulation "sport dport" of B's
# outbound state.
b_out_encap() {
  ip -n b xfrm state | awk '
    /^src/ { o = ($2 == "203.0.113.2" && $4 == "203.0.113.1") }
    o && /encap type espinudp/ { print $5, $7; exit }'
}
in_range() { # in_range LO HI: B sends to A's NAT port within LO..HI
  local p
  p=$(b_out_encap)
  p=${p#* }
  [ -n "$p" ] && [ "$p" -ge "$1" ] && [ "$p" -le "$2" ]
}
b_stat() { # b_stat NAME: xiked B's counter NAME
  local j
  j=$(xk_json B) && json_field "$1" "$j" && echo "${JSON_VALUES[0]:-0}"
}
all_empty() { local n; for n in "$@"; do xfrm_empty "$n" || return 1; done; }
ms_since() { echo $(((${EPOCHREALTIME/./} - ${1/./}) / 1000)); }

# ---------------------------------------------------------------- xiked <-> xiked
note "---- 1. xiked A (behind NAT) -> xiked B"
conf_a
# Liveness checks when idle: A's IKE messages after a remap (case 3).
echo 'dpd = 5s' >> "$XK_DIR/A.conf"
conf_b
xk_start b B
xk_start a A
xk_ctl A up peer > /dev/null || true
check "xiked: Child SA up through the NAT" xk_wait_child A 90
check "xiked: B has the Child SA" xk_wait_child B 30
check "xiked: A's states are ESP in UDP 4500 <-> 4500" encap_in a
check "xiked: B's states are ESP in UDP" encap_in b
cap_start xiked
check "xiked: ping 10.1.0.1 -> 10.2.0.1 through the NAT" ping3
check "xiked: NAT keepalives from A while idle" keepalives_flow
check "xiked: ping again after the keepalives" ping3
cap_stop
wire() { on_the_wire | tee "$CAP_DIR/wire.txt"; return "${PIPESTATUS[0]}"; }
check "xiked: on the wire: ESP only in UDP 4500, keepalives" wire
note "$(cat "$CAP_DIR/wire.txt")"

# 2. The NAT forgets A and maps it to a new port while a ping runs: A's next
# ESP reaches B from 203.0.113.1:200xx, B's kernel reports the new mapping
# (XFRM_MSG_MAPPING) and B's states follow, so the replies find A again.
note "---- 2. NAT mapping changes under traffic; B sends to A's NAT port: $(b_out_encap)"
T2=$EPOCHREALTIME
ping_run 8
sleep 2
t_remap=$EPOCHREALTIME
nat_remap 20000-20099
note "remapped (nft, conntrack -F: $(ms_since "$t_remap") ms)"
t_remap=$EPOCHREALTIME
check "xiked: B follows the new mapping (XFRM_MSG_MAPPING)" \
  wait_for 10 "B's states on 200xx" in_range 20000 20099
note "B's states seen on the new port $(ms_since "$t_remap") ms later: now $(b_out_encap)"
check "xiked: traffic recovers within seconds of the remap" ping_outage 3
outage_note
mapping_events() { [ "$(b_stat nat_mapping_events)" -ge 1 ]; }
check "xiked: B counted the mapping event" mapping_events
grep -E "NAT mapping changed" "$XK_DIR/B.log" | tail -n 1 || true

# 3. Again with the tunnel idle: no ESP, and A's keepalives never reach
# xiked (the kernel eats them), so A's next IKE message (its liveness check,
# dpd = 5s) from the new port is what moves B (RFC 7296 2.23), Child SAs
# and all, before any ESP is sent.
note "---- 3. NAT mapping changes while idle"
moves0=$(b_stat nat_peer_moves)
events0=$(b_stat nat_mapping_events)
nat_remap 30000-30099
t_remap=$EPOCHREALTIME
check "xiked: B follows A's IKE message from the new port" \
  wait_for 15 "B's states on 300xx" in_range 30000 30099
note "B's states seen on the new port $(ms_since "$t_remap") ms after the remap (dpd = 5s): now $(b_out_encap)"
ike_moved() {
  local m e
  m=$(b_stat nat_peer_moves)
  e=$(b_stat nat_mapping_events)
  echo "B: nat_peer_moves $moves0 -> $m, nat_mapping_events $events0 -> $e"
  [ "$m" -gt "$moves0" ] && [ "$e" -eq "$events0" ]
}
check "xiked: moved by IKE (nat_peer_moves), not by ESP" ike_moved
check "xiked: ping after the IKE-level move" ping3
T3=$EPOCHREALTIME
xk_ctl A down peer > /dev/null || true
xk_cleanup
nat_remap
check "xiked: nothing left in a and b" wait_for 30 "xfrm to empty" all_empty a b

# ---------------------------------------------------------------- strongSwan -> xiked
# 4. strongSwan behind the NAT, xiked in front: charon floats to 4500,
# xiked sees the NAT in front of its peer and follows it when the NAT remaps
# it under traffic.
note "---- 4. strongSwan (behind NAT) -> xiked B"
T4=$EPOCHREALTIME
mkdir -p "$VM_SS_DIR"
cat > "$VM_SS_DIR/a.conf" <<EOF
connections {
  peer {
    version = 2
    local_addrs = 192.168.1.2
    remote_addrs = 203.0.113.2
    proposals = aes256gcm16-prfsha256-x25519
    local {
      auth = psk
      id = a.example
    }
    remote {
      auth = psk
      id = b.example
    }
    children {
      net {
        local_ts = 10.1.0.0/24
        remote_ts = 10.2.0.0/24
        esp_proposals = aes256gcm16
      }
    }
  }
}
secrets {
  ike-a {
    id-1 = a.example
    id-2 = b.example
    secret = "$XK_PSK"
  }
}
EOF
conf_b
xk_start b B
check "strongSwan behind: charon starts in a" charon_start a
check "strongSwan behind: swanctl loads the connection" charon_load a "$VM_SS_DIR/a.conf"
check "strongSwan behind: charon initiates to xiked" charon_initiate a net 120
check "strongSwan behind: xiked B has the Child SA" xk_wait_child B 30
nat_seen() {
  local j
  j=$(xk_json B) || return 1
  json_field port "$j"
  echo "B: local port ${JSON_VALUES[0]:-?}, peer port ${JSON_VALUES[1]:-?}"
  [[ $j == *'"nat_remote":true'* ]] && [ "${JSON_VALUES[0]:-}" = 4500 ]
}
check "strongSwan behind: xiked sees the NAT in front of its peer, IKE on 4500" nat_seen
check "strongSwan behind: charon's states are ESP in UDP 4500 <-> 4500" encap_in a
check "strongSwan behind: xiked's states are ESP in UDP" encap_in b
check "strongSwan behind: ping through the NAT" ping3
ping_run 6
sleep 1.5
nat_remap 40000-40099
check "strongSwan behind: xiked follows the new mapping" \
  wait_for 10 "B's states on 400xx" in_range 40000 40099
check "strongSwan behind: traffic recovers within seconds of the remap" ping_outage 3
outage_note
T5=$EPOCHREALTIME
xk_cleanup
charon_stop a
nat_remap
check "strongSwan behind: nothing left in a and b" wait_for 30 "xfrm to empty" all_empty a b

# ---------------------------------------------------------------- xiked -> strongSwan
# 5. xiked behind the NAT, strongSwan in front.
note "---- 5. xiked A (behind NAT) -> strongSwan"
cat > "$VM_SS_DIR/x.conf" <<EOF
connections {
  x {
    version = 2
    local_addrs = 203.0.113.2
    remote_addrs = %any
    proposals = aes256gcm16-prfsha256-x25519
    local {
      auth = psk
      id = b.example
    }
    remote {
      auth = psk
      id = a.example
    }
    children {
      net {
        local_ts = 10.2.0.0/24
        remote_ts = 10.1.0.0/24
        esp_proposals = aes256gcm16
      }
    }
  }
}
secrets {
  ike-x {
    id-1 = a.example
    id-2 = b.example
    secret = "$XK_PSK"
  }
}
EOF
check "charon starts in b" charon_start b
check "swanctl loads the connection" charon_load b "$VM_SS_DIR/x.conf"
conf_a
xk_start a A
xk_ctl A up peer > /dev/null || true
ss_child_installed() { swanctl_in b --list-sas | grep -q 'INSTALLED'; }
check "strongSwan: Child SA up through the NAT" xk_wait_child A 180
check "strongSwan: charon has the Child SA" wait_for 30 "strongSwan's Child SA" ss_child_installed
check "strongSwan: A's states are ESP in UDP 4500 <-> 4500" encap_in a
check "strongSwan: charon's states are ESP in UDP" encap_in b
check "strongSwan: ping through the NAT" ping3
check "strongSwan: NAT keepalives from A while idle" keepalives_flow
xk_ctl A down peer > /dev/null || true
xk_cleanup
charon_stop b
check "strongSwan: nothing left in a and b" wait_for 30 "xfrm to empty" all_empty a b
# The time of the mapping-change cases (2, 3) and of strongSwan behind the
# NAT (4), the parts added for the NAT-change and interop tests.
note "timing: mapping cases $(($(ms_since "$T2") / 1000 - $(ms_since "$T3") / 1000)) s," \
  "strongSwan behind the NAT $(($(ms_since "$T4") / 1000 - $(ms_since "$T5") / 1000)) s," \
  "scenario after warm-up $(((${EPOCHREALTIME/./} - T0) / 1000000)) s"
finish
