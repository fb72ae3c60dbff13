#!/usr/bin/env bash
# Kernel tier of "works as deployed" (issue 11): two gateways with nothing
# but their own addresses and the routes any host has, configured exactly as
# the README's site-to-site example, and no route added by hand for the
# tunnel: xiked's own routes (table 220, one ip rule) steer the traffic.
#   1. IPv4: the gateway pings the far LAN from its own LAN address (plain
#      `ping 10.2.0.1`: the source comes from xiked's route), a LAN host
#      behind it reaches a LAN host behind the other gateway; `ip route show
#      table 220` and `ip rule` are shown and checked. Table 220 and the rule
#      are empty after `xikectl down`, after exit (SIGTERM), and after kill -9,
#      a restart (which removes what the killed one left) and exit.
#   2. IPv6 outer and inner addresses, the same checks.
#   3. remote_ts = 0.0.0.0/0: the route to 0.0.0.0/0 in table 220 and a throw
#      route for the peer; IKE keeps working across it (DPD probes answered,
#      Child SA and IKE SA rekeys), and the far LAN is reached through it.
#   4. The README's route-based VPN as written: XFRM interfaces made by
#      xiked (if_id 7, mtu 1400), the far LAN routed through them, LAN host
#      to LAN host; interfaces and SAs gone after exit.
#   tests/vm/run tests/vm/scenarios/deployed.sh BUILD_DIR
#
# Topology (namespaces):
#   ha 10.1.0.10 --- lan0 10.1.0.1/24  a (xiked, site A)  wan0 192.0.2.1/24 2001:db8::1/64
#                    fd01::1/64                               |
#   hb 10.2.0.10 --- lan0 10.2.0.1/24  b (xiked, site B)  wan0 192.0.2.2/24 2001:db8::2/64
#                    fd02::1/64
# The LAN hosts have a default route through their gateway, as any host on a
# LAN has; the gateways forward (net.ipv4.ip_forward = 1), as any router does.
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

note "kernel $(uname -r)"
if vm_kernel_init; then ok "load IPsec modules, warm up kernel algorithms"
else fail "load IPsec modules, warm up kernel algorithms"; fi

# ---------------------------------------------------------------- topology
ns_new a b ha hb
ns_link a wan0 b wan0
ns_link a lan0 ha eth0
ns_link b lan0 hb eth0
ns_addr a wan0 192.0.2.1/24 2001:db8::1/64
ns_addr b wan0 192.0.2.2/24 2001:db8::2/64
ns_addr a lan0 10.1.0.1/24 fd01::1/64
ns_addr b lan0 10.2.0.1/24 fd02::1/64
ns_addr ha eth0 10.1.0.10/24
ns_addr hb eth0 10.2.0.10/24
ns ha ip route add default via 10.1.0.1
ns hb ip route add default via 10.2.0.1
ns a sysctl -qw net.ipv4.ip_forward=1
ns b sysctl -qw net.ipv4.ip_forward=1
check "veth a-b" ns_ping a -c 1 -W 5 192.0.2.2
check "no tunnel yet: 10.2.0.1 unreachable from a (no route)" eval '! ns_ping a -c 1 -W 2 10.2.0.1'

# The README's site-to-site example ([daemon] is xk_conf's: control socket, debug log).
readme_a() {
  cat <<'EOF'
[conn site-b]
local_addr = 192.0.2.1
remote_addr = 192.0.2.2
local_id = a.example
remote_id = b.example
auth = psk
psk = "correct horse battery staple"
ike = aes256gcm16-prfsha256-x25519, aes128-sha256-ecp256
esp = aes256gcm16, aes128-sha256
local_ts = 10.1.0.0/24
remote_ts = 10.2.0.0/24
start = initiate
EOF
}
# Site B mirrors it: remote_addr = %any and start = none make a responder.
readme_b() {
  cat <<'EOF'
[conn site-a]
local_addr = 192.0.2.2
remote_addr = %any
local_id = b.example
remote_id = a.example
auth = psk
psk = "correct horse battery staple"
ike = aes256gcm16-prfsha256-x25519, aes128-sha256-ecp256
esp = aes256gcm16, aes128-sha256
local_ts = 10.2.0.0/24
remote_ts = 10.1.0.0/24
start = none
EOF
}

ping_ok() { # ping_ok NS DST [ARGS]: 3 echo requests, all answered
  local n=$1 dst=$2 out
  shift 2
  out=$(ns_ping "$n" -c 3 -W 5 "$@" "$dst" 2>&1) || { echo "$out"; return 1; }
  echo "${out##*---}"
  [[ $out == *'3 packets received'* ]] || { echo "$out"; return 1; }
}

# The source a plain ping from the gateway uses: xiked's route's src.
src_of() { local r; r=$(ns "$1" ip route get "$2"); [[ $r =~ src\ ([^ ]+) ]] && echo "${BASH_REMATCH[1]}"; }
src_is() { local s; s=$(src_of "$1" "$2"); echo "ip route get $2 in $1: src $s"; [ "$s" = "$3" ]; }

empty_now() { # empty_now NS...: table 220 and xiked's rules empty (waits 20 s)
  local n
  for n in "$@"; do
    wait_for 20 "table 220 and the rule to go in $n" routes_empty "$n" || { routes_show "$n"; return 1; }
  done
}

count_routes() { local t; t=$(routes_of "$1"); [ -z "$t" ] && echo 0 || wc -l <<< "$t"; }

# ---------------------------------------------------------------- 1. IPv4, the README
readme_a | xk_conf A
readme_b | xk_conf B
check "README: xiked B starts" xk_start b B
check "README: xiked A starts (start = initiate)" xk_start a A
if xk_wait_child A 120 && xk_wait_child B 20; then ok "README: Child SA INSTALLED on both sides"
else fail "README: Child SA INSTALLED on both sides"; xk_log_tail A; xk_log_tail B; fi
check "README: a's table 220: 10.2.0.0/24 via 192.0.2.2 dev wan0 src 10.1.0.1, rule 220" \
  route_expect a '^10\.2\.0\.0/24 via 192\.0\.2\.2 dev wan0 proto 150 src 10\.1\.0\.1'
check "README: b's table 220: 10.1.0.0/24 via 192.0.2.1 dev wan0 src 10.2.0.1, rule 220" \
  route_expect b '^10\.1\.0\.0/24 via 192\.0\.2\.1 dev wan0 proto 150 src 10\.2\.0\.1'
check "README: a's source toward 10.2.0.1 is its LAN address" src_is a 10.2.0.1 10.1.0.1
check "README: gateway a pings 10.2.0.1 (plain ping, own LAN address)" ping_ok a 10.2.0.1
check "README: gateway b pings 10.1.0.1 (plain ping)" ping_ok b 10.1.0.1
check "README: LAN host ha pings LAN host hb through both gateways" ping_ok ha 10.2.0.10
check "README: A's status counters > 0" xk_counters_positive A

check "README: xikectl down" xk_ctl A down site-b
check "README: after xikectl down: table 220 and the rule empty in a and b" empty_now a b
check "README: after xikectl down: nothing in xfrm" eval 'xfrm_empty a && xfrm_empty b'
check "README: xikectl up again" xk_ctl A up site-b
check "README: Child SA again" xk_wait_child A 120
check "README: the route is back" route_expect a '^10\.2\.0\.0/24 via 192\.0\.2\.2'
check "README: ping again" ping_ok a 10.2.0.1
check "README: xiked A exits 0 on SIGTERM with the SA up" xk_stop A
check "README: after exit: table 220 and the rule empty in a (and b: A's Delete)" empty_now a b

check "README: xiked A starts again" xk_start a A
check "README: Child SA again" xk_wait_child A 120
check "README: one route in a's table 220" eval '[ "$(count_routes a)" = 1 ]'
pid=$(cat "$XK_DIR/A.pid")
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
rm -f "$XK_DIR/A.pid"
routes_show a
check "README: after kill -9 the route is left behind (stale)" \
  eval 'route_expect a "^10\.2\.0\.0/24 via 192\.0\.2\.2" >/dev/null'
check "README: xiked A restarts" xk_start a A
check "README: the restart removed what the killed one left (logged)" \
  grep -qE 'removed [0-9]+ stale routes and rules' "$XK_DIR/A.log"
check "README: Child SA after the restart" xk_wait_child A 120
check "README: one route in a's table 220, the new one" eval '[ "$(count_routes a)" = 1 ]'
check "README: ping after the restart" ping_ok a 10.2.0.1
check "README: xiked A exits 0" xk_stop A
check "README: after kill -9, restart, exit: table 220 and the rule empty in a" empty_now a
check "README: xiked B exits 0" xk_stop B
check "README: b empty after exit" empty_now b

# ---------------------------------------------------------------- 2. IPv6
conn6() { # conn6 LOCAL REMOTE LID RID LTS RTS START
  cat <<EOF
[conn v6]
local_addr = $1
remote_addr = $2
local_id = $3
remote_id = $4
auth = psk
psk = "$XK_PSK"
local_ts = $5
remote_ts = $6
start = $7
EOF
}
conn6 2001:db8::1 2001:db8::2 a.example b.example fd01::/64 fd02::/64 initiate | xk_conf A
conn6 2001:db8::2 %any b.example a.example fd02::/64 fd01::/64 none | xk_conf B
check "IPv6: xiked B starts" xk_start b B
check "IPv6: xiked A starts" xk_start a A
if xk_wait_child A 120; then ok "IPv6: Child SA INSTALLED"
else fail "IPv6: Child SA INSTALLED"; xk_log_tail A; fi
check "IPv6: a's table 220: fd02::/64 via 2001:db8::2 dev wan0 src fd01::1, rule 220" \
  route_expect a '^fd02::/64 via 2001:db8::2 dev wan0 proto 150 src fd01::1'
check "IPv6: a's source toward fd02::1 is fd01::1" src_is a fd02::1 fd01::1
check "IPv6: gateway a pings fd02::1 (plain ping)" ping_ok a fd02::1 -6
check "IPv6: xiked A exits 0" xk_stop A
check "IPv6: table 220 and the rule empty in a and b after exit" empty_now a b
check "IPv6: xiked B exits 0" xk_stop B

# ---------------------------------------------------------------- 3. 0.0.0.0/0
# Everything from A's LAN to anywhere goes to B (a hub in the cloud): the route to
# 0.0.0.0/0 in table 220, and a throw route keeps B's own address on the main table.
conn0() { # conn0 LOCAL REMOTE LID RID LTS RTS START: DPD every 3 s
  cat <<EOF
[conn all]
local_addr = $1
remote_addr = $2
local_id = $3
remote_id = $4
auth = psk
psk = "$XK_PSK"
local_ts = $5
remote_ts = $6
start = $7
dpd = 3s
EOF
}
conn0 192.0.2.1 192.0.2.2 a.example b.example 10.1.0.0/24 0.0.0.0/0 initiate | xk_conf A
conn0 192.0.2.2 %any b.example a.example 0.0.0.0/0 10.1.0.0/24 none | xk_conf B
check "0/0: xiked B starts" xk_start b B
check "0/0: xiked A starts" xk_start a A
if xk_wait_child A 120; then ok "0/0: Child SA INSTALLED"
else fail "0/0: Child SA INSTALLED"; xk_log_tail A; fi
check "0/0: a's table 220: default via 192.0.2.2 src 10.1.0.1 and throw 192.0.2.2" \
  route_expect a '^default via 192\.0\.2\.2 dev wan0 proto 150 src 10\.1\.0\.1' '^throw 192\.0\.2\.2 proto 150'
peer_route() { local r; r=$(ns a ip route get 192.0.2.2); echo "$r"; [[ $r != *'table 220'* ]]; }
check "0/0: the peer's own address stays on the main table" peer_route
check "0/0: gateway a pings 10.2.0.1 through the tunnel" ping_ok a 10.2.0.1
stat_of() { json_field "$1" "$(xk_json A)"; echo "${JSON_VALUES[0]:-0}"; } # stat_of KEY: A's counter
dpd0=$(stat_of dpd_probes)
sleep 10
dpd1=$(stat_of dpd_probes)
dead=$(stat_of peers_dead)
note "0/0: A's dpd_probes $dpd0 -> $dpd1 over 10 s; peers_dead $dead"
check "0/0: DPD probes went out and were answered (no peer declared dead)" \
  eval '[ "$dpd1" -gt "$dpd0" ] && [ "$dead" = 0 ]'
spi0=$(ip -n a xfrm state | grep -c '^src' || true)
check "0/0: xikectl rekey (Child SA)" xk_ctl A rekey all
check "0/0: xikectl rekey --ike" xk_ctl A rekey all --ike
sleep 5
check "0/0: still INSTALLED after the rekeys" xk_wait_child A 60
check "0/0: IKE SA ESTABLISHED after the rekeys" eval '[[ $(xk_json A) == *"\"state\":\"ESTABLISHED\""* ]]'
note "0/0: xfrm states before the rekeys: $spi0, after: $(ip -n a xfrm state | grep -c '^src')"
check "0/0: the routes did not move: default and throw still there" \
  route_expect a '^default via 192\.0\.2\.2 dev wan0 proto 150 src 10\.1\.0\.1' '^throw 192\.0\.2\.2 proto 150'
check "0/0: ping after the rekeys" ping_ok a 10.2.0.1
check "0/0: xiked A exits 0" xk_stop A
check "0/0: table 220 and the rule empty in a and b after exit" empty_now a b
check "0/0: xiked B exits 0" xk_stop B

# ---------------------------------------------------------------- 4. the README's route-based VPN
# As written in the README ("A route-based VPN"): xiked makes the XFRM interface,
# puts if_id 7 on states and policies and routes the far LAN through it.
readme_route_a() {
  cat <<'EOF'
[conn site-b]
local_addr = 192.0.2.1
remote_addr = 192.0.2.2
local_id = a.example
remote_id = b.example
auth = psk
psk = "correct horse battery staple"
local_ts = 10.1.0.0/24
remote_ts = 10.2.0.0/24
if_id = 7
interface = xfrm-b
mtu = 1400
start = initiate
EOF
}
readme_route_b() {
  cat <<'EOF'
[conn site-a]
local_addr = 192.0.2.2
remote_addr = 192.0.2.1
local_id = b.example
remote_id = a.example
auth = psk
psk = "correct horse battery staple"
local_ts = 10.2.0.0/24
remote_ts = 10.1.0.0/24
if_id = 7
interface = xfrm-a
mtu = 1400
EOF
}
iface_ok() { # iface_ok NS NAME: an XFRM interface with if_id 7, up, mtu 1400
  local d
  d=$(ns "$1" ip -d link show dev "$2" 2>&1) || { echo "$d"; return 1; }
  echo "$d" | head -n 3
  [[ $d == *"xfrm if_id 0x7"* && $d == *",UP"* && $d == *"mtu 1400"* ]]
}
lan_route() { # lan_route NS PREFIX DEV: the main table routes PREFIX through DEV
  local r
  r=$(ns "$1" ip route show "$2")
  echo "ip route show $2 in $1: $r"
  [[ $r == *"dev $3"* ]]
}
no_iface() { ! ns "$1" ip link show dev "$2" >/dev/null 2>&1; }
readme_route_a | xk_conf A
readme_route_b | xk_conf B
check "route-based README: xiked B starts" xk_start b B
check "route-based README: xiked A starts (start = initiate)" xk_start a A
if xk_wait_child A 120 && xk_wait_child B 20; then ok "route-based README: Child SA INSTALLED on both sides"
else fail "route-based README: Child SA INSTALLED on both sides"; xk_log_tail A; xk_log_tail B; fi
check "route-based README: a has xfrm-b (if_id 7, up, mtu 1400), made by xiked" iface_ok a xfrm-b
check "route-based README: b has xfrm-a" iface_ok b xfrm-a
check "route-based README: a routes 10.2.0.0/24 through xfrm-b" lan_route a 10.2.0.0/24 xfrm-b
check "route-based README: b routes 10.1.0.0/24 through xfrm-a" lan_route b 10.1.0.0/24 xfrm-a
check "route-based README: a's states carry if_id 7" \
  eval '[ "$(ns a ip xfrm state | grep -c "if_id 0x7")" = 2 ]'
check "route-based README: nothing in a's table 220 (a route-based conn)" eval '[ "$(count_routes a)" = 0 ]'
check "route-based README: LAN host ha pings LAN host hb through the interfaces" ping_ok ha 10.2.0.10
rx_of() { ns "$1" cat "/sys/class/net/$2/statistics/rx_packets"; }
check "route-based README: xfrm-b counted the answers" eval '[ "$(rx_of a xfrm-b)" -ge 3 ]'
check "route-based README: xiked A exits 0" xk_stop A
check "route-based README: xiked B exits 0" xk_stop B
check "route-based README: the interfaces are gone after exit" eval 'no_iface a xfrm-b && no_iface b xfrm-a'
check "route-based README: nothing in xfrm after exit" eval 'xfrm_empty a && xfrm_empty b'

xk_cleanup
finish
