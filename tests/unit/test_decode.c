/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "unit.h"

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
    return 0;
}
