#!/usr/bin/env python3
"""Sends a bounded stream of RTP (RFC 3550) or UDPTL (T.38) packets from one
local UDP port to ADDR:PORT, and keeps local ports bound so that media sent to
them is received and dropped (no ICMP port unreachable). Standard library
only; tests/lab/lab-media.sh runs it inside its namespaces (sipp's exec
actions start it at the right moment of each call).

  rtp_play.py --bind IP:PORT [--to IP:PORT] [--count N] [--interval S]
              [--pt PT] [--ssrc X] [--seq S] [--ts T] [--ts-step N]
              [--payload BYTES] [--udptl] [--sink IP:PORT ...]
              [--delay S] [--linger S] [--log FILE]

The --bind socket sends, and receives too (like a phone's symmetric RTP
socket); every --sink socket only receives. The sockets are bound first;
after --delay seconds (so that the peer has bound its own ports) N packets
go out, one every --interval seconds on a fixed schedule (no drift); then the
sockets stay bound --linger more seconds for media still arriving. Sockets
use SO_REUSEPORT, so a later run may bind a port that an earlier one still
keeps open while it lingers.

RTP: V=2, no padding, extension or CSRC; the marker bit on the first packet;
sequence numbers from --seq, timestamps from --ts stepping --ts-step per
packet (160 for 20 ms at 8 kHz, 320 at 16 kHz). The payload is a 1 kHz tone:
G.711 A-law for PT 8, 16-bit big-endian linear (L16) otherwise, --payload
bytes long.
UDPTL (--udptl, T.38 Annex A): a 2-byte sequence number from --seq (kept
below 0x8000, so the first byte is never RTP's 0x80), the primary IFP packet
(a length byte, then --payload + 1 bytes: an IFP data header byte and fax
data) and an empty secondary-packets error recovery. Nothing runs longer than delay +
count * interval + linger (bounded: at most 60 s)."""
import argparse
import math
import os
import select
import socket
import struct
import sys
import time


def addr(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def alaw(sample):
    """G.711 A-law of a 16-bit linear sample."""
    sign = 0x80 if sample >= 0 else 0
    if sample < 0:
        sample = -sample - 1
    sample = min(sample, 32635) >> 3
    if sample >= 32:
        exp = sample.bit_length() - 5
        mant = (sample >> exp) & 0x0F
        code = (exp << 4) | mant
    else:
        code = sample >> 1
    return (code | sign) ^ 0x55


def tone(pt, nbytes, ts_step):
    """One packet of a 1 kHz tone at half scale."""
    if pt == 8:
        rate = ts_step * 50
        return bytes(alaw(int(16000 * math.sin(2 * math.pi * 1000 * i / rate)))
                     for i in range(nbytes))
    rate = ts_step * 50
    n = nbytes // 2
    return b"".join(struct.pack(">h", int(16000 * math.sin(2 * math.pi * 1000 * i / rate)))
                    for i in range(n))


def bind(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(addr(a))
    s.setblocking(False)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", required=True)
    ap.add_argument("--to")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--interval", type=float, default=0.02)
    ap.add_argument("--pt", type=int, default=8)
    ap.add_argument("--ssrc", type=lambda x: int(x, 0), default=0x11223344)
    ap.add_argument("--seq", type=int, default=1000)
    ap.add_argument("--ts", type=int, default=160000)
    ap.add_argument("--ts-step", type=int, default=160)
    ap.add_argument("--payload", type=int, default=160)
    ap.add_argument("--udptl", action="store_true")
    ap.add_argument("--sink", action="append", default=[])
    ap.add_argument("--delay", type=float, default=0.3)
    ap.add_argument("--linger", type=float, default=1.0)
    ap.add_argument("--log")
    a = ap.parse_args()
    if a.count and not a.to:
        ap.error("--count needs --to")
    if a.delay + a.count * a.interval + a.linger > 60 or a.count > 3000:
        ap.error("too long: at most 60 s and 3000 packets")
    socks = [bind(a.bind)] + [bind(x) for x in a.sink]
    tx = socks[0]
    dest = addr(a.to) if a.to else None
    body = b"" if a.udptl else tone(a.pt, a.payload, a.ts_step)
    start = time.monotonic() + a.delay
    end = start + a.count * a.interval + a.linger
    sent = received = 0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        wake = end
        if sent < a.count:
            due = start + sent * a.interval
            if now >= due:
                seq = (a.seq + sent) & 0xFFFF
                if a.udptl:
                    seq &= 0x7FFF
                    ifp = bytes([0x80 | 0x06]) + bytes((seq + i) & 0xFF for i in range(a.payload))
                    pkt = struct.pack(">HB", seq, len(ifp)) + ifp + b"\x00"
                else:
                    ts = (a.ts + sent * a.ts_step) & 0xFFFFFFFF
                    m = 0x80 if sent == 0 else 0
                    pkt = struct.pack(">BBHII", 0x80, m | a.pt, seq, ts, a.ssrc) + body
                tx.sendto(pkt, dest)
                sent += 1
                continue
            wake = due
        r, _, _ = select.select(socks, [], [], max(0.0, wake - now))
        for s in r:
            try:
                while True:
                    s.recvfrom(4096)
                    received += 1
            except BlockingIOError:
                pass
    if a.log:
        with open(a.log, "a") as f:
            f.write("%s -> %s sent %d received %d (%s)\n" % (a.bind, a.to or "-", sent, received,
                                                          " ".join(a.sink) or "-"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
