/* SPDX-License-Identifier: MIT */
/* websocket.c: SIP over WebSocket, RFC 7118 (frames: RFC 6455 5.2).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-------+-+-------------+-------------------------------+
 *   |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *   |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *   |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *   | |1|2|3|       |K|             |                               |
 *   +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *   |     Extended payload length continued, if payload len == 127  |
 *   + - - - - - - - - - - - - - - - +-------------------------------+
 *   |                               |Masking-key, if MASK set to 1  |
 *   +-------------------------------+-------------------------------+
 *   | Masking-key (continued)       |          Payload Data         |
 *   +-------------------------------- - - - - - - - - - - - - - - - +
 *
 * Opcodes: 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong.
 * A direction is a small state machine fed in order, byte runs at a time:
 * the HTTP request or the 101 response up to its empty line, then frame
 * headers (gathered in hdr[] until whole, since one may span segments,
 * then read with the cursor) and payloads (unmasked into the owner's
 * buffer for data frames, skipped for control frames). A SIP message is
 * one WebSocket message (RFC 7118 5): its frames are joined up to FIN.
 * RSV bits (permessage-deflate, which the sensor cannot inflate) and
 * unknown opcodes make the frame invalid and its message skipped; the
 * length still says where the next frame starts. A 64-bit length with the
 * top bit set leaves no next frame to find: the direction stops. */
#include "websocket.h"

#include <string.h>

#include "cursor.h"

enum { WS_HTTP_REQUEST, WS_HTTP_RESPONSE, WS_HDR, WS_DATA, WS_DEAD };

#define WS_MAX_HEADER_LINES 64

static bool s_ieq(const uint8_t *p, uint32_t n, const char *s)
{
    size_t k = strlen(s);
    if (n != k)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t a = p[i], b = (uint8_t)s[i];
        if (a >= 'A' && a <= 'Z')
            a = (uint8_t)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z')
            b = (uint8_t)(b - 'A' + 'a');
        if (a != b)
            return false;
    }
    return true;
}

/* Whether the comma-separated list v..n holds the token tok. */
static bool s_has_token(const uint8_t *v, uint32_t n, const char *tok)
{
    uint32_t i = 0;
    while (i < n) {
        uint32_t j = i;
        while (j < n && v[j] != ',')
            j++;
        uint32_t a = i, b = j;
        while (a < b && (v[a] == ' ' || v[a] == '\t'))
            a++;
        while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t' || v[b - 1] == '\r'))
            b--;
        if (s_ieq(v + a, b - a, tok))
            return true;
        i = j + 1;
    }
    return false;
}

bool ws_is_sip_upgrade(const uint8_t *p, uint32_t n)
{
    if (n < 4 || memcmp(p, "GET ", 4) != 0)
        return false;
    bool upgrade = false, sip = false;
    uint32_t i = 0;
    for (int lines = 0; i < n && lines < WS_MAX_HEADER_LINES; lines++) {
        uint32_t eol = i;
        while (eol < n && p[eol] != '\n')
            eol++;
        if (eol == n)
            break; /* a line cut by the segment's end is not read */
        uint32_t colon = i;
        while (colon < eol && p[colon] != ':')
            colon++;
        if (colon < eol) {
            const uint8_t *v = p + colon + 1;
            uint32_t vn = eol - colon - 1;
            if (s_ieq(p + i, colon - i, "Upgrade"))
                upgrade = upgrade || s_has_token(v, vn, "websocket");
            else if (s_ieq(p + i, colon - i, "Sec-WebSocket-Protocol"))
                sip = sip || s_has_token(v, vn, "sip");
        }
        if (eol - i <= 1)
            break; /* the empty line: end of the request's headers */
        i = eol + 1;
    }
    return upgrade && sip;
}

void ws_dir_init(ws_dir_t *w, bool client)
{
    memset(w, 0, sizeof *w);
    w->phase = client ? WS_HTTP_REQUEST : WS_HTTP_RESPONSE;
}

bool ws_dir_is_alive(const ws_dir_t *w)
{
    return w->phase != WS_DEAD;
}

void ws_dir_lost(ws_dir_t *w)
{
    w->phase = WS_DEAD;
}

/* The HTTP request or response: up to CRLF CRLF. A response must be a 101
 * (its first 12 bytes are gathered in hdr to check). Returns bytes used. */
static uint32_t s_http(ws_dir_t *w, const uint8_t *data, uint32_t n, ws_stats_t *st)
{
    static const char crlf2[] = "\r\n\r\n";
    uint32_t i = 0;
    for (; i < n && w->crlf < 4; i++) {
        if (w->phase == WS_HTTP_RESPONSE && w->hlen < 12) {
            w->hdr[w->hlen++] = data[i];
            if (w->hlen == 12 && (memcmp(w->hdr, "HTTP/1.", 7) != 0 || memcmp(w->hdr + 8, " 101", 4) != 0)) {
                st->invalid++; /* the upgrade was refused */
                w->phase = WS_DEAD;
                return n;
            }
        }
        w->crlf = data[i] == (uint8_t)crlf2[w->crlf] ? (uint8_t)(w->crlf + 1) : (data[i] == '\r' ? 1 : 0);
    }
    if (w->crlf == 4) {
        w->phase = WS_HDR;
        w->hlen = 0;
    }
    return i;
}

/* The header bytes a frame needs, from what is gathered (at least 2). */
static uint8_t s_hdr_need(const ws_dir_t *w)
{
    uint8_t len7 = w->hdr[1] & 0x7f;
    uint8_t need = 2;
    need = (uint8_t)(need + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0));
    return (uint8_t)(need + ((w->hdr[1] & 0x80) ? 4 : 0));
}

/* A whole frame header in hdr: read it and decide what its payload is. */
static void s_frame_header(ws_dir_t *w, ws_stats_t *st, uint32_t *len)
{
    cursor_t c = cur_make(w->hdr, w->hlen);
    uint8_t b0 = 0, b1 = 0;
    cur_u8(&c, &b0);
    cur_u8(&c, &b1);
    uint64_t plen = b1 & 0x7f;
    if (plen == 126) {
        uint16_t v = 0;
        cur_be16(&c, &v);
        plen = v;
    } else if (plen == 127) {
        uint32_t hi = 0, lo = 0;
        cur_be32(&c, &hi);
        cur_be32(&c, &lo);
        plen = (uint64_t)hi << 32 | lo;
    }
    w->masked = (b1 & 0x80) != 0;
    if (w->masked)
        cur_bytes(&c, w->key, 4);
    st->frames++;
    w->hlen = 0;
    w->left = plen;
    w->moff = 0;
    w->phase = WS_DATA;
    w->fin = (b0 & 0x80) != 0;
    uint8_t op = b0 & 0x0f;
    if (c.bad || (plen >> 63)) { /* no next frame to find */
        st->invalid++;
        w->phase = WS_DEAD;
        return;
    }
    w->control = op >= 8;
    bool bad = (b0 & 0x70) != 0; /* RSV: an extension we cannot read */
    if (w->control) {
        bad = bad || op > 10 || !w->fin || plen > 125;
    } else if (op == 0) {
        bad = bad || !w->in_msg; /* a continuation of nothing */
    } else if (op == 1 || op == 2) {
        if (w->in_msg) /* the message before never ended */
            st->invalid++;
        w->in_msg = true;
        w->skip = false;
        *len = 0;
    } else {
        bad = true; /* reserved opcodes 3-7 */
        w->control = true;
    }
    if (bad) {
        st->invalid++;
        if (!w->control) /* the message it belongs to cannot be read */
            w->skip = true;
    }
}

/* The current frame's payload is all read. */
static void s_frame_end(ws_dir_t *w, uint8_t *msg, uint32_t *len, ws_msg_fn *fn, void *ctx)
{
    w->phase = WS_HDR;
    if (w->control || !w->fin || !w->in_msg)
        return;
    if (!w->skip)
        fn(msg, *len, ctx);
    w->in_msg = w->skip = false;
    *len = 0;
}

void ws_feed(ws_dir_t *w, const uint8_t *data, uint32_t n, uint8_t *msg, uint32_t *len,
        uint32_t cap, ws_stats_t *st, ws_msg_fn *fn, void *ctx)
{
    uint32_t i = 0;
    while (i < n && w->phase != WS_DEAD) {
        if (w->phase == WS_HTTP_REQUEST || w->phase == WS_HTTP_RESPONSE) {
            i += s_http(w, data + i, n - i, st);
        } else if (w->phase == WS_HDR) {
            w->hdr[w->hlen++] = data[i++];
            if (w->hlen >= 2 && w->hlen == s_hdr_need(w))
                s_frame_header(w, st, len);
            if (w->phase == WS_DATA && w->left == 0)
                s_frame_end(w, msg, len, fn, ctx);
        } else { /* WS_DATA */
            uint32_t take = n - i;
            if (take > w->left)
                take = (uint32_t)w->left;
            if (!w->control && !w->skip) {
                if (take > cap - *len) { /* longer than we keep */
                    st->invalid++;
                    w->skip = true;
                } else {
                    for (uint32_t k = 0; k < take; k++)
                        msg[*len + k] = w->masked ? (uint8_t)(data[i + k] ^ w->key[(w->moff + k) & 3]) : data[i + k];
                    *len += take;
                }
            }
            w->moff += take;
            w->left -= take;
            i += take;
            if (w->left == 0)
                s_frame_end(w, msg, len, fn, ctx);
        }
    }
}
