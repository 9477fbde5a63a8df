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
    media_t *md = media_new(4, 8, NULL, NULL);
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

/* --- One-way media, judged per call and direction ------------------- */

typedef struct {
    int n;
    media_call_t last;
    bool flow_shown;
} seen_t;

static void s_seen(const media_call_t *c, flow_t *f, void *ctx)
{
    seen_t *s = ctx;
    s->n++;
    s->last = *c;
    s->flow_shown = f != NULL;
}

/* A message of call "cj" at t ms: first line, CSeq method, From and To
 * tags, and an SDP (NULL: none) for ip:port with proto and extra lines. */
static int s_msg(media_t *md, const char *first, const char *method, const char *to_tag,
        const char *from_tag, const char *ip, unsigned port, const char *proto,
        const char *extra, uint64_t t_ms)
{
    char body[512] = "", msg[1536];
    if (ip)
        snprintf(body, sizeof body,
                "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=%s %u %s\r\n%s",
                ip, ip, strncmp(proto, "udptl", 5) == 0 ? "image" : "audio", port, proto,
                extra ? extra : "");
    int n = snprintf(msg, sizeof msg,
            "%s\r\nCall-ID: cj\r\nCSeq: 1 %s\r\nFrom: <sip:a@x>;tag=%s\r\n"
            "To: <sip:b@x>%s%s\r\nContent-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
            first, method, from_tag, to_tag ? ";tag=" : "", to_tag ? to_tag : "", strlen(body), body);
    sip_msg_t m;
    if (sip_parse((const uint8_t *)msg, (size_t)n, false, &m) != SIP_OK)
        return 1;
    media_sip(md, &m, t_ms * 1000u);
    return 0;
}

/* The caller (tag "A", at the site) and the callee (tag "B"). */
#define INVITE(md, ip, port, extra, t) \
    s_msg(md, "INVITE sip:b@x SIP/2.0", "INVITE", NULL, "A", ip, port, "RTP/AVP 0 96", extra, t)
#define OK(md, ip, port, extra, t) \
    s_msg(md, "SIP/2.0 200 OK", "INVITE", "B", "A", ip, port, "RTP/AVP 0 96", extra, t)
#define BYE(md, t) s_msg(md, "BYE sip:b@x SIP/2.0", "BYE", "B", "A", NULL, 0, NULL, NULL, t)

/* A flow phone ip:port <-> provider ip:port, the phone's end in site 0. */
static void s_mflow(flow_t *f, uint32_t id, const char *pip, unsigned pport, const char *rip,
        unsigned rport)
{
    memset(f, 0, sizeof *f);
    f->media = FLOW_NONE;
    f->id = id;
    ip_addr_t a, b;
    ip_parse(pip, &a);
    ip_parse(rip, &b);
    flow_key_make(&f->key, &a, (uint16_t)pport, &b, (uint16_t)rport, 17);
    bool phone_is_a = memcmp(&f->key.a, &a, sizeof a) == 0 && f->key.pa == pport;
    f->site[phone_is_a ? 0 : 1] = 0;
    f->site[phone_is_a ? 1 : 0] = -1;
}

/* n RTP packets (PT pt, step ts units per 20 ms) from the flow's phone
 * end (from_phone) or its provider end, from t ms. */
static void s_send(media_t *md, flow_t *f, const char *pip, bool from_phone, uint8_t pt,
        uint32_t step, int n, uint64_t t_ms)
{
    ip_addr_t a;
    ip_parse(pip, &a);
    int phone_side = memcmp(&f->key.a, &a, sizeof a) == 0 ? 0 : 1;
    int side = from_phone ? phone_side : !phone_side;
    for (int i = 0; i < n; i++) {
        uint8_t rtp[12 + 160] = {0x80, pt};
        rtp[2] = (uint8_t)(i >> 8);
        rtp[3] = (uint8_t)i;
        uint32_t ts = step * (uint32_t)i;
        rtp[4] = (uint8_t)(ts >> 24); rtp[5] = (uint8_t)(ts >> 16); rtp[6] = (uint8_t)(ts >> 8); rtp[7] = (uint8_t)ts;
        packet_t p;
        memset(&p, 0, sizeof p);
        p.proto = 17;
        p.ts_us = (t_ms + 20ull * (uint64_t)i) * 1000u;
        p.payload = rtp;
        p.payload_len = p.payload_caplen = sizeof rtp;
        media_packet(md, f, side, &p);
    }
}

#define PHONE "192.168.60.10"
#define PROV "203.0.113.51"

/* A call from the phone (30000) to the provider (20000) offered at t ms and
 * answered 100 ms later, and its media flow (id) matched: 0. */
static int s_answered(media_t *md, flow_t *f, uint32_t id, uint64_t t_ms)
{
    CHECK(!INVITE(md, PHONE, 30000, NULL, t_ms));
    CHECK(!OK(md, PROV, 20000, NULL, t_ms + 100));
    s_mflow(f, id, PHONE, 30000, PROV, 20000);
    CHECK(media_match(md, f));
    return 0;
}

/* RFC 4961: the phone sends from 30000, receives on 30002: two flows, one
 * way each; the call is two-way. Wideband at 16 kHz: jitter by its clock. */
static int s_asymmetric(void)
{
    seen_t seen = {0};
    media_t *md = media_new(8, 8, s_seen, &seen);
    CHECK(md);
    CHECK(!INVITE(md, PHONE, 30002, "a=rtpmap:96 L16/16000\r\n", 0));
    CHECK(!OK(md, PROV, 20000, "a=rtpmap:96 L16/16000\r\n", 100));
    flow_t out, in;
    s_mflow(&out, 1, PHONE, 30000, PROV, 20000);
    s_mflow(&in, 2, PHONE, 30002, PROV, 20000);
    CHECK(media_match(md, &out));
    CHECK(media_match(md, &in));
    s_send(md, &out, PHONE, true, 96, 320, 150, 200);
    s_send(md, &in, PHONE, false, 96, 320, 150, 200);
    const media_stream_t *ms = media_stream(md, &out);
    CHECK(ms && ms->judgement == MEDIA_OK);
    int phone_side = out.site[0] == 0 ? 0 : 1;
    CHECK_EQ(ms->party[phone_side], 0); /* the caller */
    CHECK(ms->d[phone_side].jitter_ms < 0.5); /* at 8 kHz it would read 20 ms */
    CHECK(!BYE(md, 3300));
    CHECK_EQ(seen.n, 1);
    CHECK_EQ(seen.last.judgement, MEDIA_OK);
    CHECK_EQ(seen.last.pkts[0], 150);
    CHECK_EQ(seen.last.pkts[1], 150);
    CHECK_EQ(seen.last.streams, 2);
    CHECK_EQ(seen.last.site[0], 0);
    CHECK_EQ(seen.last.site[1], -1);
    ms = media_stream(md, &in);
    CHECK(ms && ms->judgement == MEDIA_OK); /* the flows learn it */
    media_release(md, &out);
    media_release(md, &in);
    /* The same with nothing coming in: one-way toward the caller, and the
     * flow that shows it is the outbound one. */
    CHECK(!INVITE(md, PHONE, 30002, NULL, 10000));
    CHECK(!OK(md, PROV, 20000, NULL, 10100));
    s_mflow(&out, 3, PHONE, 30000, PROV, 20000);
    CHECK(media_match(md, &out));
    s_send(md, &out, PHONE, true, 0, 160, 150, 10200);
    CHECK(!BYE(md, 13300));
    CHECK_EQ(seen.n, 2);
    CHECK_EQ(seen.last.judgement, MEDIA_ONE_WAY);
    CHECK_EQ(seen.last.missing, 0);
    CHECK(seen.flow_shown);
    CHECK(seen.last.expected_us[0] >= 3000000u);
    media_release(md, &out);
    media_stats_t st;
    media_stats(md, &st);
    CHECK_EQ(st.one_way, 1);
    CHECK_EQ(st.stream_table.active, 0);
    media_destroy(&md);
    return 0;
}

/* Late offer: the INVITE has no SDP, the 200 OK offers, the ACK answers.
 * The phone's flow is matched by its ACK's SDP alone. */
static int s_late_offer(void)
{
    seen_t seen = {0};
    media_t *md = media_new(8, 8, s_seen, &seen);
    CHECK(md);
    CHECK(!INVITE(md, NULL, 0, NULL, 0));
    CHECK(!OK(md, PROV, 20000, NULL, 100));
    CHECK(!s_msg(md, "ACK sip:b@x SIP/2.0", "ACK", "B", "A", PHONE, 30000, "RTP/AVP 0", NULL, 150));
    flow_t f;
    s_mflow(&f, 1, PHONE, 30000, "198.51.100.9", 40000); /* only the phone's end is known */
    CHECK(media_match(md, &f));
    s_send(md, &f, PHONE, true, 0, 160, 100, 200);
    s_send(md, &f, PHONE, false, 0, 160, 100, 200);
    CHECK(!BYE(md, 2300));
    CHECK_EQ(seen.n, 1);
    CHECK_EQ(seen.last.judgement, MEDIA_OK);
    media_release(md, &f);
    media_destroy(&md);
    return 0;
}

/* Hold: a re-INVITE moves the phone's media to 30010 and sends only; the
 * provider answers recvonly. Nothing comes in while on hold: not one-way. */
static int s_hold(void)
{
    seen_t seen = {0};
    media_t *md = media_new(8, 8, s_seen, &seen);
    CHECK(md);
    CHECK(!INVITE(md, PHONE, 30000, NULL, 0));
    CHECK(!OK(md, PROV, 20000, NULL, 100));
    flow_t a, b;
    s_mflow(&a, 1, PHONE, 30000, PROV, 20000);
    CHECK(media_match(md, &a));
    s_send(md, &a, PHONE, true, 0, 160, 100, 200);
    s_send(md, &a, PHONE, false, 0, 160, 100, 200);
    CHECK(!INVITE(md, PHONE, 30010, "a=sendonly\r\n", 2300));
    CHECK(!OK(md, PROV, 20000, "a=recvonly\r\n", 2350));
    s_mflow(&b, 2, PHONE, 30010, PROV, 20000);
    CHECK(media_match(md, &b));
    s_send(md, &b, PHONE, true, 0, 160, 200, 2400);
    const media_stream_t *ms = media_stream(md, &b);
    CHECK(ms && ms->judgement == MEDIA_OK);
    CHECK(!BYE(md, 6500));
    CHECK_EQ(seen.last.judgement, MEDIA_OK);
    /* Toward the phone: expected only before the hold. */
    CHECK(seen.last.expected_us[0] < 2300000u);
    CHECK(seen.last.expected_us[1] > 6000000u);
    media_release(md, &a);
    media_release(md, &b);
    /* Held from the start (inactive), nothing either way: not checked. */
    CHECK(!INVITE(md, PHONE, 30000, "a=inactive\r\n", 10000));
    CHECK(!OK(md, PROV, 20000, "a=inactive\r\n", 10100));
    s_mflow(&a, 3, PHONE, 30000, PROV, 20000);
    CHECK(media_match(md, &a));
    s_send(md, &a, PHONE, true, 13, 160, 5, 10200); /* comfort noise */
    CHECK(!BYE(md, 20000));
    CHECK_EQ(seen.last.judgement, MEDIA_NOT_CHECKED);
    media_release(md, &a);
    /* One way by agreement (recvonly offer, sendonly answer): media toward
     * the caller only is as negotiated, not one-way. */
    CHECK(!INVITE(md, PHONE, 30000, "a=recvonly\r\n", 30000));
    CHECK(!OK(md, PROV, 20000, "a=sendonly\r\n", 30100));
    s_mflow(&a, 4, PHONE, 30000, PROV, 20000);
    CHECK(media_match(md, &a));
    s_send(md, &a, PHONE, false, 0, 160, 200, 30100);
    CHECK(!BYE(md, 34200));
    CHECK_EQ(seen.last.judgement, MEDIA_OK);
    CHECK_EQ(seen.last.expected_us[1], 0);
    media_release(md, &a);
    media_destroy(&md);
    return 0;
}

/* A re-INVITE to T.38: UDPTL datagrams are media, not RTP. Early media
 * before the answer does not count; a call too short to tell is not
 * checked. */
static int s_fax_early_short(void)
{
    seen_t seen = {0};
    media_t *md = media_new(8, 8, s_seen, &seen);
    CHECK(md);
    CHECK(!INVITE(md, PHONE, 30000, NULL, 0));
    CHECK(!OK(md, PROV, 20000, NULL, 100));
    CHECK(!s_msg(md, "INVITE sip:a@x SIP/2.0", "INVITE", "A", "B", PROV, 20100, "udptl t38", NULL,
            150)); /* from the callee */
    CHECK(!s_msg(md, "SIP/2.0 200 OK", "INVITE", "A", "B", PHONE, 30100, "udptl t38", NULL, 200));
    flow_t f;
    s_mflow(&f, 1, PHONE, 30100, PROV, 20100);
    CHECK(media_match(md, &f));
    uint8_t udptl[20] = {0x00, 0x01, 0x20};
    for (int i = 0; i < 150; i++) {
        packet_t p;
        memset(&p, 0, sizeof p);
        p.proto = 17;
        p.ts_us = (300 + 20ull * (uint64_t)i) * 1000u;
        p.payload = udptl;
        p.payload_len = p.payload_caplen = sizeof udptl;
        int phone_side = f.site[0] == 0 ? 0 : 1;
        media_packet(md, &f, i % 10 ? phone_side : !phone_side, &p);
    }
    CHECK(!BYE(md, 3400));
    CHECK_EQ(seen.last.judgement, MEDIA_OK);
    CHECK_EQ(seen.last.pkts[1], 135);
    CHECK_EQ(seen.last.pkts[0], 15);
    media_release(md, &f);
    /* Early media (183 with SDP, ringback toward the phone), then after the
     * answer nothing comes in: one-way. */
    CHECK(!INVITE(md, PHONE, 30000, NULL, 10000));
    CHECK(!s_msg(md, "SIP/2.0 183 Session Progress", "INVITE", "B", "A", PROV, 20000, "RTP/AVP 0",
            NULL, 10100));
    s_mflow(&f, 2, PHONE, 30000, PROV, 20000);
    CHECK(media_match(md, &f));
    s_send(md, &f, PHONE, false, 0, 160, 100, 10200);
    CHECK(!OK(md, PROV, 20000, NULL, 12300));
    s_send(md, &f, PHONE, true, 0, 160, 150, 12400);
    CHECK(!BYE(md, 15500));
    CHECK_EQ(seen.last.judgement, MEDIA_ONE_WAY);
    CHECK_EQ(seen.last.missing, 0);
    media_release(md, &f);
    /* Answered, 0.5 s of one-way media, hung up: too short to tell. */
    CHECK(!s_answered(md, &f, 3, 20000));
    s_send(md, &f, PHONE, true, 0, 160, 25, 20100);
    CHECK(!BYE(md, 20600));
    CHECK_EQ(seen.last.judgement, MEDIA_NOT_CHECKED);
    media_release(md, &f);
    /* A call still up when the capture ends is judged by media_flush. */
    int before = seen.n;
    CHECK(!s_answered(md, &f, 4, 30000));
    s_send(md, &f, PHONE, false, 0, 160, 200, 30100);
    media_flush(md);
    CHECK_EQ(seen.n, before + 1);
    CHECK_EQ(seen.last.judgement, MEDIA_ONE_WAY);
    CHECK_EQ(seen.last.missing, 1); /* the phone sent nothing out */
    CHECK(media_stream(md, &f)->judgement == MEDIA_ONE_WAY);
    media_release(md, &f);
    media_destroy(&md);
    return 0;
}

/* A phone with fixed RTP ports calls again while the first call's flow
 * is still in the flow table: the flow's stream is the new call's, and the
 * new call is judged (here: one-way). */
static int s_port_reuse(void)
{
    seen_t seen = {0};
    media_t *md = media_new(8, 8, s_seen, &seen);
    CHECK(md);
    flow_t f;
    CHECK(!s_answered(md, &f, 1, 0));
    s_send(md, &f, PHONE, true, 0, 160, 150, 200);
    s_send(md, &f, PHONE, false, 0, 160, 150, 200);
    CHECK(!BYE(md, 3300));
    CHECK_EQ(seen.n, 1);
    CHECK_EQ(seen.last.judgement, MEDIA_OK);
    CHECK(!INVITE(md, PHONE, 30000, NULL, 10000)); /* the next call, same ports */
    CHECK(!OK(md, PROV, 20000, NULL, 10100));
    s_send(md, &f, PHONE, true, 0, 160, 200, 10200);
    CHECK(!BYE(md, 14300));
    CHECK_EQ(seen.n, 2);
    CHECK_EQ(seen.last.judgement, MEDIA_ONE_WAY);
    CHECK_EQ(seen.last.streams, 1);
    CHECK(media_stream(md, &f)->judgement == MEDIA_ONE_WAY);
    media_release(md, &f);
    media_destroy(&md);
    return 0;
}

/* A reload moves the sites (SIGHUP): the call's party at site 1 is at site
 * 0 after it, and its judgement says so. */
static int s_remap(void)
{
    seen_t seen = {0};
    media_t *md = media_new(8, 8, s_seen, &seen);
    CHECK(md);
    CHECK(!INVITE(md, PHONE, 30000, NULL, 0));
    CHECK(!OK(md, PROV, 20000, NULL, 100));
    flow_t f;
    s_mflow(&f, 1, PHONE, 30000, PROV, 20000);
    f.site[f.site[0] == 0 ? 0 : 1] = 1; /* the phone's end at site 1 */
    CHECK(media_match(md, &f));
    int site[2] = {-1, 0};
    rules_remap_t m = {.site = site, .nsites = 2, .to_nsites = 2};
    media_remap_sites(md, &m);
    s_send(md, &f, PHONE, true, 0, 160, 150, 200);
    CHECK(!BYE(md, 3300));
    CHECK_EQ(seen.last.judgement, MEDIA_ONE_WAY);
    CHECK_EQ(seen.last.site[0], 0);
    CHECK_EQ(seen.last.site[1], -1);
    media_release(md, &f);
    media_destroy(&md);
    return 0;
}

int test_media(void)
{
    media_t *md = media_new(8, 8, NULL, NULL);
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
    RUN(s_asymmetric);
    RUN(s_late_offer);
    RUN(s_hold);
    RUN(s_fax_early_short);
    RUN(s_remap);
    RUN(s_port_reuse);
    return 0;
}
