/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip.h"
#include "unit.h"

int test_sip(void);

#define EQ(slice, s) CHECK(sip_str_eq((slice), (s)))

/* A REGISTER in compact form, two Via entries in one header and a third in
 * its own, an IPv6 sent-by, LF-only line ends on one line. */
static const char s_register[] =
        "REGISTER sip:lab.example SIP/2.0\r\n"
        "v: SIP/2.0/UDP 192.168.50.10:5060;branch=z9hG4bK-1;rport, SIP/2.0/TCP [2001:db8::5]:5070;branch=z9hG4bK-2\r\n"
        "Via: SIP/2.0/UDP proxy.lab.example;received=203.0.113.1;rport=40001;branch=z9hG4bK-3\n"
        "f: \"Phone 100\" <sip:100@lab.example;user=phone>;tag=abc\r\n"
        "t: <sip:100@lab.example>\r\n"
        "i: reg-1@192.168.50.10\r\n"
        "CSeq: 7 REGISTER\r\n"
        "m: <sip:100@192.168.50.10:5060;transport=udp>;expires=120;+sip.instance=\"<urn:uuid:1234>\"\r\n"
        "Expires: 3600\r\n"
        "User-Agent: lab-phone/1.0\r\n"
        "l: 0\r\n"
        "\r\n";

static const char s_invite[] =
        "INVITE sip:200@lab.example SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.168.50.10:5060;branch=z9hG4bK-9\r\n"
        "From: <sip:100@lab.example>;tag=1\r\n"
        "To: <sip:200@lab.example>\r\n"
        "Call-ID: call-1\r\n"
        "CSeq: 1 INVITE\r\n"
        "Content-Type: application/sdp\r\n"
        "Content-Length: 145\r\n"
        "\r\n"
        "v=0\r\n"
        "o=- 1 1 IN IP4 192.168.50.10\r\n"
        "s=-\r\n"
        "c=IN IP4 192.168.50.10\r\n"
        "t=0 0\r\n"
        "m=audio 16384 RTP/AVP 8 0\r\n"
        "a=sendrecv\r\n"
        "m=image 16390 udptl t38\r\n"
        "a=rtcp:9\r\n";

static int s_register_parse(void)
{
    sip_msg_t m;
    CHECK_EQ(sip_parse((const uint8_t *)s_register, strlen(s_register), false, &m), SIP_OK);
    CHECK(m.is_request);
    EQ(m.method, "REGISTER");
    EQ(m.uri, "sip:lab.example");
    CHECK_EQ(m.nvia, 3);
    EQ(m.via[0].transport, "UDP");
    EQ(m.via[0].host, "192.168.50.10");
    CHECK_EQ(m.via[0].port, 5060);
    CHECK(m.via[0].rport && m.via[0].rport_value == 0);
    EQ(m.via[0].branch, "z9hG4bK-1");
    EQ(m.via[1].transport, "TCP");
    EQ(m.via[1].host, "2001:db8::5");
    CHECK_EQ(m.via[1].port, 5070);
    CHECK(!m.via[1].rport);
    EQ(m.via[2].received, "203.0.113.1");
    CHECK_EQ(m.via[2].rport_value, 40001);
    CHECK_EQ(m.via[2].port, 0);
    EQ(m.from_uri, "sip:100@lab.example");
    EQ(m.from_tag, "abc");
    EQ(m.to_uri, "sip:100@lab.example");
    CHECK_EQ(m.to_tag.len, 0);
    EQ(m.call_id, "reg-1@192.168.50.10");
    CHECK_EQ(m.cseq, 7);
    EQ(m.cseq_method, "REGISTER");
    EQ(m.contact_uri, "sip:100@192.168.50.10:5060;transport=udp");
    CHECK_EQ(m.contact_expires, 120);
    EQ(m.instance, "<urn:uuid:1234>");
    CHECK_EQ(m.expires, 3600);
    EQ(m.user_agent, "lab-phone/1.0");
    CHECK_EQ(m.body_len, 0);
    CHECK_EQ(m.msg_len, strlen(s_register));
    return 0;
}

static int s_response_and_sdp(void)
{
    static const char ok[] = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.168.50.10:5060;rport=40001;"
                             "received=203.0.113.1;branch=z9hG4bK-1\r\nCSeq: 7 REGISTER\r\n"
                             "Call-ID: reg-1@192.168.50.10\r\nContent-Length: 0\r\n\r\n";
    sip_msg_t m;
    CHECK_EQ(sip_parse((const uint8_t *)ok, strlen(ok), false, &m), SIP_OK);
    CHECK(!m.is_request);
    CHECK_EQ(m.status, 200);
    EQ(m.method, "REGISTER");
    CHECK_EQ(m.via[0].rport_value, 40001);
    EQ(m.via[0].received, "203.0.113.1");

    CHECK_EQ(sip_parse((const uint8_t *)s_invite, strlen(s_invite), false, &m), SIP_OK);
    CHECK_EQ(m.body_len, 145);
    sdp_t sdp;
    CHECK_EQ(sdp_parse(m.body, m.body_len, &sdp), 0);
    CHECK_EQ(sdp.nm, 2);
    EQ(sdp.m[0].media, "audio");
    CHECK_EQ(sdp.m[0].port, 16384);
    CHECK_EQ(sdp.m[0].rtcp_port, 16385);
    CHECK(sdp.m[0].has_addr);
    char buf[64];
    CHECK(strcmp(ip_to_str(&sdp.m[0].addr, buf, sizeof buf), "192.168.50.10") == 0);
    EQ(sdp.m[1].proto, "udptl");
    CHECK_EQ(sdp.m[1].rtcp_port, 9);
    CHECK_EQ(sdp_parse((const uint8_t *)"hello", 5, &sdp), -1);
    return 0;
}

static int s_stream(void)
{
    /* Two messages in one segment, then one across two segments. */
    size_t a = strlen(s_register), b = strlen(s_invite);
    char *buf = malloc(a + b);
    memcpy(buf, s_register, a);
    memcpy(buf + a, s_invite, b);
    sip_msg_t m;
    CHECK_EQ(sip_parse((const uint8_t *)buf, a + b, true, &m), SIP_OK);
    CHECK_EQ(m.msg_len, a);
    CHECK_EQ(sip_parse((const uint8_t *)buf + a, b, true, &m), SIP_OK);
    CHECK_EQ(m.msg_len, b);
    EQ(m.method, "INVITE");
    for (size_t cut = 0; cut < b; cut++)
        CHECK_EQ(sip_parse((const uint8_t *)buf + a, cut, true, &m), SIP_INCOMPLETE);
    free(buf);
    /* UDP: a Content-Length beyond the datagram is invalid (cut). */
    CHECK_EQ(sip_parse((const uint8_t *)s_invite, b - 10, false, &m), SIP_INVALID);
    /* A Content-Length that is not a number is invalid on UDP and TCP alike,
     * not read as if the header were absent. */
    static const char badcl[] = "BYE sip:x SIP/2.0\r\nCSeq: 2 BYE\r\nContent-Length: 1x\r\n\r\n";
    CHECK_EQ(sip_parse((const uint8_t *)badcl, strlen(badcl), false, &m), SIP_INVALID);
    CHECK_EQ(sip_parse((const uint8_t *)badcl, strlen(badcl), true, &m), SIP_INVALID);
    return 0;
}

static int s_hostile(void)
{
    sip_msg_t m;
    /* Every cut of every message, in a buffer of exactly that size. */
    const char *msgs[] = {s_register, s_invite};
    for (int k = 0; k < 2; k++) {
        size_t n = strlen(msgs[k]);
        for (size_t cut = 0; cut <= n; cut++) {
            uint8_t *b = malloc(cut ? cut : 1);
            memcpy(b, msgs[k], cut);
            sip_rc_t rc = sip_parse(b, cut, k == 1, &m);
            if (rc == SIP_OK)
                CHECK(m.msg_len <= cut);
            sdp_t sdp;
            sdp_parse(b, cut, &sdp);
            free(b);
        }
    }
    CHECK_EQ(sip_parse((const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, false, &m), SIP_NOT_SIP);
    CHECK_EQ(sip_parse((const uint8_t *)"SIP/2.0 99 X\r\n\r\n", 16, false, &m), SIP_INVALID);
    /* 200 Via headers: at most SIP_MAX_VIA kept, the rest counted; more
     * headers than SIP_MAX_HEADERS: refused. */
    char big[16384];
    size_t off = (size_t)snprintf(big, sizeof big, "OPTIONS sip:x SIP/2.0\r\n");
    for (int i = 0; i < 100; i++)
        off += (size_t)snprintf(big + off, sizeof big - off, "Via: SIP/2.0/UDP h%d, SIP/2.0/UDP g%d\r\n", i, i);
    off += (size_t)snprintf(big + off, sizeof big - off, "\r\n");
    CHECK_EQ(sip_parse((const uint8_t *)big, off, false, &m), SIP_OK);
    CHECK_EQ(m.nvia, SIP_MAX_VIA);
    CHECK_EQ(m.via_dropped, 200 - SIP_MAX_VIA);
    off = (size_t)snprintf(big, sizeof big, "OPTIONS sip:x SIP/2.0\r\n");
    for (int i = 0; i < SIP_MAX_HEADERS + 1; i++)
        off += (size_t)snprintf(big + off, sizeof big - off, "X-%d: y\r\n", i);
    off += (size_t)snprintf(big + off, sizeof big - off, "\r\n");
    CHECK_EQ(sip_parse((const uint8_t *)big, off, false, &m), SIP_INVALID);
    return 0;
}

int test_sip(void)
{
    RUN(s_register_parse);
    RUN(s_response_and_sdp);
    RUN(s_stream);
    RUN(s_hostile);
    return 0;
}
