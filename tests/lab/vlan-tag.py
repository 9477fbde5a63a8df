#!/usr/bin/env python3
"""Re-writes every Ethernet frame of a classic pcap with real 802.1Q tags.

This kernel has no 802.1Q module, so the lab cannot capture tagged frames
from a VLAN interface; instead the captured frames get the tags a trunk port
would carry. Usage: vlan-tag.py IN.pcap OUT.pcap VID [VID ...]
One VID gives 802.1Q; two give QinQ (outer 802.1ad 0x88a8, inner 0x8100).
"""
import struct
import sys


def main():
    src, dst, vids = sys.argv[1], sys.argv[2], [int(v) for v in sys.argv[3:]]
    if not vids:
        sys.exit("usage: vlan-tag.py IN.pcap OUT.pcap VID [VID ...]")
    data = open(src, "rb").read()
    magic = data[:4]
    endian = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",
              b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}.get(magic)
    if endian is None:
        sys.exit("%s: not a classic pcap file" % src)
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != 1:
        sys.exit("%s: link type %d is not Ethernet" % (src, linktype))
    tags = b""
    for i, vid in enumerate(vids):
        tpid = 0x88A8 if (len(vids) > 1 and i == 0) else 0x8100
        tags += struct.pack(">HH", tpid, vid & 0x0FFF)
    # Each tag sits after the MAC addresses; the original EtherType follows
    # the last one, so the TPIDs shift along by one.
    out = [data[:24]]
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, wirelen = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        tagged = frame[:12] + tags + frame[12:]
        out.append(struct.pack(endian + "IIII", sec, frac, len(tagged), wirelen + len(tags)))
        out.append(tagged)
    open(dst, "wb").write(b"".join(out))


if __name__ == "__main__":
    main()
