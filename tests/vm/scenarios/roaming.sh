#!/usr/bin/env bash
# Kernel tier of MOBIKE (RFC 4555): a roaming laptop keeps one IKE SA and its
# Child SA while its uplinks come and go.
#   The laptop (namespace l) has two uplinks to a router (r): wifi (routed,
#   preferred, metric 10) and lte (behind an nftables masquerade, metric 20);
#   the gateway (g) sits behind the router. With a ping at 20/s through the
#   tunnel, four moves:
#     1. wifi's address is removed          -> lte (NAT: ESP in UDP)
#     2. wifi's address comes back          -> wifi (no NAT: plain ESP)
#     3. wifi's link goes down              -> lte
#     4. wifi's link comes back up          -> wifi
#   Each move must complete (the laptop's and the gateway's views of the path
#   both updated) within 2 s, the IKE SA and Child SA SPIs must stay the same,
#   and the pings lost per move are printed and must stay under 2 s worth (40);
#   the byte counters `xikectl status` shows must not go back (XFRM_MSG_MIGRATE
#   starts the moved states' own counters at zero, xiked carries them).
#   Then the same laptop against a strongSwan gateway (one move there and back).
#   XIKED_ROAMING_DEMO=1 (tools/demo-roaming.sh): the xiked pair only.
#   tests/vm/run tests/vm/scenarios/roaming.sh BUILD_DIR
#
# Topology (namespaces; inner addresses on lo):
#   l  wifi 192.168.10.2/24 -- r_wifi 192.168.10.1 \
#      lte  100.64.0.2/24   -- r_lte  100.64.0.1   -  r  r_g 203.0.113.1/24 -- g_r 203.0.113.2  g
#   10.1.0.1 (laptop)            (masquerade lte -> r_g)                                   10.2.0.1 (gateway)
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
t_start=$(date +%s)

note "kernel $(uname -r)"
if vm_kernel_init; then ok "load IPsec modules, warm up kernel algorithms"
else fail "load IPsec modules, warm up kernel algorithms"; fi
modprobe -a nf_tables nft_nat nft_masq nft_chain_nat nf_nat 2>/dev/null || true

# ---------------------------------------------------------------- topology
ns_new l r g
ns_link l wifi r r_wifi
ns_link l lte r r_lte
ns_link r r_g g g_r
ns_addr r r_wifi 192.168.10.1/24
ns_addr r r_lte 100.64.0.1/24
ns_addr r r_g 203.0.113.1/24
ns_addr g g_r 203.0.113.2/24
ns_addr l wifi 192.168.10.2/24
ns_addr l lte 100.64.0.2/24
ns_addr l lo 10.1.0.1/32
ns_addr g lo 10.2.0.1/32
ns l ip route add default via 192.168.10.1 dev wifi metric 10
ns l ip route add default via 100.64.0.1 dev lte metric 20
ns g ip route add default via 203.0.113.1
ns r sysctl -qw net.ipv4.ip_forward=1
ns r nft -f - <<'EOF'
table ip nat {
  chain post {
    type nat hook postrouting priority 100;
    iifname "r_lte" oifname "r_g" masquerade
  }
}
EOF
check "router: laptop reaches the gateway over wifi" ns_ping l -c 1 -W 5 -I wifi 203.0.113.2
check "router: laptop reaches the gateway over lte (masqueraded)" ns_ping l -c 1 -W 5 -I lte 203.0.113.2

# ---------------------------------------------------------------- helpers
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# path NAME: "LOCAL REMOTE MOVES" of NAME's first IKE SA (xikectl status --json).
path() {
  local j
  j=$(xk_json "$1") || return 1
  json_field addr "$j"
  local la=${JSON_VALUES[0]:-?} ra=${JSON_VALUES[1]:-?}
  json_field moves "$j"
  echo "$la $ra ${JSON_VALUES[0]:-?}"
}

# spis NAME: the IKE SPIs and the first Child SA's SPIs.
spis() {
  local j out=""
  j=$(xk_json "$1") || return 1
  for k in spi_i spi_r spi_in spi_out; do
    json_field "$k" "$j"
    out+="${JSON_VALUES[0]:-?} "
  done
  echo "$out"
}

# ping_bg SECONDS: 20 ICMP echoes a second from 10.1.0.1 to 10.2.0.1 for SECONDS, in the
# background. Not ping(8): busybox's exits at the first failed send, which a vanishing
# address causes; this one counts that echo as lost and goes on. Prints "SENT LOST GAP"
# (GAP: the longest run of lost echoes, in ms).
PING_OUT=/tmp/roaming-ping.$$
PINGER=/tmp/roaming-pinger.$$.py
cat > "$PINGER" <<'PY'
import os, select, socket, struct, sys, time
dur, src, dst = float(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.bind((src, 0))
ident = os.getpid() & 0xffff
def csum(b):
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff)
    return ~(t + (t >> 16)) & 0xffff
got, sent, t0 = set(), 0, time.time()
def drain(until):
    while True:
        r = until - time.time()
        if r <= 0:
            return
        if not select.select([s], [], [], r)[0]:
            return
        d = s.recv(2048)
        h = (d[0] & 15) * 4
        if len(d) >= h + 8 and d[h] == 0:
            i, q = struct.unpack('!HH', d[h + 4:h + 8])
            if i == ident:
                got.add(q)
while time.time() - t0 < dur:
    body = struct.pack('!BBHHH', 8, 0, 0, ident, sent) + b'xiked-roaming!'
    body = body[:2] + struct.pack('!H', csum(body)) + body[4:]
    try:
        s.sendto(body, (dst, 0))
    except OSError:
        pass
    sent += 1
    drain(t0 + sent * 0.05)
drain(time.time() + 1.0)
gap = run = 0
for q in range(sent):
    run = 0 if q in got else run + 1
    gap = max(gap, run)
print(sent, sent - len(got), gap * 50)
PY
ping_bg() {
  ns l python3 "$PINGER" "$1" 10.1.0.1 10.2.0.1 > "$PING_OUT" 2>&1 &
  PING_PID=$!
}

# moved_to NAME LOCAL REMOTE MOVES: NAME's IKE SA is at LOCAL - REMOTE after MOVES moves.
moved_to() {
  local p
  p=$(path "$1") || return 1
  [ "$p" = "$2 $3 $4" ]
}

gw_at() { local p; p=$(path G) || return 1; [ "${p% *}" = "203.0.113.2 $1" ]; }

# status_bytes NAME: the sum of NAME's Child SA byte counters, in and out (xikectl status).
status_bytes() {
  local j v n=0 k
  j=$(xk_json "$1") || return 1
  for k in bytes_in bytes_out; do
    json_field "$k" "$j"
    for v in "${JSON_VALUES[@]}"; do n=$((n + v)); done
  done
  echo "$n"
}
# kernel_bytes NS: the sum of NS's states' byte counters as the kernel keeps them.
kernel_bytes() { ip -n "$1" -s xfrm state | awk '/lifetime current:/ { getline; n += $1 } END { print n + 0 }'; }

MOVE_N=0
MAX_LOST=40   # 2 s worth at 20 pings a second
MAX_MOVE_S=${XIKED_ROAMING_MAX_MOVE_S:-2}
# move NAME WHAT GW_SEES CMD...: run CMD (the change) under a ping; the laptop A must
# then be on the uplink with address LAPTOP_ADDR ($L_ADDR) and the gateway see it at GW_SEES.
move() {
  local what=$1 gw_sees=$2 t0 took p lost sent bl0 bg0 bl1 bg1
  shift 2
  MOVE_N=$((MOVE_N + 1))
  ping_bg 3.5
  sleep 0.8
  bl0=$(status_bytes L) bg0=$(status_bytes G)
  local answers
  answers=$(grep -c "the peer moved the IKE SA to the new path" "$XK_DIR/L.log" || true)
  "$@"
  # The change is made. How long the move took comes from the laptop's log (one clock, no
  # process start-up of this script's polls under TCG in it): from the rtnetlink event that
  # triggered the move (the last "address, link or route change" before the move's line)
  # to the gateway's answer to the update; then both views are checked.
  t0=$(now)
  took=""
  # Both views: the laptop's path and move count, the gateway's path (its count may differ
  # by one when the kernel's XFRM_MSG_MAPPING moved it before the update arrived).
  while awk -v t="$(since "$t0")" 'BEGIN { exit !(t < 5) }'; do
    if [ "$(grep -c "the peer moved the IKE SA to the new path" "$XK_DIR/L.log")" -gt "$answers" ]; then
      took=$(awk '/address, link or route change/ { ev = $1 }
        /local addresses or routes changed: path/ { start = ev }
        /the peer moved the IKE SA to the new path/ { end = $1 }
        END { if (start != "" && end != "") printf "%.2f", end - start }' "$XK_DIR/L.log")
      break
    fi
    sleep 0.05
  done
  if [ -n "$took" ] && ! wait_for 5 "both views of move $MOVE_N" eval \
      'moved_to L "$L_ADDR" 203.0.113.2 "$MOVE_N" && gw_at "$gw_sees"'; then
    took=""
  fi
  wait "$PING_PID" 2>/dev/null || true
  read -r sent lost gap < "$PING_OUT" || true
  sent=${sent:-0} lost=${lost:-0}
  p=$(path L)
  bl1=$(status_bytes L) bg1=$(status_bytes G)
  note "move $MOVE_N: status bytes laptop $bl0 -> $bl1, gateway $bg0 -> $bg1 (the kernel's own now: laptop $(kernel_bytes l), gateway $(kernel_bytes g))"
  if [ -n "$bl0" ] && [ -n "$bg0" ] && [ "${bl1:-0}" -ge "$bl0" ] && [ "${bg1:-0}" -ge "$bg0" ]; then
    ok "move $MOVE_N: status byte counters go on (laptop $bl0 -> $bl1, gateway $bg0 -> $bg1)"
  else
    fail "move $MOVE_N: status byte counters went back" "laptop $bl0 -> $bl1, gateway $bg0 -> $bg1"
  fi
  note "move $MOVE_N ($what): laptop path now $p; took ${took:-more than 5}s; pings lost $lost of $sent (longest gap ${gap:-?} ms)"
  [ -n "$took" ] && awk -v t="$took" -v m="$MAX_MOVE_S" 'BEGIN { exit !(t >= 0 && t < m) }' ||
    { fail "move $MOVE_N ($what) completes within ${MAX_MOVE_S}s" "took ${took:-more than 5}s"; xk_log_tail L 15; xk_log_tail G 10; return 0; }
  ok "move $MOVE_N ($what) completes within ${MAX_MOVE_S}s (${took}s)"
  if [ "$lost" -le "$MAX_LOST" ] && [ "$sent" -gt 35 ]; then ok "move $MOVE_N: $lost pings lost (at most $MAX_LOST)"
  else fail "move $MOVE_N: pings lost" "$lost of $sent (at most $MAX_LOST)"; fi
  if [ "$(spis L)" = "$SPIS0" ] && [ "$(spis G | awk '{print $1, $2}')" = "$(echo "$SPIS0" | awk '{print $1, $2}')" ]; then
    ok "move $MOVE_N: same IKE SA and Child SA (SPIs $SPIS0)"
  else fail "move $MOVE_N: SPIs changed" "$SPIS0 -> $(spis L)"; fi
}

wifi_addr_del() { ns l ip addr del 192.168.10.2/24 dev wifi; }
wifi_addr_add() {
  ns l ip addr add 192.168.10.2/24 dev wifi
  ns l ip route add default via 192.168.10.1 dev wifi metric 10
}
wifi_down() { ns l ip link set wifi down; }
wifi_up() {
  ns l ip link set wifi up
  ns l ip route replace default via 192.168.10.1 dev wifi metric 10
}

# encap_at NS N: NS has N UDP-encapsulated ESP states.
encap_at() { [ "$(ip -n "$1" xfrm state | grep -c 'encap type espinudp')" -eq "$2" ]; }
# migrated NAME: NAME's log shows Child SAs moved by XFRM_MSG_MIGRATE, never re-added.
migrated() { grep -q "Child SAs migrated" "$XK_DIR/$1.log"; }

conf_l() {
  xk_conf L <<EOF
[conn gw]
remote_addr = 203.0.113.2
local_id = laptop.example
remote_id = gw.example
auth = psk
psk = "$XK_PSK"
ike = aes256gcm16-prfsha256-x25519
esp = aes256gcm16
local_ts = 10.1.0.1/32
remote_ts = 10.2.0.0/24
dpd = 0
EOF
}

# ---------------------------------------------------------------- xiked laptop <-> xiked gateway
note "---- xiked laptop -> xiked gateway"
conf_l
xk_conf G <<EOF
[conn laptop]
local_addr = 203.0.113.2
remote_addr = %any
local_id = gw.example
remote_id = laptop.example
auth = psk
psk = "$XK_PSK"
ike = aes256gcm16-prfsha256-x25519
esp = aes256gcm16
local_ts = 10.2.0.0/24
remote_ts = 10.1.0.1/32
dpd = 0
EOF
xk_start g G
xk_start l L
xk_ctl L up gw > /dev/null || true
check "Child SA up over wifi" xk_wait_child L 90
check "gateway has the Child SA" xk_wait_child G 30
check "MOBIKE negotiated (laptop)" grep -q "MOBIKE negotiated" "$XK_DIR/L.log"
check "ping through the tunnel" ns_ping l -c 2 -W 5 -I 10.1.0.1 10.2.0.1
SPIS0=$(spis L)
note "laptop path $(path L), SPIs $SPIS0"

L_ADDR=100.64.0.2 move "wifi address removed" 203.0.113.1 wifi_addr_del
check "on lte: the gateway's states are ESP in UDP (NAT)" encap_at g 2
check "on lte: the laptop's states are ESP in UDP (NAT)" encap_at l 2
L_ADDR=192.168.10.2 move "wifi address back" 192.168.10.2 wifi_addr_add
check "back on wifi: plain ESP again at the gateway" encap_at g 0
L_ADDR=100.64.0.2 move "wifi link down" 203.0.113.1 wifi_down
L_ADDR=192.168.10.2 move "wifi link up" 192.168.10.2 wifi_up
check "laptop: Child SAs moved with XFRM_MSG_MIGRATE" migrated L
check "gateway: Child SAs moved with XFRM_MSG_MIGRATE" migrated G
check "laptop: status shows 4 moves" moved_to L 192.168.10.2 203.0.113.2 4
xk_ctl L status | sed 's/^/       | /'
xk_ctl L down gw > /dev/null || true
xk_cleanup
all_empty() { local n; for n in "$@"; do xfrm_empty "$n" || return 1; done; }
check "nothing left in l and g" wait_for 30 "xfrm to empty" all_empty l g

if [ -n "${XIKED_ROAMING_DEMO:-}" ]; then
  rm -f "$PING_OUT" "$PINGER"
  note "roaming demo done in $(( $(date +%s) - t_start ))s"
  finish
  exit $?
fi

# ---------------------------------------------------------------- xiked laptop <-> strongSwan gateway
note "---- xiked laptop -> strongSwan gateway"
mkdir -p "$VM_SS_DIR"
cat > "$VM_SS_DIR/g.conf" <<EOF
connections {
  laptop {
    version = 2
    local_addrs = 203.0.113.2
    remote_addrs = %any
    proposals = aes256gcm16-prfsha256-x25519
    mobike = yes
    local {
      auth = psk
      id = gw.example
    }
    remote {
      auth = psk
      id = laptop.example
    }
    children {
      net {
        local_ts = 10.2.0.0/24
        remote_ts = 10.1.0.1/32
        esp_proposals = aes256gcm16
      }
    }
  }
}
secrets {
  ike-l {
    id-1 = laptop.example
    id-2 = gw.example
    secret = "$XK_PSK"
  }
}
EOF
check "charon starts in g" charon_start g
check "swanctl loads the connection" charon_load g "$VM_SS_DIR/g.conf"
conf_l
xk_start l L
xk_ctl L up gw > /dev/null || true
check "strongSwan: Child SA up over wifi" xk_wait_child L 180
check "strongSwan: MOBIKE negotiated" grep -q "MOBIKE negotiated" "$XK_DIR/L.log"
ss_remote_is() { swanctl_in g --list-sas | grep -q "remote.*$1\[" ; }
ss_path_ping() { ss_remote_is "$1" && ns_ping l -c 2 -W 3 -I 10.1.0.1 10.2.0.1; }
SS_SPIS=$(spis L)
t0=$(now)
wifi_addr_del
check "strongSwan: laptop moves to lte, charon follows, ping" wait_for 10 "charon at the NAT's address" ss_path_ping 203.0.113.1
note "strongSwan: move to lte took $(since "$t0")s (with the pings)"
wifi_addr_add
check "strongSwan: back to wifi, ping" wait_for 10 "charon at wifi's address" ss_path_ping 192.168.10.2
check "strongSwan: same SPIs on the laptop" test "$(spis L)" = "$SS_SPIS"
swanctl_in g --list-sas | sed 's/^/       | /' || true
xk_ctl L down gw > /dev/null || true
xk_cleanup
charon_stop g
check "strongSwan: nothing left in l and g" wait_for 30 "xfrm to empty" all_empty l g

# ---------------------------------------------------------------- strongSwan laptop <-> xiked gateway
note "---- strongSwan laptop -> xiked gateway"
cat > "$VM_SS_DIR/l.conf" <<EOF
connections {
  gw {
    version = 2
    remote_addrs = 203.0.113.2
    proposals = aes256gcm16-prfsha256-x25519
    mobike = yes
    local {
      auth = psk
      id = laptop.example
    }
    remote {
      auth = psk
      id = gw.example
    }
    children {
      net {
        local_ts = 10.1.0.1/32
        remote_ts = 10.2.0.0/24
        esp_proposals = aes256gcm16
      }
    }
  }
}
secrets {
  ike-g {
    id-1 = laptop.example
    id-2 = gw.example
    secret = "$XK_PSK"
  }
}
EOF
xk_start g G
# prefer_best_path: charon moves back to wifi when its route is back (it keeps a working
# path otherwise, as a roaming xiked does not).
check "charon starts in l" charon_start l "prefer_best_path = yes"
check "swanctl loads the connection" charon_load l "$VM_SS_DIR/l.conf"
check "strongSwan laptop: Child SA up over wifi" charon_initiate l net 150
check "strongSwan laptop: xiked gateway has the Child SA" xk_wait_child G 30
check "strongSwan laptop: MOBIKE negotiated (gateway)" grep -q "MOBIKE negotiated" "$XK_DIR/G.log"
G_SPIS=$(spis G)
gw_path_ping() { gw_at "$1" && ns_ping l -c 2 -W 3 -I 10.1.0.1 10.2.0.1; }
t0=$(now)
wifi_addr_del
check "strongSwan laptop: moves to lte, xiked follows, ping" wait_for 15 "the gateway at the NAT's address" gw_path_ping 203.0.113.1
note "strongSwan laptop: move to lte took $(since "$t0")s (with the pings)"
if ! gw_at 203.0.113.1; then
  xk_log_tail G 25
  tail -n 40 "$(charon_log l)" | sed 's/^/       | /'
fi
wifi_addr_add
check "strongSwan laptop: back to wifi, ping" wait_for 15 "the gateway at wifi's address" gw_path_ping 192.168.10.2
check "strongSwan laptop: same SPIs on the gateway" test "$(spis G)" = "$G_SPIS"
check "strongSwan laptop: the gateway migrated the Child SAs" migrated G
xk_ctl G status | sed 's/^/       | /'
charon_stop l
xk_cleanup
check "strongSwan laptop: nothing left in l and g" wait_for 30 "xfrm to empty" all_empty l g
rm -f "$PING_OUT" "$PINGER"
note "roaming.sh took $(( $(date +%s) - t_start ))s"
finish
