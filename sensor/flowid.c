/* SPDX-License-Identifier: MIT */
/* flowid.c: Community ID v1 and the stable flow id.
 *
 * Community ID v1: base64(SHA-1(seed (16 bits) | src addr | dst addr |
 * proto (8) | 0 (8) | src port (16) | dst port (16))), all in network
 * order, prefixed "1:". The ends are ordered (smaller address first, then
 * smaller port), so both directions give one id; for ICMP the "ports" are
 * the type and, for messages with an answer type (echo / echo reply ...),
 * that answer type, else the code, and a message without an answer type
 * keeps its direction. IPv4 addresses are hashed as 4 bytes. */
#include "flowid.h"

/* SHA-1 through OpenSSL's low-level calls (deprecated in OpenSSL 3 in
 * favour of EVP, and kept there): the EVP path costs about 2,300
 * instructions per Community ID (provider dispatch around the hash), its
 * one block through SHA1_Transform about 950, with no allocation and no
 * state between calls. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <pthread.h>
#include <string.h>
#include <xxhash.h>

/* The answer type of an ICMP (v6) request or reply, or -1: the spec's
 * port-equivalence table. */
static int s_icmp_pair(uint8_t type, bool v6)
{
    if (!v6) {
        switch (type) {
            case 8: return 0;    /* echo / echo reply */
            case 0: return 8;
            case 13: return 14;  /* timestamp */
            case 14: return 13;
            case 15: return 16;  /* information */
            case 16: return 15;
            case 10: return 9;   /* router solicitation / advertisement */
            case 9: return 10;
            case 17: return 18;  /* address mask */
            case 18: return 17;
            default: return -1;
        }
    }
    switch (type) {
        case 128: return 129;    /* echo */
        case 129: return 128;
        case 133: return 134;    /* router solicitation / advertisement */
        case 134: return 133;
        case 135: return 136;    /* neighbor solicitation / advertisement */
        case 136: return 135;
        case 130: return 131;    /* multicast listener query / report */
        case 131: return 130;
        case 139: return 140;    /* node information query / reply */
        case 140: return 139;
        case 144: return 145;    /* home agent address discovery */
        case 145: return 144;
        default: return -1;
    }
}

/* An IPv4-mapped address (::ffff:a.b.c.d), compared inline. */
static inline bool s_is_v4(const ip_addr_t *a)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a->b, prefix, sizeof prefix) == 0;
}

/* Orders two ends: true if (a, pa) comes after (b, pb). */
static bool s_after(const uint8_t *a, uint16_t pa, const uint8_t *b, uint16_t pb, bool v4)
{
    int c;
    if (v4) { /* big-endian words compare as the bytes do */
        uint32_t x = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
        uint32_t y = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        c = (x > y) - (x < y);
    } else {
        c = memcmp(a, b, 16);
    }
    return c > 0 || (c == 0 && pa > pb);
}

/* Base64's two characters for each 12 bits, made once. */
static char s_b64_pairs[4096 * 2];
static pthread_once_t s_b64_once = PTHREAD_ONCE_INIT;

static void s_b64_init(void)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 4096; i++) {
        s_b64_pairs[2 * i] = b64[i >> 6];
        s_b64_pairs[2 * i + 1] = b64[i & 63];
    }
}

/* Base64 (RFC 4648, padded) of the digest in h (SHA-1's five words, each
 * written big-endian): 28 characters and a NUL, as EVP_EncodeBlock writes
 * them; each three bytes as two 12-bit halves looked up whole. */
static void s_base64_digest(const SHA_LONG h[5], char *out)
{
    pthread_once(&s_b64_once, s_b64_init);
    uint8_t md[21];
    for (int i = 0; i < 5; i++) {
        md[4 * i] = (uint8_t)(h[i] >> 24);
        md[4 * i + 1] = (uint8_t)(h[i] >> 16);
        md[4 * i + 2] = (uint8_t)(h[i] >> 8);
        md[4 * i + 3] = (uint8_t)h[i];
    }
    md[20] = 0;
    for (int i = 0; i < 21; i += 3) {
        uint32_t v = (uint32_t)md[i] << 16 | (uint32_t)md[i + 1] << 8 | md[i + 2];
        memcpy(out, s_b64_pairs + 2 * (v >> 12), 2);
        memcpy(out + 2, s_b64_pairs + 2 * (v & 4095), 2);
        out += 4;
    }
    out[-1] = '='; /* 20 bytes: the last group has two */
    out[0] = '\0';
}

const char *flowid_community(uint16_t seed, const ip_addr_t *src, const ip_addr_t *dst,
        uint8_t proto, uint16_t sport, uint16_t dport, char out[FLOWID_COMMUNITY_LEN])
{
    bool v4 = s_is_v4(src) && s_is_v4(dst);
    size_t n = v4 ? 4 : 16;
    const uint8_t *sa = src->b + (v4 ? 12 : 0), *da = dst->b + (v4 ? 12 : 0);
    bool ports = proto == 6 || proto == 17 || proto == 132 || proto == 1 || proto == 58;
    bool one_way = false;
    if (proto == 1 || proto == 58) {
        int pair = s_icmp_pair((uint8_t)sport, proto == 58);
        if (pair >= 0)
            dport = (uint16_t)pair;
        else
            one_way = true; /* dport stays the code */
    }
    if (!one_way && s_after(sa, sport, da, dport, v4)) {
        const uint8_t *t = sa;
        sa = da;
        da = t;
        uint16_t tp = sport;
        sport = dport;
        dport = tp;
    }
    /* The message (at most 40 bytes) is SHA-1's one block, padded here and
     * given to the compression function: SHA1_Final's padding, length and
     * clean-up cost about as much again for a message this short. */
    uint8_t block[64] = {0}, *w = block;
    *w++ = (uint8_t)(seed >> 8);
    *w++ = (uint8_t)seed;
    memcpy(w, sa, n);
    w += n;
    memcpy(w, da, n);
    w += n;
    *w++ = proto;
    *w++ = 0;
    if (ports) {
        *w++ = (uint8_t)(sport >> 8);
        *w++ = (uint8_t)sport;
        *w++ = (uint8_t)(dport >> 8);
        *w++ = (uint8_t)dport;
    }
    unsigned bits = (unsigned)(w - block) * 8;
    *w = 0x80;
    block[62] = (uint8_t)(bits >> 8);
    block[63] = (uint8_t)bits;
    SHA_CTX sha;
    if (!SHA1_Init(&sha)) {
        out[0] = '\0';
        return out;
    }
    SHA1_Transform(&sha, block);
    const SHA_LONG h[5] = {sha.h0, sha.h1, sha.h2, sha.h3, sha.h4};
    memcpy(out, "1:", 2);
    s_base64_digest(h, out + 2);
    return out;
}

const char *flowid_community_flow(const flow_t *f, char out[FLOWID_COMMUNITY_LEN])
{
    int o = f->orig;
    const ip_addr_t *src = o ? &f->key.b : &f->key.a, *dst = o ? &f->key.a : &f->key.b;
    uint16_t sp = o ? f->key.pb : f->key.pa, dp = o ? f->key.pa : f->key.pb;
    if (f->key.proto == 1 || f->key.proto == 58) {
        sp = f->icmp_type;
        dp = f->icmp_code;
    }
    return flowid_community(0, src, dst, f->key.proto, sp, dp, out);
}

uint64_t flowid_stable(const flow_t *f)
{
    struct {
        uint8_t a[16], b[16];
        uint16_t pa, pb;
        uint8_t proto, orig;
        uint64_t first_us;
    } id;
    memset(&id, 0, sizeof id);
    memcpy(id.a, f->key.a.b, 16);
    memcpy(id.b, f->key.b.b, 16);
    id.pa = f->key.pa;
    id.pb = f->key.pb;
    id.proto = f->key.proto;
    id.orig = f->orig;
    id.first_us = f->first_us;
    return XXH3_64bits(&id, sizeof id) & ((1ull << 53) - 1);
}
