/* SPDX-License-Identifier: MIT */
/* slotpool.c: O(1) slot indexes with a high-water mark. */
#include "slotpool.h"

#include <stdlib.h>

#include "log.h"

int slot_pool_init(slot_pool_t *self, uint32_t max)
{
    self->free = malloc((max ? max : 1) * sizeof(uint32_t));
    self->nfree = self->hwm = self->used = self->peak = 0;
    self->max = max;
    return self->free ? 0 : -1;
}

void slot_pool_fini(slot_pool_t *self)
{
    free(self->free);
    self->free = NULL;
}

uint32_t slot_pool_take(slot_pool_t *self)
{
    uint32_t i;
    if (self->nfree)
        i = self->free[--self->nfree];
    else if (self->hwm < self->max)
        i = self->hwm++;
    else
        return SLOT_NONE;
    if (++self->used > self->peak)
        self->peak = self->used;
    return i;
}

void slot_pool_give(slot_pool_t *self, uint32_t i)
{
    PINHOLE_ASSERT(i < self->hwm && self->nfree < self->max && self->used > 0);
    self->free[self->nfree++] = i;
    self->used--;
}
