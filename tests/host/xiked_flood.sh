#!/usr/bin/env bash
# Host tier, DoS protection (RFC 7296 2.6): a responder xiked takes a bounded
# flood of IKE_SA_INIT from thousands of spoofed sources (tests/host/ike_flood,
# in the attacker's namespace, stopping by itself) while a legitimate xiked
# initiator connects. Cookies must engage, half-open SAs and memory stay
# bounded, and the legitimate IKE SA must come up during the flood.
#   tests/host/xiked_flood.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: $0 BUILD_DIR}
flood=$build/tests/host/ike_flood
. "$(dirname "$0")/netns_pair.sh"
host_test xiked-flood
COUNT=${XIKED_FLOOD_COUNT:-20000} SOURCES=${XIKED_FLOOD_SOURCES:-4096} RATE=${XIKED_FLOOD_RATE:-2000}
# The responder r in B (192.0.2.2); the attacker and the legitimate initiator a in A (192.0.2.1).
netns_pair xkf
# Answers to the spoofed sources go back over the link and die there.
ip -n "$B" route add 198.18.0.0/15 via 192.0.2.1 # one neighbour entry, not thousands

cat > "$tmp/r.conf" <<CONF
[daemon]
control = $tmp/r.sock
log = info
cookie_threshold = 10
half_open_max = 1000
half_open_per_ip = 5
half_open_timeout = 10s
[conn any]
local_addr = 192.0.2.2
remote_addr = %any
local_id = gw.example
remote_id = %any
auth = psk
psk = "correct horse battery staple"
local_ts = 10.2.0.0/24
remote_ts = 10.1.0.0/24
CONF
cat > "$tmp/a.conf" <<CONF
[daemon]
control = $tmp/a.sock
log = info
[conn gw]
local_addr = 192.0.2.1
remote_addr = 192.0.2.2
local_id = legit.example
remote_id = gw.example
auth = psk
psk = "correct horse battery staple"
local_ts = 10.1.0.0/24
remote_ts = 10.2.0.0/24
CONF
chmod 600 "$tmp"/*.conf
xiked_start "$B" r
rpid=$(cat "$tmp/r.pid")
wait_sock "$tmp/r.sock"
rss() { awk '/VmRSS/ {print $2}' "/proc/$rpid/status"; }
rss0=$(rss)

ip netns exec "$A" "$flood" 192.0.2.2 198.18.0.1 "$SOURCES" "$COUNT" 60 "$RATE" >"$tmp/flood.out" 2>&1 &
echo $! > "$tmp/flood.pid"
sleep 1 # the flood is under way
xiked_start "$A" a
t0=${EPOCHREALTIME/./}
"$xikectl" -s "$tmp/a.sock" up gw >/dev/null 2>&1 || { sleep 0.3; "$xikectl" -s "$tmp/a.sock" up gw >/dev/null 2>&1; }
peak=$rss0 legit=""
while kill -0 "$(cat "$tmp/flood.pid")" 2>/dev/null || [ -z "$legit" ]; do
  r=$(rss); [ "${r:-0}" -gt "$peak" ] && peak=$r
  if [ -z "$legit" ] && "$xikectl" -s "$tmp/a.sock" status --json 2>/dev/null | grep -q '"state":"ESTABLISHED"'; then
    us=$((${EPOCHREALTIME/./} - t0)); legit=$(printf '%d.%03d' $((us / 1000000)) $((us / 1000 % 1000)))
    flood_running=$(kill -0 "$(cat "$tmp/flood.pid")" 2>/dev/null && echo yes || echo no)
  fi
  [ $((${EPOCHREALTIME/./} - t0)) -gt 90000000 ] && break
  sleep 0.1
done
wait "$(cat "$tmp/flood.pid")" 2>/dev/null; rm -f "$tmp/flood.pid"
cat "$tmp/flood.out"
st=$("$xikectl" -s "$tmp/r.sock" status --json)
num() { echo "$st" | grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2; }
echo "responder: rx $(num rx), cookies sent $(num cookies_sent), accepted $(num cookies_accepted)," \
     "half-open peak $(num half_open_peak), dropped (total cap) $(num dropped_half_open_max)," \
     "dropped (per-IP cap) $(num dropped_half_open_per_ip)"
echo "responder memory: $rss0 KiB before, peak $peak KiB (+$((peak - rss0)) KiB)"
if [ -n "$legit" ] && [ "$flood_running" = yes ]; then
  echo "legitimate initiator established in ${legit} s (flood still running: $flood_running)"
  ok "the legitimate IKE SA comes up during the flood"
else
  bad "the legitimate IKE SA did not come up"
fi
[ "$(num cookies_sent)" -gt 0 ] && ok "cookies engage" || bad "no cookies sent"
[ "$(num half_open_peak)" -le 1000 ] && ok "half-open SAs bounded by half_open_max" || bad "half-open peak"
[ $((peak - rss0)) -lt 65536 ] && ok "memory bounded (< 64 MiB growth)" || bad "memory grew by $((peak - rss0)) KiB"
kill -TERM "$rpid" "$(cat "$tmp/a.pid")"
wait "$rpid"; rc=$?; rm -f "$tmp/r.pid"
[ $rc -eq 0 ] && ok "responder exits 0 after the flood" || bad "responder exit status $rc"
host_end xiked_flood "$tmp/r.log" "$tmp/a.log"
