/* SPDX-License-Identifier: MIT */
/* jsonw.c: the streaming JSON writer (RFC 8259 text, json-c 0.16's bytes). */
#include "jsonw.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The helpers every member goes through, kept in their callers: a call
 * costs as much as what they do for a short key or value. */
#define JSONW_INLINE static inline __attribute__((always_inline))

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
JSONW_INLINE bool s_room(jsonw_t *w, size_t n)
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
JSONW_INLINE uint64_t s_special8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t lt = (x - ones * 0x20) & ~x & highs; /* below 0x20 */
    uint64_t q = x ^ (ones * '"');
    uint64_t b = x ^ (ones * '\\');
    return lt | ((q - ones) & ~q & highs) | ((b - ones) & ~b & highs);
}

/* Copies n (at most 32) bytes if none needs an escape, in words that may
 * overlap (keys and most values are this short); false if one does. */
JSONW_INLINE bool s_short_plain(char *o, const char *s, size_t n)
{
    if (n > 16) {
        uint64_t a, b, c, d;
        memcpy(&a, s, 8);
        memcpy(&b, s + 8, 8);
        memcpy(&c, s + n - 16, 8);
        memcpy(&d, s + n - 8, 8);
        if (s_special8(a) | s_special8(b) | s_special8(c) | s_special8(d))
            return false;
        memcpy(o, &a, 8);
        memcpy(o + 8, &b, 8);
        memcpy(o + n - 16, &c, 8);
        memcpy(o + n - 8, &d, 8);
        return true;
    }
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
JSONW_INLINE char *s_quoted(char *o, const char *s, size_t n)
{
    *o++ = '"';
    if (n <= 32 && s_short_plain(o, s, n)) {
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

/* Copies n bytes (a prepared key, a value the writer made), in words
 * that may overlap while n is at most 32. */
JSONW_INLINE void s_copy(char *o, const char *s, size_t n)
{
    if (n > 32) {
        memcpy(o, s, n);
    } else if (n >= 16) {
        memcpy(o, s, 16);
        memcpy(o + n - 16, s + n - 16, 16);
    } else if (n >= 8) {
        memcpy(o, s, 8);
        memcpy(o + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(o, s, 4);
        memcpy(o + n - 4, s + n - 4, 4);
    } else {
        for (size_t i = 0; i < n; i++)
            o[i] = s[i];
    }
}

/* The comma (unless the member is its object's first) and a prepared key,
 * with room for `extra` more bytes after it; NULL if there is no room. */
JSONW_INLINE char *s_key_k(jsonw_t *w, jsonw_key_t k, size_t extra)
{
    if (!s_room(w, k.len + extra))
        return NULL;
    char *o = w->buf + w->len;
    uint32_t bit = 1u << w->depth;
    const char *t = k.txt;
    size_t n = k.len;
    if (!(w->more & bit)) {
        t++;
        n--;
    }
    w->more |= bit;
    s_copy(o, t, n);
    return o + n;
}

JSONW_INLINE void s_done(jsonw_t *w, char *o)
{
    w->len = (size_t)(o - w->buf);
    w->buf[w->len] = '\0';
}

/* Opens the object of a member whose key is written (o after it). */
static void s_open_at(jsonw_t *w, char *o)
{
    *o++ = '{';
    s_done(w, o);
    w->depth++;
    w->more &= ~(1u << w->depth);
}

void jsonw_open(jsonw_t *w, const char *key)
{
    if (w->depth + 1 >= JSONW_DEPTH) {
        w->failed = true;
        return;
    }
    char *o = s_key(w, key, 1);
    if (o)
        s_open_at(w, o);
}

void jsonw_open_k(jsonw_t *w, jsonw_key_t k)
{
    if (w->depth + 1 >= JSONW_DEPTH) {
        w->failed = true;
        return;
    }
    char *o = s_key_k(w, k, 1);
    if (o)
        s_open_at(w, o);
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

void jsonw_strn_k(jsonw_t *w, jsonw_key_t k, const char *v, size_t n)
{
    char *o = s_key_k(w, k, 6 * n + 2);
    if (o)
        s_done(w, s_quoted(o, v, n));
}

void jsonw_str_k(jsonw_t *w, jsonw_key_t k, const char *v)
{
    if (!v)
        v = "";
    jsonw_strn_k(w, k, v, strlen(v));
}

/* A string the writer made (an address, a time): nothing to escape. */
JSONW_INLINE void s_plain_at(jsonw_t *w, char *o, const char *v, size_t n)
{
    *o++ = '"';
    s_copy(o, v, n);
    o += n;
    *o++ = '"';
    s_done(w, o);
}

static const char s_pairs[] = "00010203040506070809101112131415161718192021222324"
                              "25262728293031323334353637383940414243444546474849"
                              "50515253545556575859606162636465666768697071727374"
                              "75767778798081828384858687888990919293949596979899";

/* The decimal digits of u (at most 20), written at o; returns the end. */
JSONW_INLINE char *s_u64(char *o, uint64_t u)
{
    static const uint64_t pow10[20] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
        100000000, 1000000000, 10000000000ull, 100000000000ull, 1000000000000ull,
        10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
        100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull};
    /* digits from the bit length (1233 / 4096 ~ log10 2), one compare to correct */
    unsigned n = (unsigned)(64 - __builtin_clzll(u | 1)) * 1233u >> 12;
    n += n < 20 && u >= pow10[n];
    n += n == 0;
    char *end = o + n, *t = end;
    while (u >= 100) { /* two digits a step, from the right */
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        t -= 2;
        memcpy(t, s_pairs + 2 * r, 2);
    }
    if (u >= 10) {
        t -= 2;
        memcpy(t, s_pairs + 2 * u, 2);
    } else {
        t[-1] = (char)('0' + u);
    }
    return end;
}

JSONW_INLINE char *s_i64(char *o, int64_t v)
{
    uint64_t u = (uint64_t)v;
    if (v < 0) {
        *o++ = '-';
        u = 0 - u;
    }
    return s_u64(o, u);
}

void jsonw_int(jsonw_t *w, const char *key, int64_t v)
{
    char *o = s_key(w, key, 20);
    if (o)
        s_done(w, s_i64(o, v));
}

void jsonw_int_k(jsonw_t *w, jsonw_key_t k, int64_t v)
{
    char *o = s_key_k(w, k, 20);
    if (o)
        s_done(w, s_i64(o, v));
}

void jsonw_raw(jsonw_t *w, const char *key, const char *json, size_t n)
{
    char *o = s_key(w, key, n);
    if (!o)
        return;
    memcpy(o, json, n);
    s_done(w, o + n);
}

void jsonw_raw_k(jsonw_t *w, jsonw_key_t k, const char *json, size_t n)
{
    char *o = s_key_k(w, k, n);
    if (!o)
        return;
    s_copy(o, json, n);
    s_done(w, o + n);
}

void jsonw_member_k(jsonw_t *w, jsonw_key_t m)
{
    char *o = s_key_k(w, m, 0);
    if (o)
        s_done(w, o);
}

void jsonw_members(jsonw_t *w, const char *txt, size_t n)
{
    if (n == 0 || !s_room(w, n + 1))
        return;
    char *o = w->buf + w->len;
    uint32_t bit = 1u << w->depth;
    if (w->more & bit)
        *o++ = ',';
    w->more |= bit;
    memcpy(o, txt, n);
    s_done(w, o + n);
}

const char *jsonw_members_of(const jsonw_t *w, size_t *len)
{
    if (w->failed || w->depth != 0 || w->len < 2 || w->buf[0] != '{')
        return NULL;
    *len = w->len - 2;
    return w->buf + 1;
}

/* Decimal of a byte, no leading zeros. */
static char *s_u8(char *o, unsigned v)
{
    if (v < 10) {
        *o = (char)('0' + v);
        return o + 1;
    }
    if (v >= 100) {
        *o++ = (char)('0' + v / 100);
        v %= 100;
    }
    memcpy(o, s_pairs + 2 * v, 2);
    return o + 2;
}

/* An address as inet_ntop writes it; returns the length. */
static size_t s_ip_txt(const ip_addr_t *a, char txt[INET6_ADDRSTRLEN])
{
    if (ip_is_v4(a)) { /* dotted quad, as inet_ntop: the common case, done here */
        char *o = txt;
        for (int i = 0; i < 4; i++) {
            if (i)
                *o++ = '.';
            o = s_u8(o, a->b[12 + i]);
        }
        return (size_t)(o - txt);
    }
    if (inet_ntop(AF_INET6, a->b, txt, INET6_ADDRSTRLEN))
        return strlen(txt);
    return 0;
}

void jsonw_ip(jsonw_t *w, const char *key, const ip_addr_t *a)
{
    char txt[INET6_ADDRSTRLEN];
    size_t n = s_ip_txt(a, txt);
    char *o = s_key(w, key, n + 2);
    if (o)
        s_plain_at(w, o, txt, n);
}

void jsonw_ip_k(jsonw_t *w, jsonw_key_t k, const ip_addr_t *a)
{
    char txt[INET6_ADDRSTRLEN];
    size_t n = s_ip_txt(a, txt);
    char *o = s_key_k(w, k, n + 2);
    if (o)
        s_plain_at(w, o, txt, n);
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

/* Six digits of microseconds, in pairs. */
JSONW_INLINE char *s_micros(char *o, unsigned us)
{
    memcpy(o, s_pairs + 2 * (us / 10000), 2);
    memcpy(o + 2, s_pairs + 2 * (us / 100 % 100), 2);
    memcpy(o + 4, s_pairs + 2 * (us % 100), 2);
    return o + 6;
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
    o = s_micros(o, (unsigned)(ts_us % 1000000u));
    memcpy(o, "+0000", 5);
    return (size_t)(o + 5 - out);
}

/* A packet-clock time's text; returns the length. The date and time to the
 * second are kept from the last call: an event's times are mostly in one
 * second, and so are events in a row. */
static size_t s_time_txt(jsonw_t *w, uint64_t ts_us, char txt[JSONW_TIME_LEN])
{
    uint64_t sec = ts_us / 1000000u;
    if (!w->time_ok || w->time_sec != sec) {
        size_t n = jsonw_format_time(sec * 1000000u, txt);
        w->time_len = n - 12; /* less ".000000+0000"; at most 21 (year 584,554) */
        memcpy(w->time_txt, txt, w->time_len);
        w->time_sec = sec;
        w->time_ok = true;
    }
    memcpy(txt, w->time_txt, sizeof w->time_txt);
    char *o = txt + w->time_len;
    *o++ = '.';
    o = s_micros(o, (unsigned)(ts_us % 1000000u));
    memcpy(o, "+0000", 5);
    return (size_t)(o + 5 - txt);
}

void jsonw_time(jsonw_t *w, const char *key, uint64_t ts_us)
{
    char txt[JSONW_TIME_LEN];
    size_t n = s_time_txt(w, ts_us, txt);
    char *o = s_key(w, key, n + 2);
    if (o)
        s_plain_at(w, o, txt, n);
}

void jsonw_time_k(jsonw_t *w, jsonw_key_t k, uint64_t ts_us)
{
    char txt[JSONW_TIME_LEN];
    size_t n = s_time_txt(w, ts_us, txt);
    char *o = s_key_k(w, k, n + 2);
    if (o)
        s_plain_at(w, o, txt, n);
}

size_t jsonw_format_fixed3(double v, char *out)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    unsigned ex = (unsigned)(bits >> 52) & 0x7ffu;
    if (ex >= 1023 + 50) { /* NaN, infinities, and |v| of 2^50 and more: snprintf's */
        int n = snprintf(out, JSONW_FIXED3_LEN, "%.3f", v);
        return n > 0 && n < JSONW_FIXED3_LEN ? (size_t)n : 0;
    }
    /* v = m * 2^-s exactly, m below 2^53 and s at least 3: v * 1000 is
     * m * 1000 (below 2^63) shifted right by s, rounded as printf rounds
     * the exact value, to nearest and a half to even. */
    uint64_t m = bits & ((1ull << 52) - 1);
    unsigned s = 1074;
    if (ex) {
        m |= 1ull << 52;
        s = 1075 - ex;
    }
    uint64_t p = m * 1000u, q = 0;
    if (s < 64) {
        uint64_t r = p & ((1ull << s) - 1), half = 1ull << (s - 1);
        q = p >> s;
        q += r > half || (r == half && (q & 1));
    } /* else p < 2^63 <= half: rounds to 0 */
    char *o = out;
    if (bits >> 63)
        *o++ = '-'; /* printf keeps the sign of -0.0 and of what rounds to 0 */
    o = s_u64(o, q / 1000u);
    unsigned f = (unsigned)(q % 1000u);
    *o++ = '.';
    *o++ = (char)('0' + f / 100);
    memcpy(o, s_pairs + 2 * (f % 100), 2);
    return (size_t)(o + 2 - out);
}

void jsonw_fixed3_k(jsonw_t *w, jsonw_key_t k, double v)
{
    char *o = s_key_k(w, k, JSONW_FIXED3_LEN);
    if (o)
        s_done(w, o + jsonw_format_fixed3(v, o));
}

const char *jsonw_text(const jsonw_t *w, size_t *len)
{
    if (w->failed || !w->buf)
        return NULL;
    *len = w->len;
    return w->buf;
}
