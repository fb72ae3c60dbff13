#!/usr/bin/env python3
"""Make plaintext seeds from the strongSwan fixtures (run after extract_corpus.py).

For every SK/SKF message of tests/fuzz/corpus/<capture>-*.bin it finds the IKE
SA keys in <capture>.initiator.log (each "Sk_ai/Sk_ar/Sk_ei/Sk_er secret" dump;
there are several after an IKE SA rekey), verifies the ICV (HMAC-SHA2-256-128
or AES-GCM-16 tag), decrypts (RFC 7296 3.14, RFC 5282), strips the padding,
reassembles RFC 7383 fragments, and writes <first file>-plain.bin: the same
IKE header followed by an SK payload whose body is the bare inner payload
chain (no IV, padding or ICV). Those are the seeds and unit-test inputs for
message_parse_inner (tests/unit/test_codec.c parses the SK body as plaintext).
Usage: decrypt_corpus.py <fixtures/strongswan> <corpus dir>
Needs python3-cryptography.
"""
import hmac
import hashlib
import os
import re
import struct
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def keysets(log):
    """Yield dicts {ai, ar, ei, er} in log order."""
    lines = open(log, errors="replace").read().splitlines()
    cur = {}
    i = 0
    while i < len(lines):
        m = re.search(r"Sk_(ai|ar|ei|er) secret => (\d+) bytes", lines[i])
        if m:
            name, n = m.group(1), int(m.group(2))
            data = b""
            i += 1
            while len(data) < n:
                hexpart = lines[i].split(":", 1)[1][:49]
                data += bytes.fromhex(hexpart.replace(" ", ""))
                i += 1
            cur[name] = data[:n]
            if name == "er":
                yield cur
                cur = {}
            continue
        i += 1


def decrypt(msg, body_off, keys, from_initiator):
    ek = keys["ei" if from_initiator else "er"]
    body = msg[body_off:]
    if "ai" in keys:  # AES-CBC + HMAC-SHA2-256-128
        ak = keys["ai" if from_initiator else "ar"]
        icv = body[-16:]
        if not hmac.compare_digest(hmac.new(ak, msg[:-16], hashlib.sha256).digest()[:16], icv):
            return None
        iv, ct = body[:16], body[16:-16]
        d = Cipher(algorithms.AES(ek), modes.CBC(iv)).decryptor()
        pt = d.update(ct) + d.finalize()
    else:  # AES-GCM-16, key || 4-octet salt
        key, salt = ek[:-4], ek[-4:]
        iv, ct = body[:8], body[8:]
        try:
            pt = AESGCM(key).decrypt(salt + iv, ct, msg[:body_off])
        except Exception:
            return None
    return pt[: len(pt) - 1 - pt[-1]]


def main():
    src, dst = sys.argv[1], sys.argv[2]
    for cap in sorted(f[:-5] for f in os.listdir(src) if f.endswith(".pcap")):
        ks = list(keysets(os.path.join(src, cap + ".initiator.log")))
        frags = {}
        n = 0
        for name in sorted(f for f in os.listdir(dst) if f.startswith(cap + "-") and
                           not f.endswith("-plain.bin")):
            msg = open(os.path.join(dst, name), "rb").read()
            first = msg[16]
            if first not in (46, 53):
                continue
            from_i = bool(msg[19] & 0x08)
            inner = msg[28]
            if first == 46:
                body_off, fnum, total = 32, 1, 1
            else:
                fnum, total = struct.unpack(">HH", msg[32:36])
                body_off = 36
            pt = None
            for k in ks:
                pt = decrypt(msg, body_off, k, from_i)
                if pt is not None:
                    break
            if pt is None:
                print(f"{name}: no key verifies", file=sys.stderr)
                continue
            key = (msg[:16], msg[19] & 0x28, msg[20:24], total)
            f = frags.setdefault(key, {"parts": {}, "first": None, "name": None, "hdr": msg[:28]})
            f["parts"][fnum] = pt
            if fnum == 1:
                f["first"], f["name"] = inner, name
            if len(f["parts"]) == total and f["name"]:
                plain = b"".join(f["parts"][i] for i in range(1, total + 1))
                hdr = bytearray(f["hdr"])
                hdr[16] = 46
                out = bytes(hdr[:24]) + struct.pack(">I", 28 + 4 + len(plain))
                out += bytes([f["first"], 0]) + struct.pack(">H", 4 + len(plain)) + plain
                with open(os.path.join(dst, f["name"][:-4] + "-plain.bin"), "wb") as o:
                    o.write(out)
                n += 1
                del frags[key]
        print(f"{cap}: {n} plaintext messages")


if __name__ == "__main__":
    main()
