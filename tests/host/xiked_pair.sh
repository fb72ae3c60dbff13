#!/usr/bin/env bash
# Host tier: two xiked in network namespaces over veth, on this machine's
# kernel (XFRM without ESP). The IKE SA must come up, the Child SA install
# must fail with one clear message about the missing ESP support, and
# nothing may be left in the kernel; SIGTERM ends both with status 0.
#   tests/host/xiked_pair.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: $0 BUILD_DIR}
. "$(dirname "$0")/netns_pair.sh"
host_test xiked-pair
netns_pair xkp
pair_conf a "log = debug"
pair_conf b "log = debug"

pair_start

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

xiked_stop a b
host_end xiked_pair "$tmp/a.log" "$tmp/b.log"
