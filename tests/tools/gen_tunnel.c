/* SPDX-License-Identifier: MIT */
/* gen_tunnel.c: re-encapsulates every frame of an Ethernet capture in one
 * tunnel, as a remote SPAN would deliver it (tests/integration/tunnels.py).
 *
 *   pinhole-gen-tunnel IN.pcap OUT.pcap TYPE [frag]
 *
 * TYPE (outer: Ethernet, IPv4 198.51.100.1 -> 198.51.100.2, outside every
 * lab site; lengths and the IPv4 checksum right, UDP checksum 0):
 *   gre      GRE (RFC 2784), protocol = the frame's ethertype, the frame
 *            without its Ethernet header (0x6558 and the whole frame if the
 *            ethertype is not IP)
 *   gre-teb  GRE with a key, 0x6558: the whole Ethernet frame
 *   erspan1  GRE 0x88BE, no sequence number: the whole frame
 *   erspan2  GRE 0x88BE + sequence number, ERSPAN II header (8 bytes)
 *   erspan3  GRE 0x22EB + sequence number, ERSPAN III header (12 bytes)
 *   vxlan    UDP to 4789, VXLAN header (VNI 100), the whole frame
 *   geneve   UDP to 6081, Geneve header with one 8-byte option, 0x6558
 *   mpls     no IP: Ethernet 0x8847, labels 100 and 200 (bottom), then the
 *            IP packet; a frame that is not IP goes as a pseudowire
 *            (control word + the whole frame)
 * With `frag`, every outer IPv4 packet with more than 16 bytes of payload
 * (not mpls; frames cut by the snap length aside) goes as two fragments,
 * the first carrying half the payload rounded down to 8 bytes.
 * Input: classic pcap, either byte order, link type Ethernet. Output: the
 * same timestamps, little-endian, microseconds. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUTER_SRC 0xc6336401u /* 198.51.100.1 */
#define OUTER_DST 0xc6336402u /* 198.51.100.2 */
#define MAX_FRAME 262144

static uint32_t s_rd32(const uint8_t *b, bool swap)
{
    uint32_t v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return swap ? __builtin_bswap32(v) : v;
}

static void s_wr32le(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t *s_be(uint8_t *p, uint32_t v, int n)
{
    for (int i = n - 1; i >= 0; i--)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static uint8_t *s_eth(uint8_t *p, uint16_t type)
{
    static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
    memcpy(p, macs, 12);
    return s_be(p + 12, type, 2);
}

/* Sets an IPv4 header's total length and flags/offset, and its checksum. */
static void s_ipv4_fix(uint8_t *h, uint32_t total, uint16_t frag)
{
    s_be(h + 2, total, 2);
    s_be(h + 6, frag, 2);
    s_be(h + 10, 0, 2);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += (uint32_t)h[i] << 8 | h[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    s_be(h + 10, ~sum & 0xffff, 2);
}

/* An IPv4 header carrying `len` bytes of protocol `proto`. */
static uint8_t *s_ipv4(uint8_t *p, uint8_t proto, uint32_t len)
{
    static uint16_t id;
    uint8_t *h = p;
    p = s_be(p, 0x4500, 2);
    p = s_be(p, 20 + len, 2);
    p = s_be(p, ++id, 2);
    p = s_be(p, 0x4000, 2); /* DF */
    *p++ = 64;
    *p++ = proto;
    p = s_be(p, 0, 2);
    p = s_be(p, OUTER_SRC, 4);
    p = s_be(p, OUTER_DST, 4);
    s_ipv4_fix(h, 20 + len, 0x4000);
    return p;
}

/* The tunnel headers for one frame into hdr; returns their length and sets
 * *skip to the bytes of the frame left out (its Ethernet header). */
static size_t s_headers(const char *type, uint8_t *hdr, const uint8_t *frame, uint32_t caplen,
        uint32_t wirelen, uint32_t *skip, bool *ok)
{
    static uint32_t seq;
    uint8_t tun[64], *t = tun;
    uint16_t etype = caplen >= 14 ? (uint16_t)(frame[12] << 8 | frame[13]) : 0;
    bool ip = etype == 0x0800 || etype == 0x86dd;
    bool udp = false;
    *skip = 0;
    *ok = true;
    seq++;
    if (!strcmp(type, "gre")) {
        t = s_be(t, 0, 2);
        t = s_be(t, ip ? etype : 0x6558, 2);
        *skip = ip ? 14 : 0;
    } else if (!strcmp(type, "gre-teb")) {
        t = s_be(t, 0x2000, 2); /* K */
        t = s_be(t, 0x6558, 2);
        t = s_be(t, 42, 4);     /* key */
    } else if (!strcmp(type, "erspan1")) {
        t = s_be(t, 0, 2);
        t = s_be(t, 0x88be, 2);
    } else if (!strcmp(type, "erspan2")) {
        t = s_be(t, 0x1000, 2); /* S */
        t = s_be(t, 0x88be, 2);
        t = s_be(t, seq, 4);
        t = s_be(t, 0x1000, 2); /* ver 1, VLAN 0 */
        t = s_be(t, 7, 2);      /* COS 0, En 0, T 0, session 7 */
        t = s_be(t, 0, 4);      /* reserved, index 0 */
    } else if (!strcmp(type, "erspan3")) {
        t = s_be(t, 0x1000, 2);
        t = s_be(t, 0x22eb, 2);
        t = s_be(t, seq, 4);
        t = s_be(t, 0x2000, 2); /* ver 2, VLAN 0 */
        t = s_be(t, 7, 2);      /* session 7 */
        t = s_be(t, seq * 100, 4); /* timestamp */
        t = s_be(t, 0, 2);      /* SGT */
        t = s_be(t, 0x0006, 2); /* P 0, FT 0 (Ethernet), HwID 0, D 0, Gra 3, O 0 */
    } else if (!strcmp(type, "vxlan") || !strcmp(type, "geneve")) {
        bool vx = type[0] == 'v';
        udp = true;
        t = s_be(t, 40000 + seq % 1000, 2);
        t = s_be(t, vx ? 4789 : 6081, 2);
        t = s_be(t, 0, 4); /* length set below, checksum 0 */
        if (vx) {
            t = s_be(t, 0x08000000u, 4); /* I */
            t = s_be(t, 100u << 8, 4);   /* VNI 100 */
        } else {
            t = s_be(t, 0x0200, 2);      /* ver 0, opt len 2 (8 bytes) */
            t = s_be(t, 0x6558, 2);
            t = s_be(t, 100u << 8, 4);   /* VNI 100 */
            t = s_be(t, 0x01010101u, 4); /* option class 0x0101, type 1, len 1 */
            t = s_be(t, 0xdeadbeefu, 4);
        }
    } else if (!strcmp(type, "mpls")) {
        uint8_t *p = s_eth(hdr, 0x8847);
        p = s_be(p, 100u << 12 | 64, 4);         /* label 100, TTL 64 */
        p = s_be(p, 200u << 12 | 0x100 | 64, 4); /* label 200, bottom of stack */
        if (ip) {
            *skip = 14;
        } else {
            p = s_be(p, seq & 0xffff, 4); /* control word: 0000, sequence */
        }
        return (size_t)(p - hdr);
    } else {
        *ok = false;
        return 0;
    }
    size_t tlen = (size_t)(t - tun);
    uint32_t inner = wirelen - *skip;
    if (udp)
        s_be(tun + 4, (uint32_t)tlen + inner, 2);
    uint8_t *p = s_eth(hdr, 0x0800);
    p = s_ipv4(p, udp ? 17 : 47, (uint32_t)tlen + inner);
    memcpy(p, tun, tlen);
    return (size_t)(p - hdr) + tlen;
}

static void s_record(FILE *out, uint32_t sec, uint32_t usec, const uint8_t *a, size_t alen,
        const uint8_t *b, size_t blen, uint32_t wirelen)
{
    uint8_t rh[16];
    s_wr32le(rh, sec);
    s_wr32le(rh + 4, usec);
    s_wr32le(rh + 8, (uint32_t)(alen + blen));
    s_wr32le(rh + 12, wirelen);
    fwrite(rh, 1, 16, out);
    fwrite(a, 1, alen, out);
    fwrite(b, 1, blen, out);
}

/* The outer packet (hdr: Ethernet + IPv4 + tunnel, then the frame's bytes)
 * as two IPv4 fragments. */
static void s_fragments(FILE *out, uint32_t sec, uint32_t usec, uint8_t *hdr, size_t hl,
        const uint8_t *data, size_t dlen, uint8_t *buf)
{
    size_t plen = hl - 34 + dlen; /* the IP payload */
    size_t off = (plen / 2) & ~(size_t)7;
    memcpy(buf, hdr + 34, hl - 34);
    memcpy(buf + hl - 34, data, dlen);
    s_ipv4_fix(hdr + 14, (uint32_t)(20 + off), 0x2000); /* MF, offset 0 */
    s_record(out, sec, usec, hdr, 34, buf, off, (uint32_t)(34 + off));
    s_ipv4_fix(hdr + 14, (uint32_t)(20 + plen - off), (uint16_t)(off / 8));
    s_record(out, sec, usec, hdr, 34, buf + off, plen - off, (uint32_t)(34 + plen - off));
}

int main(int argc, char **argv)
{
    if (argc != 4 && !(argc == 5 && !strcmp(argv[4], "frag"))) {
        fprintf(stderr, "usage: %s IN.pcap OUT.pcap TYPE [frag]\n", argv[0]);
        return 2;
    }
    bool frag = argc == 5;
    FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
    uint8_t gh[24], rh[16], hdr[128];
    uint8_t *frame = malloc(MAX_FRAME), *buf = malloc(MAX_FRAME);
    if (!in || !out || !frame || !buf || fread(gh, 1, 24, in) != 24) {
        fprintf(stderr, "%s: cannot open or read\n", argv[0]);
        return 2;
    }
    uint32_t magic = s_rd32(gh, false);
    bool swap = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
    bool nsec = magic == 0xa1b23c4du || magic == 0x4d3cb2a1u;
    if (!swap && magic != 0xa1b2c3d4u && !nsec) {
        fprintf(stderr, "%s: not a classic pcap\n", argv[0]);
        return 2;
    }
    if (s_rd32(gh + 20, swap) != 1) {
        fprintf(stderr, "%s: link type is not Ethernet\n", argv[0]);
        return 2;
    }
    uint8_t oh[24];
    s_wr32le(oh, 0xa1b2c3d4u);
    oh[4] = 2, oh[5] = 0, oh[6] = 4, oh[7] = 0;
    memset(oh + 8, 0, 8);
    s_wr32le(oh + 16, MAX_FRAME);
    s_wr32le(oh + 20, 1);
    fwrite(oh, 1, 24, out);
    unsigned n = 0;
    while (fread(rh, 1, 16, in) == 16) {
        uint32_t sec = s_rd32(rh, swap), frac = s_rd32(rh + 4, swap);
        uint32_t caplen = s_rd32(rh + 8, swap), wirelen = s_rd32(rh + 12, swap);
        if (caplen > MAX_FRAME - 128 || fread(frame, 1, caplen, in) != caplen) {
            fprintf(stderr, "%s: bad record %u\n", argv[0], n + 1);
            return 2;
        }
        if (wirelen < caplen)
            wirelen = caplen;
        uint32_t skip;
        bool ok;
        size_t hl = s_headers(argv[3], hdr, frame, caplen, wirelen, &skip, &ok);
        if (!ok) {
            fprintf(stderr, "%s: unknown type '%s'\n", argv[0], argv[3]);
            return 2;
        }
        if (skip > caplen)
            skip = caplen;
        uint32_t usec = nsec ? frac / 1000 : frac;
        if (frag && strcmp(argv[3], "mpls") && caplen == wirelen && hl - 34 + caplen - skip > 16)
            s_fragments(out, sec, usec, hdr, hl, frame + skip, caplen - skip, buf);
        else
            s_record(out, sec, usec, hdr, hl, frame + skip, caplen - skip,
                    (uint32_t)hl + wirelen - skip);
        n++;
    }
    free(buf);
    free(frame);
    fclose(in);
    if (fclose(out) != 0) {
        fprintf(stderr, "%s: write error\n", argv[0]);
        return 2;
    }
    return 0;
}
