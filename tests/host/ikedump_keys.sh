#!/bin/sh
# ikedump --keys on the strongSwan fixtures.  A key file is made from the
# initiator's level-4 charon log ("Sk_ei secret" etc. hex dumps and the
# "selected proposal: IKE:..." line, one set per IKE SA in log order),
# paired with the IKE SAs of the capture in order of appearance (the log
# does not print SPIs next to the keys).  Then every SK/SKF message must
# open, fragments must reassemble, and the inner payload sequence of each
# message must equal the one charon logged for it ("generating/parsed
# EXCHANGE request|response ID [ ... ]"), compared as multisets over
# (exchange, request/response, message ID, payloads).  A key file with a
# flipped key byte must make every message fail the integrity check.
#
# Usage: tests/host/ikedump_keys.sh BUILD_DIR
# Prints a final "N passed, N failed" line; exits 0 only when nothing failed.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
build=$1
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
ikedump=$build/tools/ikedump
if [ ! -x "$ikedump" ]; then
	echo "$0: $ikedump not built" >&2
	exit 2
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

python3 - "$ikedump" "$src/tests/fixtures/strongswan" "$tmp" <<'PY'
import collections, json, os, re, subprocess, sys

ikedump, fixdir, tmp = sys.argv[1:4]
# charon's proposal keywords -> ikedump ENCR names (key length from the keyword).
ENCR = {"AES_CBC": "ENCR_AES_CBC", "AES_GCM_16": "ENCR_AES_GCM_16",
        "AES_GCM_12": "ENCR_AES_GCM_12", "AES_GCM_8": "ENCR_AES_GCM_8",
        "CHACHA20_POLY1305": "ENCR_CHACHA20_POLY1305"}
# charon's payload notation -> IANA abbreviations.
CHARON = {"No": "Nonce", "EF": "SKF", "E": "SK", "CPRQ": "CP", "CPRP": "CP",
          "CPS": "CP", "CPA": "CP", "CERTREQ": "CERTREQ"}


def key_sets(log):
    lines = open(log, errors="replace").read().splitlines()
    sets, cur, name = [], None, None
    props = [l.split("IKE:")[1].split("/")[0] for l in lines
             if "selected proposal: IKE:" in l]
    for l in lines:
        m = re.search(r"\] (Sk_[a-z]{2}) secret => (\d+) bytes", l)
        if m:
            name, cur = m.group(1), []
            want = int(m.group(2))
            if name == "Sk_ai" or (name == "Sk_ei" and (not sets or "Sk_ei" in sets[-1])):
                sets.append({})
            sets[-1][name] = cur
            continue
        m = re.search(r"\]\s+\d+: ((?:[0-9A-F]{2} ){1,16})", l)
        if m and cur is not None and len(cur) < want:
            cur.extend(m.group(1).split())
            continue
        cur = None
    out = []
    for s, p in zip(sets, props):
        m = re.match(r"(.*)_(\d+)$", p)
        encr = ENCR[m.group(1)] + "/" + m.group(2)
        out.append([encr] + ["".join(s[k]).lower() for k in
                             ("Sk_ei", "Sk_er", "Sk_ai", "Sk_ar") if k in s])
    return out


def charon_msgs(log):
    res = collections.Counter()
    for l in open(log, errors="replace"):
        m = re.search(r"\] (?:generating|parsed) ([A-Z_]+) (request|response) (\d+) \[ ?(.*?) ?\]$", l.rstrip())
        if not m or m.group(4).startswith("EF("):
            continue
        if m.group(1) == "IKE_SA_INIT":
            continue
        pl = tuple(CHARON.get(t.split("(")[0], t.split("(")[0]) for t in m.group(4).split())
        res[(m.group(1), m.group(2) == "response", int(m.group(3)), pl)] += 1
    return res


def run(pcap, keys):
    p = subprocess.run([ikedump, "--json", "--keys", keys, pcap], capture_output=True, text=True)
    return p.returncode, p.stderr, json.loads(p.stdout) if p.stdout else []


passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL", what)


for name in sorted(os.listdir(fixdir)):
    if not name.endswith(".pcap"):
        continue
    base = name[:-5]
    pcap = os.path.join(fixdir, name)
    sets = key_sets(os.path.join(fixdir, base + ".initiator.log"))
    _, _, plain = run(pcap, "/dev/null")
    spis = []
    for o in plain:
        if o["kind"] == "ike" and o["rspi"] != "0" * 16 and (o["ispi"], o["rspi"]) not in spis:
            spis.append((o["ispi"], o["rspi"]))
    check(len(spis) == len(sets), f"{base}: {len(spis)} IKE SAs in the capture, "
          f"{len(sets)} key sets in the log")
    keyfile = os.path.join(tmp, base + ".keys")
    with open(keyfile, "w") as f:
        f.write("# ISPI RSPI ENCR SK_ei SK_er [SK_ai SK_ar]\n")
        for (i, r), s in zip(spis, sets):
            f.write(" ".join([i, r] + s) + "\n")
    rc, err, out = run(pcap, keyfile)
    check(rc == 0, f"{base}: exit {rc} {err.strip()}")
    states = collections.Counter()
    got = collections.Counter()
    for o in out:
        if o["kind"] != "ike" or o["exchange"] == "IKE_SA_INIT":
            continue
        st = o.get("decryption")
        states[st] += 1
        check(st in ("opened", "reassembled", "fragment-stored"),
              f"{base} frame {o['frame']}: decryption {st} {o.get('decryption_error', '')}")
        if st in ("opened", "reassembled"):
            got[(o["exchange"], o["response"], o["msgid"],
                 tuple(p["type"] for p in o["inner"]))] += 1
    want = charon_msgs(os.path.join(fixdir, base + ".initiator.log"))
    # Retransmissions appear in the capture more often than in the log: compare as sets.
    for k in sorted(set(want) | set(got)):
        check(k in want and k in got,
              f"{base}: {k} {'only in charon log' if k in want else 'only in ikedump'}")
    print(f"{base}: {sum(states.values())} protected messages {dict(states)}, "
          f"{len(set(want))} distinct charon messages")
    # Wrong keys: flip one octet of every key (SK_a too: with CBC+HMAC a bad
    # SK_e alone passes the ICV and only garbles the plaintext).
    bad = os.path.join(tmp, base + ".badkeys")
    with open(keyfile) as f, open(bad, "w") as g:
        for l in f:
            if l.startswith("#"):
                continue
            v = l.split()
            for k in range(3, len(v)):
                v[k] = ("%02x" % (int(v[k][:2], 16) ^ 1)) + v[k][2:]
            g.write(" ".join(v) + "\n")
    rc, err, out = run(pcap, bad)
    prot = [o for o in out if o["kind"] == "ike" and o["exchange"] != "IKE_SA_INIT"]
    check(rc == 0 and prot and all(o.get("decryption") == "failed" and
                                   "integrity" in o.get("decryption_error", "") for o in prot),
          f"{base}: wrong keys did not fail every message: exit {rc}, "
          f"{collections.Counter(o.get('decryption') for o in prot)}")

    # Soak: the capture's frames in random order (fragments interleaved,
    # repeated, missing), a third of them with octets changed, decoded
    # with the right keys: exit 0 or 1, never a crash or sanitizer report.
    import random, struct
    rnd = random.Random(7383)
    raw = open(pcap, "rb").read()
    fr, off = [], 24
    while off < len(raw):
        cap = struct.unpack_from("<I", raw, off + 8)[0]
        fr.append(bytearray(raw[off:off + 16 + cap]))
        off += 16 + cap
    soak = os.path.join(tmp, base + ".soak.pcap")
    with open(soak, "wb") as f:
        f.write(raw[:24])
        for _ in range(3000):
            d = bytearray(rnd.choice(fr))
            if rnd.random() < 0.33:
                for _ in range(rnd.randint(1, 3)):
                    pos = rnd.randrange(16 + 42, len(d))
                    d[pos] ^= 1 << rnd.randrange(8)
            f.write(d)
    p = subprocess.run([ikedump, "--keys", keyfile, soak], capture_output=True, text=True)
    check(p.returncode in (0, 1) and "Sanitizer" not in p.stderr
          and "runtime error" not in p.stderr,
          f"{base}: soak exit {p.returncode} {p.stderr[-2000:]}")

# Malformed key files must be refused with exit 2.
for content in ("0011 22 ENCR_AES_CBC 00 00\n",
                "0011223344556677 8899aabbccddeeff ENCR_NOPE 00 00\n",
                "0011223344556677 8899aabbccddeeff ENCR_AES_CBC/128 zz zz 00 00\n",
                "0011223344556677 8899aabbccddeeff ENCR_AES_CBC/128 " + "00" * 16 + " " + "00" * 16 + "\n",
                "0011223344556677 8899aabbccddeeff ENCR_AES_GCM_16/256 " + "00" * 16 + " " + "00" * 16 + "\n"):
    kf = os.path.join(tmp, "bad.keys")
    open(kf, "w").write(content)
    p = subprocess.run([ikedump, "--keys", kf, os.path.join(fixdir, "ecp256-aescbc.pcap")],
                       capture_output=True, text=True)
    check(p.returncode == 2 and "bad.keys:1:" in p.stderr,
          f"bad key file {content.strip()!r}: exit {p.returncode} {p.stderr.strip()}")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
