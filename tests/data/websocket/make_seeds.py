#!/usr/bin/env python3
"""Seeds for tests/fuzz/fuzz_websocket.c: a TCP conversation as records of
[side][2-byte big-endian length][bytes]: the HTTP Upgrade to the sip
subprotocol (RFC 7118), the 101, then each SIP message given (files whose
first byte is the fuzz_sip mode byte, which is dropped) as a masked client
frame with 7-, 16- or 64-bit lengths, a fragmented one with a ping between
the fragments, and the server's unmasked replies.
Usage: make_seeds.py OUTDIR [SIP-MESSAGE-FILE ...]"""
import os
import struct
import sys

UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: sip.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: sip\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")
OK = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      b"Sec-WebSocket-Protocol: sip\r\n\r\n")
DEFAULT = b"OPTIONS sip:x SIP/2.0\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"


def frame(payload, op=1, fin=True, key=None, lenbits=None):
    n = len(payload)
    if lenbits is None:
        lenbits = 7 if n < 126 else 16 if n < 65536 else 64
    m = 0x80 if key else 0
    out = bytes([(0x80 if fin else 0) | op])
    if lenbits == 7:
        out += bytes([m | n])
    elif lenbits == 16:
        out += bytes([m | 126]) + struct.pack(">H", n)
    else:
        out += bytes([m | 127]) + struct.pack(">Q", n)
    if key:
        out += key
        payload = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
    return out + payload


def rec(side, data):
    return bytes([side]) + struct.pack(">H", len(data)) + data


def conversation(msg):
    key = b"\x37\xfa\x21\x3d"
    c = rec(0, UPGRADE) + rec(1, OK)
    c += rec(0, frame(msg, key=key))
    c += rec(1, frame(msg, lenbits=64))
    half = len(msg) // 2
    frags = frame(msg[:half], fin=False, key=key) + frame(b"hi", op=9, key=key) + \
        frame(msg[half:], op=0, key=key)
    c += rec(0, frags[:5]) + rec(0, frags[5:])
    c += rec(1, frame(msg, op=2, lenbits=16))
    return c


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    msgs = [DEFAULT] + [open(p, "rb").read()[1:] for p in sys.argv[2:]]
    for i, m in enumerate(msgs):
        open(os.path.join(out, "conv%03d" % i), "wb").write(conversation(m))


if __name__ == "__main__":
    main()
