#!/bin/sh
# Compare ikedump --json with tshark's IKEv2 dissector on every strongSwan
# fixture capture (and on copies rewritten to other link layers, IPv6 and
# pcapng, see below).  For every frame tshark decodes as ISAKMP, ikedump
# must report one IKE message with the same addresses and ports, SPIs,
# exchange type, I and R flags, message ID, and outer payload type sequence
# (SK/SKF as one payload, as both tools leave them encrypted); beyond that
# minimum, also the notify types, KE groups, SA transform IDs and key
# lengths, and SKF fragment n/m; for ESP frames the addresses, SPI and
# sequence number.  A frame one tool decodes and the other does not is a
# failure too.
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
	# 77: meson's "skipped".
	echo "$0: tshark not installed (apt-get install -y tshark), skipping" >&2
	exit 77
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ $# -eq 0 ]; then
	# The fixtures as captured (Ethernet, IPv4, pcap), and each rewritten
	# to the other link layers and to IPv6 so those decapsulation paths
	# meet tshark too: pcapng, raw IP, Linux cooked v1/v2, 802.1Q, and
	# IPv6 with a hop-by-hop extension header.
	mkdir "$tmp/derived"
	python3 - "$tmp/derived" "$src"/tests/fixtures/strongswan/*.pcap <<'PY2'
import os, struct, sys

out = sys.argv[1]
LINK_ETH, LINK_RAW, LINK_SLL, LINK_SLL2 = 1, 101, 113, 276


def frames(raw):
    off, res = 24, []
    while off < len(raw):
        sec, usec, cap, wire = struct.unpack_from("<IIII", raw, off)
        res.append((sec, usec, raw[off + 16:off + 16 + cap]))
        off += 16 + cap
    return res


def write(path, hdr, linktype, fr):
    with open(path, "wb") as f:
        f.write(hdr[:20] + struct.pack("<I", linktype))
        for sec, usec, data in fr:
            f.write(struct.pack("<IIII", sec, usec, len(data), len(data)))
            f.write(data)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def v6addr(v4):
    return bytes.fromhex("20010db8000000000000000000000000")[:12] + v4


def to_ipv6(data):
    eth, ip = data[:14], data[14:]
    if eth[12:14] != b"\x08\x00" or ip[9] != 17:
        return data
    ihl = (ip[0] & 15) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    udp = bytearray(ip[ihl:total])
    src, dst = v6addr(ip[12:16]), v6addr(ip[16:20])
    udp[6:8] = b"\0\0"
    pseudo = src + dst + struct.pack("!IxxxB", len(udp), 17)
    c = csum(pseudo + bytes(udp)) or 0xffff
    udp[6:8] = struct.pack("!H", c)
    # RFC 8200 4.3: hop-by-hop header, next header UDP, one PadN option.
    hbh = bytes([17, 0, 1, 4, 0, 0, 0, 0])
    v6 = struct.pack("!IHBB", 6 << 28, len(hbh) + len(udp), 0, 64) + src + dst
    return eth[:12] + b"\x86\xdd" + v6 + hbh + bytes(udp)


for path in sys.argv[2:]:
    raw = open(path, "rb").read()
    hdr, fr = raw[:24], frames(raw)
    base = os.path.join(out, os.path.basename(path)[:-5])
    write(base + ".rawip.pcap", hdr, LINK_RAW, [(s, u, d[14:]) for s, u, d in fr])
    sll = lambda d: struct.pack("!HHH8sH", 0, 1, 6, d[6:12] + b"\0\0", 0x0800) + d[14:]
    write(base + ".sll.pcap", hdr, LINK_SLL, [(s, u, sll(d)) for s, u, d in fr])
    sll2 = lambda d: struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, d[6:12] + b"\0\0") + d[14:]
    write(base + ".sll2.pcap", hdr, LINK_SLL2, [(s, u, sll2(d)) for s, u, d in fr])
    vlan = lambda d: d[:12] + b"\x81\x00\x00\x2a" + d[12:]
    write(base + ".vlan.pcap", hdr, LINK_ETH, [(s, u, vlan(d)) for s, u, d in fr])
    write(base + ".ipv6.pcap", hdr, LINK_ETH, [(s, u, to_ipv6(d)) for s, u, d in fr])
PY2
	set -- "$src"/tests/fixtures/strongswan/*.pcap "$tmp"/derived/*.pcap
	if command -v editcap >/dev/null 2>&1; then
		for f in "$src"/tests/fixtures/strongswan/*.pcap; do
			b=$(basename "$f" .pcap)
			editcap -F pcapng "$f" "$tmp/derived/$b.pcapng"
			set -- "$@" "$tmp/derived/$b.pcapng"
		done
	fi
fi

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


def tshark_addr(layers):
    """Addresses and ports of a frame, as ikedump prints them."""
    import ipaddress
    r = {}
    if "ip" in layers:
        r["src"], r["dst"] = layers["ip"]["ip.src"], layers["ip"]["ip.dst"]
    elif "ipv6" in layers:
        r["src"] = str(ipaddress.ip_address(layers["ipv6"]["ipv6.src"]))
        r["dst"] = str(ipaddress.ip_address(layers["ipv6"]["ipv6.dst"]))
    if "udp" in layers:
        r["sport"] = int(layers["udp"]["udp.srcport"])
        r["dport"] = int(layers["udp"]["udp.dstport"])
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
            want.update(tshark_addr(layers))
            ike = [o for o in objs if o["kind"] == "ike"]
            if len(ike) != 1:
                print(f"FAIL {base} frame {frame}: tshark sees IKE, ikedump reports "
                      f"{[o['kind'] for o in objs]}")
                failed += 1
                continue
            got = ikedump_ike(ike[0])
            got.update({k: ike[0].get(k) for k in ("src", "dst", "sport", "dport")})
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
            want = (int(layers["esp"]["esp.spi"], 16), int(layers["esp"]["esp.sequence"]),
                    tshark_addr(layers))
            if len(esp) != 1 or (int(esp[0]["spi"], 16), esp[0]["seq"],
                                 {k: esp[0].get(k) for k in ("src", "dst", "sport", "dport")}) != want:
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
