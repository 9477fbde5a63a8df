/* SPDX-License-Identifier: MIT */
/* jsonw.c: the streaming JSON writer (RFC 8259 text, json-c 0.16's bytes). */
#include "jsonw.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

void jsonw_init(jsonw_t *w)
{
    memset(w, 0, sizeof *w);
}

void jsonw_fini(jsonw_t *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

void jsonw_reset(jsonw_t *w)
{
    w->len = 0;
    w->depth = 0;
    w->more = 0;
    w->failed = false;
}

/* Grows the buffer to hold n more bytes and a NUL. */
static bool s_grow(jsonw_t *w, size_t n)
{
    size_t cap = w->cap ? w->cap : 1024;
    while (cap < w->len + n + 1)
        cap *= 2;
    char *b = realloc(w->buf, cap);
    if (!b) {
        w->failed = true;
        return false;
    }
    w->buf = b;
    w->cap = cap;
    return true;
}

/* Room for n more bytes and a NUL; false (and failed) if there is none. */
static inline bool s_room(jsonw_t *w, size_t n)
{
    if (w->failed)
        return false;
    return w->len + n + 1 <= w->cap || s_grow(w, n);
}

/* The bytes json-c escapes: the control characters, '"' and '\'. */
static const uint8_t s_esc[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['"'] = 1, ['\\'] = 1,
};

/* Bytes of 8 that need an escape, as a mask (0: none). The mask may
 * mark more after the first such byte; only whether it is 0 is used. */
static inline uint64_t s_special8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t lt = (x - ones * 0x20) & ~x & highs; /* below 0x20 */
    uint64_t q = x ^ (ones * '"');
    uint64_t b = x ^ (ones * '\\');
    return lt | ((q - ones) & ~q & highs) | ((b - ones) & ~b & highs);
}

/* Copies n (at most 16) bytes if none needs an escape, in two words that
 * may overlap (keys and most values are this short); false if one does. */
static inline bool s_short_plain(char *o, const char *s, size_t n)
{
    if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        if (s_special8(a) | s_special8(b))
            return false;
        memcpy(o, &a, 8);
        memcpy(o + n - 8, &b, 8);
        return true;
    }
    if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        if (s_special8((uint64_t)a | (uint64_t)b << 32))
            return false;
        memcpy(o, &a, 4);
        memcpy(o + n - 4, &b, 4);
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        if (s_esc[(uint8_t)s[i]])
            return false;
        o[i] = s[i];
    }
    return true;
}

/* The general case of s_quoted, after the opening quote: plain bytes are
 * copied in runs, words of 8 while they last, then up to the next byte to
 * escape. */
static char *s_quoted_slow(char *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    for (;;) {
        while (n - i >= 8) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (s_special8(x))
                break;
            memcpy(o, &x, 8);
            o += 8;
            i += 8;
        }
        size_t j = i;
        while (j < n && !s_esc[(uint8_t)s[j]])
            j++;
        memcpy(o, s + i, j - i);
        o += j - i;
        if (j == n)
            break;
        uint8_t c = (uint8_t)s[j];
        i = j + 1;
        *o++ = '\\';
        switch (c) {
            case '"': *o++ = '"'; break;
            case '\\': *o++ = '\\'; break;
            case '\b': *o++ = 'b'; break;
            case '\f': *o++ = 'f'; break;
            case '\n': *o++ = 'n'; break;
            case '\r': *o++ = 'r'; break;
            case '\t': *o++ = 't'; break;
            default:
                memcpy(o, "u00", 3);
                o[3] = hex[c >> 4];
                o[4] = hex[c & 15];
                o += 5;
        }
    }
    *o++ = '"';
    return o;
}

/* A quoted, escaped string (room for it already made: 6 bytes an input
 * byte at most, and the quotes). */
static inline char *s_quoted(char *o, const char *s, size_t n)
{
    *o++ = '"';
    if (n <= 16 && s_short_plain(o, s, n)) {
        o[n] = '"';
        return o + n + 1;
    }
    return s_quoted_slow(o, s, n);
}

/* The comma and the key of a member (room for `extra` more bytes after it);
 * NULL if there is no room. */
static char *s_key(jsonw_t *w, const char *key, size_t extra)
{
    size_t kn = key ? strlen(key) : 0;
    if (!s_room(w, 1 + 6 * kn + 3 + extra))
        return NULL;
    char *o = w->buf + w->len;
    uint32_t bit = 1u << w->depth;
    if (w->more & bit)
        *o++ = ',';
    w->more |= bit;
    if (key) {
        o = s_quoted(o, key, kn);
        *o++ = ':';
    }
    return o;
}

static void s_done(jsonw_t *w, char *o)
{
    w->len = (size_t)(o - w->buf);
    w->buf[w->len] = '\0';
}

void jsonw_open(jsonw_t *w, const char *key)
{
    if (w->depth + 1 >= JSONW_DEPTH) {
        w->failed = true;
        return;
    }
    char *o = s_key(w, key, 1);
    if (!o)
        return;
    *o++ = '{';
    s_done(w, o);
    w->depth++;
    w->more &= ~(1u << w->depth);
}

void jsonw_close(jsonw_t *w)
{
    if (w->failed || w->depth == 0 || !s_room(w, 1)) {
        w->failed = true;
        return;
    }
    w->depth--;
    char *o = w->buf + w->len;
    *o++ = '}';
    s_done(w, o);
}

void jsonw_strn(jsonw_t *w, const char *key, const char *v, size_t n)
{
    char *o = s_key(w, key, 6 * n + 2);
    if (o)
        s_done(w, s_quoted(o, v, n));
}

void jsonw_str(jsonw_t *w, const char *key, const char *v)
{
    if (!v)
        v = "";
    jsonw_strn(w, key, v, strlen(v));
}

void jsonw_int(jsonw_t *w, const char *key, int64_t v)
{
    char *o = s_key(w, key, 20);
    if (!o)
        return;
    uint64_t u = (uint64_t)v;
    if (v < 0) {
        *o++ = '-';
        u = 0 - u;
    }
    static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                                "25262728293031323334353637383940414243444546474849"
                                "50515253545556575859606162636465666768697071727374"
                                "75767778798081828384858687888990919293949596979899";
    char t[20];
    size_t n = sizeof t;
    while (u >= 100) { /* two digits a step, from the right */
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        n -= 2;
        memcpy(t + n, pairs + 2 * r, 2);
    }
    if (u >= 10) {
        n -= 2;
        memcpy(t + n, pairs + 2 * u, 2);
    } else {
        t[--n] = (char)('0' + u);
    }
    memcpy(o, t + n, sizeof t - n);
    s_done(w, o + (sizeof t - n));
}

void jsonw_raw(jsonw_t *w, const char *key, const char *json, size_t n)
{
    char *o = s_key(w, key, n);
    if (!o)
        return;
    memcpy(o, json, n);
    s_done(w, o + n);
}

/* Decimal of a byte, no leading zeros. */
static char *s_u8(char *o, unsigned v)
{
    if (v >= 100)
        *o++ = (char)('0' + v / 100);
    if (v >= 10)
        *o++ = (char)('0' + v / 10 % 10);
    *o++ = (char)('0' + v % 10);
    return o;
}

void jsonw_ip(jsonw_t *w, const char *key, const ip_addr_t *a)
{
    char txt[INET6_ADDRSTRLEN];
    size_t n = 0;
    if (ip_is_v4(a)) { /* dotted quad, as inet_ntop: the common case, done here */
        char *o = txt;
        for (int i = 0; i < 4; i++) {
            if (i)
                *o++ = '.';
            o = s_u8(o, a->b[12 + i]);
        }
        n = (size_t)(o - txt);
    } else if (inet_ntop(AF_INET6, a->b, txt, sizeof txt)) {
        n = strlen(txt);
    }
    jsonw_strn(w, key, txt, n);
}

/* The date of a day count since 1970-01-01 (proleptic Gregorian; the
 * "civil from days" method of H. Hinnant, exact for every day). */
static void s_civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *s_digits(char *o, uint64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + width;
}

size_t jsonw_format_time(uint64_t ts_us, char *out)
{
    uint64_t sec = ts_us / 1000000u;
    int64_t y;
    unsigned m, d;
    s_civil((int64_t)(sec / 86400u), &y, &m, &d);
    unsigned s = (unsigned)(sec % 86400u);
    char *o = out;
    int yw = 4; /* strftime's %Y: four digits here, more past 9999 */
    for (int64_t t = y / 10000; t; t /= 10)
        yw++;
    o = s_digits(o, (uint64_t)y, yw);
    *o++ = '-';
    o = s_digits(o, m, 2);
    *o++ = '-';
    o = s_digits(o, d, 2);
    *o++ = 'T';
    o = s_digits(o, s / 3600, 2);
    *o++ = ':';
    o = s_digits(o, s / 60 % 60, 2);
    *o++ = ':';
    o = s_digits(o, s % 60, 2);
    *o++ = '.';
    o = s_digits(o, ts_us % 1000000u, 6);
    memcpy(o, "+0000", 5);
    return (size_t)(o + 5 - out);
}

void jsonw_time(jsonw_t *w, const char *key, uint64_t ts_us)
{
    /* The date and time to the second are kept from the last call: an
     * event's times are mostly in one second, and so are events in a row. */
    uint64_t sec = ts_us / 1000000u;
    if (!w->time_ok || w->time_sec != sec) {
        char txt[JSONW_TIME_LEN];
        size_t n = jsonw_format_time(sec * 1000000u, txt);
        w->time_len = n - 12; /* less ".000000+0000"; at most 21 (year 584,554) */
        memcpy(w->time_txt, txt, w->time_len);
        w->time_sec = sec;
        w->time_ok = true;
    }
    char txt[JSONW_TIME_LEN];
    memcpy(txt, w->time_txt, w->time_len);
    char *o = txt + w->time_len;
    *o++ = '.';
    o = s_digits(o, ts_us % 1000000u, 6);
    memcpy(o, "+0000", 5);
    jsonw_strn(w, key, txt, (size_t)(o + 5 - txt));
}

const char *jsonw_text(const jsonw_t *w, size_t *len)
{
    if (w->failed || !w->buf)
        return NULL;
    *len = w->len;
    return w->buf;
}
