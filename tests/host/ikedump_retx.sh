#!/bin/sh
# ikedump marks retransmissions (an IKE message seen again with identical
# content: same SPIs, message ID, direction, octets) and answers --help and
# --version.  On the strongSwan fixture whose IKE_AUTH request went three
# times, on a capture with a response repeated, and on one where a copy
# differs in one octet (not a retransmission).
#
# Usage: tests/host/ikedump_retx.sh BUILD_DIR
set -eu
build=${1:?usage: $0 BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
fix=$here/../fixtures/strongswan
ikedump=$build/tools/ikedump
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
bad() { failed=$((failed + 1)); echo "FAIL - $1"; }

"$ikedump" --help > "$tmp/help" 2>&1 && grep -q '^usage: ikedump' "$tmp/help" &&
  grep -q -- '--version' "$tmp/help" && ok "--help: usage on stdout, exit 0" || bad "--help"
v=$("$ikedump" --version) && echo "$v" | grep -qE '^ikedump [0-9]+\.[0-9]+\.[0-9]+$' &&
  ok "--version: $v" || bad "--version: $v"
rc=0; "$ikedump" --bogus >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] && ok "unknown option: exit 2" || bad "unknown option: exit $rc"

python3 - "$ikedump" "$fix/x25519-aesgcm.pcap" "$tmp" <<'PY' || failed=$((failed + 1))
import json, struct, subprocess, sys
ikedump, pcap, tmp = sys.argv[1:4]
fails = 0
def check(cond, what):
    global fails
    print(("ok   - " if cond else "FAIL - ") + what)
    fails += not cond
def marked(path):
    out = json.loads(subprocess.run([ikedump, "--json", path], capture_output=True,
                                    text=True, check=True).stdout)
    return [o["frame"] for o in out if o["kind"] == "ike" and o["retransmission"]]
# The fixture: the initiator sent IKE_AUTH request 1 three times (frames 3, 4, 5).
check(marked(pcap) == [4, 5], f"fixture: frames 4 and 5 marked, got {marked(pcap)}")
text = subprocess.run([ikedump, pcap], capture_output=True, text=True).stdout
check(text.count("(retransmission)") == 2, "text output says (retransmission) twice")
raw = open(pcap, "rb").read()
frames, off = [], 24
while off < len(raw):
    cap = struct.unpack_from("<I", raw, off + 8)[0]
    frames.append(bytearray(raw[off:off + 16 + cap]))
    off += 16 + cap
def write(name, fr):
    p = f"{tmp}/{name}.pcap"
    with open(p, "wb") as f:
        f.write(raw[:24])
        for x in fr:
            f.write(x)
    return p
# A responder resends its cached response: frame 2 again at the end.
p = write("resp", frames[:3] + [frames[1]])
check(marked(p) == [4], f"a repeated IKE_SA_INIT response is marked, got {marked(p)}")
# Same SPIs, message ID and direction but one octet different: not a retransmission.
d = bytearray(frames[2]); d[-1] ^= 1
p = write("diff", frames[:3] + [d])
check(marked(p) == [], f"a changed copy is not marked, got {marked(p)}")
# The same octets in the other direction cannot happen (flags differ); the first copy never.
p = write("once", frames[:3])
check(marked(p) == [], f"first copies are not marked, got {marked(p)}")
sys.exit(1 if fails else 0)
PY
echo "ikedump_retx: $passed shell checks passed (the capture checks are listed above), $failed failed"
[ $failed -eq 0 ]
