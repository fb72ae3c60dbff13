#!/bin/sh
# Compare ikedump --json with tshark's IKEv2 dissector on every strongSwan
# fixture capture (and on copies rewritten to other link layers, IPv6 and
# pcapng, see below).  For every frame tshark decodes as ISAKMP, ikedump
# must report one IKE message with the same addresses and ports, SPIs,
# exchange type, I and R flags, message ID, and outer payload type sequence
# (SK/SKF as one payload, as both tools leave them encrypted); beyond that
# minimum, also the notify types, KE groups, SA transform IDs and key
# lengths, SKF fragment n/m, identities, Delete SPIs, traffic selectors,
# CP and EAP fields; IP fragments and IKEv1 must be labelled as such; for
# ESP frames the addresses, SPI and
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

# A synthetic capture for what the fixtures lack: every payload type in
# clear (an unencrypted IKE_AUTH-shaped message: the codec checks syntax,
# not acceptance), on 500 and behind the non-ESP marker, a NAT-keepalive,
# ESP as IP protocol 50, IPv4 and IPv6 fragments, an IPv6 destination
# options header, an IKEv1 header, an unrecognised payload type.
def ip4(src, dst, proto, payload, ident=1, frag=0):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0,
                    bytes(src), bytes(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def udp(sp, dp, payload):
    return struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload


def eth(payload, et=0x0800):
    return bytes.fromhex("020000000002020000000001") + struct.pack("!H", et) + payload


def ike(exch, flags, msgid, payloads, ver=0x20, ispi=0x1122334455667788, rspi=0x99aabbccddeeff00):
    chain = b""
    for i, (t, b) in enumerate(payloads):
        nxt = payloads[i + 1][0] if i + 1 < len(payloads) else 0
        chain += struct.pack("!BBH", nxt, 0, 4 + len(b)) + b
    first = payloads[0][0] if payloads else 0
    return struct.pack("!QQBBBBII", ispi, rspi, first, ver, exch, flags, msgid,
                       28 + len(chain)) + chain


def transform(last, ttype, tid, keylen=None):
    attr = struct.pack("!HH", 0x800e, keylen) if keylen else b""
    return struct.pack("!BBHBBH", 0 if last else 3, 0, 8 + len(attr), ttype, 0, tid) + attr


def proposal(last, num, proto, spi, tfs):
    body = b"".join(transform(i == len(tfs) - 1, *t) for i, t in enumerate(tfs))
    return struct.pack("!BBHBBBB", 0 if last else 2, 0, 8 + len(spi) + len(body), num, proto,
                       len(spi), len(tfs)) + spi + body


def notify(ntype, data=b"", proto=0, spi=b""):
    return struct.pack("!BBH", proto, len(spi), ntype) + spi + data


def ts(tstype, proto, sp, ep, start, end):
    return struct.pack("!BBHHH", tstype, proto, 8 + 2 * len(start), sp, ep) + start + end


def cp_attr(t, v=b""):
    return struct.pack("!HH", t, len(v)) + v


v6a = bytes.fromhex("20010db8000000000000000000000000")
v6b = bytes.fromhex("20010db800000000000000000000ffff")
sa = (proposal(False, 1, 3, b"\xc0\x01\x02\x03", [(1, 20, 256), (5, 0)]) +
      proposal(True, 2, 3, b"\xc0\x01\x02\x03", [(1, 12, 128), (3, 12), (5, 0), (5, 1)]))
algid = bytes.fromhex("300d06092a864886f70d01010b0500")
msg = ike(35, 0x08, 1, [
    (35, struct.pack("!B3x", 1) + bytes([10, 1, 0, 1])),
    (36, struct.pack("!B3x", 11) + b"\x01\x02\x03"),
    (38, bytes([4]) + bytes(range(40))),
    (39, struct.pack("!B3x", 14) + bytes([len(algid)]) + algid + b"S" * 32),
    (33, sa),
    (34, struct.pack("!HH", 14, 0) + bytes(256)),
    (40, bytes(range(16))),
    (41, notify(17, struct.pack("!H", 19))),
    (41, notify(16390, bytes(16))),
    (41, notify(16393, proto=3, spi=b"\xc0\x01\x02\x03")),
    (41, notify(16398, v6a)),
    (42, struct.pack("!BBH", 3, 4, 2) + b"\xc0\x00\x00\x01\xc0\x00\x00\x02"),
    (43, b"xiked-test"),
    (44, struct.pack("!B3x", 1) + ts(7, 17, 500, 500, bytes([10, 1, 0, 0]), bytes([10, 1, 0, 255]))),
    (45, struct.pack("!B3x", 1) + ts(8, 0, 0, 65535, v6a, v6b)),
    (47, struct.pack("!B3x", 1) + cp_attr(1) + cp_attr(3) + cp_attr(8) + cp_attr(7, b"xiked")),
    (48, struct.pack("!BBHB", 1, 7, 9, 1) + b"user"),
    (50, b"opaque"),
])
a, b = [192, 0, 2, 1], [192, 0, 2, 2]
dgram = udp(500, 500, msg)
syn = [
    eth(ip4(a, b, 17, dgram)),
    eth(ip4(a, b, 17, udp(4500, 4500, bytes(4) + msg))),
    eth(ip4(a, b, 17, udp(4500, 4500, b"\xff"))),
    eth(ip4(a, b, 50, struct.pack("!II", 0x1234, 5) + bytes(32))),
    eth(ip4(a, b, 17, dgram[:64], ident=77, frag=0x2000)),
    eth(ip4(a, b, 17, dgram[64:], ident=77, frag=64 // 8)),
    eth(ip4(a, b, 17, udp(500, 500, ike(2, 0, 0, [], ver=0x10)))),
    eth(struct.pack("!IHBB", 6 << 28, 8 + len(dgram), 60, 64) + v6a + v6b +
        bytes([17, 0, 1, 4, 0, 0, 0, 0]) + dgram, 0x86dd),
    eth(struct.pack("!IHBB", 6 << 28, 8 + 64, 44, 64) + v6a + v6b +
        struct.pack("!BBHI", 17, 0, 1, 99) + dgram[:64], 0x86dd),
]
write(os.path.join(out, "synthetic.pcap"), open(sys.argv[2], "rb").read()[:24], LINK_ETH,
      [(1700000000 + i, 0, d) for i, d in enumerate(syn)])
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
	tshark -r "$f" -o ip.defragment:FALSE -o ipv6.defragment:FALSE -T json --no-duplicate-keys >"$tmp/$i.tshark.json" 2>"$tmp/$i.tshark.err"
	echo "$f" >"$tmp/$i.name"
done

python3 - "$tmp" "$i" <<'PY'
import json, sys, os

tmp, count = sys.argv[1], int(sys.argv[2])

# RFC 7296 3.2 payload numbers -> IANA abbreviations used by ikedump.
ABBR = {33: "SA", 34: "KE", 35: "IDi", 36: "IDr", 37: "CERT", 38: "CERTREQ",
        39: "AUTH", 40: "Nonce", 41: "N", 42: "D", 43: "V", 44: "TSi",
        45: "TSr", 46: "SK", 47: "CP", 48: "EAP", 49: "GSPM", 50: "IDg", 51: "GSA",
        52: "KD", 53: "SKF", 54: "PS"}
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
    notifies, groups, props, frags, details = [], [], [], [], []
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
        elif t in (35, 36):
            data = tree.get("isakmp.id.data", {})
            val = (data.get("isakmp.id.data.ipv4_addr") or data.get("isakmp.id.data.fqdn")
                   or data.get("isakmp.id.data.key_id", "").replace(":", "") or None)
            if isinstance(data, dict) and val is not None:
                details.append(("ID", int(tree["isakmp.id.type"]), val))
        elif t == 42:
            details.append(("D", [x.replace(":", "") for x in aslist(tree.get("isakmp.delete.spi"))]))
        elif t in (44, 45):
            d = aslist(tree.get("isakmp.ts.data"))
            details.append(("TS", [(int(x["isakmp.ts.protoid"]), int(x["isakmp.ts.start_port"]),
                                    int(x["isakmp.ts.end_port"]),
                                    x.get("isakmp.ts.start_ipv4") or x.get("isakmp.ts.start_ipv6"),
                                    x.get("isakmp.ts.end_ipv4") or x.get("isakmp.ts.end_ipv6"))
                                   for x in d]))
        elif t == 47:
            details.append(("CP", int(tree["isakmp.cfg.type"]),
                            [int(a["isakmp.cfg.attr.type"]) for a in aslist(tree.get("isakmp.cfg.attr"))]))
        elif t == 48:
            e = tree["eap"]
            details.append(("EAP", int(e["eap.code"]), int(e["eap.id"]), int(e.get("eap.type", 0))))
    r["notifies"], r["groups"], r["props"], r["frags"] = notifies, groups, props, frags
    r["details"] = details
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
    details = []
    ID_TYPES = {"ID_IPV4_ADDR": 1, "ID_FQDN": 2, "ID_KEY_ID": 11}
    CP_TYPES = {"CFG_REQUEST": 1, "CFG_REPLY": 2, "CFG_SET": 3, "CFG_ACK": 4}
    CP_ATTRS = {"INTERNAL_IP4_ADDRESS": 1, "INTERNAL_IP4_NETMASK": 2, "INTERNAL_IP4_DNS": 3,
                "APPLICATION_VERSION": 7, "INTERNAL_IP6_ADDRESS": 8, "INTERNAL_IP6_DNS": 10}
    EAP_CODES = {"Request": 1, "Response": 2, "Success": 3, "Failure": 4}
    for p in o["payloads"]:
        t = p["type"]
        if t in ("IDi", "IDr") and p["id_type"] in ID_TYPES:
            details.append(("ID", ID_TYPES[p["id_type"]], p["value"]))
        elif t == "D":
            details.append(("D", p["spis"]))
        elif t in ("TSi", "TSr"):
            details.append(("TS", [(x["ip_proto"], x["start_port"], x["end_port"], x["start"], x["end"])
                                   for x in p["selectors"]]))
        elif t == "CP":
            details.append(("CP", CP_TYPES.get(p["cfg_type"]),
                            [CP_ATTRS.get(a["type"]) for a in p["attributes"]]))
        elif t == "EAP":
            details.append(("EAP", EAP_CODES.get(p["code"]), p["identifier"], p.get("eap_type", 0)))
    r["details"] = details
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
        ip, ip6 = layers.get("ip", {}), layers.get("ipv6", {})
        if (ip.get("ip.flags_tree", {}).get("ip.flags.mf") == "1"
                or ip.get("ip.frag_offset", "0") != "0" or "ipv6.fraghdr" in ip6):
            # tshark (with defragmentation off) may dissect a first fragment;
            # ikedump labels fragments and never reassembles.
            seen.add(frame)
            if [o["kind"] for o in objs] == ["ip-fragment"]:
                passed += 1
            else:
                print(f"FAIL {base} frame {frame}: IP fragment, ikedump reports {objs}")
                failed += 1
            continue
        if "isakmp" in layers and layers["isakmp"].get("isakmp.version_tree", {}).get(
                "isakmp.mjver") != "0x02":
            seen.add(frame)
            if [o["kind"] for o in objs] == ["unsupported"]:
                passed += 1
            else:
                print(f"FAIL {base} frame {frame}: IKE version "
                      f"{layers['isakmp'].get('isakmp.version')}, ikedump reports {objs}")
                failed += 1
            continue
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
        elif "udpencap.nat_keepalive" in layers.get("udpencap", {}):
            seen.add(frame)
            if [o["kind"] for o in objs] == ["keepalive"]:
                passed += 1
            else:
                print(f"FAIL {base} frame {frame}: NAT-keepalive, ikedump reports {objs}")
                failed += 1
        elif "esp" in layers:
            seen.add(frame)
            esp = [o for o in objs if o["kind"] == "esp"]
            want = (int(layers["esp"]["esp.spi"], 16), int(layers["esp"]["esp.sequence"]),
                    tshark_addr(layers))
            if len(esp) != 1 or (int(esp[0]["spi"], 16), esp[0]["seq"],
                                 {k: esp[0][k] for k in ("src", "dst", "sport", "dport")
                                  if k in esp[0]}) != want:
                print(f"FAIL {base} frame {frame}: ESP {want}, ikedump {objs}")
                failed += 1
            else:
                passed += 1
    for frame, objs in sorted(by_frame.items()):
        for o in objs:
            if frame not in seen and o["kind"] != "malformed":
                print(f"FAIL {base} frame {frame}: ikedump reports {o['kind']}, tshark does not")
                failed += 1
    print(f"{base}: {len(mine)} ikedump objects, {len(seen)} frames compared")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
