#!/usr/bin/env bash
# The tunnel shown by tools/demo, run where the kernel has ESP (inside the
# VM that tools/demo boots, or directly on such a host):
#
#   [ns site-a] 10.1.0.1 -- xiked 192.0.2.1 ==== IKEv2/ESP ==== 192.0.2.2 xiked -- 10.2.0.1 [ns site-b]
#
#   tools/demo-tunnel.sh BUILD_DIR
set -uo pipefail
build=$(readlink -f "${1:?usage: $0 BUILD_DIR}")
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/vm/lib.sh
. "$here/tests/vm/lib.sh"

xiked=$build/daemon/xiked
xikectl=$build/tools/xikectl
run=/tmp/xiked-demo
mkdir -p "$run"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "preparing the kernel (ESP, AES-GCM)"
modprobe -a esp4 esp6 xfrm_user veth dummy 2>/dev/null
xfrm_probe 4 aead 'rfc4106(gcm(aes))' "$(hexkey 36)" 128 >/dev/null 2>&1 || true

say "two sites in network namespaces, joined by a veth 'internet' link"
ns_new site-a site-b
ns_link site-a wan0 site-b wan0
ns_addr site-a wan0 192.0.2.1/24
ns_addr site-b wan0 192.0.2.2/24
ip -n site-a addr add 10.1.0.1/32 dev lo
ip -n site-b addr add 10.2.0.1/32 dev lo
ip -n site-a route add 10.2.0.0/24 dev wan0 src 10.1.0.1
ip -n site-b route add 10.1.0.0/24 dev wan0 src 10.2.0.1

for side in a b; do
  if [ $side = a ]; then me=192.0.2.1 peer=192.0.2.2 l=1 r=2 start=none other=b
  else me=192.0.2.2 peer=%any l=2 r=1 start=none other=a; fi
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
local_ts = 10.$l.0.0/24
remote_ts = 10.$r.0.0/24
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
wait_for 10 "xiked in site-a" test -S "$run/a.sock"

say "xikectl list-conns (site-a): what is configured"
"$xikectl" -s "$run/a.sock" list-conns
say "xikectl monitor (site-a) records the events from now on; xikectl up waits for the tunnel"
"$xikectl" -s "$run/a.sock" monitor > "$run/a.events" 2>&1 &
mon=$!
sleep 0.3
if ! "$xikectl" -s "$run/a.sock" up site-b --timeout 120; then
  fail "tunnel up"; tail -n 30 "$run/a.log" "$run/b.log"; kill $mon; finish; exit 1
fi
ok "tunnel up"

say "ping from site-a's LAN address 10.1.0.1 to site-b's 10.2.0.1 through the tunnel"
if ns_ping site-a -c 3 -W 2 -I 10.1.0.1 10.2.0.1; then ok "ping through the tunnel"; else fail "ping"; fi

say "xikectl status (site-a)"
"$xikectl" -s "$run/a.sock" status
say "xikectl metrics (site-a), an excerpt: the conn's state, SAs and ESP counters"
"$xikectl" -s "$run/a.sock" metrics |
  grep -E '^xiked_(conn_up|conn_info|ike_sas\{.*established|child_sas\{.*installed|conn_esp_(bytes|packets)_total|ike_setups_total|child_setups_total)' || true
say "xikectl rekey site-b: new Child SA keys, make-before-break"
"$xikectl" -s "$run/a.sock" rekey site-b
wait_for 20 "the child-rekey event" grep -q child-rekey "$run/a.events" || fail "child-rekey event"
say "xikectl down site-b, then up again"
"$xikectl" -s "$run/a.sock" down site-b
"$xikectl" -s "$run/a.sock" up site-b --timeout 120 || fail "up again"
sleep 0.3
kill $mon 2>/dev/null; wait $mon 2>/dev/null
say "what xikectl monitor printed meanwhile (one JSON object per event)"
cat "$run/a.events"
say "ip xfrm state (site-a)"
ip -n site-a -s xfrm state | sed -E 's/0x[0-9a-f]{16,}/<key>/g'
say "ip xfrm policy (site-a)"
ip -n site-a xfrm policy
say "xiked log (site-a)"
cat "$run/a.log"

say "stopping both daemons (SIGTERM): every SA and policy goes"
kill -TERM "$(cat "$run/a.pid")" "$(cat "$run/b.pid")"
wait "$(cat "$run/a.pid")" "$(cat "$run/b.pid")" 2>/dev/null
n=$(( $(ip -n site-a xfrm state | wc -l) + $(ip -n site-a xfrm policy | wc -l) +
      $(ip -n site-b xfrm state | wc -l) + $(ip -n site-b xfrm policy | wc -l) ))
if [ "$n" -eq 0 ]; then ok "nothing left in either kernel"; else fail "leftovers" "$n lines"; fi
finish
