/* SPDX-License-Identifier: MIT */
/* SIP over WebSocket (RFC 7118): frames read through sipstream as the
 * sensor reads them, one TCP segment at a time. */
#include <stdlib.h>
#include <string.h>

#include "sipstream.h"
#include "unit.h"
#include "websocket.h"

int test_websocket(void);

typedef struct {
    int n;
    char methods[8][16];
    int sides[8];
} got_t;

static void s_on_msg(const sip_msg_t *m, flow_t *f, int side, const packet_t *p, void *ctx)
{
    (void)f;
    (void)p;
    got_t *g = ctx;
    if (g->n < 8) {
        sip_str_copy(m->method, g->methods[g->n], sizeof g->methods[0]);
        g->sides[g->n] = side;
    }
    g->n++;
}

static void s_seg(sipstream_t *s, flow_t *f, int side, uint32_t *seq, const uint8_t *data, size_t len)
{
    packet_t p;
    memset(&p, 0, sizeof p);
    p.proto = 6;
    p.seq = *seq;
    p.payload = data;
    p.payload_len = p.payload_caplen = (uint32_t)len;
    sipstream_segment(s, f, side, &p);
    *seq += (uint32_t)len;
}

/* One frame: FIN bit, opcode, 7-, 16- or 64-bit length (lenbits 7/16/64),
 * masked with key if given. Returns its size. */
static size_t s_frame(uint8_t *out, bool fin, uint8_t op, const uint8_t *key, const char *pl, size_t n,
        int lenbits)
{
    size_t o = 0;
    out[o++] = (uint8_t)((fin ? 0x80 : 0) | op);
    uint8_t m = key ? 0x80 : 0;
    if (lenbits == 7) {
        out[o++] = (uint8_t)(m | n);
    } else if (lenbits == 16) {
        out[o++] = m | 126;
        out[o++] = (uint8_t)(n >> 8);
        out[o++] = (uint8_t)n;
    } else {
        out[o++] = m | 127;
        for (int i = 7; i >= 0; i--)
            out[o++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    if (key) {
        memcpy(out + o, key, 4);
        o += 4;
    }
    for (size_t i = 0; i < n; i++)
        out[o + i] = (uint8_t)pl[i] ^ (key ? key[i & 3] : 0);
    return o + n;
}

/* A flow not followed yet. */
static void s_flow(flow_t *f, uint64_t id)
{
    memset(f, 0, sizeof *f);
    f->sipstream = FLOW_NONE;
    f->id = id;
}

static const char s_upgrade[] = "GET /ws HTTP/1.1\r\nHost: sip.example.com\r\nUpgrade: websocket\r\n"
                                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Sec-WebSocket-Protocol: sip\r\nSec-WebSocket-Version: 13\r\n\r\n";
static const char s_101[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\nSec-WebSocket-Protocol: sip\r\n\r\n";
static const char s_reg[] = "REGISTER sip:example.com SIP/2.0\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";
static const char s_opt[] = "OPTIONS sip:x SIP/2.0\r\nCSeq: 2 OPTIONS\r\n\r\n"; /* no Content-Length: allowed */

static int s_upgrade_check(void)
{
    CHECK(ws_is_sip_upgrade((const uint8_t *)s_upgrade, strlen(s_upgrade)));
    static const char other[] = "GET /chat HTTP/1.1\r\nUpgrade: websocket\r\n"
                                "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    CHECK(!ws_is_sip_upgrade((const uint8_t *)other, strlen(other)));
    static const char list[] = "GET / HTTP/1.1\r\nupgrade: WebSocket\r\n"
                               "sec-websocket-protocol: chat, SIP\r\n\r\n";
    CHECK(ws_is_sip_upgrade((const uint8_t *)list, strlen(list)));
    CHECK(!ws_is_sip_upgrade((const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18));
    return 0;
}

int test_websocket(void)
{
    if (s_upgrade_check())
        return 1;
    got_t got = {0};
    sipstream_t *s = sipstream_new(2, s_on_msg, &got);
    CHECK(s);
    flow_t f;
    s_flow(&f, 1);
    uint32_t cs = 1000, ss = 5000; /* client (side 0) and server (side 1) */
    s_seg(s, &f, 0, &cs, (const uint8_t *)s_upgrade, strlen(s_upgrade));
    CHECK(f.sipstream != FLOW_NONE);
    s_seg(s, &f, 1, &ss, (const uint8_t *)s_101, strlen(s_101));
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    uint8_t fr[1024];
    size_t reg = strlen(s_reg), opt = strlen(s_opt);

    /* A masked client text frame, 7-bit length, in one segment:
     * 0x81 (FIN, text) 0x80|len (MASK) 37 fa 21 3d (key) payload^key. */
    size_t n = s_frame(fr, true, 1, key, s_reg, reg, 7);
    CHECK_EQ(fr[0], 0x81);
    CHECK_EQ(fr[1], 0x80 | reg);
    s_seg(s, &f, 0, &cs, fr, n);
    CHECK_EQ(got.n, 1);
    CHECK(strcmp(got.methods[0], "REGISTER") == 0);

    /* Server, unmasked, a 16-bit length (0x7e, then 2 bytes) for a short
     * message, split over three segments: inside the length, and inside
     * the payload. */
    n = s_frame(fr, true, 1, NULL, s_opt, opt, 16);
    CHECK_EQ(fr[1], 126);
    s_seg(s, &f, 1, &ss, fr, 3);
    s_seg(s, &f, 1, &ss, fr + 3, 10);
    CHECK_EQ(got.n, 1);
    s_seg(s, &f, 1, &ss, fr + 13, n - 13);
    CHECK_EQ(got.n, 2);
    CHECK_EQ(got.sides[1], 1);

    /* A binary frame with a 64-bit length (0x7f, then 8 bytes). */
    n = s_frame(fr, true, 2, NULL, s_reg, reg, 64);
    CHECK_EQ(fr[1], 127);
    s_seg(s, &f, 1, &ss, fr, n);
    CHECK_EQ(got.n, 3);

    /* A message in two fragments (text FIN=0, then continuation FIN=1)
     * with a ping between them (control frames may come between
     * fragments, RFC 6455 5.4): 89 82 01 02 03 04 'h'^01 'i'^02. The four
     * frames go in one segment. */
    static const uint8_t ping[] = {0x89, 0x82, 0x01, 0x02, 0x03, 0x04, 'h' ^ 0x01, 'i' ^ 0x02};
    n = s_frame(fr, false, 1, key, s_reg, 20, 7);
    memcpy(fr + n, ping, sizeof ping);
    n += sizeof ping;
    n += s_frame(fr + n, true, 0, key, s_reg + 20, reg - 20, 7);
    s_seg(s, &f, 0, &cs, fr, n);
    CHECK_EQ(got.n, 4);
    CHECK(strcmp(got.methods[3], "REGISTER") == 0);

    sipstream_stats_t st;
    sipstream_stats(s, &st);
    CHECK_EQ(st.ws.streams, 1);
    CHECK_EQ(st.ws.messages, 4);
    CHECK_EQ(st.ws.frames, 6);
    CHECK_EQ(st.ws.invalid, 0);
    CHECK_EQ(st.streams, 0); /* not counted as plain SIP over TCP */

    /* A compressed frame (RSV1, permessage-deflate: 0xc1) is invalid and
     * skipped; the next frame is read. */
    n = s_frame(fr, true, 1, key, s_reg, reg, 7);
    fr[0] |= 0x40;
    n += s_frame(fr + n, true, 1, key, s_opt, opt, 7);
    s_seg(s, &f, 0, &cs, fr, n);
    CHECK_EQ(got.n, 5);
    CHECK(strcmp(got.methods[4], "OPTIONS") == 0);
    sipstream_stats(s, &st);
    CHECK_EQ(st.ws.invalid, 1);

    /* A close frame (0x88) is skipped; a data message that is not SIP is
     * counted invalid. */
    n = s_frame(fr, true, 8, key, "\x03\xe8", 2, 7);
    n += s_frame(fr + n, true, 1, key, "hello", 5, 7);
    s_seg(s, &f, 0, &cs, fr, n);
    CHECK_EQ(got.n, 5);
    sipstream_stats(s, &st);
    CHECK_EQ(st.ws.invalid, 2);

    /* A lost segment: frames cannot be found again, the direction stops. */
    cs += 100;
    n = s_frame(fr, true, 1, key, s_reg, reg, 7);
    s_seg(s, &f, 0, &cs, fr, n);
    CHECK_EQ(got.n, 5);
    sipstream_stats(s, &st);
    CHECK_EQ(st.gaps, 1);
    /* The other direction still is read. */
    n = s_frame(fr, true, 1, NULL, s_opt, opt, 7);
    s_seg(s, &f, 1, &ss, fr, n);
    CHECK_EQ(got.n, 6);

    /* A refused upgrade (not 101): the server's frames are not read. */
    flow_t g;
    s_flow(&g, 2);
    cs = 1, ss = 1;
    s_seg(s, &g, 0, &cs, (const uint8_t *)s_upgrade, strlen(s_upgrade));
    static const char no[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    s_seg(s, &g, 1, &ss, (const uint8_t *)no, strlen(no));
    n = s_frame(fr, true, 1, NULL, s_opt, opt, 7);
    s_seg(s, &g, 1, &ss, fr, n);
    CHECK_EQ(got.n, 6);
    sipstream_release(s, &g);
    sipstream_release(s, &f);
    sipstream_destroy(&s);
    return 0;
}
