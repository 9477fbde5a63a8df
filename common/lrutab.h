/* SPDX-License-Identifier: MIT */
/* lrutab.h: a bounded index of 64-bit keys with a deadline per entry and
 * least-recently-used eviction. See lrutab.c for the design.
 *
 * The table hands out entry indexes in [0, max); the owner keeps its records
 * in an array of max and indexes it with them. Keys are keyed hashes
 * (common/hash.h), taken as the identity of what they name. */
#ifndef PINHOLE_LRUTAB_H
#define PINHOLE_LRUTAB_H

#include <stdbool.h>
#include <stdint.h>

#define LRUTAB_NONE UINT32_MAX

typedef struct lrutab lrutab_t;

typedef enum {
    LRUTAB_EXPIRED = 0, /* its deadline passed (lrutab_expire) */
    LRUTAB_EVICTED,     /* the stalest, pushed out to make room */
    LRUTAB_RELEASED,    /* its owner ended it (lrutab_release) */
    LRUTAB_FLUSHED,     /* lrutab_flush */
} lrutab_end_t;

/* Called once for each entry that leaves, before its index is reused; the
 * callee must not call back into the same table. */
typedef void(lrutab_end_fn)(uint32_t idx, lrutab_end_t why, void *ctx);

typedef struct {
    uint64_t active, peak, created, expired, evicted, released;
} lrutab_stats_t;

/* Room for max entries (1 .. 2^30); NULL if max is out of range or on
 * allocation failure. */
lrutab_t *lrutab_new(uint32_t max, lrutab_end_fn *end, void *ctx);
void lrutab_destroy(lrutab_t **self_p);

/* The index of key, or LRUTAB_NONE; does not touch it. */
uint32_t lrutab_find(const lrutab_t *self, uint64_t key);
/* Adds key (which must be absent) as the most recent entry, living until
 * deadline_us. When the table is full the least recently touched entry is
 * ended first (LRUTAB_EVICTED). Never LRUTAB_NONE. */
uint32_t lrutab_add(lrutab_t *self, uint64_t key, uint64_t deadline_us);
/* Makes idx the most recent entry and sets its deadline. */
void lrutab_touch(lrutab_t *self, uint32_t idx, uint64_t deadline_us);
/* Ends idx now (LRUTAB_RELEASED). */
void lrutab_release(lrutab_t *self, uint32_t idx);
/* Ends, from the least recently touched, each entry whose deadline is
 * before now_us; stops at the first that is still alive. */
void lrutab_expire(lrutab_t *self, uint64_t now_us);
/* Ends every entry, least recently touched first (LRUTAB_FLUSHED). */
void lrutab_flush(lrutab_t *self);

uint64_t lrutab_key(const lrutab_t *self, uint32_t idx);
uint64_t lrutab_deadline(const lrutab_t *self, uint32_t idx);
uint32_t lrutab_max(const lrutab_t *self);
void lrutab_stats(const lrutab_t *self, lrutab_stats_t *out);

#endif
