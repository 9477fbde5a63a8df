/* SPDX-License-Identifier: MIT */
/* strutil.h: bounded string helpers and address parsing. */
#ifndef PINHOLE_STRUTIL_H
#define PINHOLE_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies src into dst (size n), always NUL-terminated; returns false if cut. */
bool str_copy(char *dst, const char *src, size_t n);

/* Parses a decimal number in [lo, hi] (the whole string); false if not. */
bool str_to_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

/* Case-insensitive match of a host name against a pattern where a leading
 * "*." matches one or more labels ("*.blob.core.windows.net"). */
bool str_host_match(const char *pattern, const char *host);

/* The length of the longest prefix of s[0..n) that is well-formed UTF-8
 * (RFC 3629: no overlong forms, surrogates or code points past U+10FFFF):
 * n if all of it is. */
size_t str_utf8_valid_len(const char *s, size_t n);
/* s[0..n) with every byte that is not part of well-formed UTF-8 replaced
 * by U+FFFD (malloc'd, NUL-terminated; *outlen its length), or NULL (out
 * of memory). */
char *str_utf8_fix(const char *s, size_t n, size_t *outlen);

/* FNV-1a over bytes, continuing from h (start with HASH_FNV_INIT). For the
 * bounded tables keyed by strings; flow keys use a faster word hash. */
#define HASH_FNV_INIT 0xcbf29ce484222325ull
static inline uint64_t hash_fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* An IPv4 or IPv6 address, always 16 bytes; IPv4 is stored v4-mapped. */
typedef struct {
    uint8_t b[16];
} ip_addr_t;

typedef struct {
    ip_addr_t addr;
    uint8_t bits; /* prefix length over the 128-bit form */
} cidr_t;

bool ip_is_v4(const ip_addr_t *a);
void ip_from_v4(ip_addr_t *a, const uint8_t v4[4]);
/* Parses "1.2.3.4" or "2001:db8::1". */
bool ip_parse(const char *s, ip_addr_t *out);
/* Parses "10.0.0.0/8", "2001:db8::/32" or a bare address (host route). */
bool cidr_parse(const char *s, cidr_t *out);
bool cidr_contains(const cidr_t *c, const ip_addr_t *a);
/* True for addresses no host on the internet can be seen from: RFC 1918,
 * carrier-grade NAT (RFC 6598), loopback, link-local, IPv6 ULA. */
bool ip_is_private(const ip_addr_t *a);
/* Writes the address in text form; buf needs 46 bytes. */
const char *ip_to_str(const ip_addr_t *a, char *buf, size_t n);

#endif
