/* SPDX-License-Identifier: MIT */
/* test_conn.c: true-copy de-duplication: the fingerprint and the window. */
#include "conn.h"

#include <string.h>

#include "decode.h"
#include "hash.h"
#include "unit.h"

int test_conn(void);

/* Ethernet + IPv4 + UDP 10.0.0.5:40000 -> 198.18.0.9:4000, 6 bytes payload,
 * padded to the 60-byte Ethernet minimum. */
static const uint8_t s_udp4[] = {
        0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, /* dst, src MAC */
        0x08, 0x00,                                     /* IPv4 */
        0x45, 0x00, 0x00, 0x22, 0x12, 0x34, 0x40, 0x00, /* v4 ihl5, len 34, id 0x1234, DF */
        0x40, 0x11, 0xa1, 0xb2,                         /* ttl 64, UDP, header checksum */
        10, 0, 0, 5, 198, 18, 0, 9,                     /* src, dst */
        0x9c, 0x40, 0x0f, 0xa0, 0x00, 0x0e, 0x55, 0x66, /* ports 40000 -> 4000, len 14, csum */
        'a', 'b', 'c', 'd', 'e', 'f',                   /* payload */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,             /* Ethernet padding to 60 */
};
#define UDP4_TTL 22    /* offsets in s_udp4 */
#define UDP4_CSUM 24
#define UDP4_ID 18
#define UDP4_PAYLOAD 42
#define UDP4_PAD 48

/* Raw IPv6 + UDP 2001:db8::1:5060 -> 2001:db8::2:5060, 4 bytes payload. */
static const uint8_t s_udp6[] = {
        0x60, 0, 0, 0, 0x00, 0x0c, 0x11, 0x40, /* plen 12, next UDP, hop limit 64 */
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
        0x13, 0xc4, 0x13, 0xc4, 0x00, 0x0c, 0x12, 0x34, /* UDP, len 12, csum */
        'O', 'P', 'T', 'S',
};
#define UDP6_TCLASS 1  /* offsets in s_udp6 */
#define UDP6_HLIM 7

/* The fingerprint of a frame, decoded; 0 if it does not decode. */
static uint64_t s_fp(int linktype, const uint8_t *b, uint32_t caplen, uint32_t wirelen)
{
    packet_t p;
    if (decode_packet(linktype, b, caplen, wirelen, &p) != DECODE_OK)
        return 0;
    return conn_fingerprint(&p);
}

static int s_fingerprint4(void)
{
    uint8_t b[sizeof s_udp4];
    uint32_t n = sizeof b;
    uint64_t fp = s_fp(LINK_ETHERNET, s_udp4, n, n);
    CHECK(fp != 0);
    /* A router-side copy: TTL one lower, header checksum fixed. The same. */
    memcpy(b, s_udp4, n);
    b[UDP4_TTL] = 63;
    b[UDP4_CSUM + 1] = 0xb3;
    CHECK(s_fp(LINK_ETHERNET, b, n, n) == fp);
    /* Other Ethernet padding (not the packet's): the same. */
    memcpy(b, s_udp4, n);
    b[UDP4_PAD] = 0xaa;
    CHECK(s_fp(LINK_ETHERNET, b, n, n) == fp);
    /* A look-alike: same header, one payload byte other. Not a copy. */
    memcpy(b, s_udp4, n);
    b[UDP4_PAYLOAD + 5] = 'g';
    CHECK(s_fp(LINK_ETHERNET, b, n, n) != fp);
    /* Another IP id. */
    memcpy(b, s_udp4, n);
    b[UDP4_ID + 1] = 0x35;
    CHECK(s_fp(LINK_ETHERNET, b, n, n) != fp);
    /* The same packet captured shorter (the last payload byte cut): other. */
    uint64_t cut = s_fp(LINK_ETHERNET, s_udp4, UDP4_PAYLOAD + 5, n);
    CHECK(cut != 0 && cut != fp);
    return 0;
}

static int s_fingerprint6(void)
{
    uint8_t b[sizeof s_udp6];
    uint32_t n = sizeof b;
    uint64_t fp = s_fp(LINK_RAW, s_udp6, n, n);
    CHECK(fp != 0);
    memcpy(b, s_udp6, n);
    b[UDP6_HLIM] = 63; /* hop limit: aside */
    CHECK(s_fp(LINK_RAW, b, n, n) == fp);
    memcpy(b, s_udp6, n);
    b[UDP6_TCLASS] = 0x20; /* traffic class: part of the packet */
    CHECK(s_fp(LINK_RAW, b, n, n) != fp);
    /* The IPv4 fingerprint of other bytes differs too. */
    CHECK(s_fp(LINK_ETHERNET, s_udp4, sizeof s_udp4, sizeof s_udp4) != fp);
    packet_t none;
    memset(&none, 0, sizeof none);
    CHECK(conn_fingerprint(&none) == 0); /* no IP header: no fingerprint */
    return 0;
}

/* conn_is_duplicate: the fingerprint of the last packet of the same side,
 * within the window. */
static int s_window(void)
{
    packet_t p;
    uint32_t n = sizeof s_udp4;
    CHECK(decode_packet(LINK_ETHERNET, s_udp4, n, n, &p) == DECODE_OK);
    uint64_t fp = conn_fingerprint(&p);
    flow_t f;
    memset(&f, 0, sizeof f);
    p.ts_us = 1000000;
    CHECK(!conn_is_duplicate(&f, 0, &p, fp, 5000)); /* nothing seen yet */
    conn_start(&f, 0, &p);
    conn_update(&f, 0, &p, fp);
    p.ts_us += 3;
    CHECK(conn_is_duplicate(&f, 0, &p, fp, 5000));
    CHECK(!conn_is_duplicate(&f, 1, &p, fp, 5000));     /* the other side */
    CHECK(!conn_is_duplicate(&f, 0, &p, fp ^ 2, 5000)); /* another packet */
    CHECK(!conn_is_duplicate(&f, 0, &p, 0, 5000));      /* no fingerprint (--no-dedup) */
    p.ts_us = 1000000 + 5001;
    CHECK(!conn_is_duplicate(&f, 0, &p, fp, 5000)); /* past the window */
    p.ts_us = 999999;
    CHECK(!conn_is_duplicate(&f, 0, &p, fp, 5000)); /* before the last packet */
    CHECK_EQ(f.d[0].pkts, 1);
    return 0;
}

int test_conn(void)
{
    uint8_t key[HASH_KEY_BYTES] = {1, 2, 3};
    hash_set_key(key); /* the same seed every run */
    RUN(s_fingerprint4);
    RUN(s_fingerprint6);
    RUN(s_window);
    return 0;
}
