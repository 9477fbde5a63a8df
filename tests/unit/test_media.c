/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media.h"
#include "unit.h"

int test_media(void);

/* One INVITE, response or BYE (first_line) of call_id at t seconds, with
 * an SDP offering ip:port; port 0: no body. */
static int s_sip_call(media_t *md, const char *first_line, const char *call_id, const char *ip,
        unsigned port, uint64_t t)
{
    char body[256], msg[1024];
    int bl = snprintf(body, sizeof body, "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                                         "m=audio %u RTP/AVP 0\r\n", ip, ip, port);
    if (!port)
        bl = 0;
    const char *method = strncmp(first_line, "BYE", 3) == 0 ? "BYE" : "INVITE";
    int n = snprintf(msg, sizeof msg, "%s\r\nCall-ID: %s\r\nCSeq: 1 %s\r\n"
                                      "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
            first_line, call_id, method, bl, port ? body : "");
    sip_msg_t m;
    if (sip_parse((const uint8_t *)msg, (size_t)n, false, &m) != SIP_OK)
        return 1;
    media_sip(md, &m, t * 1000000u);
    return 0;
}

static int s_sip(media_t *md, const char *first_line, const char *ip, unsigned port)
{
    return s_sip_call(md, first_line, "call-7", ip, port, 0);
}

/* A UDP flow pub:40000 <-> ip:port starting at 15 s; true if it is a
 * call's media, whose Call-ID is then copied to call_id. */
static bool s_flow(media_t *md, const char *ip, unsigned port, char *call_id, size_t n)
{
    flow_t f;
    memset(&f, 0, sizeof f);
    f.media = FLOW_NONE;
    f.first_us = 15 * 1000000ull;
    ip_addr_t pub, prov;
    ip_parse("198.51.100.7", &pub);
    ip_parse(ip, &prov);
    flow_key_make(&f.key, &pub, 40000, &prov, (uint16_t)port, 17);
    if (!media_match(md, &f))
        return false;
    snprintf(call_id, n, "%s", media_stream(md, &f)->call_id);
    media_release(md, &f);
    return true;
}


/* One RTP packet (PCMU, 20 ms) from side `side` at time t ms. */
static void s_rtp(media_t *md, flow_t *f, int side, uint16_t seq, uint32_t ts, uint64_t t_ms,
        uint64_t late_us)
{
    uint8_t rtp[12 + 160] = {0x80, 0x00};
    rtp[2] = (uint8_t)(seq >> 8);
    rtp[3] = (uint8_t)seq;
    rtp[4] = (uint8_t)(ts >> 24); rtp[5] = (uint8_t)(ts >> 16); rtp[6] = (uint8_t)(ts >> 8); rtp[7] = (uint8_t)ts;
    packet_t p;
    memset(&p, 0, sizeof p);
    p.proto = 17;
    p.ts_us = t_ms * 1000 + late_us;
    p.payload = rtp;
    p.payload_len = p.payload_caplen = sizeof rtp;
    media_packet(md, f, side, &p);
}

/* Calls end at their BYE or when their INVITE fails: a port used again by
 * the next call is that call's media, never the old one's. */
static int s_lifetimes(void)
{
    media_t *md = media_new(4, 8);
    CHECK(md);
    char cid[128];
    CHECK(!s_sip_call(md, "INVITE sip:200@x SIP/2.0", "c1", "203.0.113.51", 20000, 1));
    CHECK(!s_sip_call(md, "SIP/2.0 200 OK", "c1", "203.0.113.51", 20000, 1));
    CHECK(s_flow(md, "203.0.113.51", 20000, cid, sizeof cid));
    CHECK(strcmp(cid, "c1") == 0);
    CHECK(!s_sip_call(md, "BYE sip:200@x SIP/2.0", "c1", "", 0, 2));
    CHECK(!s_flow(md, "203.0.113.51", 20000, cid, sizeof cid)); /* c1 has ended */
    CHECK(!s_sip_call(md, "INVITE sip:200@x SIP/2.0", "c2", "203.0.113.51", 20000, 3));
    CHECK(s_flow(md, "203.0.113.51", 20000, cid, sizeof cid));
    CHECK(strcmp(cid, "c2") == 0);
    CHECK(!s_sip_call(md, "SIP/2.0 486 Busy Here", "c2", "", 0, 4)); /* never answered */
    CHECK(!s_flow(md, "203.0.113.51", 20000, cid, sizeof cid));
    media_stats_t st;
    media_stats(md, &st);
    CHECK_EQ(st.calls, 2);
    CHECK_EQ(st.calls_ended, 2);
    CHECK_EQ(st.call_table.released, 2);
    CHECK_EQ(st.call_table.active, 0);
    /* A full table: the call idle longest makes room. c3 is refreshed by
     * its answer, so c4 goes when c7 comes. */
    CHECK(!s_sip_call(md, "INVITE sip:200@x SIP/2.0", "c3", "203.0.113.3", 20000, 10));
    CHECK(!s_sip_call(md, "INVITE sip:200@x SIP/2.0", "c4", "203.0.113.4", 20000, 11));
    CHECK(!s_sip_call(md, "INVITE sip:200@x SIP/2.0", "c5", "203.0.113.5", 20000, 12));
    CHECK(!s_sip_call(md, "INVITE sip:200@x SIP/2.0", "c6", "203.0.113.6", 20000, 13));
    CHECK(!s_sip_call(md, "SIP/2.0 200 OK", "c3", "203.0.113.3", 20000, 14));
    CHECK(!s_sip_call(md, "INVITE sip:200@x SIP/2.0", "c7", "203.0.113.7", 20000, 15));
    media_stats(md, &st);
    CHECK_EQ(st.call_table.evicted, 1);
    CHECK_EQ(st.call_table.active, 4);
    CHECK(!s_flow(md, "203.0.113.4", 20000, cid, sizeof cid));
    CHECK(s_flow(md, "203.0.113.3", 20000, cid, sizeof cid));
    CHECK(strcmp(cid, "c3") == 0);
    CHECK(s_flow(md, "203.0.113.7", 20000, cid, sizeof cid));
    CHECK(strcmp(cid, "c7") == 0);
    /* Ten minutes of silence end a call; not a second before. c5 lives
     * until 12 + 600 s. */
    media_expire(md, 612 * 1000000ull);
    media_stats(md, &st);
    CHECK_EQ(st.call_table.expired, 0);
    media_expire(md, 614 * 1000000ull);
    media_stats(md, &st);
    CHECK_EQ(st.call_table.expired, 2); /* c5, c6: c3 and c7 had media at 15 s */
    CHECK(!s_flow(md, "203.0.113.5", 20000, cid, sizeof cid));
    media_expire(md, 3600 * 1000000ull);
    media_stats(md, &st);
    CHECK_EQ(st.call_table.active, 0);
    CHECK_EQ(st.endpoint_table.active, 0);
    CHECK(st.call_table.peak <= 4);
    media_destroy(&md);
    CHECK(md == NULL);
    return 0;
}

int test_media(void)
{
    media_t *md = media_new(8, 8);
    CHECK(md);
    /* The phone offers its private address; the provider answers its own. */
    CHECK(!s_sip(md, "INVITE sip:200@x SIP/2.0", "192.168.60.10", 16384));
    CHECK(!s_sip(md, "SIP/2.0 200 OK", "203.0.113.51", 20000));
    /* Behind the NAT the flow is public:40000 <-> provider: matched by the
     * provider's end alone (symmetric RTP). */
    flow_t f;
    memset(&f, 0, sizeof f);
    f.media = FLOW_NONE;
    ip_addr_t pub, prov;
    ip_parse("198.51.100.7", &pub);
    ip_parse("203.0.113.51", &prov);
    flow_key_make(&f.key, &pub, 40000, &prov, 20000, 17);
    CHECK(media_match(md, &f));
    flow_t other;
    memset(&other, 0, sizeof other);
    other.media = FLOW_NONE;
    flow_key_make(&other.key, &pub, 40002, &prov, 30000, 17);
    CHECK(!media_match(md, &other));
    /* Side 0 sends 50 packets but loses seq 10 and 11; side 1 sends none.
     * Every 5th packet arrives 4 ms late: jitter above zero. */
    for (uint16_t i = 0; i < 50; i++)
        if (i != 10 && i != 11)
            s_rtp(md, &f, 0, (uint16_t)(65500 + i), 0xffff0000u + 160u * i, 1000 + 20ull * i,
                    i % 5 == 0 ? 4000 : 0); /* both counters wrap on the way */
    const media_stream_t *ms = media_stream(md, &f);
    CHECK(ms && ms->answered);
    CHECK(strcmp(ms->call_id, "call-7") == 0);
    CHECK_EQ(ms->d[0].pkts, 48);
    CHECK_EQ(ms->d[0].lost, 2);   /* across the sequence wrap at 65535 */
    CHECK(ms->d[0].jitter_ms > 0.1 && ms->d[0].jitter_ms < 4.0);
    CHECK_EQ(ms->d[1].pkts, 0);
    media_release(md, &f);
    CHECK(f.media == FLOW_NONE);
    CHECK(media_stream(md, &f) == NULL);
    media_destroy(&md);
    CHECK(md == NULL);
    RUN(s_lifetimes);
    return 0;
}
