/* SPDX-License-Identifier: MIT */
/* slotpool.h: indexes into a preallocated array of slots, handed out and
 * given back in O(1), never more than `max` at once. Slots never used yet
 * come from a high-water mark, so a large array's pages are touched only as
 * they are needed. The owner keeps the slots; the pool keeps the indexes. */
#ifndef PINHOLE_SLOTPOOL_H
#define PINHOLE_SLOTPOOL_H

#include <stdint.h>

#define SLOT_NONE UINT32_MAX

typedef struct {
    uint32_t *free;  /* stack of given-back indexes */
    uint32_t nfree, hwm, max;
    uint32_t used, peak;
} slot_pool_t;

/* 0, or -1 if the index stack cannot be allocated. */
int slot_pool_init(slot_pool_t *self, uint32_t max);
void slot_pool_fini(slot_pool_t *self);
/* A free index, or SLOT_NONE when all max are in use. */
uint32_t slot_pool_take(slot_pool_t *self);
/* Gives an index back (it must be in use). */
void slot_pool_give(slot_pool_t *self, uint32_t i);

#endif
