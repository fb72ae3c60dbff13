#!/bin/sh
# Compare ikedump --json with tshark's IKEv2 dissector on every strongSwan
# fixture capture.  For every frame tshark decodes as ISAKMP, ikedump must
# report one IKE message with the same SPIs, exchange type, I and R flags,
# message ID, and outer payload type sequence (SK/SKF as one payload, as
# both tools leave them encrypted); beyond that minimum, also the notify
# types, KE groups, SA transform IDs and key lengths, SKF fragment n/m, and
# for ESP frames the SPI and sequence number.  A frame one tool decodes
# and the other does not is a failure too.
#
# Usage: tests/host/ikedump_tshark.sh BUILD_DIR [PCAP...]
# Prints one line per mismatch and a final "N passed, N failed" line
# (N counts compared frames); exits 0 only when nothing failed.
set -eu

if [ $# -lt 1 ]; then
	echo "usage: $0 BUILD_DIR [PCAP...]" >&2
	exit 2
fi
build=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
ikedump=$build/tools/ikedump
if [ ! -x "$ikedump" ]; then
	echo "$0: $ikedump not built" >&2
	exit 2
fi
if ! command -v tshark >/dev/null 2>&1; then
	echo "$0: tshark not installed (apt-get install -y tshark)" >&2
	exit 2
fi
if [ $# -eq 0 ]; then
	set -- "$src"/tests/fixtures/strongswan/*.pcap
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

i=0
for f in "$@"; do
	i=$((i + 1))
	rc=0
	"$ikedump" --json "$f" >"$tmp/$i.ikedump.json" 2>"$tmp/$i.ikedump.err" || rc=$?
	echo "$rc" >"$tmp/$i.rc"
	# --no-duplicate-keys turns repeated fields (one per payload) into lists.
	tshark -r "$f" -T json --no-duplicate-keys >"$tmp/$i.tshark.json" 2>"$tmp/$i.tshark.err"
	echo "$f" >"$tmp/$i.name"
done

python3 - "$tmp" "$i" <<'PY'
import json, sys, os

tmp, count = sys.argv[1], int(sys.argv[2])

# RFC 7296 3.2 payload numbers -> IANA abbreviations used by ikedump.
ABBR = {33: "SA", 34: "KE", 35: "IDi", 36: "IDr", 37: "CERT", 38: "CERTREQ",
        39: "AUTH", 40: "Nonce", 41: "N", 42: "D", 43: "V", 44: "TSi",
        45: "TSr", 46: "SK", 47: "CP", 48: "EAP", 49: "GSPM", 53: "SKF"}
EXCH = {34: "IKE_SA_INIT", 35: "IKE_AUTH", 36: "CREATE_CHILD_SA",
        37: "INFORMATIONAL", 38: "IKE_SESSION_RESUME", 43: "IKE_INTERMEDIATE"}
# tshark transform-ID field per transform type (RFC 7296 3.3.2).
TF_FIELD = {"1": "isakmp.tf.id.encr", "2": "isakmp.tf.id.prf",
            "3": "isakmp.tf.id.integ", "4": "isakmp.tf.id.dh",
            "5": "isakmp.tf.id.esn"}


def aslist(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def tshark_ike(l):
    """Fields of one isakmp layer, in ikedump's vocabulary."""
    r = {
        "ispi": l["isakmp.ispi"].replace(":", ""),
        "rspi": l["isakmp.rspi"].replace(":", ""),
        "exchange": EXCH.get(int(l["isakmp.exchangetype"]), l["isakmp.exchangetype"]),
        "initiator": l["isakmp.flags_tree"]["isakmp.flag_i"] == "1",
        "response": l["isakmp.flags_tree"]["isakmp.flag_r"] == "1",
        "msgid": int(l["isakmp.messageid"], 16),
    }
    types = [int(t) for t in aslist(l.get("isakmp.typepayload"))]
    trees = aslist(l.get("isakmp.typepayload_tree"))
    r["payloads"] = [ABBR.get(t, str(t)) for t in types]
    notifies, groups, props, frags = [], [], [], []
    for t, tree in zip(types, trees):
        if t == 41:
            notifies.append(int(tree["isakmp.notify.msgtype"]))
        elif t == 34:
            groups.append(int(tree["isakmp.key_exchange.dh_group"]))
        elif t == 33:
            for prop in aslist(tree.get("isakmp.typepayload_tree")):
                tfs = []
                for tf in aslist(prop.get("isakmp.typepayload_tree")):
                    ty = tf["isakmp.tf.type"]
                    kl = None
                    for a in aslist(tf.get("isakmp.ike2.attr")):
                        if a.get("isakmp.ike2.attr.type") == "14":
                            kl = int(a["isakmp.ike2.attr.key_length"])
                    tfs.append((int(ty), int(tf[TF_FIELD[ty]]), kl))
                props.append(tfs)
        elif t == 53:
            frags.append((int(tree["isakmp.frag.number"]), int(tree["isakmp.frag.total"])))
    r["notifies"], r["groups"], r["props"], r["frags"] = notifies, groups, props, frags
    return r


def ikedump_ike(o):
    r = {k: o[k] for k in ("ispi", "rspi", "exchange", "initiator", "response", "msgid")}
    r["payloads"] = [p["type"] for p in o["payloads"]]
    r["notifies"] = [p["notify_type"] for p in o["payloads"] if p["type"] == "N"]
    r["groups"] = [p["group_id"] for p in o["payloads"] if p["type"] == "KE"]
    r["props"] = [[(t["type_id"], t["id"], t.get("keylen"))
                   for t in prop["transforms"]]
                  for p in o["payloads"] if p["type"] == "SA" for prop in p["proposals"]]
    r["frags"] = [(p["fragment"], p["total"]) for p in o["payloads"] if p["type"] == "SKF"]
    return r


passed = failed = 0
for i in range(1, count + 1):
    name = open(os.path.join(tmp, f"{i}.name")).read().strip()
    base = os.path.basename(name)
    rc = int(open(os.path.join(tmp, f"{i}.rc")).read())
    if rc != 0:
        err = open(os.path.join(tmp, f"{i}.ikedump.err")).read().strip()
        print(f"FAIL {base}: ikedump exited {rc}: {err}")
        failed += 1
        continue
    try:
        mine = json.load(open(os.path.join(tmp, f"{i}.ikedump.json")))
    except ValueError as e:
        print(f"FAIL {base}: ikedump --json output is not JSON: {e}")
        failed += 1
        continue
    theirs = json.load(open(os.path.join(tmp, f"{i}.tshark.json")))
    by_frame = {}
    for o in mine:
        by_frame.setdefault(o["frame"], []).append(o)
    seen = set()
    for pkt in theirs:
        layers = pkt["_source"]["layers"]
        frame = int(layers["frame"]["frame.number"])
        objs = by_frame.get(frame, [])
        if "isakmp" in layers:
            seen.add(frame)
            want = tshark_ike(layers["isakmp"])
            ike = [o for o in objs if o["kind"] == "ike"]
            if len(ike) != 1:
                print(f"FAIL {base} frame {frame}: tshark sees IKE, ikedump reports "
                      f"{[o['kind'] for o in objs]}")
                failed += 1
                continue
            got = ikedump_ike(ike[0])
            diff = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
            if diff:
                for k, (g, w) in diff.items():
                    print(f"FAIL {base} frame {frame} {k}: ikedump {g!r}, tshark {w!r}")
                failed += 1
            else:
                passed += 1
        elif "esp" in layers:
            seen.add(frame)
            esp = [o for o in objs if o["kind"] == "esp"]
            want = (int(layers["esp"]["esp.spi"], 16), int(layers["esp"]["esp.sequence"]))
            if len(esp) != 1 or (int(esp[0]["spi"], 16), esp[0]["seq"]) != want:
                print(f"FAIL {base} frame {frame}: ESP {want}, ikedump {objs}")
                failed += 1
            else:
                passed += 1
    for frame, objs in sorted(by_frame.items()):
        for o in objs:
            if frame not in seen and o["kind"] in ("ike", "esp"):
                print(f"FAIL {base} frame {frame}: ikedump reports {o['kind']}, tshark does not")
                failed += 1
    print(f"{base}: {len(mine)} ikedump objects, {len(seen)} frames compared")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
