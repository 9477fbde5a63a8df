/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alg.h"
#include "unit.h"

int test_alg(void);

typedef struct {
    int n;
    alg_sign_t last;
} signs_t;

static void s_cb(const alg_sign_t *s, void *ctx)
{
    signs_t *g = ctx;
    g->n++;
    g->last = *s;
}

static int s_feed(alg_t *a, const char *text, const char *src, const char *dst)
{
    sip_msg_t m;
    if (sip_parse((const uint8_t *)text, strlen(text), false, &m) != SIP_OK)
        return 1;
    ip_addr_t s, d;
    ip_parse(src, &s);
    ip_parse(dst, &d);
    alg_sip(a, &m, m.raw, m.msg_len, &s, &d, 0, 1000000);
    return 0;
}

#define REG(via, contact)                                                                  \
    "REGISTER sip:x SIP/2.0\r\nVia: SIP/2.0/UDP " via ";branch=z9hG4bK-1\r\n"            \
    "Call-ID: c1\r\nCSeq: 1 REGISTER\r\nContact: <sip:100@" contact ">\r\n"             \
    "To: <sip:100@x>\r\nContent-Length: 0\r\n\r\n"

int test_alg(void)
{
    signs_t g = {0};
    alg_t *a = alg_new(8, 1, s_cb, &g);
    CHECK(a);
    /* The same REGISTER inside and outside, rewritten: both lines reported. */
    CHECK(!s_feed(a, REG("10.0.0.5:5060", "10.0.0.5:5060"), "10.0.0.5", "198.51.100.9"));
    CHECK_EQ(g.n, 0);
    CHECK(!s_feed(a, REG("203.0.113.7:5060", "203.0.113.7:5060"), "203.0.113.7", "198.51.100.9"));
    CHECK_EQ(g.n, 2);
    CHECK(strcmp(g.last.how, "compared") == 0);
    CHECK(strcmp(g.last.header, "Contact") == 0);
    CHECK(strstr(g.last.inside, "10.0.0.5") && strstr(g.last.outside, "203.0.113.7"));
    alg_site_stats_t st;
    alg_site_stats(a, 0, &st);
    CHECK_EQ(st.compared, 1);
    CHECK_EQ(st.rewritten, 1);
    /* Identical copies: compared, nothing reported. */
    static const char same[] = "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5060;branch=b2\r\n"
                               "Call-ID: c2\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    CHECK(!s_feed(a, same, "10.0.0.5", "198.51.100.9"));
    CHECK(!s_feed(a, same, "203.0.113.7", "198.51.100.9"));
    CHECK_EQ(g.n, 2);
    alg_site_stats(a, 0, &st);
    CHECK_EQ(st.compared, 2);
    /* One vantage, outside: the Via names the public source, the Contact a
     * private address. */
    static const char mixed[] = "REGISTER sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.7:5060;branch=b3\r\n"
                                "Call-ID: c3\r\nCSeq: 1 REGISTER\r\nContact: <sip:100@10.0.0.5:5060>\r\n"
                                "Content-Length: 0\r\n\r\n";
    CHECK(!s_feed(a, mixed, "203.0.113.7", "198.51.100.9"));
    CHECK_EQ(g.n, 3);
    CHECK(strcmp(g.last.how, "mixed_addresses") == 0);
    /* One vantage, inside: a public registrar's answer with a private received=. */
    static const char ok[] = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.5:5060;branch=b4;received=10.0.0.5\r\n"
                             "Call-ID: c4\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";
    CHECK(!s_feed(a, ok, "198.51.100.9", "10.0.0.5"));
    CHECK_EQ(g.n, 4);
    CHECK(strcmp(g.last.how, "private_received") == 0);
    /* ... but not from a registrar on the LAN itself. */
    static const char lan[] = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.5:5060;branch=b5;received=10.0.0.5\r\n"
                              "Call-ID: c5\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";
    CHECK(!s_feed(a, lan, "10.0.0.1", "10.0.0.5"));
    CHECK_EQ(g.n, 4);
    /* Compared copies are freed; the rest wait. */
    lrutab_stats_t t;
    uint32_t max;
    alg_table(a, &t, &max);
    CHECK_EQ(max, 8);
    CHECK_EQ(t.released, 2);
    CHECK_EQ(t.active, 3);
    /* A full table: the oldest kept message makes room, and its twin then
     * finds nothing to be compared with. */
    char msg[256];
    for (int i = 0; i < 8; i++) {
        snprintf(msg, sizeof msg, "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5060;"
                                  "branch=f%d\r\nCall-ID: f%d\r\nCSeq: 1 OPTIONS\r\n"
                                  "Content-Length: 0\r\n\r\n", i, i);
        CHECK(!s_feed(a, msg, "10.0.0.5", "198.51.100.9"));
    }
    alg_table(a, &t, &max);
    CHECK_EQ(t.active, 8);
    CHECK_EQ(t.evicted, 3);
    CHECK(!s_feed(a, same, "10.0.0.5", "198.51.100.9")); /* c2 again: new */
    alg_site_stats(a, 0, &st);
    CHECK_EQ(st.compared, 2);
    alg_table(a, &t, &max);
    CHECK_EQ(t.evicted, 4); /* f0 went for it */
    CHECK(t.peak <= 8);
    alg_destroy(&a);
    CHECK(a == NULL);
    return 0;
}
