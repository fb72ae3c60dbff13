#!/usr/bin/env bash
# Kernel tier of route-based VPNs (issue 8): xiked creates XFRM interfaces
# and VTIs through rtnetlink, its SAs and policies carry if_id or mark, and
# routing decides what goes into the tunnel.
#   1. hub and two spokes, every Child SA 0.0.0.0/0 === 0.0.0.0/0 (and ::/0
#      for spoke 2, which reaches the hub over IPv6) on XFRM interfaces; the
#      hub's conn has if_id = %unique, one interface per spoke; pings
#      spoke-LAN -> hub-LAN and spoke-LAN -> spoke-LAN through the hub; Child
#      and IKE rekeys on the hub in the middle of a ping lose nothing;
#      `xikectl down` and SIGTERM leave no interface, route, state or policy;
#   2. a site-to-site pair over VTIs with marks, IPv4 (ip_vti) and IPv6
#      outer and inner (ip6_vti) at once, routes = yes;
#   3. interop with strongSwan (if_id_in/if_id_out on an XFRM interface),
#      xiked initiating and responding; a killed xiked's interface (alias
#      "xiked") is taken over by the next one and removed.
#   tests/vm/run tests/vm/all.sh BUILD_DIR tests/vm/scenarios/route.sh
# XIKED_ROUTE_CASES=REGEX runs only matching cases (hub|vti|strongswan).
#
# Topology (namespaces):
#   l1 10.1.0.2 -- s1 (xiked) 192.0.2.2 ----- 192.0.2.1   hub (xiked) -- l0 10.0.0.2 fd00::2
#   l2 10.2.0.2 -- s2 (xiked) 2001:db8:2::2 - 2001:db8:2::1 hub
#      fd02::2
#   hx (xiked) 198.51.100.1 10.0.0.1 ------------------ 198.51.100.2 10.3.0.1 ss (strongSwan, xfrm-s if_id 42)
#   va (xiked) 203.0.113.1 2001:db8:5::1 ------ 203.0.113.2 2001:db8:5::2 vb (xiked)
#      10.11.0.1 fd11::1 (lo)                     10.12.0.1 fd12::1 (lo)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$here/../lib.sh"
# shellcheck source=tests/vm/xiked.sh
. "$here/../xiked.sh"
vm_require
xk_init "${1:-build}"
save_logs() {
  [ -n "${XIKED_VM_OUT:-}" ] || return 0
  local d
  for d in "$XK_DIR" "$VM_SS_DIR"; do
    mkdir -p "$XIKED_VM_OUT/route/${d##*/}"
    find "$d" -type f \( -name '*.log' -o -name '*.conf' -o -name '*.out' \) \
      -exec cp {} "$XIKED_VM_OUT/route/${d##*/}/" \; 2>/dev/null || true
  done
}
on_exit() {
  local rc=$?
  set +e
  xk_cleanup
  save_logs
  (exit "$rc")
  vm_on_exit
}
trap on_exit EXIT

# Every check that takes more than a second says so (the budget is 150 s).
eval "lib_$(declare -f check)"
check() {
  local t=$EPOCHREALTIME ms
  lib_check "$@"
  ms=$(((${EPOCHREALTIME/./} - ${t/./}) / 1000))
  [ "$ms" -lt 1000 ] || note "  ($ms ms)"
}

T_CASE=$EPOCHREALTIME
wanted() { [ -z "${XIKED_ROUTE_CASES:-}" ] || grep -qE -- "$XIKED_ROUTE_CASES" <<< "$1"; }
case_begin() { T_CASE=$EPOCHREALTIME; note "---- case $1"; }
case_end() { note "case $1 took $(((${EPOCHREALTIME/./} - ${T_CASE/./}) / 1000)) ms"; }

# Only the algorithm used here: the warm-up is the dear part under TCG.
VM_XFRM_ALGS=("4 aead rfc4106(gcm(aes)) $(hexkey 36) 128" "6 aead rfc4106(gcm(aes)) $(hexkey 36) 128")
note "kernel $(uname -r)"
if vm_kernel_init; then ok "load IPsec and interface modules, warm up AES-GCM"
else fail "load IPsec and interface modules, warm up AES-GCM"; fi

IKE=aes256gcm16-prfsha256-x25519
ESP=aes256gcm16

# ping_ok NS SRC DST [COUNT]: COUNT (3) echo requests from SRC, all answered.
ping_ok() {
  local n=$1 src=$2 dst=$3 c=${4:-3} out fam=()
  [[ $dst == *:* ]] && fam=(-6)
  out=$(ns_ping "$n" "${fam[@]}" -c "$c" -i 0.2 -W 5 -I "$src" "$dst" 2>&1) || { echo "$out"; return 1; }
  echo "${out##*---}"
  [[ $out == *"$c packets received"* ]] || { echo "$out"; return 1; }
}

# nothing_left NS...: no xfrm state or policy, no xfrm/vti interface, no route
# through one (waits 20 s).
ns_clean() {
  local n=$1 l
  xfrm_empty "$n" || return 1
  # One listing (forks are dear under TCG); ip_vti0 and ip6_vti0 are the
  # modules' own fallback devices, present in every namespace. Routes
  # through an interface go with it.
  l=$(ip -n "$n" -d -o link show)
  ! grep -vE '^[0-9]+: ip6?_vti0@' <<< "$l" | grep -qE ' (xfrm if_id|vti6? remote) '
}
all_clean() { local n; for n in "$@"; do ns_clean "$n" || return 1; done; }
nothing_left() {
  local n
  wait_for 20 "states, policies and interfaces to go in $*" all_clean "$@" && return 0
  for n in "$@"; do
    echo "left in $n:"
    { ip -n "$n" xfrm state; xfrm_policies "$n"; ip -n "$n" -d link show; ip -n "$n" route; } |
      sed -E 's/0x[0-9a-f]{16,}/KEY/g'
  done
  return 1
}

# xk_launch NS:NAME...: start daemons without waiting (each one's start-up
# costs seconds under TCG); xk_sockets NAME... then waits for their sockets.
xk_launch() {
  local a n name
  for a in "$@"; do
    n=${a%%:*} name=${a#*:}
    rm -f "$XK_DIR/$name.sock"
    echo "=== xiked started $(date +%T)" >> "$XK_DIR/$name.log"
    ip netns exec "$n" "$XIKED" -f -d -c "$XK_DIR/$name.conf" >> "$XK_DIR/$name.log" 2>&1 &
    echo $! > "$XK_DIR/$name.pid"
    XK_DAEMONS+=("$name")
  done
}
xk_sockets() {
  local name
  for name in "$@"; do
    wait_for 30 "xiked $name's control socket" xk_ctl "$name" status || {
      tail -n 20 "$XK_DIR/$name.log" >&2
      return 1
    }
  done
}
xk_start_all() { # xk_start_all NS:NAME...
  local a names=()
  xk_launch "$@"
  for a in "$@"; do names+=("${a#*:}"); done
  xk_sockets "${names[@]}"
}

# ---------------------------------------------------------------- 1. hub and spokes
hub_conf() {
  xk_conf hub <<EOF
[conn spokes]
remote_addr = %any
local_id = hub.example
remote_id = %any
auth = psk
psk = "$XK_PSK"
ike = $IKE
esp = $ESP
local_ts = 0.0.0.0/0, ::/0
remote_ts = 0.0.0.0/0, ::/0
if_id = %unique
interface = xh%d
mtu = 1400
dpd = 0
EOF
}
spoke_conf() { # spoke_conf NAME LOCAL HUB TS
  xk_conf "$1" <<EOF
[conn hub]
local_addr = $2
remote_addr = $3
local_id = $1.example
remote_id = hub.example
auth = psk
psk = "$XK_PSK"
ike = $IKE
esp = $ESP
local_ts = $4
remote_ts = $4
if_id = 7
interface = xs
address = 10.255.0.$((${1#s} + 1))/32
dpd = 0
EOF
}

# hub_iface ID: the hub's interface for the spoke with identity ID, from
# `xikectl status --json` (each IKE SA object names its peer, then its
# Child SAs with their interface).
hub_iface() {
  local j chunk re='"interface":"([^"]*)"'
  j=$(xk_json hub) || return 1
  # Only IKE SA objects have "role" (Child SAs are named like the conn too).
  while [[ $j == *'"role":"'* ]]; do
    j=${j#*'"role":"'}
    chunk=${j%%'"role":"'*}
    if [[ $chunk == *"\"id\":\"$1\""* && $chunk =~ $re ]]; then
      echo "${BASH_REMATCH[1]}"
      return 0
    fi
  done
  return 1
}

# The interface, if_id and routes of an xfrm interface as the kernel has them.
iface_is() { # iface_is NS NAME IF_ID MTU
  local d
  d=$(ip -n "$1" -d link show dev "$2") || return 1
  echo "$d"
  [[ $d == *"if_id 0x$(printf %x "$3") "* && $d == *",UP"* ]] || return 1
  [ "$4" = - ] || [[ $d == *"mtu $4 "* ]]
}

states_with() { # states_with NS IF_ID N: exactly N states with if_id IF_ID
  count_lines "if_id 0x$(printf %x "$2")( |\$)" "$(ip -n "$1" xfrm state)"
  echo "states with if_id $2: $REPLY"
  [ "$REPLY" = "$3" ]
}
states_carry() { # states_carry NS IF_ID N: N states, every one with if_id
  local s
  s=$(ip -n "$1" xfrm state)
  count_lines '^src' "$s"; local n=$REPLY
  count_lines "if_id 0x$(printf %x "$2")( |\$)" "$s"
  echo "states $n, with if_id $2: $REPLY"
  [ "$n" = "$3" ] && [ "$REPLY" = "$3" ]
}

case_hub() {
  wanted hub || return 0
  case_begin hub
  ns_new hub s1 s2 l0 l1 l2
  ns_link hub h1 s1 up1
  ns_link hub h2 s2 up2
  ns_link hub hl l0 eth0
  ns_link s1 lan l1 eth0
  ns_link s2 lan l2 eth0
  ns_addr hub h1 192.0.2.1/24
  ns_addr s1 up1 192.0.2.2/24
  ns_addr hub h2 2001:db8:2::1/64
  ns_addr s2 up2 2001:db8:2::2/64
  ns_addr hub hl 10.0.0.1/24 fd00::1/64
  ns_addr l0 eth0 10.0.0.2/24 fd00::2/64
  ns_addr s1 lan 10.1.0.1/24
  ns_addr l1 eth0 10.1.0.2/24
  ns_addr s2 lan 10.2.0.1/24 fd02::1/64
  ns_addr l2 eth0 10.2.0.2/24 fd02::2/64
  local n
  for n in l0 l1 l2; do
    ns "$n" ip route add default via "10.${n#l}.0.1"
  done
  ns l0 ip -6 route add default via fd00::1
  ns l2 ip -6 route add default via fd02::1
  for n in hub s1 s2; do
    ns "$n" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  done
  hub_conf
  spoke_conf s1 192.0.2.2 192.0.2.1 0.0.0.0/0
  spoke_conf s2 2001:db8:2::2 2001:db8:2::1 "0.0.0.0/0, ::/0"
  check "hub, s1, s2: xiked starts" xk_start_all hub:hub s1:s1 s2:s2
  check "s1 -> hub: up (IPv4 outer)" xk_ctl s1 up hub
  check "s2 -> hub: up (IPv6 outer)" xk_ctl s2 up hub
  check "s1: Child SA installed" xk_wait_child s1 30
  check "s2: Child SA installed" xk_wait_child s2 30
  local i1 i2
  i1=$(hub_iface s1.example || true)
  i2=$(hub_iface s2.example || true)
  note "hub interfaces: s1 -> ${i1:-none}, s2 -> ${i2:-none}"
  check "hub: xikectl status names one interface per spoke" \
    test -n "$i1" -a -n "$i2" -a "$i1" != "$i2"
  check "hub: $i1 is an xfrm interface, if_id ${i1#xh}, mtu 1400, up" iface_is hub "$i1" "${i1#xh}" 1400
  check "hub: $i2 is an xfrm interface, if_id ${i2#xh}, mtu 1400, up" iface_is hub "$i2" "${i2#xh}" 1400
  check "s1: xs has if_id 7 and its address" eval \
    'iface_is s1 xs 7 - && ip -n s1 addr show dev xs | grep -q 10.255.0.2/32'
  check "hub: 2 states with each spoke's if_id" eval \
    "states_with hub ${i1#xh} 2 && states_with hub ${i2#xh} 2"
  check "s1: 2 states, both with if_id 7" states_carry s1 7 2
  check "s2: 2 states, both with if_id 7" states_carry s2 7 2
  check "hub: 0.0.0.0/0 policies of both spokes side by side (distinct if_ids)" eval \
    "p=\$(xfrm_policies hub); count_lines 'dir out' \"\$p\"; echo \"\$p\"; [ \$REPLY -eq 3 ]"
  # Routing decides: each spoke's LAN through its interface; spokes send 10/8 and fd00::/8 into xs.
  ns hub ip route add 10.1.0.0/24 dev "$i1"
  ns hub ip route add 10.2.0.0/24 dev "$i2"
  ns hub ip -6 route add fd02::/64 dev "$i2"
  ns s1 ip route add 10.0.0.0/8 dev xs
  ns s2 ip route add 10.0.0.0/8 dev xs
  ns s2 ip -6 route add fd00::/16 dev xs
  check "l1 -> l0 (spoke LAN to hub LAN)" ping_ok l1 10.1.0.2 10.0.0.2
  check "l2 -> l0 over IPv6 outer" ping_ok l2 10.2.0.2 10.0.0.2
  check "l2 -> l0 IPv6 inner, IPv6 outer" ping_ok l2 fd02::2 fd00::2
  check "l1 -> l2 (spoke to spoke through the hub)" ping_ok l1 10.1.0.2 10.2.0.2
  # Rekeys in the middle of a ping: 25 requests, 0.2 s apart, none lost.
  local pf=/tmp/route-ping.$$ pp
  ns_ping l1 -c 25 -i 0.2 -W 3 -I 10.1.0.2 10.2.0.2 > "$pf" 2>&1 & pp=$!
  sleep 1
  check "hub: xikectl rekey spokes (Child SAs)" xk_ctl hub rekey spokes
  sleep 1.5
  check "hub: xikectl rekey spokes --ike" xk_ctl hub rekey spokes --ike
  wait "$pp" || true
  note "ping during rekeys: $(grep -o '[0-9]* packets transmitted.*loss' "$pf" || tail -n 2 "$pf")"
  check "no request lost during the rekeys" grep -q ' 25 received\| 25 packets received' "$pf"
  rm -f "$pf"
  check "hub: rekeyed Child SAs still carry the spoke's if_id" eval \
    "[ \"\$(hub_iface s1.example)\" = $i1 ] && [ \"\$(hub_iface s2.example)\" = $i2 ]"
  check "hub: still one xfrm interface per spoke after rekeys" eval \
    "[ \$(ip -n hub -o link show type xfrm | wc -l) -eq 2 ]"
  check "l1 -> l2 after the rekeys" ping_ok l1 10.1.0.2 10.2.0.2
  # Teardown: s1 by xikectl down, the hub by SIGTERM (s2 gets its Delete).
  check "s1: xikectl down hub" xk_ctl s1 down hub
  check "s1: nothing left" nothing_left s1
  check "hub: s1's interface $i1 removed" wait_for 20 "$i1 to go" eval "! ip -n hub link show dev $i1"
  check "hub: s1's if_id is on no state any more" states_with hub "${i1#xh}" 0
  check "hub: s2's interface stays" ip -n hub link show dev "$i2"
  check "hub: exits on SIGTERM (status 0)" xk_stop hub
  check "hub and s2: nothing left after the hub's exit" nothing_left hub s2
  check "s1: exits" xk_stop s1
  check "s2: exits" xk_stop s2
  xk_cleanup
  case_end hub
}

# ---------------------------------------------------------------- 2. VTI pair
vti_conf() { # vti_conf NAME L4 R4 L6 R6 LNET RNET LNET6 RNET6 START
  xk_conf "$1" <<EOF
[conn v4]
local_addr = $2
remote_addr = $3
local_id = $1.example
remote_id = $([ "$1" = va ] && echo vb || echo va).example
auth = psk
psk = "$XK_PSK"
ike = $IKE
esp = $ESP
local_ts = $6
remote_ts = $7
vti = vti-$1
mark = 42
start = ${10}
dpd = 0
[conn v6]
local_addr = $4
remote_addr = $5
local_id = $1.example
remote_id = $([ "$1" = va ] && echo vb || echo va).example
auth = psk
psk = "$XK_PSK"
ike = $IKE
esp = $ESP
local_ts = $8
remote_ts = $9
vti = vti6-$1
mark = 43
address = ${8%%::*}::1/128
start = ${10}
dpd = 0
EOF
}

marks_on_all() { # marks_on_all NS: 4 states, 2 with mark 42 and 2 with mark 43
  local s
  s=$(ip -n "$1" xfrm state)
  count_lines '^src' "$s"; local n=$REPLY
  count_lines 'mark 0x2a/0xffffffff' "$s"; local m42=$REPLY
  count_lines 'mark 0x2b/0xffffffff' "$s"
  echo "states $n, mark 42: $m42, mark 43: $REPLY"
  [ "$n" = 4 ] && [ "$m42" = 2 ] && [ "$REPLY" = 2 ]
}

case_vti() {
  wanted vti || return 0
  case_begin vti
  ns_new va vb
  ns_link va w vb w
  ns_addr va w 203.0.113.1/24 2001:db8:5::1/64
  ns_addr vb w 203.0.113.2/24 2001:db8:5::2/64
  ns_addr va lo 10.11.0.1/32 fd11::1/128
  ns_addr vb lo 10.12.0.1/32 fd12::1/128
  vti_conf vb 203.0.113.2 %any 2001:db8:5::2 %any 10.12.0.0/24 10.11.0.0/24 fd12::/64 fd11::/64 none
  vti_conf va 203.0.113.1 203.0.113.2 2001:db8:5::1 2001:db8:5::2 10.11.0.0/24 10.12.0.0/24 \
    fd11::/64 fd12::/64 initiate
  check "va, vb: xiked starts (va: start = initiate)" xk_start_all vb:vb va:va
  check "va: both Child SAs installed" wait_for 30 "two Child SAs" eval \
    "[ \$(xk_json va | grep -o '\"state\":\"INSTALLED\"' | wc -l) -ge 2 ]"
  check "va: vti-va (ip_vti, ikey/okey 42, disable_policy) and vti6-va (ip6_vti, key 43)" eval \
    "ip -n va -d link show dev vti-va | tee /dev/stderr | grep -Eq 'ikey (0\.0\.0\.)?42 okey (0\.0\.0\.)?42' &&
     [ \$(ip netns exec va cat /proc/sys/net/ipv4/conf/vti-va/disable_policy) = 1 ] &&
     ip -n va -d link show dev vti6-va | tee /dev/stderr | grep -Eq 'vti6 remote 2001:db8:5::2 local 2001:db8:5::1 .*ikey (0\.0\.0\.)?43'"
  check "va and vb: marks on every state" eval "marks_on_all va && marks_on_all vb"
  check "va: routes = yes: 10.12.0.0/24 via vti-va, fd12::/64 via vti6-va" eval \
    "ip -n va route show 10.12.0.0/24 | grep -q 'dev vti-va' && ip -n va -6 route show fd12::/64 | grep -q 'dev vti6-va'"
  check "xiked's status shows the mark and interface" eval \
    "xk_json va | grep -q '\"interface\":\"vti-va\",\"mark\":42'"
  check "ping over VTI, IPv4 inner and outer" ping_ok va 10.11.0.1 10.12.0.1
  check "ping over VTI6, IPv6 inner and outer" ping_ok va fd11::1 fd12::1
  check "va: xikectl down v4, down v6" eval "xk_ctl va down v4 && xk_ctl va down v6"
  check "va and vb: nothing left after down" nothing_left va vb
  check "va: no route left through a VTI" eval "! ip -n va route | grep -q vti"
  check "va, vb: exit" eval "xk_stop va && xk_stop vb"
  xk_cleanup
  case_end vti
}

# ---------------------------------------------------------------- 3. strongSwan
ss_route_conf() { # strongSwan in ss with an XFRM interface of if_id 42 (made here: charon does not)
  cat > "$VM_SS_DIR/route.conf" <<EOF
connections {
  x {
    version = 2
    local_addrs = 198.51.100.2
    remote_addrs = 198.51.100.1
    proposals = $IKE
    local {
      auth = psk
      id = ss.example
    }
    remote {
      auth = psk
      id = hub.example
    }
    children {
      net {
        local_ts = 10.3.0.0/24
        remote_ts = 10.0.0.0/24
        esp_proposals = $ESP
        if_id_in = 42
        if_id_out = 42
      }
    }
  }
}
secrets {
  ike-x {
    id-1 = hub.example
    id-2 = ss.example
    secret = "$XK_PSK"
  }
}
EOF
}

# The strongSwan side takes seconds to start under TCG (charon, then swanctl
# and its plugins): ss_prepare builds its namespaces and starts it in the
# background while the other cases run; case_strongswan waits for it.
SS_PREP=""
ss_prepare() {
  wanted strongswan || return 0
  ns_new hx ss
  VM_CHARONS+=(ss)
  ns_link hx hs ss s
  ns_addr hx hs 198.51.100.1/24
  ns_addr ss s 198.51.100.2/24
  ns_addr hx lo 10.0.0.1/32
  ns_addr ss lo 10.3.0.1/32
  ns ss ip link add xfrm-s type xfrm if_id 42
  ns ss ip link set xfrm-s up
  ns ss ip route add 10.0.0.0/24 dev xfrm-s
  mkdir -p "$VM_SS_DIR"
  ss_route_conf
  { charon_start ss && charon_load ss "$VM_SS_DIR/route.conf"; } > "$VM_SS_DIR/prepare.out" 2>&1 &
  SS_PREP=$!
}

case_strongswan() {
  wanted strongswan || return 0
  case_begin strongswan
  xk_conf hx <<EOF
[conn ss]
local_addr = 198.51.100.1
remote_addr = 198.51.100.2
local_id = hub.example
remote_id = ss.example
auth = psk
psk = "$XK_PSK"
ike = $IKE
esp = $ESP
local_ts = 10.0.0.0/24
remote_ts = 10.3.0.0/24
if_id = 5
interface = xfrm-ss
dpd = 0
EOF
  xk_launch hx:hx
  check "ss: charon started, swanctl loaded (if_id_in/if_id_out 42)" eval \
    "wait $SS_PREP || { cat '$VM_SS_DIR/prepare.out'; false; }"
  check "hx: xiked starts" xk_sockets hx
  local who
  for who in xiked strongswan; do
    if [ $who = xiked ]; then
      check "xiked initiates to strongSwan" xk_ctl hx up ss
    else
      check "strongSwan initiates to xiked" charon_initiate ss net 120
    fi
    check "$who initiated: xiked's Child SA installed" xk_wait_child hx 120
    check "$who initiated: xfrm-ss created with if_id 5, route 10.3.0.0/24 through it" eval \
      "iface_is hx xfrm-ss 5 - && ip -n hx route show 10.3.0.0/24 | grep -q 'dev xfrm-ss'"
    check "$who initiated: states carry if_id 5 (xiked) and 42 (strongSwan)" eval \
      "states_carry hx 5 2 && states_carry ss 42 2"
    check "$who initiated: ping hub -> strongSwan over both xfrm interfaces" \
      ping_ok hx 10.0.0.1 10.3.0.1
    check "$who initiated: xikectl down" xk_ctl hx down ss
    check "$who initiated: nothing left (xiked: interface, route, states, policies; strongSwan: SAs)" \
      eval "nothing_left hx && wait_for 20 \"strongSwan's SAs\" eval '[ -z \"\$(ip -n ss xfrm state)\" ]'"
  done
  # A crashed xiked leaves its interface behind, marked with its alias; the
  # next one takes it over and removes it when done.
  check "crash: xiked up again" xk_ctl hx up ss
  check "crash: Child SA installed" xk_wait_child hx 60
  kill -KILL "$(cat "$XK_DIR/hx.pid")"
  check "crash: xfrm-ss left behind, alias xiked" eval \
    "sleep 0.5; ip -n hx -d link show dev xfrm-ss | grep -q 'alias xiked'"
  xk_launch hx:hx
  check "crash: a new xiked starts" xk_sockets hx
  check "crash: up again, the interface taken over" eval \
    "xk_ctl hx up ss && xk_wait_child hx 60 && grep -q 'taking over interface xfrm-ss' '$XK_DIR/hx.log'"
  check "crash: ping over the taken-over interface" ping_ok hx 10.0.0.1 10.3.0.1
  check "crash: xikectl down removes it" eval "xk_ctl hx down ss && nothing_left hx"
  check "hx: exits" xk_stop hx
  xk_cleanup
  case_end strongswan
}

# Each case deletes its own namespaces (the strongSwan ones live from the start).
drop_ns() { local n; for n in "$@"; do ip netns delete "$n" 2>/dev/null || true; done; }
ss_prepare
case_hub
drop_ns hub s1 s2 l0 l1 l2
case_vti
drop_ns va vb
case_strongswan
note "route.sh took $(vm_elapsed) s"
finish
