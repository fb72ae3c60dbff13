#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets other than fuzz_message.

  corpus-config/         xiked.conf texts covering every key and value form
  corpus-json/           control requests and status replies
  corpus-engine/         operation programs for fuzz_engine (see its top
                         comment): strongSwan's IKE_SA_INIT requests from
                         corpus/ as RAW datagrams, a full a<->b tunnel, and
                         the decrypted inner chains of the fixtures' IKE_AUTH,
                         CREATE_CHILD_SA and INFORMATIONAL messages (corpus/
                         *-plain.bin) sealed with b's keys or spliced into a's
  corpus-ikedump_frame/  the fixture captures' frames, one per file, with the
                         link-type/format prefix of fuzz_ikedump_frame, plus
                         the same IKE messages in the other link types

corpus-xfrm_msg/ is written by xfrm_seeds (tests/fuzz/xfrm_seeds.c, built
with the fuzz targets): it needs the kernel's struct layouts.
Usage: make_seeds.py   (from anywhere; writes next to this script)
"""
import glob
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures", "strongswan")


def put(sub, name, data):
    d = os.path.join(HERE, sub)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- config
CONFIGS = {
    "minimal.conf": """\
[conn peer]
remote_addr = 192.0.2.2
auth = psk
psk = "s3cret"
""",
    "full.conf": """\
# every key of every section
[daemon]
listen = 192.0.2.1, 2001:db8::1, %any
control = /run/xiked/test.sock
log = debug
port = 500
natt_port = 4500

[conn site]
local_addr = 192.0.2.1
remote_addr = 192.0.2.2
local_id = @gw1.example
remote_id = fqdn:gw2.example
auth = psk
psk = 0x00112233445566778899aabbccddeeff
ike = aes256gcm16-prfsha256-x25519, aes128-sha256-ecp256, chacha20poly1305-prfsha512-x448
esp = aes256gcm16-esn, aes128-aes256-sha256-sha1-noesn-modp2048
local_ts = 10.1.0.0/24, 10.1.1.0/24[tcp/443]
remote_ts = 10.2.0.0/24, 10.2.0.1-10.2.0.9[udp/1000-2000]
mode = tunnel
start = initiate

[child site.web]
local_ts = 10.1.2.0/24[tcp/80]
remote_ts = 0.0.0.0/0[tcp]
esp = aes128gcm12, aes192-sha384
mode = tunnel

[child site.host]
local_ts = %dynamic[icmp]
remote_ts = %dynamic
mode = transport
""",
    "ids.conf": """\
[conn e1]
remote_addr = %any
local_id = user@example.org
remote_id = @@admin@example.org
auth = psk
psk = "a"
[conn e2]
remote_addr = 198.51.100.1
local_id = email:x@y
remote_id = rfc822:z@w
auth = psk
psk = "b"
[conn e3]
remote_addr = 2001:db8::9
local_id = ipv6:2001:db8::1
remote_id = 2001:db8::9
auth = psk
psk = "c"
[conn e4]
remote_addr = 203.0.113.5
local_id = ipv4:192.0.2.1
remote_id = keyid:0a0b0c0d
auth = psk
psk = "d"
[conn e5]
remote_addr = 203.0.113.6
local_id = @#deadbeef
remote_id = %any
auth = psk
psk = "e"
[conn e6]
remote_addr = 203.0.113.7
local_id = userfqdn:me@here
remote_id = fqdn:192.0.2.7
auth = psk
psk = "f"
""",
    "psk_files.conf": """\
[conn f1]
remote_addr = 192.0.2.10
auth = psk
psk_file = psk
[conn f2]
remote_addr = 192.0.2.11
auth = psk
psk_file = crlf
[conn f3]
remote_addr = 192.0.2.12
auth = psk
psk_file = sub/psk
[conn f4]
remote_addr = 192.0.2.13
auth = psk
psk_file = world
""",
    "psk_file_empty.conf": "[conn f]\nremote_addr = 192.0.2.1\nauth = psk\npsk_file = empty\n",
    "psk_file_big.conf": "[conn f]\nremote_addr = 192.0.2.1\nauth = psk\npsk_file = big\n",
    "psk_file_missing.conf": "[conn f]\nremote_addr = 192.0.2.1\nauth = psk\npsk_file = nope\n",
    # not a regular file (a FIFO or terminal would block the daemon)
    "psk_file_devnull.conf": "[conn f]\nremote_addr = 192.0.2.1\nauth = psk\npsk_file = /dev/null\n",
    "ts.conf": """\
[conn t]
remote_addr = 2001:db8::2
auth = psk
psk = "t"
local_ts = 2001:db8:1::/48[udp/1000-2000], ::/0, 2001:db8::1-2001:db8::ff[sctp/%any]
remote_ts = 2001:db8:2::/48[icmpv6/128], 2001:db8::5[gre], fe80::1[50], 10.0.0.0/8[%any/%any]
esp = chacha20poly1305-x25519-esn-noesn
ike = aes192-sha512-prfsha384-modp3072-modp4096-ecp384-ecp521
""",
    "comments.conf": """\
; a comment
  # indented comment
[daemon]
log = warn   # trailing comment
control = "/run/xiked/quoted # not a comment.sock"
[conn "quoted"]
remote_addr=192.0.2.99
auth=psk
psk="with \\"escapes\\" and \\\\ backslash # not a comment"
[child quoted.c-1_x]
mode = transport
""",
    "errors.conf": """\
[daemon]
log = loud
[conn bad name!]
remote_addr = 999.1.1.1
ike = aes128-aes128
[child nosuch.child]
local_ts = 10.0.0.0/33
""",
    "dup.conf": "[conn a]\nremote_addr = 192.0.2.1\nauth = psk\npsk = \"x\"\n"
                "[conn a]\nremote_addr = 192.0.2.2\nauth = psk\npsk = \"y\"\n",
    "trap.conf": "[conn tr]\nremote_addr = 192.0.2.3\nauth = psk\npsk = \"z\"\nstart = trap\n"
                 "local_ts = 10.9.0.0/16\nremote_ts = 10.8.0.0/16\n",
    "crlf.conf": "[conn c]\r\nremote_addr = 192.0.2.4\r\nauth = psk\r\npsk = \"q\"\r\n",
}

# ---------------------------------------------------------------- json
JSONS = {
    "status.json": '{"cmd":"status"}',
    "up.json": '{"cmd":"up","conn":"site"}',
    "down.json": '{"cmd":"down","conn":"site","force":true,"n":-12,"x":null}',
    "reload.json": ' {"cmd" : "reload" , "f":1.5e3} \n',
    "escapes.json": '{"s":"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"}',
    "utf8.json": '{"k\u00e9y":"\u65e5\u672c","e":"\U0001f600"}',
    "numbers.json": '[0,-0,1,-1,9223372036854775807,-9223372036854775808,'
                    '9223372036854775808,1.0,1e10,-2.5E-3,0.1]',
    "nested.json": '{"ok":true,"ike_sas":[{"name":"site","state":"ESTABLISHED",'
                   '"local":{"addr":"192.0.2.1","port":500,"id":"gw1"},'
                   '"child_sas":[{"name":"site","spi_in":"c0000100","local_ts":["10.1.0.0/24"],'
                   '"bytes_in":0}]}],"stats":{"rx":5,"tx":5}}',
    "deep.json": "[" * 32 + "]" * 32,
    "toodeep.json": "[" * 33 + "]" * 33,
    "dupkey.json": '{"a":1,"a":2}',
    "nul.json": '{"a":"\\u0000"}',
    "badutf8.json": b'{"a":"\xc3\x28"}',
    "trailing.json": '{} x',
    "literals.json": '[true,false,null]',
}


def seeds_config_json():
    for n, t in CONFIGS.items():
        put("corpus-config", n, t)
    for n, t in JSONS.items():
        put("corpus-json", n, t)


# ---------------------------------------------------------------- engine
OP_RAW, OP_SEALED, OP_PUMP, OP_UP, OP_TIME, OP_DOWN, OP_SPLICE, OP_EXPIRE, OP_CONTROL, OP_NET = range(10)

IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL = 34, 35, 36, 37
PL_SK = 46


def raw(data, flags=0):
    return bytes([OP_RAW, flags]) + struct.pack(">H", len(data)) + data


def sealed(exch, first, chain, sa=0, fl=0, msgid=1):
    return bytes([OP_SEALED, sa, exch, fl, msgid, first]) + struct.pack(">H", len(chain)) + chain


def splice(k, nxt, chain):
    return bytes([OP_SPLICE, k, nxt]) + struct.pack(">H", len(chain)) + chain


def pump(n):
    return bytes([OP_PUMP, n - 1])


def up():
    return bytes([OP_UP])


def time(t):
    return bytes([OP_TIME, t])


def inner_chain(msg):
    """(first inner type, inner chain) of a *-plain.bin message (SK body holds the plaintext)."""
    nxt = msg[16]
    off = 28
    while nxt != 0 and off + 4 <= len(msg):
        plen = struct.unpack(">H", msg[off + 2:off + 4])[0]
        if nxt == PL_SK:
            return msg[off], msg[off + 4:off + plen]
        nxt = msg[off]
        off += plen
    return None


def chain_after(first, chain, types):
    """The payloads of chain from the first one whose type is in types: (type, bytes)."""
    t, off = first, 0
    while t != 0 and off + 4 <= len(chain):
        if t in types:
            return t, chain[off:]
        plen = struct.unpack(">H", chain[off + 2:off + 4])[0]
        t = chain[off]
        off += plen
    return None


def seeds_engine():
    corpus = os.path.join(HERE, "corpus")
    # strongSwan's IKE_SA_INIT responses in place of b's, as a receives them
    for f in sorted(glob.glob(os.path.join(corpus, "*-IKE_SA_INIT-rresp.bin"))):
        data = open(f, "rb").read()
        put("corpus-engine", os.path.basename(f)[:-4] + ".to-a",
            up() + pump(1) + splice(0x80 | 0x70, data[16], data[28:]) + pump(8))
    # strongSwan's IKE_SA_INIT requests as b receives them
    for f in sorted(glob.glob(os.path.join(corpus, "*-IKE_SA_INIT-ireq.bin"))):
        data = open(f, "rb").read()
        base = os.path.basename(f)[:-4]
        put("corpus-engine", base + ".raw", raw(data))
        # from a NAT (another address, then port 4500), then half-open expiry
        put("corpus-engine", base + "-nat.raw", raw(data, 2) + raw(data, 3) + time(0x88))
    # a full tunnel: IKE_SA_INIT, IKE_AUTH (+ first child), CREATE_CHILD_SA (second child)
    tunnel = up() + pump(8) + pump(8)
    put("corpus-engine", "tunnel", tunnel)
    put("corpus-engine", "tunnel-then-time", tunnel + time(0xff) + time(0xff))
    put("corpus-engine", "tunnel-down-a", tunnel + bytes([OP_DOWN, 0]) + pump(8))
    put("corpus-engine", "tunnel-down-b", tunnel + bytes([OP_DOWN, 1]) + pump(8))
    put("corpus-engine", "tunnel-expire", tunnel + bytes([OP_EXPIRE, 0, 1, OP_EXPIRE, 1, 0]) + pump(8))
    put("corpus-engine", "tunnel-control", tunnel + bytes([OP_CONTROL, 0, OP_CONTROL, 2,
                                                         OP_CONTROL, 1]) + pump(8))
    put("corpus-engine", "retransmit", up() + bytes([OP_CONTROL, 3]) + time(20) + pump(8)
        + time(0x90) + pump(8))
    # an empty INFORMATIONAL (liveness check) and a retransmitted one
    put("corpus-engine", "tunnel-dpd", tunnel + sealed(INFORMATIONAL, 0, b"", msgid=1)
        + sealed(INFORMATIONAL, 0, b"", msgid=0))
    # one long program (a few KiB, so the fuzzer's length limit starts there):
    # a tunnel, then every request chain of the fixtures, pumped, with time passing
    # (requests that delete the IKE SA itself go last)
    longer, last = tunnel, b""
    for f in sorted(glob.glob(os.path.join(corpus, "*-plain.bin")), key=lambda f: f[-26:]):
        msg = open(f, "rb").read()
        ic = inner_chain(msg)
        if ic and msg[18] != IKE_AUTH and not msg[19] & 0x20:
            op = sealed(msg[18], ic[0], ic[1], msgid=1) + pump(8) + time(8)
            d = chain_after(ic[0], ic[1], {42})  # Delete: protocol 1 is the IKE SA
            if d and d[1][4] == 1:
                last = op
            else:
                longer += op
    put("corpus-engine", "tunnel-long", longer + last + bytes([OP_DOWN, 1]) + pump(8))
    # the fixtures' decrypted chains, sealed into b's IKE SA, or spliced into a's IKE_AUTH
    for f in sorted(glob.glob(os.path.join(corpus, "*-plain.bin"))):
        msg = open(f, "rb").read()
        ic = inner_chain(msg)
        if not ic:
            continue
        first, chain = ic
        exch = msg[18]
        resp = (msg[19] & 0x20) != 0
        base = os.path.basename(f)[:-4]
        if exch == IKE_AUTH and not resp:
            # IKE_AUTH request: alone after IKE_SA_INIT (AUTH fails) ...
            put("corpus-engine", base + ".sealed",
                up() + pump(1) + pump(1) + bytes([OP_CONTROL, 3])
                + sealed(exch, first, chain, msgid=1))
            # ... and its SA, TS and notifies after a's IDi/IDr/AUTH (AUTH holds)
            rest = chain_after(first, chain, {47, 33})
            if rest:
                for k in (2, 3):
                    put("corpus-engine", "%s.splice%d" % (base, k),
                        up() + pump(1) + pump(1) + splice(k, rest[0], rest[1]) + pump(8))
        elif exch == IKE_AUTH:
            # IKE_AUTH response: its SA, TS and notifies after b's IDr/AUTH, to a
            rest = chain_after(first, chain, {47, 33})
            if rest:
                put("corpus-engine", base + ".splice-to-a",
                    up() + pump(1) + pump(1) + pump(1) + splice(0x80 | 2, rest[0], rest[1])
                    + pump(8))
        elif not resp:
            put("corpus-engine", base + ".sealed",
                tunnel + sealed(exch, first, chain, msgid=1) + pump(8))
        else:
            # a response to b's request (b deleting its SA)
            put("corpus-engine", base + ".sealed",
                tunnel + bytes([OP_DOWN, 1, OP_CONTROL, 3])
                + sealed(exch, first, chain, fl=2, msgid=1))


# MOBIKE (RFC 4555) notifies, inner chains of INFORMATIONAL
PL_NOTIFY = 41
N_NAT_DETECTION_SOURCE_IP, N_NAT_DETECTION_DESTINATION_IP = 16388, 16389
N_ADDITIONAL_IP4_ADDRESS, N_ADDITIONAL_IP6_ADDRESS, N_NO_ADDITIONAL_ADDRESSES = 16397, 16398, 16399
N_UPDATE_SA_ADDRESSES, N_COOKIE2, N_NO_NATS_ALLOWED = 16400, 16401, 16402


def notifies(*ns):
    """(first type, chain) of Notify payloads (type, data), protocol 0, no SPI."""
    out = b""
    for i, (t, data) in enumerate(ns):
        nxt = PL_NOTIFY if i + 1 < len(ns) else 0
        out += struct.pack(">BBHBBH", nxt, 0, 8 + len(data), 0, 0, t) + data
    return PL_NOTIFY, out


def seeds_mobike():
    """fuzz_engine programs reaching daemon/task_mobike.c: b (the responder) gets
    UPDATE_SA_ADDRESSES and address lists, a (the original initiator) learns b's
    other addresses and, its DPD probe dropped, tries them (path failure)."""
    tunnel = up() + pump(8) + pump(8)
    ip4 = lambda s: bytes(int(x) for x in s.split("."))
    v6_7 = bytes.fromhex("20010db8000000000000000000000007")
    natd_other = (N_NAT_DETECTION_SOURCE_IP, b"\x5a" * 20), (N_NAT_DETECTION_DESTINATION_IP, b"\xa5" * 20)
    cookie = (N_COOKIE2, bytes(range(16)))
    # a's IKE SA after IKE_AUTH with MOBIKE: 192.0.2.1[4500] -> 192.0.2.2[4500]
    nonats_ok = ip4("192.0.2.1") + ip4("192.0.2.2") + struct.pack(">HH", 4500, 4500)
    nonats_bad = ip4("192.0.2.1") + ip4("192.0.2.2") + struct.pack(">HH", 500, 4500)
    cases = {
        # the NAT hashes do not match: UDP encapsulation on, Child SAs migrated
        "mobike-update-natd": notifies((N_UPDATE_SA_ADDRESSES, b""), *natd_other, cookie,
                                       (N_ADDITIONAL_IP4_ADDRESS, ip4("198.51.100.7")),
                                       (N_ADDITIONAL_IP6_ADDRESS, v6_7)),
        "mobike-update-nonats": notifies((N_UPDATE_SA_ADDRESSES, b""), *natd_other, cookie,
                                         (N_NO_NATS_ALLOWED, nonats_ok)),
        "mobike-update-nonats-bad": notifies((N_UPDATE_SA_ADDRESSES, b""), *natd_other, cookie,
                                             (N_NO_NATS_ALLOWED, nonats_bad)),
        "mobike-update-plain": notifies((N_UPDATE_SA_ADDRESSES, b""), cookie),
        "mobike-cookie2": notifies(cookie),
        "mobike-addrs": notifies((N_ADDITIONAL_IP4_ADDRESS, ip4("198.51.100.7")),
                                 (N_ADDITIONAL_IP4_ADDRESS, b"\x01\x02"),
                                 (N_ADDITIONAL_IP6_ADDRESS, v6_7)),
        "mobike-no-addrs": notifies((N_NO_ADDITIONAL_ADDRESSES, b"")),
    }
    for name, (first, chain) in cases.items():
        put("corpus-engine", name, tunnel + sealed(INFORMATIONAL, first, chain, msgid=1) + pump(8)
            + time(8) + pump(8))
    # the update twice (a retransmission, then a new one), then a Child rekey by time
    first, chain = cases["mobike-update-natd"]
    put("corpus-engine", "mobike-update-twice",
        tunnel + sealed(INFORMATIONAL, first, chain, msgid=1) + pump(8)
        + sealed(INFORMATIONAL, first, chain, msgid=0) + sealed(INFORMATIONAL, first, chain, msgid=1)
        + pump(8) + bytes([OP_EXPIRE, 0, 0]) + pump(8) + pump(8))
    # b hears the update from elsewhere (SEALED fl bits 4-5): the IKE SA and the Child SAs move,
    # unless NO_NATS_ALLOWED names the addresses a sent from
    for name, case, fl in (("mobike-moved", "mobike-update-natd", 0x10),
                           ("mobike-moved-v6", "mobike-update-plain", 0x30),
                           ("mobike-moved-nonats", "mobike-update-nonats", 0x20)):
        first, chain = cases[case]
        put("corpus-engine", name, tunnel + sealed(INFORMATIONAL, first, chain, fl=fl, msgid=1)
            + pump(8) + time(8) + bytes([OP_EXPIRE, 0, 0]) + pump(8) + pump(8)
            + bytes([OP_CONTROL, 2]))
    # to a: b's other addresses; a's next request goes unanswered: a moves to them
    first, chain = cases["mobike-addrs"]
    put("corpus-engine", "mobike-path-failure",
        tunnel + sealed(INFORMATIONAL, first, chain, fl=4, msgid=1) + pump(8)
        + time(0x84) + bytes([OP_CONTROL, 3, OP_CONTROL, 3]) + time(20) + time(40) + pump(8)
        + time(60) + pump(8) + bytes([OP_CONTROL, 2]))
    # NET: a's address moves (MOBIKE roaming after the debounce), its routes go and come
    # back, reauthentication and rekeys by hand, a move while a rekey is under way
    net = lambda *xs: bytes(b for x in xs for b in (OP_NET, x))
    first, chain = cases["mobike-addrs"]
    to_a_addrs = sealed(INFORMATIONAL, first, chain, fl=4, msgid=1) + pump(8)
    put("corpus-engine", "net-roam", tunnel + net(0) + time(1) + pump(8) + pump(8)
        + net(0) + time(1) + pump(8) + pump(8) + bytes([OP_CONTROL, 2]))
    put("corpus-engine", "net-roam-at-once", tunnel + net(0, 7) + pump(8) + pump(8))
    put("corpus-engine", "net-no-route", tunnel + to_a_addrs + net(1) + time(1) + pump(8)
        + time(20) + pump(8) + net(1) + time(1) + pump(8) + pump(8))
    put("corpus-engine", "net-reauth", tunnel + net(2) + pump(8) + pump(8) + pump(8) + pump(8)
        + time(40) + pump(8) + bytes([OP_CONTROL, 2]))
    put("corpus-engine", "net-rekeys", tunnel + net(3) + pump(8) + pump(8) + net(4) + pump(8)
        + pump(8) + net(5) + pump(8) + pump(8) + net(6) + pump(8) + pump(8))
    put("corpus-engine", "net-roam-during-rekey", tunnel + net(4, 0) + time(1) + pump(1)
        + pump(8) + pump(8) + net(3, 0, 7) + pump(8) + pump(8))
    put("corpus-engine", "net-roam-during-reauth", tunnel + net(2) + pump(2) + net(0)
        + time(1) + pump(8) + pump(8) + pump(8) + time(40) + pump(8))
    # to a: an UPDATE_SA_ADDRESSES from the responder is ignored
    first, chain = cases["mobike-update-plain"]
    put("corpus-engine", "mobike-update-to-a",
        tunnel + sealed(INFORMATIONAL, first, chain, fl=4, msgid=1) + pump(8))


# ---------------------------------------------------------------- ikedump
DLT_ORDER = [1, 113, 276, 12, 228, 229, 0, 108]  # fuzz_ikedump_frame's table


def pcap_frames(path):
    d = open(path, "rb").read()
    magic, _, _, _, _, _, linktype = struct.unpack("<IHHiIII", d[:24])
    assert magic == 0xA1B2C3D4 and linktype == 1
    off = 24
    while off + 16 <= len(d):
        _, _, incl, _ = struct.unpack("<IIII", d[off:off + 16])
        yield d[off + 16:off + 16 + incl]
        off += 16 + incl


def seeds_ikedump():
    lt = {v: i for i, v in enumerate(DLT_ORDER)}
    n = 0
    for cap in sorted(glob.glob(os.path.join(FIXTURES, "*.pcap"))):
        name = os.path.basename(cap)[:-5]
        for i, fr in enumerate(pcap_frames(cap)):
            if i >= 12:
                break
            put("corpus-ikedump_frame", "%s-%02d-en10mb" % (name, i), bytes([lt[1], i & 1]) + fr)
            n += 1
            if i == 0:
                ip = fr[14:]
                v6 = (ip[0] >> 4) == 6
                af = 10 if v6 else 2
                put("corpus-ikedump_frame", name + "-raw", bytes([lt[12], 1]) + ip)
                put("corpus-ikedump_frame", name + "-ipv", bytes([lt[229 if v6 else 228], 0]) + ip)
                put("corpus-ikedump_frame", name + "-null",
                    bytes([lt[0], 1]) + struct.pack("<I", af) + ip)
                put("corpus-ikedump_frame", name + "-loop",
                    bytes([lt[108], 0]) + struct.pack(">I", af) + ip)
                put("corpus-ikedump_frame", name + "-sll",
                    bytes([lt[113], 1]) + struct.pack(">HHH8sH", 0, 1, 6, b"\x02" * 6, 0x86DD if v6 else 0x0800) + ip)
                put("corpus-ikedump_frame", name + "-sll2",
                    bytes([lt[276], 0]) + struct.pack(">HHIHBB8s", 0x86DD if v6 else 0x0800, 0, 2, 1, 0, 6, b"\x02" * 6) + ip)
                put("corpus-ikedump_frame", name + "-vlan",
                    bytes([lt[1], 1]) + fr[:12] + b"\x81\x00\x00\x05" + fr[12:])
                put("corpus-ikedump_frame", name + "-trunc", bytes([lt[1], 0xfe]) + fr[:60])
    return n


def main():
    seeds_config_json()
    seeds_engine()
    seeds_mobike()
    seeds_ikedump()


if __name__ == "__main__":
    main()
