#!/usr/bin/env bash
# Host tier: two xiked in network namespaces over veth, on this machine's
# kernel (XFRM without ESP). The IKE SA must come up, the Child SA install
# must fail with one clear message about the missing ESP support, and
# nothing may be left in the kernel; SIGTERM ends both with status 0.
#   tests/host/xiked_pair.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: $0 BUILD_DIR}
xiked=$build/daemon/xiked
xikectl=$build/tools/xikectl
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root"; exit 0; }
tmp=$(mktemp -d /tmp/xiked-pair.XXXXXX)
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
bad() { failed=$((failed + 1)); echo "FAIL - $1"; }
A=xkp-a-$$ B=xkp-b-$$
cleanup() {
  for p in "$tmp"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
  sleep 0.2
  ip netns del "$A" 2>/dev/null; ip netns del "$B" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$A" && ip netns add "$B" || { echo "cannot create namespaces"; exit 1; }
ip link add xkp-a$$ netns "$A" type veth peer name xkp-b$$ netns "$B"
ip -n "$A" link set lo up; ip -n "$B" link set lo up
ip -n "$A" addr add 192.0.2.1/24 dev xkp-a$$; ip -n "$A" link set xkp-a$$ up
ip -n "$B" addr add 192.0.2.2/24 dev xkp-b$$; ip -n "$B" link set xkp-b$$ up

conf() { # conf NAME LOCAL REMOTE LID RID START
  cat > "$tmp/$1.conf" <<CONF
[daemon]
control = $tmp/$1.sock
log = debug
[conn peer]
local_addr = $2
remote_addr = $3
local_id = $4
remote_id = $5
auth = psk
psk = "correct horse battery staple"
ike = aes256gcm16-prfsha256-x25519
esp = aes128-sha256
local_ts = 10.$6.0.0/24
remote_ts = 10.$7.0.0/24
start = $8
CONF
  chmod 600 "$tmp/$1.conf"
}
conf a 192.0.2.1 192.0.2.2 a.example b.example 1 2 initiate
conf b 192.0.2.2 %any b.example a.example 2 1 none

ip netns exec "$B" "$xiked" -f -c "$tmp/b.conf" >"$tmp/b.log" 2>&1 & echo $! > "$tmp/b.pid"
for _ in $(seq 50); do [ -S "$tmp/b.sock" ] && break; sleep 0.1; done
ip netns exec "$A" "$xiked" -f -c "$tmp/a.conf" >"$tmp/a.log" 2>&1 & echo $! > "$tmp/a.pid"

established=no
for _ in $(seq 100); do
  if "$xikectl" -s "$tmp/a.sock" status --json 2>/dev/null | grep -q '"state":"ESTABLISHED"'; then
    established=yes; break
  fi
  sleep 0.1
done
[ $established = yes ] && ok "IKE SA established between two xiked" || bad "IKE SA established"
"$xikectl" -s "$tmp/b.sock" status --json 2>/dev/null | grep -q '"state":"ESTABLISHED"' \
  && ok "responder shows the IKE SA ESTABLISHED" || bad "responder status"
"$xikectl" -s "$tmp/a.sock" status || true

# log = debug: one line per message with its payload list, as charon prints them.
grep -qE 'sending IKE_AUTH request 1 \[ IDi .*AUTH .*SA TSi TSr .*\] from 192\.0\.2\.1\[4500\] to 192\.0\.2\.2\[4500\]' "$tmp/a.log" \
  && ok "debug line: sending IKE_AUTH request 1 [ IDi ... ] with the addresses" || bad "IKE_AUTH send line"
grep -qE 'received IKE_AUTH response 1 \[ IDr AUTH .*\] from 192\.0\.2\.2\[4500\]' "$tmp/a.log" \
  && ok "debug line: received IKE_AUTH response 1 [ IDr AUTH ... ]" || bad "IKE_AUTH receive line"
grep -h "IKE_AUTH request 1 \[" "$tmp/a.log" "$tmp/b.log" | head -n 2 | sed 's/^/    /'

sleep 0.3
if grep -q "no ESP support" "$tmp/a.log" "$tmp/b.log"; then
  ok "Child SA install fails with a clear message about missing ESP"
  grep -h "no ESP support" "$tmp/a.log" "$tmp/b.log" | head -n 2 | sed 's/^/    /'
else
  bad "clear ESP message"
fi
for n in "$A" "$B"; do
  # Per-socket policies (xiked's IKE sockets bypass IPsec) are not SPD entries: skip them.
  s=$(ip -n "$n" xfrm state | wc -l); p=$(ip -n "$n" xfrm policy | grep -c 'dir ')
  [ "$s" -eq 0 ] && [ "$p" -eq 0 ] && ok "nothing left in the kernel of $n" \
    || bad "kernel of $n holds $s state and $p policy lines"
done

# An IKE SA rekey on request (RFC 7296 1.3.2): new SPIs, still established on both sides.
spis() { "$xikectl" -s "$tmp/$1.sock" status --json | grep -o '"spi_i":"[0-9a-f]*"' | head -n 1; }
before=$(spis a)
if "$xikectl" -s "$tmp/a.sock" rekey peer --ike; then
  rekeyed=no
  for _ in $(seq 50); do
    now=$(spis a)
    if [ -n "$now" ] && [ "$now" != "$before" ] && [ "$now" = "$(spis b)" ] &&
       [ "$("$xikectl" -s "$tmp/a.sock" status --json | grep -o '"state":"ESTABLISHED"' | wc -l)" -eq 1 ]; then
      rekeyed=yes; break
    fi
    sleep 0.1
  done
  [ $rekeyed = yes ] && ok "xikectl rekey --ike: new IKE SA on both sides ($before -> $now)" \
    || bad "IKE rekey ($before -> $(spis a) / $(spis b))"
else
  bad "xikectl rekey --ike"
fi
"$xikectl" -s "$tmp/a.sock" rekey nosuch 2>/dev/null && bad "rekey of an unknown conn" \
  || ok "xikectl rekey of an unknown conn fails"

# IKEv1 gets INVALID_MAJOR_VERSION and one log line.
if command -v python3 >/dev/null; then
  ip netns exec "$A" python3 - <<'PY' && ok "IKEv1 answered with INVALID_MAJOR_VERSION" || bad "IKEv1 answer"
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.1", 0)); s.settimeout(3)
hdr = bytes(range(1, 9)) + bytes(8) + bytes([0, 0x10, 2, 0]) + struct.pack("!II", 0, 28)
s.sendto(hdr, ("192.0.2.2", 500))
d, _ = s.recvfrom(2048)
# IKEv2 header, Notify payload: type at body offset 2..3 after the 4-octet generic header
ok = d[17] == 0x20 and d[16] == 41 and struct.unpack("!H", d[28 + 6:28 + 8])[0] == 5
sys.exit(0 if ok else 1)
PY
  grep -q "IKEv1 message" "$tmp/b.log" && ok "IKEv1 log line" || bad "IKEv1 log line"
fi

kill -TERM "$(cat "$tmp/a.pid")" "$(cat "$tmp/b.pid")"
for who in a b; do
  wait "$(cat "$tmp/$who.pid")"; rc=$?
  rm -f "$tmp/$who.pid"
  [ $rc -eq 0 ] && ok "xiked $who exits 0 on SIGTERM" || bad "xiked $who exit status $rc"
done
if [ $failed -ne 0 ]; then
  echo "--- a.log"; tail -n 40 "$tmp/a.log"; echo "--- b.log"; tail -n 40 "$tmp/b.log"
fi
echo "xiked_pair: $passed passed, $failed failed"
[ $failed -eq 0 ]
