/* SPDX-License-Identifier: MIT */
/* conn.c: per-packet connection state.
 *
 * History letters follow Zeek: upper case from the originator, lower case
 * from the responder; each letter once, in the order first seen.
 *   S syn  h syn-ack  A pure ack  D data  F fin  R rst  (and s a d f r) */
#include "conn.h"

#include <pthread.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "hash.h"

static void s_hist(flow_t *f, char ch)
{
    size_t n = strnlen(f->history, FLOW_HISTORY_LEN);
    if (memchr(f->history, ch, n) || n + 1 >= FLOW_HISTORY_LEN)
        return;
    f->history[n] = ch;
    f->history[n + 1] = '\0';
}

void conn_start(flow_t *f, int side, const packet_t *p)
{
    f->orig = (uint8_t)side;
    if (p->proto == 1 || p->proto == 58) { /* its Community ID needs the opener's type */
        f->icmp_type = p->icmp_type;
        f->icmp_code = p->icmp_code;
    }
    if (p->proto != 6)
        return;
    uint8_t fl = p->tcp_flags & (TCP_SYN | TCP_ACK);
    if (fl == (TCP_SYN | TCP_ACK)) {
        f->orig = (uint8_t)!side; /* we missed the SYN: the other side opened */
    } else if (fl != TCP_SYN) {
        /* Picked up midstream: the client is the side on the higher port. */
        f->flags |= FLOW_F_MIDSTREAM;
        uint16_t sp = p->sport, dp = p->dport;
        f->orig = (uint8_t)(sp > dp ? side : !side);
    }
}

/* A true copy is the same packet: the same bytes from the IP header to the
 * end of the capture. Only the TTL (hop limit) and, for IPv4, the header
 * checksum may differ, as they do when a mirror copies a packet on both
 * sides of a router. Look-alikes (same IP id, checksums and first payload
 * bytes, as a protocol or a tunnel may send many times a second) are not
 * copies.
 *
 * A packet of up to 240 bytes (RTP, DNS, handshakes, ACKs: most of them) is
 * hashed here, in XXH3's long-input manner on two 64-bit lanes: each 16
 * bytes, xored with 16 bytes of a secret, multiply their 32-bit halves
 * into the lanes, which also add the bytes themselves; the lanes and the
 * length are then folded by a 128-bit product with more of the secret and
 * mixed (XXH3's avalanche). The secret is drawn from the run's XXH3 seed
 * (hash_fingerprint) once. A longer packet has its IP header hashed by
 * XXH3 from a copy with those fields zeroed, the rest in place, and the
 * two halves combined. Two copies of a packet have the same length, so
 * they take the same path. */
#define CONN_FP_SHORT 240
#define CONN_FP_KEYS (2 * (CONN_FP_SHORT / 16) + 2)

static uint64_t s_fp_key[CONN_FP_KEYS];
static pthread_once_t s_fp_once = PTHREAD_ONCE_INIT;

static void s_fp_draw(void)
{
    for (uint32_t i = 0; i < CONN_FP_KEYS; i++)
        s_fp_key[i] = hash_fingerprint(&i, sizeof i);
}

#if defined(__SSE2__)
typedef __m128i fp_acc_t;
#define S_ACC_ZERO _mm_setzero_si128()
/* 16 bytes into the lanes, under the secret's words k[0], k[1]. */
static inline fp_acc_t s_fp_blk(fp_acc_t acc, const uint8_t *d, const uint64_t *k)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)d);
    __m128i dk = _mm_xor_si128(v, _mm_loadu_si128((const __m128i *)(const void *)k));
    __m128i prod = _mm_mul_epu32(dk, _mm_shuffle_epi32(dk, _MM_SHUFFLE(0, 3, 0, 1)));
    return _mm_add_epi64(acc, _mm_add_epi64(prod, _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 0, 3, 2))));
}
static inline void s_fp_lanes(fp_acc_t acc, uint64_t l[2])
{
    _mm_storeu_si128((__m128i *)(void *)l, acc);
}
#else
static inline uint64_t s_ld64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
typedef struct { uint64_t l[2]; } fp_acc_t;
#define S_ACC_ZERO ((fp_acc_t){{0, 0}})
static inline fp_acc_t s_fp_blk(fp_acc_t acc, const uint8_t *d, const uint64_t *k)
{
    uint64_t w0 = s_ld64(d), w1 = s_ld64(d + 8);
    uint64_t k0 = w0 ^ k[0], k1 = w1 ^ k[1];
    acc.l[0] += (k0 & 0xffffffffu) * (k0 >> 32) + w1;
    acc.l[1] += (k1 & 0xffffffffu) * (k1 >> 32) + w0;
    return acc;
}
static inline void s_fp_lanes(fp_acc_t acc, uint64_t l[2])
{
    l[0] = acc.l[0];
    l[1] = acc.l[1];
}
#endif

/* The packet's first 16 bytes with the TTL and checksum (IPv4) or the hop
 * limit (IPv6) zeroed; n is at least 16. */
static inline void s_fp_head(const uint8_t *l3, uint32_t n, uint8_t b[16])
{
    memcpy(b, l3, 16);
    if ((b[0] >> 4) == 4) {
        if ((b[0] & 0x0f) * 4u >= 12 && n >= 12)
            b[8] = b[10] = b[11] = 0;
    } else {
        b[7] = 0;
    }
}

static uint64_t s_fp_short(const uint8_t *l3, uint32_t n)
{
    pthread_once(&s_fp_once, s_fp_draw);
    fp_acc_t acc = S_ACC_ZERO;
    if (n <= 32) { /* zero-padded to two blocks; the length tells them apart */
        uint8_t b[32] = {0};
        memcpy(b, l3, n);
        if ((b[0] >> 4) == 4) {
            if (n >= 12 && (b[0] & 0x0f) * 4u >= 12)
                b[8] = b[10] = b[11] = 0;
        } else if (n >= 8) {
            b[7] = 0;
        }
        acc = s_fp_blk(acc, b, s_fp_key);
        acc = s_fp_blk(acc, b + 16, s_fp_key + 2);
    } else {
        uint8_t head[16];
        s_fp_head(l3, n, head);
        acc = s_fp_blk(acc, head, s_fp_key);
        uint32_t nb = (n + 15) / 16, i = 1;
        for (; i + 1 < nb; i++)
            acc = s_fp_blk(acc, l3 + 16 * i, s_fp_key + 2 * i);
        acc = s_fp_blk(acc, l3 + n - 16, s_fp_key + 2 * i); /* the last 16 bytes */
    }
    uint64_t l[2];
    s_fp_lanes(acc, l);
    const uint64_t *k = s_fp_key + CONN_FP_KEYS - 2;
#if defined(__SIZEOF_INT128__)
    unsigned __int128 m = (unsigned __int128)(l[0] ^ k[0]) * (l[1] ^ k[1] ^ n);
    uint64_t h = (uint64_t)m ^ (uint64_t)(m >> 64);
#else /* no 128-bit product: each lane multiplied apart */
    uint64_t a = (l[0] ^ k[0]) * 0x9e3779b97f4a7c15ull, b = (l[1] ^ k[1] ^ n) * 0xc2b2ae3d27d4eb4full;
    uint64_t h = a ^ (b >> 29 | b << 35);
#endif
    h ^= h >> 37; /* XXH3's avalanche */
    h *= 0x165667919e3779f9ull;
    h ^= h >> 32;
    return h;
}

uint64_t conn_fingerprint(const packet_t *p)
{
    if (!p->l3 || p->l3_len == 0)
        return 0;
    if (p->l3_len <= CONN_FP_SHORT)
        return s_fp_short(p->l3, p->l3_len) | 1;
    /* The outer header: p->ipver is the inner one's in a tunnel. */
    uint8_t hdr[60];
    uint32_t hlen;
    if ((p->l3[0] >> 4) == 4) {
        hlen = (uint32_t)(p->l3[0] & 0x0f) * 4;
        hlen = hlen < p->l3_len ? hlen : p->l3_len;
        if (hlen == 20)
            memcpy(hdr, p->l3, 20); /* no options, the common case: no call */
        else
            memcpy(hdr, p->l3, hlen);
        if (hlen >= 12)
            hdr[8] = hdr[10] = hdr[11] = 0; /* TTL, header checksum */
    } else {
        hlen = p->l3_len < 40 ? p->l3_len : 40;
        memcpy(hdr, p->l3, hlen);
        if (hlen >= 8)
            hdr[7] = 0; /* hop limit */
    }
    uint64_t head = hash_fingerprint(hdr, hlen);
    uint64_t rest = hash_fingerprint(p->l3 + hlen, p->l3_len - hlen);
    /* An odd multiplier is a bijection: equal results need both halves equal
     * (or a 2^-64 chance). 0 is kept for "no fingerprint". */
    return (head * 0x9e3779b97f4a7c15ull ^ rest) | 1;
}

bool conn_is_duplicate(const flow_t *f, int side, const packet_t *p, uint64_t fp,
        uint64_t window_us)
{
    const flow_dir_t *d = &f->d[side];
    return fp != 0 && d->pkts > 0 && d->dup_fp == fp && p->ts_us >= d->dup_ts &&
           p->ts_us - d->dup_ts <= window_us;
}

static void s_tcp(flow_t *f, int side, const packet_t *p)
{
    bool orig = side == f->orig;
    flow_dir_t *d = &f->d[side];
    uint8_t fl = p->tcp_flags;
    if ((fl & (TCP_SYN | TCP_ACK)) == TCP_SYN && orig) {
        if (!(f->flags & FLOW_F_SYN_SEEN)) {
            f->flags |= FLOW_F_SYN_SEEN;
            f->attempts = 1;
        } else if (p->seq != d->isn && f->attempts < UINT16_MAX) {
            f->attempts++; /* a new ISN is a new attempt; the same ISN a retry */
        }
        d->isn = p->seq;
        s_hist(f, 'S');
    } else if ((fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK)) {
        s_hist(f, orig ? 'H' : 'h');
    } else if (fl & TCP_ACK && !(fl & (TCP_FIN | TCP_RST)) && p->payload_len == 0) {
        s_hist(f, orig ? 'A' : 'a');
    }
    if (p->payload_len)
        s_hist(f, orig ? 'D' : 'd');
    if (fl & TCP_FIN)
        s_hist(f, orig ? 'F' : 'f');
    if (fl & TCP_RST)
        s_hist(f, orig ? 'R' : 'r');
    /* The originator acknowledges, but nothing of the responder was seen:
     * the responder's packets exist on a path the mirror does not copy. */
    if (orig && (fl & TCP_ACK) && !(fl & TCP_RST) && f->d[!f->orig].pkts == 0)
        f->flags |= FLOW_F_ONE_SIDED;
    if (!orig && p->payload_caplen >= 2 && p->payload[0] == 0x16 && p->payload[1] == 0x03)
        f->flags |= FLOW_F_TLS_SERVER;
    d->flags |= fl;
}

void conn_update(flow_t *f, int side, const packet_t *p, uint64_t fp)
{
    flow_dir_t *d = &f->d[side];
    if (p->proto == 6)
        s_tcp(f, side, p);
    d->pkts++;
    d->bytes += p->l3_len ? p->l3_len : p->wirelen;
    d->payload += p->payload_len;
    d->dup_fp = fp;
    d->dup_ts = p->ts_us;
}

void conn_icmp_error(flow_t *f, uint8_t type, uint8_t code)
{
    f->flags |= FLOW_F_ICMP;
    f->icmp_type = type;
    f->icmp_code = code;
}

bool conn_answered(const flow_t *f)
{
    return f->d[!f->orig].pkts > 0;
}

bool conn_established(const flow_t *f)
{
    const flow_dir_t *r = &f->d[!f->orig];
    if (f->key.proto != 6)
        return conn_answered(f);
    if ((r->flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
        return true;
    /* Midstream: both sides exchanging without a reset counts. */
    return (f->flags & FLOW_F_MIDSTREAM) && r->pkts > 0 && !(r->flags & TCP_RST);
}

const char *conn_state(const flow_t *f)
{
    if (f->key.proto != 6)
        return "";
    const flow_dir_t *o = &f->d[f->orig], *r = &f->d[!f->orig];
    bool syn = f->flags & FLOW_F_SYN_SEEN;
    bool synack = (r->flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK);
    if (!syn && !synack)
        return "OTH";
    if (!synack) {
        if (r->flags & TCP_RST)
            return "REJ";
        if (o->flags & TCP_FIN)
            return "SH";
        if (o->flags & TCP_RST)
            return "RSTOS0";
        return "S0";
    }
    if (o->flags & TCP_RST)
        return "RSTO";
    if (r->flags & TCP_RST)
        return "RSTR";
    if ((o->flags & TCP_FIN) && (r->flags & TCP_FIN))
        return "SF";
    if (o->flags & TCP_FIN)
        return "S2";
    if (r->flags & TCP_FIN)
        return "S3";
    return "S1";
}
