/* SPDX-License-Identifier: MIT */
/* strutil.c: bounded string helpers and address parsing. */
#include "strutil.h"

#include <errno.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool str_copy(char *dst, const char *src, size_t n)
{
    if (n == 0)
        return false;
    size_t len = strlen(src);
    if (len >= n) {
        memcpy(dst, src, n - 1);
        dst[n - 1] = '\0';
        return false;
    }
    memcpy(dst, src, len + 1);
    return true;
}

bool str_host_match(const char *pattern, const char *host)
{
    if (!pattern || !host || !*host)
        return false;
    size_t hl = strlen(host);
    if (hl > 0 && host[hl - 1] == '.')
        hl--; /* a fully qualified name with its root dot */
    if (pattern[0] == '*' && pattern[1] == '.') {
        const char *suffix = pattern + 1; /* ".blob.core.windows.net" */
        size_t sl = strlen(suffix);
        return hl > sl && strncasecmp(host + hl - sl, suffix, sl) == 0;
    }
    return strlen(pattern) == hl && strncasecmp(pattern, host, hl) == 0;
}

static const uint8_t s_v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool ip_is_v4(const ip_addr_t *a)
{
    return memcmp(a->b, s_v4_prefix, 12) == 0;
}

void ip_from_v4(ip_addr_t *a, const uint8_t v4[4])
{
    memcpy(a->b, s_v4_prefix, 12);
    memcpy(a->b + 12, v4, 4);
}

bool ip_parse(const char *s, ip_addr_t *out)
{
    uint8_t v4[4];
    if (inet_pton(AF_INET, s, v4) == 1) {
        ip_from_v4(out, v4);
        return true;
    }
    return inet_pton(AF_INET6, s, out->b) == 1;
}

bool cidr_parse(const char *s, cidr_t *out)
{
    char buf[64];
    if (!str_copy(buf, s, sizeof buf))
        return false;
    char *slash = strchr(buf, '/');
    long bits = -1;
    if (slash) {
        *slash = '\0';
        char *end = NULL;
        if (!isdigit((unsigned char)slash[1]))
            return false;
        bits = strtol(slash + 1, &end, 10);
        if (*end != '\0')
            return false;
    }
    if (!ip_parse(buf, &out->addr))
        return false;
    bool v4 = ip_is_v4(&out->addr) && strchr(buf, ':') == NULL;
    long max = v4 ? 32 : 128;
    if (bits < 0)
        bits = max;
    if (bits > max)
        return false;
    out->bits = (uint8_t)(v4 ? bits + 96 : bits);
    /* Clear host bits so that containment is a plain prefix compare. */
    for (int i = out->bits; i < 128; i++)
        out->addr.b[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
    return true;
}

bool cidr_contains(const cidr_t *c, const ip_addr_t *a)
{
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr.b, a->b, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff00u >> rest);
    return (c->addr.b[full] & mask) == (a->b[full] & mask);
}

const char *ip_to_str(const ip_addr_t *a, char *buf, size_t n)
{
    if (ip_is_v4(a))
        inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)n);
    else
        inet_ntop(AF_INET6, a->b, buf, (socklen_t)n);
    return buf;
}

bool ip_is_private(const ip_addr_t *a)
{
    if (ip_is_v4(a)) {
        const uint8_t *b = a->b + 12;
        return b[0] == 10 || b[0] == 127 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
               (b[0] == 192 && b[1] == 168) || (b[0] == 100 && (b[1] & 0xc0) == 64) ||
               (b[0] == 169 && b[1] == 254);
    }
    static const uint8_t loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return (a->b[0] & 0xfe) == 0xfc || (a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80) ||
           memcmp(a->b, loop, 16) == 0;
}

bool str_to_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end = NULL;
    if (!s || !*s || *s == '-')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* The length of the well-formed UTF-8 sequence at s (at most n bytes
 * left), 0 if none starts there. */
static size_t s_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* no overlong form */
        else if (c == 0xed)
            hi = 0x9f; /* no surrogate */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f; /* nothing past U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

size_t str_utf8_valid_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0x80) { /* the common case: ASCII */
            i++;
            continue;
        }
        size_t k = s_utf8_seq(u + i, n - i);
        if (!k)
            return i;
        i += k;
    }
    return n;
}

char *str_utf8_fix(const char *s, size_t n, size_t *outlen)
{
    const unsigned char *u = (const unsigned char *)s;
    char *out = malloc(n * 3 + 1); /* each byte at most U+FFFD's three */
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = s_utf8_seq(u + i, n - i);
        if (k) {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}
