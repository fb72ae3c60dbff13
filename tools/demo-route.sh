#!/usr/bin/env bash
# The route-based VPN shown by tools/demo (run where the kernel has ESP and
# xfrm_interface: inside the VM that tools/demo boots, or on such a host).
# xiked creates the XFRM interface itself (rtnetlink), its SAs and policies
# carry the interface's if_id, the selectors are 0.0.0.0/0 on both sides, and
# the routing table decides what goes into the tunnel:
#
#   [ns site-a] 10.1.0.1 -- xiked 192.0.2.1 ==== xfrm-a (if_id 7) ==== 192.0.2.2 xiked -- 10.2.0.1 [ns site-b]
#
#   tools/demo-route.sh BUILD_DIR
set -uo pipefail
build=$(readlink -f "${1:?usage: $0 BUILD_DIR}")
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/vm/lib.sh
. "$here/tests/vm/lib.sh"

xiked=$build/daemon/xiked
xikectl=$build/tools/xikectl
run=/tmp/xiked-demo-route
mkdir -p "$run"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "preparing the kernel (ESP, AES-GCM, XFRM interfaces)"
modprobe -a esp4 xfrm_user xfrm_interface veth 2>/dev/null
xfrm_probe 4 aead 'rfc4106(gcm(aes))' "$(hexkey 36)" 128 >/dev/null 2>&1 || true

say "two sites in network namespaces, joined by a veth 'internet' link"
ns_new site-a site-b
ns_link site-a wan0 site-b wan0
ns_addr site-a wan0 192.0.2.1/24
ns_addr site-b wan0 192.0.2.2/24
ip -n site-a addr add 10.1.0.1/32 dev lo
ip -n site-b addr add 10.2.0.1/32 dev lo

for side in a b; do
  if [ $side = a ]; then me=192.0.2.1 peer=192.0.2.2 l=1 r=2 start=initiate other=b id=7
  else me=192.0.2.2 peer=%any l=2 r=1 start=none other=a id=9; fi
  cat > "$run/$side.conf" <<CONF
[daemon]
control = $run/$side.sock
log = info

[conn site-$other]
local_addr = $me
remote_addr = $peer
local_id = $side.example
remote_id = $other.example
auth = psk
psk = "correct horse battery staple"
ike = aes256gcm16-prfsha256-x25519
esp = aes256gcm16
# any-to-any: which traffic is protected is the routing table's business
local_ts = 0.0.0.0/0
remote_ts = 0.0.0.0/0
# an XFRM interface made by xiked, with its if_id on every state and policy
if_id = $id
interface = xfrm-$side
mtu = 1400
address = 10.255.0.$l/32
start = $start
CONF
  chmod 600 "$run/$side.conf"
done
say "configuration of site-a ($run/a.conf)"
sed 's/^psk = .*/psk = "..."/' "$run/a.conf"

say "starting xiked in site-b (responder), then in site-a (initiator)"
ip netns exec site-b "$xiked" -f -c "$run/b.conf" >"$run/b.log" 2>&1 &
echo $! > "$run/b.pid"
wait_for 10 "xiked in site-b" test -S "$run/b.sock"
ip netns exec site-a "$xiked" -f -c "$run/a.conf" >"$run/a.log" 2>&1 &
echo $! > "$run/a.pid"
if ! wait_for 120 "the Child SA" sh -c "'$xikectl' -s '$run/a.sock' status --json | grep -q INSTALLED"; then
  fail "tunnel up"; tail -n 30 "$run/a.log" "$run/b.log"; finish; exit 1
fi
ok "tunnel up, interfaces created by xiked"

say "the route: site-b's LAN through the interface (one command of the administrator's)"
ip -n site-a route add 10.2.0.0/24 dev xfrm-a src 10.1.0.1
ip -n site-b route add 10.1.0.0/24 dev xfrm-b src 10.2.0.1
ip -n site-a route show dev xfrm-a

say "ping from site-a's 10.1.0.1 to site-b's 10.2.0.1 through xfrm-a"
if ns_ping site-a -c 3 -W 2 -I 10.1.0.1 10.2.0.1; then ok "ping through the interface"; else fail "ping"; fi

say "ip -d link show xfrm-a (site-a)"
ip -n site-a -d -s link show dev xfrm-a
say "ip xfrm state (site-a): if_id 0x7 on both states"
ip -n site-a xfrm state | sed -E 's/0x[0-9a-f]{16,}/<key>/g'
say "ip xfrm policy (site-a): 0.0.0.0/0, if_id 0x7"
ip -n site-a xfrm policy
say "xikectl status --json (site-a): the Child SA names its interface and if_id"
"$xikectl" -s "$run/a.sock" status --json | grep -oE '"child_sas":\[\{"name":"[^"]*","state":"[^"]*"|"interface":"[^"]*","if_id":[0-9]+'

say "stopping both daemons (SIGTERM): SAs, policies, interfaces and their routes go"
kill -TERM "$(cat "$run/a.pid")" "$(cat "$run/b.pid")"
wait "$(cat "$run/a.pid")" "$(cat "$run/b.pid")" 2>/dev/null
n=$(( $(ip -n site-a xfrm state | wc -l) + $(ip -n site-a xfrm policy | wc -l) +
      $(ip -n site-b xfrm state | wc -l) + $(ip -n site-b xfrm policy | wc -l) +
      $(ip -n site-a -o link show type xfrm | wc -l) + $(ip -n site-b -o link show type xfrm | wc -l) ))
ip -n site-a link show
if [ "$n" -eq 0 ]; then ok "nothing left in either kernel"; else fail "leftovers" "$n lines"; fi
finish
