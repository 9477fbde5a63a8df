/* SPDX-License-Identifier: MIT */
/* flow_table.c: the bounded flow table.
 *
 * Structure
 * ---------
 * All flow records live in one array sized at start (max_flows); nothing is
 * allocated per packet. A flow is named by its index. Lookup is a hash of
 * the canonical key into a power-of-two bucket array of chain heads; chains
 * link through flow.hnext. Free slots are kept on a free list threaded
 * through hnext as well; slots never used yet are handed out from a high-water
 * mark, so the pages of a large table are touched only as flows arrive.
 *
 * Expiry and eviction
 * -------------------
 * Every active flow is on one LRU list ordered by last activity: a packet
 * moves its flow to the tail. Packet time only moves forward (within a small
 * jitter on real captures), so the head is always the flow idle longest.
 * Expiry pops from the head while it is older than the idle timeout, which
 * costs O(1) per expired flow and nothing for the others. When the table is
 * full, the head is ended early (counted as evicted) to make room: the cost
 * per packet stays the same at 10 thousand or a million flows.
 *
 * Hashing
 * -------
 * The key is what the network sends, so the bucket comes from SipHash-2-4
 * under a key drawn at random once per run (each table's SipHash key is
 * derived from the run's, hash_keyed in common/hash.h; the hash is
 * computed here, inline, on the key's words). An
 * unkeyed hash can be inverted: 100,000 IPv6 flows crafted into one bucket
 * turned every lookup into a walk of the whole chain (about 100 s instead of
 * 1 s for as many random flows; tests/bench/hashflood.sh). The hash is taken
 * once per packet (flow_table_get) and once when a flow ends (to unlink it).
 * chain_max, the longest chain a lookup walked, shows an attack (logged at
 * the end of a run; not in the events, as it depends on the random key).
 *
 * Limits
 * ------
 * max_flows is the memory bound: sizeof(flow_t) * max_flows plus 4 bytes a
 * bucket. Buckets are the next power of two at or above max_flows, so chains
 * stay short at full load. */
#include "flow_table.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "log.h"

/* The memory target: at most 300 bytes a flow once nDPI is done with it
 * (the record and its share of the buckets; docs/design.md, "The flow
 * record"). A field added to flow_t must fit in what is left. */
_Static_assert(sizeof(flow_t) <= 264, "flow_t outgrows the 300 bytes a flow may take");

struct flow_table {
    flow_t *flows;
    uint32_t *buckets;
    uint32_t mask;
    uint32_t max, hwm, free_head;
    uint32_t lru_head, lru_tail;
    uint64_t idle_us;
    uint64_t next_id;
    flow_end_fn *end;
    void *ctx;
    uint64_t k0, k1; /* SipHash key, from the run's */
    flow_table_stats_t st;
};

/* Eight bytes as a big-endian number (one load and a byte swap on x86). */
static inline uint64_t s_be64(const uint8_t *p)
{
    return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
           (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
           (uint64_t)p[6] << 8 | (uint64_t)p[7];
}

/* memcmp of two addresses, as two big-endian words (no call). */
static inline int s_addr_cmp(const ip_addr_t *x, const ip_addr_t *y)
{
    for (int i = 0; i < 16; i += 8) {
        uint64_t u = s_be64(x->b + i), v = s_be64(y->b + i);
        if (u != v)
            return u < v ? -1 : 1;
    }
    return 0;
}

void flow_key_make(flow_key_t *k, const ip_addr_t *src, uint16_t sport, const ip_addr_t *dst,
        uint16_t dport, uint8_t proto)
{
    memset(k, 0, sizeof *k);
    int c = s_addr_cmp(src, dst);
    if (c < 0 || (c == 0 && sport <= dport)) {
        k->a = *src;
        k->pa = sport;
        k->b = *dst;
        k->pb = dport;
    } else {
        k->a = *dst;
        k->pa = dport;
        k->b = *src;
        k->pb = sport;
    }
    k->proto = proto;
}

uint32_t flow_key_worker(const flow_key_t *k, uint32_t n)
{
    uint64_t w[4];
    memcpy(w, &k->a, sizeof k->a);
    memcpy(w + 2, &k->b, sizeof k->b);
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 5; i++) {
        h ^= i < 4 ? w[i] : ((uint64_t)k->pa << 16 | k->pb);
        h *= 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    return (uint32_t)(((h >> 32) * n) >> 32);
}

/* ip_is_v4, inlined: it runs on every packet. */
static inline bool s_is_v4(const ip_addr_t *a)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a->b, prefix, sizeof prefix) == 0;
}

static inline uint64_t s_rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

#define S_SIPROUND                                                              \
    do {                                                                        \
        v0 += v1; v1 = s_rotl(v1, 13); v1 ^= v0; v0 = s_rotl(v0, 32);           \
        v2 += v3; v3 = s_rotl(v3, 16); v3 ^= v2;                                \
        v0 += v3; v3 = s_rotl(v3, 21); v3 ^= v0;                                \
        v2 += v1; v1 = s_rotl(v1, 17); v1 ^= v2; v2 = s_rotl(v2, 32);           \
    } while (0)

/* SipHash-2-4 of n little-endian words m[0..n) followed by a last word
 * `last` (whose top byte holds the input's length, as SipHash pads it). */
static inline uint64_t s_siphash(const flow_table_t *self, const uint64_t *m, int n,
        uint64_t last)
{
    uint64_t v0 = self->k0 ^ 0x736f6d6570736575ull, v1 = self->k1 ^ 0x646f72616e646f6dull;
    uint64_t v2 = self->k0 ^ 0x6c7967656e657261ull, v3 = self->k1 ^ 0x7465646279746573ull;
    for (int i = 0; i <= n; i++) {
        uint64_t w = i < n ? m[i] : last;
        v3 ^= w;
        S_SIPROUND;
        S_SIPROUND;
        v0 ^= w;
    }
    v2 ^= 0xff;
    S_SIPROUND;
    S_SIPROUND;
    S_SIPROUND;
    S_SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

static inline uint64_t s_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static uint32_t s_hash(const flow_table_t *self, const flow_key_t *k)
{
    /* Keyed: see "Hashing" above. An IPv4 flow hashes only its 13 bytes
     * that vary (the two addresses, the ports, the protocol: two SipHash
     * blocks instead of six); inputs of 13 and of 40 bytes never coincide,
     * so distinct keys still hash distinct inputs. */
    if (s_is_v4(&k->a) && s_is_v4(&k->b)) {
        uint32_t a, b;
        memcpy(&a, k->a.b + 12, 4);
        memcpy(&b, k->b.b + 12, 4);
        uint8_t w[8];
        memcpy(w, &a, 4);
        memcpy(w + 4, &b, 4);
        uint64_t m = s_le64(w);
        uint64_t last = (uint64_t)k->pa | (uint64_t)k->pb << 16 | (uint64_t)k->proto << 32 |
                        (uint64_t)13 << 56;
        return (uint32_t)s_siphash(self, &m, 1, last);
    }
    uint64_t m[5];
    for (int i = 0; i < 5; i++) /* pad bytes are zero (flow_key_make) */
        m[i] = s_le64((const uint8_t *)k + 8 * i);
    return (uint32_t)s_siphash(self, m, 5, (uint64_t)40 << 56);
}

_Static_assert(sizeof(flow_key_t) == 40, "flow_key_t must compare as five 64-bit words");

/* Key equality as five word compares: called on every lookup. */
static inline bool s_key_eq(const flow_key_t *x, const flow_key_t *y)
{
    uint64_t a[5], b[5];
    memcpy(a, x, sizeof a);
    memcpy(b, y, sizeof b);
    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])) == 0;
}

flow_table_t *flow_table_new(uint32_t max_flows, uint64_t idle_us, flow_end_fn *end, void *ctx)
{
    if (max_flows == 0 || max_flows > (1u << 30))
        return NULL;
    flow_table_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    uint32_t nb = 1;
    while (nb < max_flows)
        nb <<= 1;
    self->flows = calloc(max_flows, sizeof(flow_t));
    self->buckets = malloc((size_t)nb * sizeof(uint32_t));
    if (!self->flows || !self->buckets) {
        flow_table_destroy(&self);
        return NULL;
    }
    memset(self->buckets, 0xff, (size_t)nb * sizeof(uint32_t));
    self->mask = nb - 1;
    self->max = max_flows;
    self->free_head = self->lru_head = self->lru_tail = FLOW_NONE;
    self->idle_us = idle_us;
    self->end = end;
    self->ctx = ctx;
    /* The table's SipHash key: two values of the run's keyed hash (a PRF),
     * as secret as the run's key. */
    static const char label[] = "pinhole flow table";
    self->k0 = hash_keyed(label, sizeof label - 1);
    self->k1 = hash_keyed_more(self->k0, label, sizeof label - 1);
    return self;
}

void flow_table_destroy(flow_table_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->flows);
    free((*self_p)->buckets);
    free(*self_p);
    *self_p = NULL;
}

static void s_lru_unlink(flow_table_t *self, flow_t *f)
{
    if (f->prev != FLOW_NONE)
        self->flows[f->prev].next = f->next;
    else
        self->lru_head = f->next;
    if (f->next != FLOW_NONE)
        self->flows[f->next].prev = f->prev;
    else
        self->lru_tail = f->prev;
}

static void s_lru_append(flow_table_t *self, flow_t *f, uint32_t idx)
{
    f->prev = self->lru_tail;
    f->next = FLOW_NONE;
    if (self->lru_tail != FLOW_NONE)
        self->flows[self->lru_tail].next = idx;
    else
        self->lru_head = idx;
    self->lru_tail = idx;
}

/* Ends a flow: tells the owner, unlinks it and puts its slot on the free list. */
static void s_end(flow_table_t *self, uint32_t idx, flow_end_t why)
{
    flow_t *f = &self->flows[idx];
    if (self->end)
        self->end(f, why, self->ctx);
    uint32_t *pp = &self->buckets[s_hash(self, &f->key) & self->mask];
    while (*pp != idx) {
        PINHOLE_ASSERT(*pp != FLOW_NONE);
        pp = &self->flows[*pp].hnext;
    }
    *pp = f->hnext;
    s_lru_unlink(self, f);
    f->hnext = self->free_head;
    self->free_head = idx;
    self->st.active--;
    if (why == FLOW_END_IDLE)
        self->st.expired++;
    else if (why == FLOW_END_EVICTED)
        self->st.evicted++;
    else
        self->st.flushed++;
}

/* Notes the length of a chain walked (counted only when it grows). */
static inline void s_chain(flow_table_t *self, uint32_t steps)
{
    if (steps > self->st.chain_max)
        self->st.chain_max = steps;
}

flow_t *flow_table_find(flow_table_t *self, const flow_key_t *key)
{
    uint32_t idx = self->buckets[s_hash(self, key) & self->mask], steps = 0;
    while (idx != FLOW_NONE) {
        flow_t *f = &self->flows[idx];
        steps++;
        if (s_key_eq(&f->key, key)) {
            s_chain(self, steps);
            return f;
        }
        idx = f->hnext;
    }
    s_chain(self, steps);
    return NULL;
}

flow_t *flow_table_get(flow_table_t *self, const flow_key_t *key, uint64_t now, bool *created)
{
    uint32_t h = s_hash(self, key) & self->mask, steps = 0;
    for (uint32_t idx = self->buckets[h]; idx != FLOW_NONE;) {
        flow_t *f = &self->flows[idx];
        steps++;
        if (s_key_eq(&f->key, key)) {
            s_chain(self, steps);
            if (self->lru_tail != idx) {
                s_lru_unlink(self, f);
                s_lru_append(self, f, idx);
            }
            if (now > f->last_us)
                f->last_us = now;
            *created = false;
            return f;
        }
        idx = f->hnext;
    }
    s_chain(self, steps);
    if (self->free_head == FLOW_NONE && self->hwm == self->max)
        s_end(self, self->lru_head, FLOW_END_EVICTED);
    uint32_t idx;
    if (self->free_head != FLOW_NONE) {
        idx = self->free_head;
        self->free_head = self->flows[idx].hnext;
    } else {
        idx = self->hwm++;
    }
    flow_t *f = &self->flows[idx];
    memset(f, 0, sizeof *f);
    f->key = *key;
    f->ndpi = FLOW_NONE;
    f->media = FLOW_NONE;
    f->sipstream = FLOW_NONE;
    f->id = ++self->next_id;
    f->first_us = f->last_us = now;
    f->site[0] = f->site[1] = -1;
    f->hnext = self->buckets[h];
    self->buckets[h] = idx;
    s_lru_append(self, f, idx);
    self->st.created++;
    if (++self->st.active > self->st.peak)
        self->st.peak = self->st.active;
    *created = true;
    return f;
}

void flow_table_expire(flow_table_t *self, uint64_t now)
{
    while (self->lru_head != FLOW_NONE) {
        flow_t *f = &self->flows[self->lru_head];
        if (f->last_us + self->idle_us >= now)
            break;
        s_end(self, self->lru_head, FLOW_END_IDLE);
    }
}

void flow_table_flush(flow_table_t *self)
{
    while (self->lru_head != FLOW_NONE)
        s_end(self, self->lru_head, FLOW_END_FLUSH);
}

void flow_table_foreach(flow_table_t *self, void (*fn)(flow_t *f, void *ctx), void *ctx)
{
    for (uint32_t i = self->lru_head; i != FLOW_NONE; i = self->flows[i].next)
        fn(&self->flows[i], ctx);
}

void flow_table_stats(const flow_table_t *self, flow_table_stats_t *out)
{
    *out = self->st;
}
