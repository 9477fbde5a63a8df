/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "defrag.h"
#include "unit.h"

int test_defrag(void);

/* An IPv4 UDP datagram 10.0.0.1:5060 -> 10.0.0.2:5065 of 8 + 2000 bytes,
 * cut into fragments of 800 payload bytes (offsets 0, 800, 1600). */
static size_t s_fragment(uint8_t *out, const uint8_t *dgram, size_t dlen, size_t off, size_t len,
        bool more, uint16_t id)
{
    uint8_t *ip = out;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    ip[2] = (uint8_t)((20 + len) >> 8);
    ip[3] = (uint8_t)(20 + len);
    ip[4] = (uint8_t)(id >> 8);
    ip[5] = (uint8_t)id;
    uint16_t frag = (uint16_t)((off / 8) | (more ? 0x2000 : 0));
    ip[6] = (uint8_t)(frag >> 8);
    ip[7] = (uint8_t)frag;
    ip[8] = 64;
    ip[9] = 17;
    ip[12] = 10; ip[15] = 1;
    ip[16] = 10; ip[19] = 2;
    (void)dlen;
    memcpy(ip + 20, dgram + off, len);
    return 20 + len;
}

static int s_feed(defrag_t *d, const uint8_t *frame, size_t n, uint64_t ts, const uint8_t **out,
        uint32_t *outlen)
{
    packet_t p;
    memset(&p, 0, sizeof p);
    p.ts_us = ts;
    if (decode_packet(LINK_RAW, frame, (uint32_t)n, (uint32_t)n, &p) != DECODE_ERR_FRAGMENT)
        return -1;
    return defrag_add(d, &p, out, outlen);
}

int test_defrag(void)
{
    uint8_t dgram[2008];
    dgram[0] = 0x13; dgram[1] = 0xc4; dgram[2] = 0x13; dgram[3] = 0xc9; /* 5060 -> 5065 */
    dgram[4] = (uint8_t)(2008 >> 8); dgram[5] = (uint8_t)(2008 & 0xff);
    dgram[6] = dgram[7] = 0;
    for (int i = 8; i < 2008; i++)
        dgram[i] = (uint8_t)('a' + i % 26);
    uint8_t f[3][900];
    size_t n[3];
    n[0] = s_fragment(f[0], dgram, sizeof dgram, 0, 800, true, 7);
    n[1] = s_fragment(f[1], dgram, sizeof dgram, 800, 800, true, 7);
    n[2] = s_fragment(f[2], dgram, sizeof dgram, 1600, 408, false, 7);
    defrag_t *d = defrag_new(4, 30000000);
    CHECK(d);
    const uint8_t *out;
    uint32_t len;
    /* Out of order, with a duplicate: whole only after the last missing piece. */
    CHECK_EQ(s_feed(d, f[2], n[2], 1, &out, &len), 0);
    CHECK_EQ(s_feed(d, f[1], n[1], 2, &out, &len), 0);
    CHECK_EQ(s_feed(d, f[1], n[1], 3, &out, &len), 0);
    CHECK_EQ(s_feed(d, f[0], n[0], 4, &out, &len), 1);
    CHECK_EQ(len, 20 + 2008);
    packet_t p;
    memset(&p, 0, sizeof p);
    CHECK_EQ(decode_packet(LINK_RAW, out, len, len, &p), DECODE_OK);
    CHECK_EQ(p.sport, 5060);
    CHECK_EQ(p.dport, 5065);
    CHECK_EQ(p.payload_len, 2000);
    CHECK(memcmp(p.payload, dgram + 8, 2000) == 0);
    /* A datagram that never completes is dropped after the timeout. */
    CHECK_EQ(s_feed(d, f[0], n[0], 10, &out, &len), 0);
    CHECK_EQ(s_feed(d, f[1], n[1], 40000011, &out, &len), 0);
    defrag_stats_t st;
    defrag_stats(d, &st);
    CHECK_EQ(st.timed_out, 1);
    /* A full table evicts the oldest datagram, and counts it. */
    for (uint16_t id = 100; id < 106; id++) {
        n[0] = s_fragment(f[0], dgram, sizeof dgram, 0, 800, true, id);
        CHECK_EQ(s_feed(d, f[0], n[0], 50000000 + id, &out, &len), 0);
    }
    defrag_stats(d, &st);
    CHECK_EQ(st.evicted, 3);
    CHECK_EQ(st.reassembled, 1);
    CHECK_EQ(st.active, 4);
    CHECK_EQ(st.peak, 4);
    /* Without another fragment, the clock alone frees them after 30 s. */
    defrag_expire(d, 50000105 + 30000000);
    defrag_stats(d, &st);
    CHECK_EQ(st.active, 1); /* id 105 has 30 s exactly: not yet */
    defrag_expire(d, 50000106 + 30000000);
    defrag_stats(d, &st);
    CHECK_EQ(st.active, 0);
    CHECK_EQ(st.timed_out, 5);
    /* A middle fragment whose length is not a multiple of 8 is refused. */
    n[1] = s_fragment(f[1], dgram, sizeof dgram, 800, 801, true, 9);
    CHECK_EQ(s_feed(d, f[1], n[1], 60000000, &out, &len), 0);
    defrag_stats(d, &st);
    CHECK_EQ(st.invalid, 1);
    defrag_destroy(&d);
    CHECK(d == NULL);
    return 0;
}
