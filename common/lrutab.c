/* SPDX-License-Identifier: MIT */
/* lrutab.c: a bounded index of 64-bit keys with deadlines and LRU eviction.
 *
 * Structure
 * ---------
 * The same shape as sensor/flow_table.c, without the record: per entry a
 * key, a deadline and three links (hash chain, LRU prev/next), in parallel
 * arrays sized at start. Buckets are the next power of two at or above max,
 * so chains stay short at full load; every loop walks one chain or pops
 * entries it ends, so none runs without a bound. Deletion unlinks from the
 * chain: no tombstones, no load limit to police. Free indexes are kept on a
 * free list threaded through the chain link; never-used ones come from a
 * high-water mark, so the pages of a large table are touched only as it
 * fills.
 *
 * Expiry and eviction
 * -------------------
 * Every entry is on one list ordered by last touch: lrutab_add and
 * lrutab_touch move it to the tail. Expiry pops the head while its deadline
 * has passed; eviction (the table full) ends the head. Both cost O(1) per
 * entry ended. When every entry of a table has the same lifetime (calls,
 * transactions) touch order is deadline order and expiry is exact. When
 * lifetimes differ (registrations of 60 s beside 3600 s), an entry whose
 * deadline passed can wait behind a longer-lived one touched before it;
 * it is still ended no later than that one, and first when room is needed.
 *
 * Keys are keyed SipHash values (common/hash.h): 64 bits under a random
 * per-run key, so two live keys colliding is a 2^-64 event per pair that
 * nobody on the wire can aim at. The table takes the key as the identity. */
#include "lrutab.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

typedef struct {
    uint64_t key;
    uint64_t deadline;
    uint32_t hnext, prev, next;
} entry_t;

struct lrutab {
    entry_t *e;
    uint32_t *buckets;
    uint32_t mask;
    uint32_t max, hwm, free_head;
    uint32_t head, tail;
    lrutab_end_fn *end;
    void *ctx;
    lrutab_stats_t st;
};

lrutab_t *lrutab_new(uint32_t max, lrutab_end_fn *end, void *ctx)
{
    if (max == 0 || max > (1u << 30))
        return NULL;
    lrutab_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    uint32_t nb = 1;
    while (nb < max)
        nb <<= 1;
    self->e = malloc((size_t)max * sizeof(entry_t));
    self->buckets = malloc((size_t)nb * sizeof(uint32_t));
    if (!self->e || !self->buckets) {
        lrutab_destroy(&self);
        return NULL;
    }
    memset(self->buckets, 0xff, (size_t)nb * sizeof(uint32_t));
    self->mask = nb - 1;
    self->max = max;
    self->free_head = self->head = self->tail = LRUTAB_NONE;
    self->end = end;
    self->ctx = ctx;
    return self;
}

void lrutab_destroy(lrutab_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->e);
    free((*self_p)->buckets);
    free(*self_p);
    *self_p = NULL;
}

static void s_unlink(lrutab_t *self, uint32_t idx)
{
    entry_t *x = &self->e[idx];
    if (x->prev != LRUTAB_NONE)
        self->e[x->prev].next = x->next;
    else
        self->head = x->next;
    if (x->next != LRUTAB_NONE)
        self->e[x->next].prev = x->prev;
    else
        self->tail = x->prev;
}

static void s_append(lrutab_t *self, uint32_t idx)
{
    entry_t *x = &self->e[idx];
    x->prev = self->tail;
    x->next = LRUTAB_NONE;
    if (self->tail != LRUTAB_NONE)
        self->e[self->tail].next = idx;
    else
        self->head = idx;
    self->tail = idx;
}

/* Tells the owner, then unhooks idx from its chain and the list. */
static void s_end(lrutab_t *self, uint32_t idx, lrutab_end_t why)
{
    if (self->end)
        self->end(idx, why, self->ctx);
    entry_t *x = &self->e[idx];
    uint32_t *pp = &self->buckets[x->key & self->mask];
    while (*pp != idx) {
        PINHOLE_ASSERT(*pp != LRUTAB_NONE);
        pp = &self->e[*pp].hnext;
    }
    *pp = x->hnext;
    s_unlink(self, idx);
    x->hnext = self->free_head;
    self->free_head = idx;
    self->st.active--;
    if (why == LRUTAB_EXPIRED)
        self->st.expired++;
    else if (why == LRUTAB_EVICTED)
        self->st.evicted++;
    else
        self->st.released++;
}

uint32_t lrutab_find(const lrutab_t *self, uint64_t key)
{
    uint32_t idx = self->buckets[key & self->mask];
    while (idx != LRUTAB_NONE && self->e[idx].key != key)
        idx = self->e[idx].hnext;
    return idx;
}

uint32_t lrutab_add(lrutab_t *self, uint64_t key, uint64_t deadline_us)
{
    if (self->free_head == LRUTAB_NONE && self->hwm == self->max)
        s_end(self, self->head, LRUTAB_EVICTED);
    uint32_t idx;
    if (self->free_head != LRUTAB_NONE) {
        idx = self->free_head;
        self->free_head = self->e[idx].hnext;
    } else {
        idx = self->hwm++;
    }
    entry_t *x = &self->e[idx];
    x->key = key;
    x->deadline = deadline_us;
    x->hnext = self->buckets[key & self->mask];
    self->buckets[key & self->mask] = idx;
    s_append(self, idx);
    self->st.created++;
    if (++self->st.active > self->st.peak)
        self->st.peak = self->st.active;
    return idx;
}

void lrutab_touch(lrutab_t *self, uint32_t idx, uint64_t deadline_us)
{
    self->e[idx].deadline = deadline_us;
    if (self->tail != idx) {
        s_unlink(self, idx);
        s_append(self, idx);
    }
}

void lrutab_release(lrutab_t *self, uint32_t idx)
{
    s_end(self, idx, LRUTAB_RELEASED);
}

void lrutab_expire(lrutab_t *self, uint64_t now_us)
{
    while (self->head != LRUTAB_NONE && self->e[self->head].deadline < now_us)
        s_end(self, self->head, LRUTAB_EXPIRED);
}

void lrutab_flush(lrutab_t *self)
{
    while (self->head != LRUTAB_NONE)
        s_end(self, self->head, LRUTAB_FLUSHED);
}

uint64_t lrutab_key(const lrutab_t *self, uint32_t idx)
{
    return self->e[idx].key;
}

uint64_t lrutab_deadline(const lrutab_t *self, uint32_t idx)
{
    return self->e[idx].deadline;
}

uint32_t lrutab_max(const lrutab_t *self)
{
    return self->max;
}

void lrutab_stats(const lrutab_t *self, lrutab_stats_t *out)
{
    *out = self->st;
}
