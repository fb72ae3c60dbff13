#!/bin/sh
# ikedump on bad input: every case must end with the documented exit
# status (doc/ikedump.1: 0 clean, 1 malformed packets reported and
# skipped, 2 unreadable/truncated capture or usage error), print a message
# on stderr, and never die of a signal or trip a sanitizer.  Run it once on
# an ASan/UBSan build too.
#
# Usage: tests/host/ikedump_bad_input.sh BUILD_DIR
# Prints one line per case and a final "N passed, N failed" line.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
build=$1
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
ikedump=$build/tools/ikedump
fixture=$src/tests/fixtures/strongswan/ecp256-aescbc.pcap
if [ ! -x "$ikedump" ]; then
	echo "$0: $ikedump not built" >&2
	exit 2
fi

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT INT TERM

# Build the inputs from the fixture: pcap (libpcap's classic format,
# little-endian, Ethernet) is a 24-octet file header, then per frame a
# 16-octet record header (ts_sec, ts_usec, caplen, len) and the frame.
python3 - "$fixture" "$tmp" <<'PY'
import os, random, struct, sys

fixture, out = sys.argv[1], sys.argv[2]
raw = open(fixture, "rb").read()
hdr, body = raw[:24], raw[24:]

def frames(b):
    res, off = [], 0
    while off < len(b):
        sec, usec, cap, wire = struct.unpack_from("<IIII", b, off)
        res.append([sec, usec, bytearray(b[off + 16:off + 16 + cap]), wire])
        off += 16 + cap
    return res

def write(name, fr, header=hdr):
    with open(os.path.join(out, name), "wb") as f:
        f.write(header)
        for sec, usec, data, wire in fr:
            f.write(struct.pack("<IIII", sec, usec, len(data), max(wire, len(data))))
            f.write(data)

def put(name, data):
    open(os.path.join(out, name), "wb").write(data)

ETH, IP = 14, 20
fr = frames(body)
# Frame 1 is IKE_SA_INIT on UDP 500: Ethernet | IPv4 (IHL 5) | UDP | IKE.
ike = ETH + IP + 8
assert fr[0][2][ETH + IP + 2:ETH + IP + 4] == b"\x01\xf4"

put("empty", b"")
put("text", b"this is not a capture file\n" * 10)
rnd = random.Random(7296)
put("random", bytes(rnd.getrandbits(8) for _ in range(4096)))
# Random bytes behind a valid pcap file header: garbage record headers.
put("random-after-header", hdr + bytes(rnd.getrandbits(8) for _ in range(4096)))
# Cuts: inside the file header, inside the first record header, inside
# frame 1's IP header, inside frame 1's IKE message, mid last frame.
first_end = 24 + 16 + len(fr[0][2])
for label, n in (("hdr10", 10), ("rec8", 24 + 8), ("ip", 24 + 16 + ETH + 6),
                 ("ike", 24 + 16 + ike + 100), ("frame2", first_end + 16 + 50),
                 ("last", len(raw) - 7)):
    put("cut-" + label, raw[:n])
# A cut exactly between frames is a valid, shorter capture.
put("cut-boundary", raw[:first_end])

def variant(name, mutate):
    f2 = frames(body)
    mutate(f2[0][2])
    write(name, f2)

def setu16(d, off, v):
    d[off:off + 2] = struct.pack(">H", v)

def setu32(d, off, v):
    d[off:off + 4] = struct.pack(">I", v)

# IKE header Length (RFC 7296 3.1, octet 24): larger than the datagram,
# below the 28-octet header, and off by one.
variant("ike-len-big", lambda d: setu32(d, ike + 24, 0xffff))
variant("ike-len-small", lambda d: setu32(d, ike + 24, 20))
variant("ike-len-minus1", lambda d: setu32(d, ike + 24, len(d) - ike - 1))
# First payload's length runs past the message.
variant("ike-payload-len", lambda d: setu16(d, ike + 28 + 2, 0xfff0))
# IPv4 total length beyond the frame; IHL 3 (below 5); UDP length beyond IP.
variant("ip-len", lambda d: setu16(d, ETH + 2, 0x7fff))
variant("ip-ihl", lambda d: d.__setitem__(ETH, 0x43))
variant("udp-len", lambda d: setu16(d, ETH + IP + 4, 0xfff0))
variant("udp-len-small", lambda d: setu16(d, ETH + IP + 4, 4))
# IKE message cut to 20 octets (lengths fixed so IP/UDP are consistent).
def short_ike(d):
    del d[ike + 20:]
    setu16(d, ETH + 2, len(d) - ETH)
    setu16(d, ETH + IP + 4, len(d) - ETH - IP)
variant("ike-short", short_ike)
# Frame cut by the snap length: caplen 60 of a longer frame.
f3 = frames(body)
f3[0][2] = f3[0][2][:60]
write("snaplen", f3)

# Mutation soak: every frame of every fixture, many times, with 1-4 octets
# changed (mostly inside the UDP payload, where the IKE codec works) or
# cut short, in one well-formed capture each.  Any outcome but a crash or
# sanitizer report is fine; the exit status must be 0 or 1.
fixdir = os.path.dirname(fixture)
allfr = []
for n in sorted(os.listdir(fixdir)):
    if n.endswith(".pcap"):
        allfr += frames(open(os.path.join(fixdir, n), "rb").read()[24:])
mut, cut = [], []
for i in range(4000):
    sec, usec, data, wire = rnd.choice(allfr)
    d = bytearray(data)
    for _ in range(rnd.randint(1, 4)):
        lo = ike if rnd.random() < 0.8 and len(d) > ike else 0
        pos = rnd.randrange(lo, len(d))
        d[pos] = rnd.choice((0, 0xff, rnd.getrandbits(8), d[pos] ^ (1 << rnd.randrange(8))))
    mut.append([sec, usec, d, len(d)])
    c = bytearray(data[:rnd.randrange(0, len(data) + 1)])
    cut.append([sec, usec, c, len(data)])
write("mutated", mut)
write("cut-frames", cut)
PY
if command -v editcap >/dev/null 2>&1; then
	editcap -F pcapng "$fixture" "$tmp/ng.pcapng"
	n=$(wc -c <"$tmp/ng.pcapng")
	head -c $((n - 40)) "$tmp/ng.pcapng" >"$tmp/cut-pcapng"
fi

pass=0
fail=0
# check NAME EXPECTED_RC STDERR_PATTERN [STDOUT_PATTERN] [--json]
check() {
	name=$1 want=$2 errpat=$3 outpat=${4:-}
	shift 3
	[ $# -gt 0 ] && shift
	for mode in text json; do
		if [ $mode = json ]; then set -- --json; else set --; fi
		rc=0
		"$ikedump" "$@" "$tmp/$name" >"$tmp/out" 2>"$tmp/err" || rc=$?
		why=""
		if [ "$rc" -ge 128 ]; then why="killed by signal $((rc - 128))"
		elif grep -q -e 'Sanitizer' -e 'runtime error' "$tmp/err"; then why="sanitizer report"
		elif [ "$rc" -ne "$want" ]; then why="exit $rc, want $want"
		elif [ -n "$errpat" ] && ! grep -q -e "$errpat" "$tmp/err"; then
			why="stderr lacks '$errpat'"
		elif [ -z "$errpat" ] && [ -s "$tmp/err" ]; then why="unexpected stderr"
		elif [ -n "$outpat" ] && [ $mode = text ] && ! grep -q -e "$outpat" "$tmp/out"; then
			why="stdout lacks '$outpat'"
		elif [ $mode = json ] && [ "$want" -ne 2 -o -s "$tmp/out" ] &&
			! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out" 2>/dev/null; then
			why="--json output is not valid JSON"
		fi
		if [ -z "$why" ]; then
			pass=$((pass + 1))
			printf 'ok   %-20s %-4s exit %s: %s\n' "$name" $mode "$rc" "$(head -n1 "$tmp/err")"
		else
			fail=$((fail + 1))
			printf 'FAIL %-20s %-4s %s\n' "$name" $mode "$why"
			sed 's/^/     /' "$tmp/err" | head -n 20
		fi
	done
}

check empty 2 'not a readable pcap'
check text 2 'not a readable pcap'
check random 2 'not a readable pcap'
check random-after-header 2 'capture unreadable'
check cut-hdr10 2 'not a readable pcap'
check cut-rec8 2 'capture unreadable after frame 0'
check cut-ip 2 'capture unreadable after frame 0'
check cut-ike 2 'capture unreadable after frame 0'
check cut-frame2 2 'capture unreadable after frame 1' 'IKE_SA_INIT'
check cut-last 2 'capture unreadable after frame 5' 'INFORMATIONAL'
check cut-boundary 0 '' 'IKE_SA_INIT'
check ike-len-big 1 'frame 1: malformed IKE' 'IKE_AUTH'
check ike-len-small 1 'frame 1: malformed IKE' 'IKE_AUTH'
check ike-len-minus1 1 'frame 1: malformed IKE' 'IKE_AUTH'
check ike-payload-len 1 'frame 1: malformed IKE' 'IKE_AUTH'
check ike-short 1 'frame 1: malformed IKE' 'IKE_AUTH'
check ip-len 1 'frame 1: malformed IPv4' 'IKE_AUTH'
check ip-ihl 1 'frame 1: malformed IPv4' 'IKE_AUTH'
check udp-len 1 'frame 1: malformed UDP' 'IKE_AUTH'
check udp-len-small 1 'frame 1: malformed UDP' 'IKE_AUTH'
check snaplen 1 'frame 1: malformed' 'IKE_AUTH'
if [ -f "$tmp/cut-pcapng" ]; then
	check cut-pcapng 2 'capture unreadable after frame 5' 'INFORMATIONAL'
fi
check mutated 1 'malformed'
check cut-frames 1 'malformed'

# Usage errors.
for args in "" "--no-such-option $fixture" "$tmp/does-not-exist"; do
	rc=0
	# shellcheck disable=SC2086
	"$ikedump" $args >/dev/null 2>"$tmp/err" || rc=$?
	if [ "$rc" -eq 2 ] && [ -s "$tmp/err" ]; then
		pass=$((pass + 1))
		printf 'ok   usage %-24s exit 2: %s\n' "'$args'" "$(head -n1 "$tmp/err")"
	else
		fail=$((fail + 1))
		printf 'FAIL usage %-24s exit %s\n' "'$args'" "$rc"
	fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
