/* SPDX-License-Identifier: MIT */
/* gen_state.c: writes captures that fill the sensor's state tables
 * (tests/integration/state_tables.py).
 *
 *   gen_state callids OUT.pcap N   N REGISTERs, each with a new Call-ID,
 *       from 1,000 phones seen outside their NAT (public source != Via),
 *       1 ms apart: the Call-ID and mapping tables fill, the bindings not
 *   gen_state phones OUT.pcap N    N phones registering (Expires: 60),
 *       three rounds 60 s apart, then 10 minutes of quiet and one last
 *       packet: the binding table fills, then everything expires
 *   gen_state calls OUT.pcap N     N successive calls, 10 ms apart: INVITE
 *       with SDP, 200 OK with SDP, ACK, three RTP packets each way, BYE,
 *       200 OK. Phones (100) reuse their RTP ports every 500 calls; the
 *       gateway's port is 20000 + 2 x (call % 20000).
 *
 * Call i has Call-ID "call-<i>@gen"; its RTP flow is phone 10.1.0.<i % 100>
 * : 10000 + 2 x (i % 500) <-> 198.51.100.9 : 20000 + 2 x (i % 20000).
 * Ethernet, IPv4, UDP; timestamps from 2023-11-14 22:13:20 UTC. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROXY 0xcb00710au   /* 203.0.113.10: registrar and proxy */
#define GATEWAY 0xc6336409u /* 198.51.100.9: media gateway */

static FILE *s_out;
static uint64_t s_now_us = 1700000000ull * 1000000u;

/* Appends v as n big-endian bytes at *p. */
static uint8_t *s_be(uint8_t *p, uint32_t v, int n)
{
    for (int i = n - 1; i >= 0; i--)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

/* One Ethernet/IPv4/UDP frame at the current time (pcap records are in
 * host order, like the magic number written first). */
static void s_udp(uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp, const void *data,
        size_t n)
{
    uint8_t f[2048];
    if (n > sizeof f - 42)
        n = sizeof f - 42;
    memset(f, 0, 42);
    f[0] = 0x02; /* locally administered MACs */
    f[6] = 0x02;
    f[12] = 0x08; /* IPv4 */
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    s_be(ip + 2, (uint32_t)(28 + n), 2);
    ip[8] = 64;
    ip[9] = 17;
    s_be(ip + 12, src, 4);
    s_be(ip + 16, dst, 4);
    uint8_t *u = s_be(ip + 20, sp, 2);
    u = s_be(u, dp, 2);
    s_be(u, (uint32_t)(8 + n), 2);
    memcpy(f + 42, data, n);
    uint32_t rec[4] = {(uint32_t)(s_now_us / 1000000u), (uint32_t)(s_now_us % 1000000u),
            (uint32_t)(42 + n), (uint32_t)(42 + n)};
    fwrite(rec, sizeof rec, 1, s_out);
    fwrite(f, 1, 42 + n, s_out);
}

static void s_sip(uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

static void s_sip(uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp, const char *fmt, ...)
{
    char msg[1500];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n > 0)
        s_udp(src, sp, dst, dp, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
}

static void s_ip(uint32_t a, char *buf, size_t n)
{
    snprintf(buf, n, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/* A REGISTER of phone `ph` (private 10.<ph / 65536>.<..>.<..>:5060, seen
 * from pub:pport) with call_id and cseq. */
static void s_register(uint32_t ph, uint32_t pub, uint16_t pport, const char *call_id,
        unsigned cseq)
{
    char priv[16];
    s_ip(0x0a000000u + ph + 1, priv, sizeof priv);
    s_sip(pub, pport, PROXY, 5060,
            "REGISTER sip:gen.example SIP/2.0\r\n"
            "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK-%s-%u;rport\r\n"
            "From: <sip:u%u@gen.example>;tag=%u\r\nTo: <sip:u%u@gen.example>\r\n"
            "Call-ID: %s\r\nCSeq: %u REGISTER\r\nContact: <sip:u%u@%s:5060>\r\n"
            "Expires: 60\r\nContent-Length: 0\r\n\r\n",
            priv, call_id, cseq, ph, ph, ph, call_id, cseq, ph, priv);
}

static void s_callids(uint32_t n)
{
    char cid[48];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t ph = i % 1000;
        snprintf(cid, sizeof cid, "reg-%u@gen", i);
        s_register(ph, 0xc6336400u + ph % 200, (uint16_t)(30000 + ph), cid, 1);
        s_now_us += 1000;
    }
}

static void s_phones(uint32_t n)
{
    char cid[48];
    uint64_t step = 60000000u / (n ? n : 1);
    for (unsigned round = 1; round <= 3; round++) {
        uint64_t start = s_now_us;
        for (uint32_t ph = 0; ph < n; ph++) {
            snprintf(cid, sizeof cid, "ph-%u@gen", ph);
            s_register(ph, 0xc6330000u + ph / 50000, (uint16_t)(10000 + ph % 50000), cid, round);
            s_now_us += step;
        }
        s_now_us = start + 60000000u;
    }
    s_now_us += 600000000u; /* quiet: every registration lapses */
    s_register(0, 0xc6330000u, 10000, "ph-0@gen", 4);
}

/* The SDP of one side of a call. */
static void s_sdp(char *buf, size_t n, uint32_t ip, uint16_t port)
{
    char a[16];
    s_ip(ip, a, sizeof a);
    snprintf(buf, n, "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                            "m=audio %u RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n",
            a, a, port);
}

static void s_rtp(uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp, uint16_t seq,
        uint32_t ssrc)
{
    uint8_t p[12 + 160];
    memset(p + 12, 0xd5, 160); /* G.711 A-law silence */
    p[0] = 0x80;
    p[1] = 8;
    s_be(p + 2, seq, 2);
    s_be(p + 4, (uint32_t)seq * 160u, 4);
    s_be(p + 8, ssrc, 4);
    s_udp(src, sp, dst, dp, p, sizeof p);
}

/* One SIP message of call i between the phone (me) and the proxy: the
 * start line, the Via branch "z9hG4bK-<b><i>", the CSeq, and an SDP body
 * when sdp is not NULL. */
static void s_call_msg(uint32_t i, uint32_t ph, bool to_proxy, const char *start, char b,
        const char *cseq, const char *sdp)
{
    char me[16];
    s_ip(ph, me, sizeof me);
    s_sip(to_proxy ? ph : PROXY, 5060, to_proxy ? PROXY : ph, 5060,
            "%s\r\nVia: SIP/2.0/UDP %s:5060;branch=z9hG4bK-%c%u\r\n"
            "From: <sip:p%u@gen.example>;tag=f%u\r\nTo: <sip:900@gen.example>%s\r\n"
            "Call-ID: call-%u@gen\r\nCSeq: %s\r\nContact: <sip:p@%s:5060>\r\n"
            "%sContent-Length: %zu\r\n\r\n%s",
            start, me, b, i, i % 100, i, strcmp(start, "INVITE sip:900@gen.example SIP/2.0") ? ";tag=t" : "",
            i, cseq, me, sdp ? "Content-Type: application/sdp\r\n" : "", sdp ? strlen(sdp) : 0,
            sdp ? sdp : "");
}

/* One call: SIP between the phone and the proxy, RTP between the phone
 * and the gateway. */
static void s_call(uint32_t i)
{
    uint32_t ph = 0x0a010000u + i % 100;
    uint16_t pp = (uint16_t)(10000 + 2 * (i % 500)), gp = (uint16_t)(20000 + 2 * (i % 20000));
    const char *invite = "INVITE sip:900@gen.example SIP/2.0";
    char sdp[256];
    s_sdp(sdp, sizeof sdp, ph, pp);
    s_call_msg(i, ph, true, invite, 'i', "1 INVITE", sdp);
    s_now_us += 500;
    s_sdp(sdp, sizeof sdp, GATEWAY, gp);
    s_call_msg(i, ph, false, "SIP/2.0 200 OK", 'i', "1 INVITE", sdp);
    s_now_us += 500;
    s_call_msg(i, ph, true, "ACK sip:900@gen.example SIP/2.0", 'a', "1 ACK", NULL);
    for (uint16_t k = 0; k < 3; k++) {
        s_now_us += 1000;
        s_rtp(ph, pp, GATEWAY, gp, k, i);
        s_rtp(GATEWAY, gp, ph, pp, k, ~i);
    }
    s_now_us += 1000;
    s_call_msg(i, ph, true, "BYE sip:900@gen.example SIP/2.0", 'b', "2 BYE", NULL);
    s_now_us += 500;
    s_call_msg(i, ph, false, "SIP/2.0 200 OK", 'b', "2 BYE", NULL);
    s_now_us += 5500; /* 10 ms a call */
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s callids|phones|calls OUT.pcap N\n", argv[0]);
        return 2;
    }
    uint32_t n = (uint32_t)strtoul(argv[3], NULL, 10);
    s_out = fopen(argv[2], "wb");
    if (!s_out) {
        perror(argv[2]);
        return 2;
    }
    uint32_t gh[6] = {0xa1b2c3d4u, 0x00040002u, 0, 0, 65535, 1}; /* pcap 2.4, Ethernet */
    fwrite(gh, sizeof gh, 1, s_out);
    if (strcmp(argv[1], "callids") == 0) {
        s_callids(n);
    } else if (strcmp(argv[1], "phones") == 0) {
        s_phones(n);
    } else if (strcmp(argv[1], "calls") == 0) {
        for (uint32_t i = 0; i < n; i++)
            s_call(i);
    } else {
        fprintf(stderr, "%s: unknown case '%s'\n", argv[0], argv[1]);
        return 2;
    }
    return fclose(s_out) == 0 ? 0 : 1;
}
