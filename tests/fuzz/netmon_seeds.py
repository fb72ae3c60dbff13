#!/usr/bin/env python3
"""Write corpus-netmon/: what this host's kernel answers on NETLINK_ROUTE,
one recv() buffer per file, as fuzz_netmon takes it (RTM_GETADDR, RTM_GETLINK
and RTM_GETROUTE dumps, RTM_GETROUTE lookups as netmon_route_source asks
them), plus an RTM_NEWLINK of a link with the alias xiked gives its interfaces.
Run it in a network namespace of documentation addresses, not on a real host:
  unshare -n sh -c 'ip link set lo up; ip link add d0 type veth peer name d1;
    ip addr add 192.0.2.1/24 dev d0; ip -6 addr add 2001:db8::1/64 dev d0 nodad;
    ip link set d1 up; ip link set d0 up; ip link add xfrm-7 type xfrm dev d0 if_id 7;
    ip link add vti-1 type vti local 192.0.2.1 remote 192.0.2.2 key 5;
    tests/fuzz/netmon_seeds.py'
(the two tunnels only where the modules load).
"""
import os
import socket
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus-netmon")
RTM_NEWLINK, RTM_GETLINK, RTM_GETADDR, RTM_NEWROUTE, RTM_GETROUTE = 16, 18, 22, 24, 26
NLM_F_REQUEST, NLM_F_DUMP = 1, 0x300
RTA_DST, IFLA_IFNAME, IFLA_IFALIAS = 1, 3, 20


def rta(t, data):
    n = 4 + len(data)
    return struct.pack("=HH", n, t) + data + b"\0" * ((-n) % 4)


def ask(mtype, flags, body):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.bind((0, 0))
    s.send(struct.pack("=IHHII", 16 + len(body), mtype, NLM_F_REQUEST | flags, 1, 0) + body)
    bufs = []
    while True:
        b = s.recv(65536)
        bufs.append(b)
        off, done = 0, not flags & NLM_F_DUMP
        while off + 16 <= len(b):
            n, t = struct.unpack("=IH", b[off:off + 6])
            done |= t in (2, 3)  # NLMSG_ERROR, NLMSG_DONE
            off += max(16, (n + 3) & ~3)
        if done or len(bufs) > 8:
            break
    s.close()
    return bufs


def put(name, data):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data[:65536])


def main():
    rtgen = lambda fam: struct.pack("=Bxxx", fam)
    for fam, fn in ((socket.AF_INET, "4"), (socket.AF_INET6, "6")):
        for i, b in enumerate(ask(RTM_GETADDR, NLM_F_DUMP, struct.pack("=BBBBI", fam, 0, 0, 0, 0))):
            put("addr-dump%s-%d" % (fn, i), b)
        for i, b in enumerate(ask(RTM_GETROUTE, NLM_F_DUMP, struct.pack("=BBBBBBBBI", fam, 0, 0, 0, 0, 0, 0, 0, 0))):
            put("route-dump%s-%d" % (fn, i), b)
    for i, b in enumerate(ask(RTM_GETLINK, NLM_F_DUMP, struct.pack("=BxHiII", 0, 0, 0, 0, 0))):
        put("link-dump-%d" % i, b)
    # netmon_route_source's question: rtm_family, rtm_dst_len, RTA_DST
    for name, fam, a in (("route-get4", socket.AF_INET, socket.inet_pton(socket.AF_INET, "192.0.2.2")),
                         ("route-get6", socket.AF_INET6, socket.inet_pton(socket.AF_INET6, "2001:db8::2")),
                         ("route-get4-unreach", socket.AF_INET, socket.inet_pton(socket.AF_INET, "198.51.100.1"))):
        body = struct.pack("=BBBBBBBBI", fam, len(a) * 8, 0, 0, 0, 0, 0, 0, 0) + rta(RTA_DST, a)
        put(name, b"".join(ask(RTM_GETROUTE, 0, body)))
    # rtnl_link_get_kernel's answer for an interface xiked made (alias "xiked")
    lo = ask(RTM_GETLINK, 0, struct.pack("=BxHiII", 0, 0, 1, 0, 0) + rta(IFLA_IFNAME, b"lo\0"))[0]
    n = struct.unpack("=I", lo[:4])[0]
    body = lo[16:n] + rta(IFLA_IFALIAS, b"xiked\0")
    put("link-ours", struct.pack("=IHHII", 16 + len(body), RTM_NEWLINK, 0, 1, 0) + body)


if __name__ == "__main__":
    main()
