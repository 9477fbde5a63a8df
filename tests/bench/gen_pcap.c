/* SPDX-License-Identifier: MIT */
/* gen_pcap.c: writes synthetic captures for the benchmarks and a few tests.
 *
 *   gen_pcap mix OUT.pcap SECONDS CALLS   a site's mix, RTP-heavy: CALLS
 *       two-way G.711 calls (50 packets/s each way, real RTP headers), plus
 *       one short TCP 443 flow and one DNS exchange every 10 ms
 *   gen_pcap site OUT.pcap SECONDS CALLS  the same mix as a site would show it
 *       to a live sensor (tests/bench/soak.sh): every phone REGISTERs (again
 *       every 30 s) and sets its call up with INVITE / 200 OK (SDP naming its
 *       RTP ports) / ACK, ends it with BYE; the 443 flows open with a TLS
 *       ClientHello naming dm.soak.example
 *   gen_pcap flows OUT.pcap FLOWS ROUNDS  FLOWS concurrent UDP flows, each
 *       sending ROUNDS packets, interleaved round-robin (flow-table scale)
 *   gen_pcap flood OUT.pcap FLOWS collide|random  FLOWS IPv6 UDP flows of
 *       one packet each to 2001:db8:ffff:ffff::1, 1 us apart, from sources
 *       that all fall into one bucket of the old unkeyed flow hash
 *       (flowflood.h), or from random sources (hash flooding)
 *   gen_pcap lookalike OUT.pcap PACKETS alone|copied  PACKETS distinct UDP
 *       packets, 5 us apart, of one flow 10.0.0.5:40000 -> 198.18.0.9:4000
 *       that share IP id, IP and UDP checksums, lengths and the first 32
 *       payload bytes; "copied": each followed 2 us later by a true copy
 *       with the TTL one lower and the IP checksum fixed, as a mirror port
 *       on the far side of a router gives it (de-duplication test)
 *
 * Addresses: 10.0.0.0/8 (site) and 198.18.0.0/15 (the benchmark range);
 * 2001:db8::/32 for the flood. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowflood.h"

static FILE *s_out;
static uint64_t s_ts_us = 1700000000ull * 1000000u;

static void s_put32(uint8_t *b, uint32_t v)
{
    memcpy(b, &v, 4); /* pcap headers: host order, with the magic to match */
}

/* One pcap record of a whole frame, at the current time. */
static void s_record(const uint8_t *f, uint32_t caplen)
{
    uint8_t hdr[16];
    s_put32(hdr, (uint32_t)(s_ts_us / 1000000u));
    s_put32(hdr + 4, (uint32_t)(s_ts_us % 1000000u));
    s_put32(hdr + 8, caplen);
    s_put32(hdr + 12, caplen);
    fwrite(hdr, 1, 16, s_out);
    fwrite(f, 1, caplen, s_out);
}

static void s_frame(uint32_t src, uint32_t dst, uint8_t proto, uint16_t sp, uint16_t dp,
        uint8_t tcpflags, uint32_t seq, const uint8_t *payload, uint16_t plen)
{
    uint8_t f[1600];
    uint16_t l4 = proto == 6 ? 20 : 8;
    uint16_t iplen = (uint16_t)(20 + l4 + plen);
    memset(f, 0, 14 + 20 + l4);
    f[0] = 0x02; f[6] = 0x02; f[11] = 1; f[12] = 0x08; f[13] = 0x00;
    uint8_t *ip = f + 14;
    ip[0] = 0x45; ip[2] = (uint8_t)(iplen >> 8); ip[3] = (uint8_t)iplen;
    ip[4] = (uint8_t)(seq >> 8); ip[5] = (uint8_t)seq; ip[8] = 64; ip[9] = proto;
    for (int i = 0; i < 4; i++) {
        ip[12 + i] = (uint8_t)(src >> (24 - 8 * i));
        ip[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
    }
    uint8_t *t = ip + 20;
    t[0] = (uint8_t)(sp >> 8); t[1] = (uint8_t)sp; t[2] = (uint8_t)(dp >> 8); t[3] = (uint8_t)dp;
    if (proto == 6) {
        t[4] = (uint8_t)(seq >> 24); t[5] = (uint8_t)(seq >> 16); t[6] = (uint8_t)(seq >> 8);
        t[7] = (uint8_t)seq; t[12] = 0x50; t[13] = tcpflags; t[14] = 0xff;
    } else {
        t[4] = (uint8_t)((8 + plen) >> 8); t[5] = (uint8_t)(8 + plen);
    }
    if (plen)
        memcpy(t + l4, payload, plen);
    s_record(f, 14u + iplen);
}

/* One IPv6 UDP packet (Ethernet, no extension headers). */
static void s_frame6(const uint8_t src[16], const uint8_t dst[16], uint16_t sp, uint16_t dp,
        const uint8_t *payload, uint16_t plen)
{
    uint8_t f[14 + 40 + 8 + 256];
    uint16_t ulen = (uint16_t)(8 + plen);
    memset(f, 0, 14 + 40 + 8);
    f[0] = 0x02; f[6] = 0x02; f[11] = 1; f[12] = 0x86; f[13] = 0xdd;
    uint8_t *ip = f + 14;
    ip[0] = 0x60; ip[4] = (uint8_t)(ulen >> 8); ip[5] = (uint8_t)ulen; ip[6] = 17; ip[7] = 64;
    memcpy(ip + 8, src, 16);
    memcpy(ip + 24, dst, 16);
    uint8_t *u = ip + 40;
    u[0] = (uint8_t)(sp >> 8); u[1] = (uint8_t)sp; u[2] = (uint8_t)(dp >> 8); u[3] = (uint8_t)dp;
    u[4] = (uint8_t)(ulen >> 8); u[5] = (uint8_t)ulen;
    if (plen)
        memcpy(u + 8, payload, plen);
    s_record(f, 14u + 40u + ulen);
}

static void s_rtp(uint32_t a, uint32_t b, uint16_t pa, uint16_t pb, uint16_t seq, uint32_t ssrc)
{
    uint8_t p[172];
    memset(p + 12, 0xd5, 160); /* G.711 A-law silence */
    p[0] = 0x80; p[1] = 8; p[2] = (uint8_t)(seq >> 8); p[3] = (uint8_t)seq;
    uint32_t ts = (uint32_t)seq * 160u;
    p[4] = (uint8_t)(ts >> 24); p[5] = (uint8_t)(ts >> 16); p[6] = (uint8_t)(ts >> 8); p[7] = (uint8_t)ts;
    p[8] = (uint8_t)(ssrc >> 24); p[9] = (uint8_t)(ssrc >> 16); p[10] = (uint8_t)(ssrc >> 8); p[11] = (uint8_t)ssrc;
    s_frame(a, b, 17, pa, pb, 0, seq, p, sizeof p);
}

static void s_ip(char *b, size_t n, uint32_t a)
{
    snprintf(b, n, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255u, (a >> 8) & 255u, a & 255u);
}

/* One SIP message over UDP between a phone (ph:5060) and its proxy (gw:5065).
 * `up`: phone to proxy. A request, or the 200 OK answering it. SDP (an
 * INVITE and its answer) names the sender's RTP port. */
static void s_sip(uint32_t ph, uint32_t gw, bool up, const char *method, int c, uint32_t cseq,
        uint16_t rtp_port)
{
    char a[16], g[16], sdp[256] = "", msg[1400];
    s_ip(a, sizeof a, ph);
    s_ip(g, sizeof g, gw);
    bool req = up;
    if (rtp_port)
        snprintf(sdp, sizeof sdp,
                "v=0\r\no=- %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                "m=audio %u RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n",
                c, up ? a : g, up ? a : g, rtp_port);
    bool reg = strcmp(method, "REGISTER") == 0;
    int n = snprintf(msg, sizeof msg,
            "%s%s%s\r\n"
            "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK-%d-%u%s\r\n"
            "From: <sip:%d@soak.example>;tag=ph%d\r\n"
            "To: <sip:%d@soak.example>%s\r\n"
            "Call-ID: %s%d@soak.example\r\n"
            "CSeq: %u %s\r\n"
            "Contact: <sip:%d@%s:5060>%s\r\n"
            "User-Agent: soak-phone/1\r\n"
            "%s"
            "Content-Length: %zu\r\n\r\n%s",
            req ? method : "SIP/2.0 200 OK", req ? " sip:" : "", req ? (reg ? "soak.example SIP/2.0" : "9999@soak.example SIP/2.0") : "",
            a, c, cseq, req ? ";rport" : ";rport=5060",
            1000 + c, c, reg ? 1000 + c : 9999, req && (reg || strcmp(method, "INVITE") == 0) ? "" : ";tag=gw",
            reg ? "reg" : "call", c, cseq, method, 1000 + c, a, reg ? ";expires=60" : "",
            rtp_port ? "Content-Type: application/sdp\r\n" : "", strlen(sdp), sdp);
    if (up)
        s_frame(ph, gw, 17, 5060, 5065, 0, cseq, (const uint8_t *)msg, (uint16_t)n);
    else
        s_frame(gw, ph, 17, 5065, 5060, 0, cseq, (const uint8_t *)msg, (uint16_t)n);
    s_ts_us += 50;
}

/* A TLS 1.2-style ClientHello naming `host` (enough for nDPI's TLS and SNI). */
static uint16_t s_client_hello(uint8_t *b, const char *host)
{
    uint16_t hl = (uint16_t)strlen(host);
    uint16_t ext = (uint16_t)(9 + hl);              /* server_name extension */
    uint16_t body = (uint16_t)(2 + 32 + 1 + 4 + 2 + 2 + ext);
    uint8_t *p = b;
    *p++ = 0x16; *p++ = 3; *p++ = 1;                /* record: handshake */
    *p++ = (uint8_t)((body + 4) >> 8); *p++ = (uint8_t)(body + 4);
    *p++ = 1; *p++ = 0; *p++ = (uint8_t)(body >> 8); *p++ = (uint8_t)body;
    *p++ = 3; *p++ = 3;
    for (int i = 0; i < 32; i++)
        *p++ = (uint8_t)(i * 13 + 1);               /* random */
    *p++ = 0;                                       /* session id */
    *p++ = 0; *p++ = 2; *p++ = 0xc0; *p++ = 0x2f;   /* one cipher suite */
    *p++ = 1; *p++ = 0;                             /* null compression */
    *p++ = (uint8_t)(ext >> 8); *p++ = (uint8_t)ext; /* extensions length */
    *p++ = 0; *p++ = 0;                             /* server_name */
    *p++ = (uint8_t)((hl + 5) >> 8); *p++ = (uint8_t)(hl + 5);
    *p++ = (uint8_t)((hl + 3) >> 8); *p++ = (uint8_t)(hl + 3);
    *p++ = 0; *p++ = (uint8_t)(hl >> 8); *p++ = (uint8_t)hl;
    memcpy(p, host, hl);
    return (uint16_t)(p + hl - b);
}

static void s_mix(int seconds, int calls, bool site_view)
{
    uint8_t data[600], hello[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    uint16_t hello_len = s_client_hello(hello, "dm.soak.example");
    uint8_t answer[600]; /* the server's first flight: a handshake record */
    memcpy(answer, data, sizeof answer);
    answer[0] = 0x16; answer[1] = 3; answer[2] = 3;
    answer[3] = (sizeof answer - 5) >> 8; answer[4] = (sizeof answer - 5) & 255; answer[5] = 2;
    uint32_t site = 0x0a000000, cloud = 0xc6120000;
    for (int tick = 0; tick < seconds * 50; tick++) { /* 20 ms ticks */
        for (int c = 0; site_view && c < calls; c++) {
            uint32_t ph = site + 0x100 + (uint32_t)c, gw = cloud + 0x10 + (uint32_t)(c % 8);
            uint32_t n = (uint32_t)(tick / 1500);  /* REGISTER every 30 s */
            if (tick % 1500 == c % 1500) {
                s_sip(ph, gw, true, "REGISTER", c, 1 + n, 0);
                s_sip(ph, gw, false, "REGISTER", c, 1 + n, 0);
            }
            if (tick == 0) {
                s_sip(ph, gw, true, "INVITE", c, 1, (uint16_t)(16384 + 2 * c));
                s_sip(ph, gw, false, "INVITE", c, 1, (uint16_t)(20000 + 2 * c));
                s_sip(ph, gw, true, "ACK", c, 1, 0);
            }
            if (tick == seconds * 50 - 1) {
                s_sip(ph, gw, true, "BYE", c, 2, 0);
                s_sip(ph, gw, false, "BYE", c, 2, 0);
            }
        }
        for (int c = 0; c < calls; c++) {
            uint32_t ph = site + 0x100 + (uint32_t)c, gw = cloud + 0x10 + (uint32_t)(c % 8);
            uint16_t pp = (uint16_t)(16384 + 2 * c), gp = (uint16_t)(20000 + 2 * c);
            s_rtp(ph, gw, pp, gp, (uint16_t)tick, 0x1000u + (uint32_t)c);
            s_ts_us += 20000u / (2u * (uint32_t)calls + 4);
            s_rtp(gw, ph, gp, pp, (uint16_t)tick, 0x2000u + (uint32_t)c);
            s_ts_us += 20000u / (2u * (uint32_t)calls + 4);
        }
        for (int k = 0; k < 2; k++) { /* a short HTTPS-like flow and a DNS exchange */
            uint32_t cl = site + 0x200 + (uint32_t)(tick % 200);
            uint32_t sv = cloud + 0x100 + (uint32_t)(tick % 50);
            uint16_t sp = (uint16_t)(30000 + (tick * 2 + k) % 30000);
            s_frame(cl, sv, 6, sp, 443, 0x02, 1, NULL, 0);
            s_frame(sv, cl, 6, 443, sp, 0x12, 9, NULL, 0);
            if (site_view)
                s_frame(cl, sv, 6, sp, 443, 0x18, 2, hello, hello_len);
            else
                s_frame(cl, sv, 6, sp, 443, 0x18, 2, data, 300);
            s_frame(sv, cl, 6, 443, sp, 0x18, 10, site_view ? answer : data, 600);
            s_frame(cl, sv, 6, sp, 443, 0x11, 302, NULL, 0);
            s_frame(sv, cl, 6, 443, sp, 0x11, 610, NULL, 0);
            s_frame(cl, site + 1, 17, sp, 53, 0, (uint32_t)tick, data, 40);
            s_frame(site + 1, cl, 17, 53, sp, 0, (uint32_t)tick, data, 80);
            s_ts_us += 1000;
        }
    }
}

static void s_flows(long flows, int rounds)
{
    uint8_t p[64];
    memset(p, 0x5a, sizeof p);
    for (int r = 0; r < rounds; r++) {
        for (long i = 0; i < flows; i++) {
            uint32_t cl = 0x0a000000u + (uint32_t)(i / 50000);
            uint16_t sp = (uint16_t)(10000 + i % 50000);
            p[0] = (uint8_t)r;
            if (r % 2 == 0)
                s_frame(cl, 0xc6120001u, 17, sp, 4000, 0, (uint32_t)r, p, sizeof p);
            else
                s_frame(0xc6120001u, cl, 17, 4000, sp, 0, (uint32_t)r, p, sizeof p);
            s_ts_us += 1;
        }
    }
}

/* One's-complement sum of big-endian words (RFC 1071), not yet folded. */
static uint32_t s_sum16(const uint8_t *b, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (n & 1)
        sum += (uint32_t)b[n - 1] << 8;
    return sum;
}

static uint16_t s_csum(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void s_put16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}

/* Distinct packets that look alike: payload words 16 and 17 (bytes 32-35)
 * are i and 0xffff - i, whose one's-complement sum is 0xffff for every i, so
 * the UDP checksum stays the same while the bytes differ; the IP header is
 * the same in every packet, and so its checksum. */
static void s_lookalike(long packets, bool copied)
{
    uint8_t f[14 + 20 + 8 + 200];
    uint8_t *ip = f + 14, *u = ip + 20, *pl = u + 8;
    memset(f, 0, sizeof f);
    f[0] = 0x02; f[6] = 0x02; f[11] = 1; f[12] = 0x08; f[13] = 0x00;
    /* IPv4: version 4, 20 bytes, total 228, id 0x1234, DF, TTL 64, UDP */
    static const uint8_t iph[20] = {0x45, 0, 0, 228, 0x12, 0x34, 0x40, 0, 64, 17, 0, 0,
            10, 0, 0, 5, 198, 18, 0, 9};
    memcpy(ip, iph, sizeof iph);
    s_put16(ip + 10, s_csum(s_sum16(ip, 20, 0)));
    s_put16(u, 40000);
    s_put16(u + 2, 4000);
    s_put16(u + 4, 208);
    for (int i = 0; i < 200; i++)
        pl[i] = (uint8_t)(0x41 + i % 26); /* the same 32 first bytes, and the rest */
    for (long i = 0; i < packets; i++) {
        s_put16(pl + 32, (uint16_t)i);
        s_put16(pl + 34, (uint16_t)(0xffff - (uint16_t)i));
        /* UDP checksum: pseudo-header (addresses, protocol, length) + UDP */
        s_put16(u + 6, 0);
        uint32_t sum = s_sum16(ip + 12, 8, 17u + 208u);
        s_put16(u + 6, s_csum(s_sum16(u, 208, sum)));
        s_record(f, sizeof f);
        if (copied) {
            s_ts_us += 2;
            ip[8] = 63;
            s_put16(ip + 10, 0);
            s_put16(ip + 10, s_csum(s_sum16(ip, 20, 0)));
            s_record(f, sizeof f);
            ip[8] = 64;
            s_put16(ip + 10, 0);
            s_put16(ip + 10, s_csum(s_sum16(ip, 20, 0)));
            s_ts_us += 3;
        } else {
            s_ts_us += 5;
        }
    }
}

/* splitmix64: a fixed sequence of random words (reproducible runs). */
static uint64_t s_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Same packets, same ports and destination either way: only the sources
 * differ, colliding (flowflood.h) or random within 2001:db8::/32. */
static void s_flood(long flows, bool collide)
{
    static const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
            0, 0, 0, 1};
    uint8_t src[16], p[32];
    uint64_t rnd = 42;
    memset(p, 0x5a, sizeof p);
    for (long i = 0; i < flows; i++) {
        if (collide) {
            flood_addr((uint32_t)i, src);
        } else {
            uint64_t w[2] = {s_rand(&rnd), s_rand(&rnd)};
            memcpy(src, w, 16);
            memcpy(src, dst, 4); /* 2001:db8: and below dst's ffff:ffff */
            src[4] &= 0x7f;
        }
        s_frame6(src, dst, 40000, 4000, p, sizeof p);
        s_ts_us += 1;
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: gen_pcap mix|site OUT SECONDS CALLS | flows OUT FLOWS ROUNDS"
                        " | flood OUT FLOWS collide|random | lookalike OUT PACKETS alone|copied\n");
        return 2;
    }
    s_out = fopen(argv[2], "wb");
    if (!s_out)
        return 1;
    uint8_t gh[24] = {0};
    s_put32(gh, 0xa1b2c3d4);
    gh[4] = 2; gh[6] = 4;
    s_put32(gh + 16, 65535);
    s_put32(gh + 20, 1);
    fwrite(gh, 1, 24, s_out);
    if (strcmp(argv[1], "mix") == 0 || strcmp(argv[1], "site") == 0)
        s_mix(atoi(argv[3]), atoi(argv[4]), strcmp(argv[1], "site") == 0);
    else if (strcmp(argv[1], "lookalike") == 0)
        s_lookalike(atol(argv[3]), strcmp(argv[4], "copied") == 0);
    else if (strcmp(argv[1], "flood") == 0)
        s_flood(atol(argv[3]), strcmp(argv[4], "collide") == 0);
    else
        s_flows(atol(argv[3]), atoi(argv[4]));
    return fclose(s_out) != 0;
}
