/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lrutab.h"
#include "unit.h"

int test_lrutab(void);

typedef struct {
    int ends[4];       /* by lrutab_end_t */
    uint32_t last;     /* the last index ended */
} ends_t;

static void s_end(uint32_t idx, lrutab_end_t why, void *ctx)
{
    ends_t *e = ctx;
    e->ends[why]++;
    e->last = idx;
}

int test_lrutab(void)
{
    CHECK(lrutab_new(0, NULL, NULL) == NULL);
    ends_t e = {{0}, 0};
    lrutab_t *t = lrutab_new(3, s_end, &e);
    CHECK(t);
    uint32_t a = lrutab_add(t, 0xa, 100);
    uint32_t b = lrutab_add(t, 0xb, 200);
    uint32_t c = lrutab_add(t, 0xc, 300);
    CHECK_EQ(lrutab_find(t, 0xb), b);
    CHECK_EQ(lrutab_find(t, 0xd), LRUTAB_NONE);
    /* a touched: b is now the stalest and makes room for d. */
    lrutab_touch(t, a, 400);
    uint32_t d = lrutab_add(t, 0xd, 500);
    CHECK_EQ(e.ends[LRUTAB_EVICTED], 1);
    CHECK_EQ(e.last, b);
    CHECK_EQ(d, b); /* the slot is reused */
    CHECK_EQ(lrutab_find(t, 0xb), LRUTAB_NONE);
    CHECK_EQ(lrutab_find(t, 0xd), d);
    /* Expiry ends from the head while deadlines have passed: c (300) then
     * a (400), not d (500). */
    lrutab_expire(t, 300);
    CHECK_EQ(e.ends[LRUTAB_EXPIRED], 0);
    lrutab_expire(t, 450);
    CHECK_EQ(e.ends[LRUTAB_EXPIRED], 2);
    CHECK_EQ(lrutab_find(t, 0xa), LRUTAB_NONE);
    CHECK_EQ(lrutab_find(t, 0xc), LRUTAB_NONE);
    lrutab_release(t, d);
    CHECK_EQ(e.ends[LRUTAB_RELEASED], 1);
    lrutab_stats_t st;
    lrutab_stats(t, &st);
    CHECK_EQ(st.active, 0);
    CHECK_EQ(st.peak, 3);
    CHECK_EQ(st.created, 4);
    CHECK_EQ(st.expired, 2);
    CHECK_EQ(st.evicted, 1);
    CHECK_EQ(st.released, 1);
    (void)c;
    /* Keys that share a bucket, many times over the size: chains and the
     * free list stay consistent, the table never holds more than max. */
    for (uint64_t k = 1; k <= 1000; k++) {
        lrutab_add(t, k << 32, k);
        CHECK_EQ(lrutab_find(t, k << 32) != LRUTAB_NONE, 1);
        if (k > 3)
            CHECK_EQ(lrutab_find(t, (k - 3) << 32), LRUTAB_NONE);
    }
    lrutab_stats(t, &st);
    CHECK_EQ(st.active, 3);
    lrutab_flush(t);
    CHECK_EQ(e.ends[LRUTAB_FLUSHED], 3);
    lrutab_stats(t, &st);
    CHECK_EQ(st.active, 0);
    lrutab_destroy(&t);
    CHECK(t == NULL);
    return 0;
}
