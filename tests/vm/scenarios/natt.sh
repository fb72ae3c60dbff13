#!/usr/bin/env bash
# Kernel tier of NAT traversal (RFC 7296 2.23, RFC 3948): xiked A sits behind
# an nftables masquerade router; xiked B (and then strongSwan) is outside.
#   1. A initiates to B: the IKE SA floats to 4500, both sides' states carry
#      ESP in UDP (encap espinudp), ping crosses the tunnel through the NAT;
#   2. NAT keepalives (one-octet UDP datagrams to 4500) leave A when idle,
#      counted by the router;
#   3. the same against strongSwan as the responder;
#   4. dead peer detection: B is killed and restarted empty, A's liveness
#      check goes unanswered (dpd = 5s, then a short retransmission
#      schedule, about 14 s) and dpd_action = restart brings a new tunnel up.
#   tests/vm/run tests/vm/scenarios/natt.sh BUILD_DIR
#
# Topology (namespaces; inner addresses on lo):
#   a (xiked A)  veth_a 192.168.1.2/24 -- veth_ra 192.168.1.1  r  veth_rb 203.0.113.1/24 -- veth_b 203.0.113.2  b (xiked B / strongSwan)
#     10.1.0.1                                (masquerade out of veth_rb)                              10.2.0.1
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$here/../lib.sh"
# shellcheck source=tests/vm/xiked.sh
. "$here/../xiked.sh"
vm_require
xk_init "${1:-build}"
on_exit() {
  local rc=$?
  set +e
  xk_cleanup
  (exit "$rc")
  vm_on_exit
}
trap on_exit EXIT
export XIKED_CHARON_LOG=${XIKED_CHARON_LOG:-2}

note "kernel $(uname -r)"
if vm_kernel_init; then ok "load IPsec modules, warm up kernel algorithms"
else fail "load IPsec modules, warm up kernel algorithms"; fi
modprobe -a nf_tables nft_nat nft_masq nft_chain_nat nf_nat 2>/dev/null || true

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
ns a ip route add default via 192.168.1.1
ns a ip route add 10.2.0.0/24 via 192.168.1.1 src 10.1.0.1
ns b ip route add 10.1.0.0/24 via 203.0.113.1 src 10.2.0.1
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

keepalives() { ns r nft list counter ip xkcount keepalives | sed -nE 's/.*packets ([0-9]+).*/\1/p'; }

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

# ---------------------------------------------------------------- xiked <-> xiked
note "---- xiked A (behind NAT) -> xiked B"
conf_a
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
xk_start b B
xk_start a A
xk_ctl A up peer > /dev/null || true
check "xiked: Child SA up through the NAT" xk_wait_child A 90
check "xiked: B has the Child SA" xk_wait_child B 30
check "xiked: A's states are ESP in UDP 4500 <-> 4500" encap_in a
check "xiked: B's states are ESP in UDP" encap_in b
check "xiked: ping 10.1.0.1 -> 10.2.0.1 through the NAT" ping3
check "xiked: NAT keepalives from A while idle" keepalives_flow
check "xiked: ping again after the keepalives" ping3
xk_ctl A down peer > /dev/null || true
xk_cleanup
all_empty() { local n; for n in "$@"; do xfrm_empty "$n" || return 1; done; }
check "xiked: nothing left in a and b" wait_for 30 "xfrm to empty" all_empty a b

# ---------------------------------------------------------------- xiked -> strongSwan
note "---- xiked A (behind NAT) -> strongSwan"
mkdir -p "$VM_SS_DIR"
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

# ---------------------------------------------------------------- DPD restart
# B dies without a word and comes back empty: A's liveness check (dpd = 5s)
# goes unanswered through a short retransmission schedule (2 s, x1.5, 3
# tries: about 14 s instead of the default 165 s), then dpd_action = restart
# brings the tunnel up again with the new B.
note "---- dpd_action = restart after B died"
conf_a
printf 'dpd = 5s\ndpd_action = restart\n' >> "$XK_DIR/A.conf"
sed -i 's/^\[daemon\]$/[daemon]\nretransmit_timeout = 2s\nretransmit_base = 1.5\nretransmit_tries = 3/' \
  "$XK_DIR/A.conf"
xk_start b B
xk_start a A
xk_ctl A up peer > /dev/null || true
check "dpd: Child SA up" xk_wait_child A 90
spi_a() { ip -n a xfrm state | sed -nE 's/.*spi (0x[0-9a-f]+).*/\1/p' | sort | tr '\n' ' '; }
old_spis=$(spi_a)
kill -KILL "$(cat "$XK_DIR/B.pid")"
rm -f "$XK_DIR/B.pid"
ip -n b xfrm state flush
ip -n b xfrm policy flush
xk_start b B
new_tunnel() { local s; s=$(spi_a); [ -n "$s" ] && [ "$s" != "$old_spis" ] && xk_child_installed A; }
check "dpd: A restarts the tunnel once B is declared dead" wait_for 120 "a new Child SA in A" new_tunnel
check "dpd: ping through the new tunnel" ping3
grep -E "checking liveness|peer unreachable|dpd_action = restart" "$XK_DIR/A.log" | tail -n 3 || true
xk_cleanup
finish
