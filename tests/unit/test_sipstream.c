/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "sipstream.h"
#include "unit.h"

int test_sipstream(void);

typedef struct {
    int n;
    char methods[8][16];
} got_t;

static void s_on_msg(const sip_msg_t *m, flow_t *f, int side, const packet_t *p, void *ctx)
{
    (void)f;
    (void)side;
    (void)p;
    got_t *g = ctx;
    if (g->n < 8)
        sip_str_copy(m->method, g->methods[g->n], sizeof g->methods[0]);
    g->n++;
}

static void s_seg(sipstream_t *s, flow_t *f, uint32_t seq, const char *data, size_t len)
{
    packet_t p;
    memset(&p, 0, sizeof p);
    p.proto = 6;
    p.seq = seq;
    p.payload = (const uint8_t *)data;
    p.payload_len = p.payload_caplen = (uint32_t)len;
    sipstream_segment(s, f, 0, &p);
}

int test_sipstream(void)
{
    static const char a[] = "OPTIONS sip:x SIP/2.0\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    static const char b[] = "MESSAGE sip:x SIP/2.0\r\nCSeq: 2 MESSAGE\r\nContent-Length: 5\r\n\r\nhello";
    char both[256];
    size_t la = strlen(a), lb = strlen(b);
    memcpy(both, a, la);
    memcpy(both + la, "\r\n\r\n", 4); /* a keep-alive between them */
    memcpy(both + la + 4, b, lb);
    size_t n = la + 4 + lb;
    got_t got = {0};
    sipstream_t *s = sipstream_new(2, s_on_msg, &got);
    CHECK(s);
    flow_t f;
    memset(&f, 0, sizeof f);
    f.sipstream = FLOW_NONE;
    f.id = 1;
    /* Two messages in one segment. */
    s_seg(s, &f, 1000, both, n);
    CHECK_EQ(got.n, 2);
    CHECK(strcmp(got.methods[1], "MESSAGE") == 0);
    /* One message over three segments, the middle one sent twice and the
     * last overlapping what came before (a retransmission with new bytes). */
    uint32_t seq = 1000 + (uint32_t)n;
    s_seg(s, &f, seq, b, 10);
    s_seg(s, &f, seq + 10, b + 10, 20);
    s_seg(s, &f, seq + 10, b + 10, 20);
    CHECK_EQ(got.n, 2);
    s_seg(s, &f, seq + 25, b + 25, lb - 25);
    CHECK_EQ(got.n, 3);
    /* A lost segment: the stream waits for the next start line. */
    seq += (uint32_t)lb;
    s_seg(s, &f, seq + 10, a + 10, la - 10);
    CHECK_EQ(got.n, 3);
    s_seg(s, &f, seq + (uint32_t)la, a, la);
    CHECK_EQ(got.n, 4);
    sipstream_stats_t st;
    sipstream_stats(s, &st);
    CHECK_EQ(st.gaps, 1);
    CHECK_EQ(st.messages, 4);
    /* Not SIP: never followed. */
    flow_t g;
    memset(&g, 0, sizeof g);
    g.sipstream = FLOW_NONE;
    s_seg(s, &g, 1, "GET / HTTP/1.1\r\n\r\n", 18);
    CHECK(g.sipstream == FLOW_NONE);
    /* Two slots: a second SIP flow takes the other; a third pushes out the
     * one idle longest (f, whose last segment came first). */
    flow_t h[2];
    memset(h, 0, sizeof h);
    for (int i = 0; i < 2; i++) {
        h[i].sipstream = FLOW_NONE;
        h[i].id = 10 + (uint64_t)i;
        s_seg(s, &h[i], 1, a, la);
        CHECK(h[i].sipstream != FLOW_NONE);
    }
    CHECK(f.sipstream == FLOW_NONE);
    CHECK_EQ(got.n, 6);
    sipstream_stats(s, &st);
    CHECK_EQ(st.table.evicted, 1);
    CHECK_EQ(st.table.active, 2);
    CHECK_EQ(st.max, 2);
    sipstream_release(s, &h[0]);
    sipstream_release(s, &h[1]);
    CHECK(h[0].sipstream == FLOW_NONE);
    sipstream_stats(s, &st);
    CHECK_EQ(st.table.active, 0);
    /* Point 3: a first segment shorter than a start line still starts the
     * stream: a CRLF keep-alive (4 bytes), then "OPT" (3 bytes), then the
     * rest of the OPTIONS request. */
    flow_t k;
    memset(&k, 0, sizeof k);
    k.sipstream = FLOW_NONE;
    k.id = 20;
    got.n = 0;
    s_seg(s, &k, 100, "\r\n\r\n", 4);
    CHECK(k.sipstream != FLOW_NONE);
    s_seg(s, &k, 104, a, 3);
    CHECK_EQ(got.n, 0);
    s_seg(s, &k, 107, a + 3, la - 3);
    CHECK_EQ(got.n, 1);
    CHECK(strcmp(got.methods[0], "OPTIONS") == 0);
    /* Point 4: "Content-Length: ten" cannot be parsed: that message is
     * invalid (its end is unknown) and the stream resyncs on the next start
     * line in the same segment (b), which is read. */
    static const char badcl[] = "INFO sip:x SIP/2.0\r\nCSeq: 3 INFO\r\n"
                                "Content-Length: ten\r\n\r\nINFO body\r\n";
    char two[256];
    size_t lbad = strlen(badcl);
    memcpy(two, badcl, lbad);
    memcpy(two + lbad, b, lb);
    sipstream_stats(s, &st);
    uint64_t inv0 = st.invalid;
    s_seg(s, &k, 107 + (uint32_t)(la - 3), two, lbad + lb);
    CHECK_EQ(got.n, 2);
    CHECK(strcmp(got.methods[1], "MESSAGE") == 0);
    sipstream_stats(s, &st);
    CHECK_EQ(st.invalid, inv0 + 1);
    sipstream_release(s, &k);
    sipstream_release(s, &f); /* already gone: nothing to do */
    CHECK(f.sipstream == FLOW_NONE);
    sipstream_destroy(&s);
    CHECK(s == NULL);
    return 0;
}
