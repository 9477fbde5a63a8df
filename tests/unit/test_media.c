/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media.h"
#include "unit.h"

int test_media(void);

static int s_sip(media_t *md, const char *first_line, const char *ip, unsigned port)
{
    char body[256], msg[1024];
    int bl = snprintf(body, sizeof body, "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                                         "m=audio %u RTP/AVP 0\r\n", ip, ip, port);
    int n = snprintf(msg, sizeof msg, "%s\r\nCall-ID: call-7\r\nCSeq: 1 INVITE\r\n"
                                      "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
            first_line, bl, body);
    sip_msg_t m;
    if (sip_parse((const uint8_t *)msg, (size_t)n, false, &m) != SIP_OK)
        return 1;
    media_sip(md, &m);
    return 0;
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
    return 0;
}
