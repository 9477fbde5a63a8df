/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "siptx.h"
#include "unit.h"

int test_siptx(void);

#define SEC 1000000ull

typedef struct {
    int n;
    char end[8][16];     /* how each transaction ended, in order */
    char call_id[8][128];
} ends_t;

static void s_cb(const siptx_t *tx, const char *end, void *ctx)
{
    ends_t *e = ctx;
    if (e->n < 8) {
        snprintf(e->end[e->n], sizeof e->end[0], "%s", end);
        snprintf(e->call_id[e->n], sizeof e->call_id[0], "%s", tx->call_id);
    }
    e->n++;
}

/* An OPTIONS request (status 0) or its response, of call_id, at t s. */
static int s_msg(siptx_table_t *tx, const char *call_id, int status, uint64_t t)
{
    char msg[512], first[64];
    if (status)
        snprintf(first, sizeof first, "SIP/2.0 %d OK", status);
    else
        snprintf(first, sizeof first, "OPTIONS sip:x@lab.example SIP/2.0");
    int n = snprintf(msg, sizeof msg,
            "%s\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-%s\r\n"
            "From: <sip:a@lab.example>;tag=1\r\nTo: <sip:x@lab.example>\r\n"
            "Call-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
            first, call_id, call_id);
    sip_msg_t m;
    if (sip_parse((const uint8_t *)msg, (size_t)n, false, &m) != SIP_OK)
        return 1;
    ip_addr_t a, b;
    ip_parse("10.0.0.1", &a);
    ip_parse("203.0.113.5", &b);
    siptx_message(tx, &m, &a, 5060, &b, 5060, 0, t * SEC);
    return 0;
}

/* An INVITE that rings is not timed out at 32 s: 3 minutes after its last
 * 180 (timer C), and answered at 100 s it is "final". */
static int s_ringing(void)
{
    ends_t e;
    memset(&e, 0, sizeof e);
    siptx_table_t *tx = siptx_new(4, s_cb, &e);
    CHECK(tx);
    const char *inv = "INVITE sip:x@lab.example SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-r\r\n"
                      "Call-ID: r1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    const char *ring = "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-r\r\n"
                       "Call-ID: r1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    const char *ok = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-r\r\n"
                     "Call-ID: r1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    const char *msgs[3] = {inv, ring, ok};
    const uint64_t at[3] = {0, 1, 100};
    ip_addr_t a;
    ip_parse("10.0.0.1", &a);
    for (int k = 0; k < 3; k++) {
        sip_msg_t m;
        CHECK(sip_parse((const uint8_t *)msgs[k], strlen(msgs[k]), false, &m) == SIP_OK);
        siptx_expire(tx, at[k] * SEC);
        siptx_message(tx, &m, &a, 5060, &a, 5060, 0, at[k] * SEC);
    }
    CHECK_EQ(e.n, 1);
    CHECK(strcmp(e.end[0], "final") == 0);
    /* A bare 100 Trying moves the INVITE to Proceeding too (RFC 3261
     * 17.1.1.2): a 408 36.8 s after the INVITE ends it "final" (as in
     * sngrep's aaa.pcap), not "timeout" at 32 s. */
    const char *trying = "SIP/2.0 100 Trying\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-r\r\n"
                         "Call-ID: r1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    const char *late = "SIP/2.0 408 Request Timeout\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-r\r\n"
                       "Call-ID: r1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    const char *msgs2[3] = {inv, trying, late};
    const uint64_t at2[3] = {200, 202, 237};
    for (int k = 0; k < 3; k++) {
        sip_msg_t m;
        CHECK(sip_parse((const uint8_t *)msgs2[k], strlen(msgs2[k]), false, &m) == SIP_OK);
        siptx_expire(tx, at2[k] * SEC);
        siptx_message(tx, &m, &a, 5060, &a, 5060, 0, at2[k] * SEC);
    }
    CHECK_EQ(e.n, 2);
    CHECK(strcmp(e.end[1], "final") == 0);
    siptx_destroy(&tx);
    return 0;
}

int test_siptx(void)
{
    ends_t e;
    memset(&e, 0, sizeof e);
    siptx_table_t *tx = siptx_new(2, s_cb, &e);
    CHECK(tx);
    /* Answered: ended "final" at once, and its slot freed. */
    CHECK(!s_msg(tx, "q1", 0, 0));
    CHECK(!s_msg(tx, "q1", 200, 1));
    CHECK_EQ(e.n, 1);
    CHECK(strcmp(e.end[0], "final") == 0);
    /* Unanswered: "timeout" once the clock passes 32 s after the request,
     * however long the capture goes on; a retransmission does not restart
     * the timer. */
    CHECK(!s_msg(tx, "q2", 0, 10));
    CHECK(!s_msg(tx, "q2", 0, 20));
    siptx_expire(tx, 42 * SEC);
    CHECK_EQ(e.n, 1);
    siptx_expire(tx, 43 * SEC);
    CHECK_EQ(e.n, 2);
    CHECK(strcmp(e.end[1], "timeout") == 0);
    CHECK(strcmp(e.call_id[1], "q2") == 0);
    /* A full table: the oldest request makes room ("evicted"). */
    CHECK(!s_msg(tx, "q3", 0, 50));
    CHECK(!s_msg(tx, "q4", 0, 51));
    CHECK(!s_msg(tx, "q5", 0, 52));
    CHECK_EQ(e.n, 3);
    CHECK(strcmp(e.end[2], "evicted") == 0);
    CHECK(strcmp(e.call_id[2], "q3") == 0);
    /* The end of the capture at 60 s: both still inside their 32 s. */
    siptx_expire(tx, 60 * SEC);
    siptx_flush(tx);
    CHECK_EQ(e.n, 5);
    CHECK(strcmp(e.end[3], "capture_ended") == 0);
    CHECK(strcmp(e.end[4], "capture_ended") == 0);
    siptx_stats_t st;
    siptx_stats(tx, &st);
    CHECK_EQ(st.transactions, 5);
    CHECK_EQ(st.completed, 1);
    CHECK_EQ(st.unanswered, 4);
    CHECK_EQ(st.timed_out, 1);
    CHECK_EQ(st.evicted, 1);
    CHECK_EQ(st.table.active, 0);
    CHECK_EQ(st.table.peak, 2);
    CHECK_EQ(st.max, 2);
    siptx_destroy(&tx);
    CHECK(tx == NULL);
    return s_ringing();
}
