/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "unit.h"

#define RUN_ARG3(t, a, b, c)       \
    do {                          \
        int rc_ = (t)((a), (b), (c)); \
        if (rc_)                  \
            return rc_;           \
    } while (0)

int test_decode(void);

/* Ethernet + IPv4 + TCP SYN, 192.168.50.10:40000 -> 203.0.113.40:8445. */
static const uint8_t s_syn[] = {
        0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, /* dst, src MAC */
        0x08, 0x00,                                     /* IPv4 */
        0x45, 0x00, 0x00, 0x28, 0x12, 0x34, 0x40, 0x00, /* v4 ihl5, len 40, id 0x1234, DF */
        0x40, 0x06, 0x00, 0x00,                         /* ttl 64, TCP, csum */
        192, 168, 50, 10, 203, 0, 113, 40,              /* src, dst */
        0x9c, 0x40, 0x20, 0xfd,                         /* ports 40000 -> 8445 */
        0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, /* seq 100, ack 0 */
        0x50, 0x02, 0xfa, 0xf0, 0xab, 0xcd, 0x00, 0x00, /* off 5, SYN, win, csum, urg */
        0, 0, 0, 0, 0, 0,                               /* Ethernet padding to 60 */
};

/* Linux cooked v1 header + IPv6 + hop-by-hop + UDP 5060 -> 5065, 4 bytes payload. */
static const uint8_t s_sll_v6[] = {
        0x00, 0x04, 0x00, 0x01, 0x00, 0x06, 2, 0, 0, 0, 0, 1, 0, 0, /* sent, ether, addr */
        0x86, 0xdd,                                                 /* IPv6 */
        0x60, 0, 0, 0, 0x00, 0x14, 0x00, 0x40,                      /* plen 20, next hop-by-hop */
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
        0x11, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, /* hbh: next UDP, len 0, PadN */
        0x13, 0xc4, 0x13, 0xc9, 0x00, 0x0c, 0x00, 0x00, /* UDP 5060 -> 5065, len 12 */
        'O', 'P', 'T', 'S',
};

/* Ethernet + IPv4 ICMP 3/13 quoting the SYN above (its IP header + 8 bytes). */
static const uint8_t s_icmp[] = {
        0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,
        0x45, 0xc0, 0x00, 0x38, 0, 0, 0, 0, 0x40, 0x01, 0, 0, /* len 56, ICMP */
        192, 168, 50, 1, 192, 168, 50, 10,
        0x03, 0x0d, 0x00, 0x00, 0, 0, 0, 0, /* type 3 code 13 */
        0x45, 0x00, 0x00, 0x28, 0x12, 0x34, 0x40, 0x00, 0x3f, 0x06, 0, 0,
        192, 168, 50, 10, 203, 0, 113, 40,
        0x9c, 0x40, 0x20, 0xfd, 0x00, 0x00, 0x00, 0x64,
};

/* Raw IPv6 ICMPv6 1/1 (administratively prohibited) quoting a TCP SYN
 * 2001:db8::1 port 40000 -> 2001:db8::2 port 443. */
static const uint8_t s_icmp6[] = {
        0x60, 0, 0, 0, 0x00, 0x38, 0x3a, 0x40, /* plen 56, next ICMPv6 */
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfe, /* router */
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        0x01, 0x01, 0x00, 0x00, 0, 0, 0, 0, /* type 1 code 1, unused */
        0x60, 0, 0, 0, 0x00, 0x14, 0x06, 0x40, /* the quoted header: TCP */
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
        0x9c, 0x40, 0x01, 0xbb, 0x00, 0x00, 0x00, 0x07, /* ports, seq */
};

static int s_qinq(void)
{
    /* Insert an 802.1ad tag (vid 100) and an 802.1Q tag (vid 50). */
    uint8_t f[sizeof s_syn + 8];
    memcpy(f, s_syn, 12);
    const uint8_t tags[] = {0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x32};
    memcpy(f + 12, tags, 8);
    memcpy(f + 20, s_syn + 12, sizeof s_syn - 12);
    packet_t p = {0};
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, sizeof f, sizeof f, &p), DECODE_OK);
    CHECK_EQ(p.vlan, 100);
    CHECK_EQ(p.dport, 8445);
    /* Five stacked tags is more than we follow. */
    uint8_t deep[sizeof s_syn + 20];
    memcpy(deep, s_syn, 12);
    for (int i = 0; i < 5; i++)
        memcpy(deep + 12 + 4 * i, tags + 4, 4);
    memcpy(deep + 32, s_syn + 12, sizeof s_syn - 12);
    CHECK_EQ(decode_packet(LINK_ETHERNET, deep, sizeof deep, sizeof deep, &p), DECODE_ERR_VLAN_DEPTH);
    return 0;
}

static int s_truncations(void)
{
    /* Every cut of every frame decodes to a result, never past the buffer:
     * the copy is heap-allocated at exactly the cut length for ASan. */
    const struct {
        int lt;
        const uint8_t *f;
        size_t n;
    } frames[] = {{LINK_ETHERNET, s_syn, sizeof s_syn}, {LINK_SLL, s_sll_v6, sizeof s_sll_v6},
            {LINK_ETHERNET, s_icmp, sizeof s_icmp}};
    for (size_t k = 0; k < 3; k++) {
        for (size_t cut = 0; cut < frames[k].n; cut++) {
            uint8_t *b = malloc(cut ? cut : 1);
            memcpy(b, frames[k].f, cut);
            packet_t p = {0};
            decode_err_t e = decode_packet(frames[k].lt, b, (uint32_t)cut, (uint32_t)frames[k].n, &p);
            free(b);
            CHECK(e < DECODE_ERR_COUNT);
        }
    }
    packet_t p = {0};
    CHECK_EQ(decode_packet(LINK_ETHERNET, s_syn, 20, sizeof s_syn, &p), DECODE_ERR_L3_TRUNC);
    CHECK_EQ(decode_packet(LINK_ETHERNET, s_syn, 40, sizeof s_syn, &p), DECODE_ERR_L4_TRUNC);
    CHECK_EQ(decode_packet(LINK_ETHERNET, s_syn, 10, sizeof s_syn, &p), DECODE_ERR_L2_TRUNC);
    return 0;
}

static int s_invalid(void)
{
    uint8_t f[sizeof s_syn];
    packet_t p = {0};
    memcpy(f, s_syn, sizeof f);
    f[14] = 0x44; /* header length 16 bytes: less than the minimum */
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, sizeof f, sizeof f, &p), DECODE_ERR_IPV4_HDR);
    memcpy(f, s_syn, sizeof f);
    f[46] = 0x40; /* TCP data offset 4 words */
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, sizeof f, sizeof f, &p), DECODE_ERR_L4_HDR);
    memcpy(f, s_syn, sizeof f);
    f[20] = 0x00;
    f[21] = 0x10; /* fragment offset 16: a non-first fragment */
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, sizeof f, sizeof f, &p), DECODE_ERR_FRAGMENT);
    memcpy(f, s_syn, sizeof f);
    f[12] = 0x08;
    f[13] = 0x06; /* ARP */
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, sizeof f, sizeof f, &p), DECODE_ERR_NOT_IP);
    CHECK_EQ(decode_packet(147, f, sizeof f, sizeof f, &p), DECODE_ERR_LINKTYPE);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Tunnels (decode_tunnel.c)                                           */

/* The inner IPv4 packet of s_syn, without Ethernet header or padding. */
#define SYN_IP (s_syn + 14)
#define SYN_IP_LEN 40

/* Wraps hdr + inner in an outer Ethernet + IPv4 198.51.100.1 ->
 * 198.51.100.2 of protocol `proto` (UDP: the UDP length in hdr[4..5] is
 * set too); returns the frame length. */
static size_t s_wrap(uint8_t *out, uint8_t proto, const uint8_t *hdr, size_t hlen,
        const uint8_t *in, size_t ilen)
{
    static const uint8_t outer[34] = {
            0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, /* dst, src MAC */
            0x08, 0x00,                                     /* IPv4 */
            0x45, 0x00, 0x00, 0x00, 0x00, 0x01, 0x40, 0x00, /* v4 ihl5, len (below), id 1, DF */
            0x40, 0x00, 0x00, 0x00,                         /* ttl 64, proto (below), csum */
            198, 51, 100, 1, 198, 51, 100, 2,               /* src, dst */
    };
    size_t total = 20 + hlen + ilen;
    memcpy(out, outer, sizeof outer);
    out[16] = (uint8_t)(total >> 8);
    out[17] = (uint8_t)total;
    out[23] = proto;
    memcpy(out + 34, hdr, hlen);
    if (proto == 17) {
        out[34 + 4] = (uint8_t)((hlen + ilen) >> 8);
        out[34 + 5] = (uint8_t)(hlen + ilen);
    }
    if (ilen) /* in may be NULL */
        memcpy(out + 34 + hlen, in, ilen);
    return 34 + hlen + ilen;
}

/* Decodes the frame and checks it is s_syn's SYN, come through `kind`. */
static int s_is_inner_syn(const uint8_t *f, size_t n, int kind)
{
    packet_t p = {0};
    char buf[64];
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, (uint32_t)n, (uint32_t)n, &p), DECODE_OK);
    CHECK_EQ(p.tunnels, kind);
    CHECK_EQ(p.tun_depth, 1);
    CHECK_EQ(p.proto, 6);
    CHECK_EQ(p.dport, 8445);
    CHECK_EQ(p.tcp_flags, TCP_SYN);
    CHECK_EQ(p.l3_len, 40);
    CHECK(p.l3 >= f && p.l3 + p.l3_len <= f + n && memcmp(p.l3, SYN_IP, 20) == 0);
    CHECK(strcmp(ip_to_str(&p.src, buf, sizeof buf), "192.168.50.10") == 0);
    CHECK(strcmp(ip_to_str(&p.dst, buf, sizeof buf), "203.0.113.40") == 0);
    /* Every cut decodes to a result inside the buffer (ASan). */
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *b = malloc(cut ? cut : 1);
        memcpy(b, f, cut);
        decode_err_t e = decode_packet(LINK_ETHERNET, b, (uint32_t)cut, (uint32_t)n, &p);
        free(b);
        CHECK(e < DECODE_ERR_COUNT);
    }
    return 0;
}

/* Wraps s_syn (whole if `eth`, else its IP packet) behind hdr and checks
 * it comes out as the inner SYN through `kind`. */
static int s_wrapped_syn(uint8_t proto, const uint8_t *hdr, size_t hlen, bool eth, int kind)
{
    uint8_t f[256];
    size_t n = eth ? s_wrap(f, proto, hdr, hlen, s_syn, sizeof s_syn)
                   : s_wrap(f, proto, hdr, hlen, SYN_IP, SYN_IP_LEN);
    return s_is_inner_syn(f, n, kind);
}

#define WRAPPED_SYN(proto, hdr, hlen, eth, kind)                            \
    do {                                                                    \
        int rc_ = s_wrapped_syn((proto), (hdr), (hlen), (eth), (kind));     \
        if (rc_)                                                            \
            return rc_;                                                     \
    } while (0)

static int s_gre(void)
{
    static const uint8_t gre_ip[] = {0x00, 0x00, 0x08, 0x00}; /* no flags, ver 0, IPv4 */
    static const uint8_t gre_teb[] = {
            0xa0, 0x00, 0x65, 0x58, /* C, K; ver 0; transparent Ethernet bridging */
            0x00, 0x00, 0x00, 0x00, /* checksum, reserved1 */
            0x00, 0x00, 0x00, 0x2a, /* key 42 */
    };
    static const uint8_t gre_pptp[] = {0x30, 0x81, 0x88, 0x0b}; /* K S, A; ver 1: PPTP */
    static const uint8_t gre_routing[] = {0x40, 0x00, 0x08, 0x00}; /* R: RFC 1701 routing */
    static const uint8_t gre_keepalive[] = {0x00, 0x00, 0x00, 0x00}; /* protocol 0 */
    uint8_t f[256];
    packet_t p = {0};
    WRAPPED_SYN(47, gre_ip, sizeof gre_ip, false, TUNNEL_GRE);
    size_t n;
    WRAPPED_SYN(47, gre_teb, sizeof gre_teb, true, TUNNEL_GRE);
    /* Not a tunnel we take off: the GRE packet stays a flow of its own. */
    n = s_wrap(f, 47, gre_pptp, sizeof gre_pptp, SYN_IP, SYN_IP_LEN);
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, (uint32_t)n, (uint32_t)n, &p), DECODE_OK);
    CHECK_EQ(p.tunnels, 0);
    CHECK_EQ(p.proto, 47);
    n = s_wrap(f, 47, gre_keepalive, sizeof gre_keepalive, NULL, 0);
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, (uint32_t)n, (uint32_t)n, &p), DECODE_OK);
    CHECK_EQ(p.proto, 47);
    n = s_wrap(f, 47, gre_routing, sizeof gre_routing, SYN_IP, SYN_IP_LEN);
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, (uint32_t)n, (uint32_t)n, &p), DECODE_ERR_TUNNEL_HDR);
    /* The key announced, the packet ends: cut in the GRE header. */
    n = s_wrap(f, 47, gre_teb, 8, NULL, 0);
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, (uint32_t)n, (uint32_t)n, &p), DECODE_ERR_TUNNEL_TRUNC);
    /* The inner Ethernet frame cut short. */
    n = s_wrap(f, 47, gre_teb, sizeof gre_teb, s_syn, 10);
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, (uint32_t)n, (uint32_t)n, &p), DECODE_ERR_L2_TRUNC);
    return 0;
}

static int s_erspan(void)
{
    static const uint8_t erspan1[] = {0x00, 0x00, 0x88, 0xbe}; /* no S: type I, no header */
    static const uint8_t erspan2[] = {
            0x10, 0x00, 0x88, 0xbe, /* S; ver 0; ERSPAN */
            0x00, 0x00, 0x00, 0x01, /* sequence 1 */
            0x10, 0x00, 0x00, 0x07, /* ver 1, VLAN 0; COS 0, En 0, T 0, session 7 */
            0x00, 0x00, 0x00, 0x00, /* reserved, index 0 */
    };
    static const uint8_t erspan3[] = {
            0x10, 0x00, 0x22, 0xeb, /* S; ver 0; ERSPAN III */
            0x00, 0x00, 0x00, 0x01, /* sequence 1 */
            0x20, 0x00, 0x00, 0x07, /* ver 2, VLAN 0; session 7 */
            0x00, 0x00, 0x03, 0xe8, /* timestamp 1000 */
            0x00, 0x00, 0x00, 0x07, /* SGT 0; P 0, FT 0 (Ethernet), HW 0, D 0, Gra 3, O */
            1, 2, 3, 4, 5, 6, 7, 8, /* platform-specific subheader (O) */
    };
    uint8_t f[256], h[sizeof erspan3];
    packet_t p = {0};
    WRAPPED_SYN(47, erspan1, sizeof erspan1, true, TUNNEL_ERSPAN1);
    size_t n;
    WRAPPED_SYN(47, erspan2, sizeof erspan2, true, TUNNEL_ERSPAN2);
    WRAPPED_SYN(47, erspan3, sizeof erspan3, true, TUNNEL_ERSPAN3);
    /* Type III without the subheader, carrying IP (FT 2). */
    memcpy(h, erspan3, sizeof h);
    h[18] = 0x08; /* FT 2 */
    h[19] = 0x06; /* Gra 3, no O */
    WRAPPED_SYN(47, h, 20, false, TUNNEL_ERSPAN3);
    h[18] = 0x04; /* FT 1: not a frame type we know */
    n = s_wrap(f, 47, h, 20, SYN_IP, SYN_IP_LEN);
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, (uint32_t)n, (uint32_t)n, &p), DECODE_ERR_TUNNEL_HDR);
    memcpy(h, erspan2, sizeof erspan2);
    h[8] = 0x20; /* version 2 under the type II protocol */
    n = s_wrap(f, 47, h, sizeof erspan2, s_syn, sizeof s_syn);
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, (uint32_t)n, (uint32_t)n, &p), DECODE_ERR_TUNNEL_HDR);
    n = s_wrap(f, 47, erspan2, 12, NULL, 0); /* the ERSPAN header cut */
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, (uint32_t)n, (uint32_t)n, &p), DECODE_ERR_TUNNEL_TRUNC);
    n = s_wrap(f, 47, erspan3, 24, NULL, 0); /* O announced, no subheader */
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, (uint32_t)n, (uint32_t)n, &p), DECODE_ERR_TUNNEL_TRUNC);
    return 0;
}

static int s_udp_tunnels(void)
{
    static const uint8_t vxlan[] = {
            0x9c, 0x41, 0x12, 0xb5, /* UDP 40001 -> 4789 */
            0x00, 0x00, 0x00, 0x00, /* length (s_wrap), checksum 0 */
            0x08, 0x00, 0x00, 0x00, /* flags: I */
            0x00, 0x00, 0x64, 0x00, /* VNI 100, reserved */
    };
    static const uint8_t geneve[] = {
            0x9c, 0x41, 0x17, 0xc1, /* UDP 40001 -> 6081 */
            0x00, 0x00, 0x00, 0x00, /* length (s_wrap), checksum 0 */
            0x02, 0x00, 0x65, 0x58, /* ver 0, opt len 2 (8 bytes); Ethernet */
            0x00, 0x00, 0x64, 0x00, /* VNI 100, reserved */
            0x01, 0x01, 0x01, 0x01, /* option class 0x0101, type 1, length 1 */
            0xde, 0xad, 0xbe, 0xef, /* its data */
    };
    uint8_t f[256], h[sizeof geneve];
    packet_t p = {0};
    WRAPPED_SYN(17, vxlan, sizeof vxlan, true, TUNNEL_VXLAN);
    size_t n;
    WRAPPED_SYN(17, geneve, sizeof geneve, true, TUNNEL_GENEVE);
    /* Geneve carrying IPv4 directly, no option. */
    memcpy(h, geneve, 16);
    h[8] = 0x00;
    h[10] = 0x08;
    h[11] = 0x00;
    WRAPPED_SYN(17, h, 16, false, TUNNEL_GENEVE);
    h[8] = 0x40; /* version 1 */
    n = s_wrap(f, 17, h, 16, SYN_IP, SYN_IP_LEN);
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, (uint32_t)n, (uint32_t)n, &p), DECODE_ERR_TUNNEL_HDR);
    h[8] = 0x3f; /* 252 bytes of options in a short packet */
    n = s_wrap(f, 17, h, 16, SYN_IP, SYN_IP_LEN);
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, (uint32_t)n, (uint32_t)n, &p), DECODE_ERR_TUNNEL_HDR);
    memcpy(h, vxlan, sizeof vxlan);
    h[8] = 0x00; /* I clear: the VNI is not valid */
    n = s_wrap(f, 17, h, sizeof vxlan, s_syn, sizeof s_syn);
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, (uint32_t)n, (uint32_t)n, &p), DECODE_ERR_TUNNEL_HDR);
    n = s_wrap(f, 17, vxlan, 12, NULL, 0); /* the VXLAN header cut */
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, (uint32_t)n, (uint32_t)n, &p), DECODE_ERR_TUNNEL_TRUNC);
    /* VXLAN on another port: only when configured. */
    memcpy(h, vxlan, sizeof vxlan);
    h[2] = 0x21;
    h[3] = 0x18; /* 8472 */
    n = s_wrap(f, 17, h, sizeof vxlan, s_syn, sizeof s_syn);
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, (uint32_t)n, (uint32_t)n, &p), DECODE_OK);
    CHECK_EQ(p.tunnels, 0);
    CHECK_EQ(p.dport, 8472);
    decode_cfg_t cfg;
    decode_cfg_defaults(&cfg);
    CHECK(decode_cfg_add_vxlan_port(&cfg, 8472));
    CHECK_EQ(decode_packet_cfg(&cfg, LINK_ETHERNET, f, (uint32_t)n, (uint32_t)n, &p), DECODE_OK);
    CHECK_EQ(p.tunnels, TUNNEL_VXLAN);
    CHECK_EQ(p.dport, 8445);
    for (int i = 0; i < 20; i++)
        decode_cfg_add_vxlan_port(&cfg, (uint16_t)(9000 + i));
    CHECK_EQ(cfg.nvxlan, DECODE_MAX_VXLAN_PORTS);
    return 0;
}

static int s_mpls(void)
{
    static const uint8_t labels[] = {
            0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, /* dst, src MAC */
            0x88, 0x47,                                     /* MPLS unicast */
            0x00, 0x06, 0x40, 0x40,                         /* label 100, TC 0, TTL 64 */
            0x00, 0x0c, 0x81, 0x40,                         /* label 200, S, TTL 64 */
    };
    static const uint8_t cw[] = {0x00, 0x00, 0x00, 0x01}; /* PW control word, sequence 1 */
    uint8_t f[256];
    packet_t p = {0};
    memcpy(f, labels, sizeof labels);
    memcpy(f + sizeof labels, SYN_IP, SYN_IP_LEN);
    RUN_ARG3(s_is_inner_syn, f, sizeof labels + SYN_IP_LEN, TUNNEL_MPLS);
    /* A pseudowire: one label, the control word, an Ethernet frame. */
    memcpy(f, labels, 14);
    memcpy(f + 14, labels + 18, 4);
    memcpy(f + 18, cw, 4);
    memcpy(f + 22, s_syn, sizeof s_syn);
    RUN_ARG3(s_is_inner_syn, f, 22 + sizeof s_syn, TUNNEL_MPLS);
    /* First nibble 5: neither IP nor a control word. */
    f[18] = 0x50;
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, 22 + sizeof s_syn, 22 + sizeof s_syn, &p),
            DECODE_ERR_NOT_IP);
    /* Nine labels, none at the bottom of the stack. */
    memcpy(f, labels, 14);
    for (int i = 0; i < 9; i++)
        memcpy(f + 14 + 4 * i, labels + 14, 4);
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, 14 + 36, 14 + 36, &p), DECODE_ERR_TUNNEL_HDR);
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, 14 + 6, 14 + 6, &p), DECODE_ERR_TUNNEL_TRUNC);
    CHECK_EQ(decode_packet(LINK_ETHERNET, labels, sizeof labels, sizeof labels, &p),
            DECODE_ERR_TUNNEL_TRUNC); /* nothing after the stack */
    return 0;
}

/* VXLAN over IPv6; an inner IPv4 fragment goes to reassembly as itself. */
static int s_tunnel_v6_frag(void)
{
    static const uint8_t ip6_udp[] = {
            0x60, 0, 0, 0, 0x00, 0x00, 0x11, 0x40, /* plen (below), next UDP, hlim 64 */
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, /* 2001:db8::1 */
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, /* 2001:db8::2 */
            0x9c, 0x41, 0x12, 0xb5, 0x00, 0x00, 0x00, 0x00, /* UDP 40001 -> 4789, len (below) */
            0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, 0x00, /* VXLAN: I, VNI 100 */
    };
    static const uint8_t gre_ip[] = {0x00, 0x00, 0x08, 0x00}; /* GRE: IPv4 */
    uint8_t f[256], in[SYN_IP_LEN];
    size_t n = sizeof ip6_udp + sizeof s_syn;
    memcpy(f, ip6_udp, sizeof ip6_udp);
    memcpy(f + sizeof ip6_udp, s_syn, sizeof s_syn);
    f[5] = (uint8_t)(n - 40); /* payload length */
    f[45] = (uint8_t)(n - 40); /* UDP length */
    packet_t p = {0};
    CHECK_EQ(decode_packet(LINK_RAW, f, (uint32_t)n, (uint32_t)n, &p), DECODE_OK);
    CHECK_EQ(p.tunnels, TUNNEL_VXLAN);
    CHECK_EQ(p.ipver, 4);
    CHECK_EQ(p.dport, 8445);
    /* GRE carrying the SYN with MF set: the inner fragment is handed over. */
    memcpy(in, SYN_IP, sizeof in);
    in[6] = 0x20; /* MF, offset 0 */
    n = s_wrap(f, 47, gre_ip, sizeof gre_ip, in, sizeof in);
    CHECK_EQ(decode_packet(LINK_ETHERNET, f, (uint32_t)n, (uint32_t)n, &p), DECODE_ERR_FRAGMENT);
    CHECK_EQ(p.tunnels, TUNNEL_GRE);
    CHECK(p.frag_hdr == f + 34 + sizeof gre_ip);
    CHECK_EQ(p.frag_len, 20);
    CHECK_EQ(p.frag_id, 0x1234);
    return 0;
}

/* GRE in IPv4 in GRE...: DECODE_MAX_TUNNELS layers are taken off, one more
 * is an anomaly. Raw IP frames (LINK_RAW), built inside out. */
static int s_tunnel_depth(void)
{
    static const uint8_t ip_gre[] = {
            0x45, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, /* v4 ihl5, len (below), id 1 */
            0x40, 0x2f, 0x00, 0x00,                         /* ttl 64, GRE, csum */
            198, 51, 100, 1, 198, 51, 100, 2,               /* src, dst */
            0x00, 0x00, 0x08, 0x00,                         /* GRE: IPv4 */
    };
    uint8_t a[512], b[512];
    size_t n = SYN_IP_LEN;
    memcpy(a, SYN_IP, n);
    packet_t p = {0};
    for (int depth = 1; depth <= DECODE_MAX_TUNNELS + 1; depth++) {
        memcpy(b, ip_gre, sizeof ip_gre);
        memcpy(b + sizeof ip_gre, a, n);
        n += sizeof ip_gre;
        b[2] = (uint8_t)(n >> 8);
        b[3] = (uint8_t)n;
        memcpy(a, b, n);
        decode_err_t e = decode_packet(LINK_RAW, a, (uint32_t)n, (uint32_t)n, &p);
        if (depth <= DECODE_MAX_TUNNELS) {
            CHECK_EQ(e, DECODE_OK);
            CHECK_EQ(p.tun_depth, depth);
            CHECK_EQ(p.dport, 8445);
        } else {
            CHECK_EQ(e, DECODE_ERR_TUNNEL_DEPTH);
        }
    }
    CHECK(strcmp(decode_err_str(DECODE_ERR_TUNNEL_DEPTH), "tunnel_depth") == 0);
    CHECK(strcmp(decode_tunnel_str(6), "mpls") == 0);
    return 0;
}

int test_decode(void)
{
    packet_t p = {0};
    CHECK_EQ(decode_packet(LINK_ETHERNET, s_syn, sizeof s_syn, sizeof s_syn, &p), DECODE_OK);
    CHECK_EQ(p.ipver, 4);
    CHECK_EQ(p.proto, 6);
    CHECK_EQ(p.sport, 40000);
    CHECK_EQ(p.dport, 8445);
    CHECK_EQ(p.tcp_flags, TCP_SYN);
    CHECK_EQ(p.seq, 100);
    CHECK_EQ(p.ip_id, 0x1234);
    CHECK_EQ(p.payload_len, 0); /* the 6 padding bytes are not payload */
    CHECK_EQ(p.l3_len, 40);
    char buf[64];
    CHECK(strcmp(ip_to_str(&p.dst, buf, sizeof buf), "203.0.113.40") == 0);

    CHECK_EQ(decode_packet(LINK_SLL, s_sll_v6, sizeof s_sll_v6, sizeof s_sll_v6, &p), DECODE_OK);
    CHECK_EQ(p.ipver, 6);
    CHECK_EQ(p.proto, 17);
    CHECK_EQ(p.sport, 5060);
    CHECK_EQ(p.dport, 5065);
    CHECK_EQ(p.payload_len, 4);
    CHECK(memcmp(p.payload, "OPTS", 4) == 0);
    /* The same IPv6 packet as raw IP (LINKTYPE_RAW). */
    CHECK_EQ(decode_packet(LINK_RAW, s_sll_v6 + 16, sizeof s_sll_v6 - 16, sizeof s_sll_v6 - 16, &p),
            DECODE_OK);
    CHECK_EQ(p.dport, 5065);

    CHECK_EQ(decode_packet(LINK_ETHERNET, s_icmp, sizeof s_icmp, sizeof s_icmp, &p), DECODE_OK);
    CHECK(p.icmp_err);
    CHECK_EQ(p.icmp_type, 3);
    CHECK_EQ(p.icmp_code, 13);
    CHECK_EQ(p.in_proto, 6);
    CHECK_EQ(p.in_sport, 40000);
    CHECK_EQ(p.in_dport, 8445);
    CHECK_EQ(decode_packet(LINK_RAW, s_icmp6, sizeof s_icmp6, sizeof s_icmp6, &p), DECODE_OK);
    CHECK(p.icmp_err);
    CHECK_EQ(p.icmp_type, 1);
    CHECK_EQ(p.icmp_code, 1);
    CHECK_EQ(p.in_proto, 6);
    CHECK_EQ(p.in_dport, 443);
    CHECK(strcmp(ip_to_str(&p.in_dst, buf, sizeof buf), "2001:db8::2") == 0);
    RUN(s_qinq);
    RUN(s_truncations);
    RUN(s_invalid);
    RUN(s_gre);
    RUN(s_erspan);
    RUN(s_udp_tunnels);
    RUN(s_mpls);
    RUN(s_tunnel_depth);
    RUN(s_tunnel_v6_frag);
    return 0;
}
