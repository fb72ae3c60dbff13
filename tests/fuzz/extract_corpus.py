#!/usr/bin/env python3
"""Extract every IKE message of the strongSwan fixture pcaps into tests/fuzz/corpus/.

One IKE message per file, without the RFC 3948 non-ESP marker; named
<capture>-<index>-<exchange>-<i|r><req|resp>.bin. ESP-in-UDP and NAT-T
keepalives are skipped. Link type must be Ethernet (1); IPv4 and IPv6.
Usage: extract_corpus.py <fixtures/strongswan> <corpus dir>
"""
import os
import struct
import sys

EXCH = {34: "IKE_SA_INIT", 35: "IKE_AUTH", 36: "CREATE_CHILD_SA", 37: "INFORMATIONAL"}


def packets(path):
    d = open(path, "rb").read()
    magic, _, _, _, _, _, linktype = struct.unpack("<IHHiIII", d[:24])
    if magic != 0xA1B2C3D4 or linktype != 1:
        raise SystemExit(f"{path}: not a little-endian Ethernet pcap")
    off = 24
    while off + 16 <= len(d):
        _, _, incl, _ = struct.unpack("<IIII", d[off:off + 16])
        yield d[off + 16:off + 16 + incl]
        off += 16 + incl


def udp_payload(frame):
    etype = struct.unpack(">H", frame[12:14])[0]
    p = frame[14:]
    while etype == 0x8100:
        etype = struct.unpack(">H", p[2:4])[0]
        p = p[4:]
    if etype == 0x0800:
        ihl = (p[0] & 0x0F) * 4
        if p[9] != 17:
            return None
        total = struct.unpack(">H", p[2:4])[0]
        udp = p[ihl:total]
    elif etype == 0x86DD:
        if p[6] != 17:
            return None
        udp = p[40:40 + struct.unpack(">H", p[4:6])[0]]
    else:
        return None
    sport, dport, ulen = struct.unpack(">HHH", udp[:6])
    return sport, dport, udp[8:ulen]


def main():
    src, dst = sys.argv[1], sys.argv[2]
    os.makedirs(dst, exist_ok=True)
    for name in sorted(f for f in os.listdir(src) if f.endswith(".pcap")):
        n = 0
        for frame in packets(os.path.join(src, name)):
            u = udp_payload(frame)
            if not u:
                continue
            sport, dport, data = u
            if 4500 in (sport, dport):
                if len(data) < 4 or data[:4] != b"\0\0\0\0":
                    continue  # ESP in UDP or keepalive
                data = data[4:]
            elif 500 not in (sport, dport):
                continue
            if len(data) < 28:
                continue
            ex = EXCH.get(data[18], f"EX{data[18]}")
            flags = data[19]
            role = ("i" if flags & 0x08 else "r") + ("resp" if flags & 0x20 else "req")
            n += 1
            out = f"{name[:-5]}-{n:02d}-{ex}-{role}.bin"
            with open(os.path.join(dst, out), "wb") as f:
                f.write(data)
        print(f"{name}: {n} IKE messages")


if __name__ == "__main__":
    main()
