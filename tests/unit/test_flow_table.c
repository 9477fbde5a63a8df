/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "../bench/flowflood.h"
#include "flow_table.h"
#include "hash.h"
#include "unit.h"

int test_flow_table(void);

typedef struct {
    int ended[3];
    uint64_t last_id;
} ends_t;

static void s_end(flow_t *f, flow_end_t why, void *ctx)
{
    ends_t *e = ctx;
    e->ended[why]++;
    e->last_id = f->id;
}

static void s_key(flow_key_t *k, uint32_t i, bool reverse)
{
    ip_addr_t a, b;
    uint8_t v4a[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
    uint8_t v4b[4] = {203, 0, 113, 10};
    ip_from_v4(&a, v4a);
    ip_from_v4(&b, v4b);
    if (reverse)
        flow_key_make(k, &b, 443, &a, (uint16_t)(1024 + i % 60000), 6);
    else
        flow_key_make(k, &a, (uint16_t)(1024 + i % 60000), &b, 443, 6);
}

static int s_eviction(void)
{
    ends_t e = {{0}, 0};
    flow_table_t *ft = flow_table_new(64, 1000000, s_end, &e);
    CHECK(ft);
    bool created;
    for (uint32_t i = 0; i < 1000; i++) {
        flow_key_t k;
        s_key(&k, i, false);
        flow_table_get(ft, &k, 1000 + i, &created);
        CHECK(created);
    }
    flow_table_stats_t st;
    flow_table_stats(ft, &st);
    CHECK_EQ(st.active, 64);      /* bounded */
    CHECK_EQ(st.evicted, 1000 - 64); /* and every eviction counted */
    CHECK_EQ(e.ended[FLOW_END_EVICTED], 1000 - 64);
    /* The oldest went first: flow 935 is gone, flows 936..999 are in. */
    flow_key_t k;
    s_key(&k, 935, false);
    CHECK(flow_table_find(ft, &k) == NULL);
    s_key(&k, 936, false);
    CHECK(flow_table_find(ft, &k) != NULL);
    flow_table_destroy(&ft);
    CHECK(ft == NULL);
    return 0;
}

/* Hash flooding: 4,000 IPv6 flows crafted to share one bucket of the old
 * unkeyed hash (tests/bench/flowflood.h) spread out under the keyed one.
 * The key is fixed so the bound below is checked on the same layout every
 * run: 4,000 keys into 4,096 buckets by a random function have a longest
 * chain of about 6; the old hash made it 4,000. */
static int s_flood(void)
{
    uint8_t key[HASH_KEY_BYTES] = {0x70, 0x69, 0x6e, 0x68, 0x6f, 0x6c, 0x65}; /* "pinhole" */
    hash_set_key(key);
    flow_table_t *ft = flow_table_new(4096, 1000000, NULL, NULL);
    CHECK(ft);
    static const uint8_t far[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
            0, 0, 0, 1}; /* 2001:db8:ffff:ffff::1 */
    ip_addr_t a, b;
    memcpy(b.b, far, 16);
    uint64_t first = 0;
    bool created;
    for (uint32_t i = 0; i < 4000; i++) {
        flow_key_t k;
        flood_addr(i, a.b);
        flow_key_make(&k, &a, 40000, &b, 4000, 17);
        CHECK(memcmp(&k.a, &a, 16) == 0); /* the crafted side is the key's a */
        if (i == 0)
            first = flood_old_hash(&k);
        CHECK(flood_old_hash(&k) == first); /* the old hash: one value for all */
        flow_table_get(ft, &k, 1000 + i, &created);
        CHECK(created);
    }
    flow_table_stats_t st;
    flow_table_stats(ft, &st);
    CHECK_EQ(st.active, 4000);
    CHECK(st.chain_max >= 1 && st.chain_max <= 12);
    flow_table_destroy(&ft);
    CHECK(ft == NULL);
    return 0;
}

/* The canonical key puts the end that memcmp orders first (the lower
 * port on equal addresses) as side a, for addresses that differ anywhere,
 * in either half, or not at all. */
static int s_canonical(void)
{
    uint64_t seed = 5;
    for (int i = 0; i < 100000; i++) {
        ip_addr_t x, y;
        for (int b = 0; b < 16; b++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            x.b[b] = (uint8_t)(seed >> 40);
            y.b[b] = (uint8_t)(seed >> 48);
        }
        if (i % 3 == 0) { /* differ in one bit only */
            memcpy(y.b, x.b, 16);
            y.b[(seed >> 20) % 16] ^= (uint8_t)(1u << (seed >> 8) % 8);
        }
        if (i % 11 == 0)
            y = x;
        uint16_t sp = (uint16_t)(seed >> 3), dp = (uint16_t)(i % 5 ? seed >> 19 : seed >> 3);
        flow_key_t k;
        flow_key_make(&k, &x, sp, &y, dp, 17);
        int c = memcmp(x.b, y.b, 16);
        bool x_first = c < 0 || (c == 0 && sp <= dp);
        CHECK(memcmp(k.a.b, (x_first ? x : y).b, 16) == 0);
        CHECK_EQ(k.pa, x_first ? sp : dp);
        CHECK_EQ(k.pb, x_first ? dp : sp);
    }
    return 0;
}

int test_flow_table(void)
{
    ends_t e = {{0}, 0};
    flow_table_t *ft = flow_table_new(1024, 30000000, s_end, &e);
    CHECK(ft);
    bool created;
    flow_key_t k1, k1r, k2;
    s_key(&k1, 1, false);
    s_key(&k1r, 1, true);
    s_key(&k2, 2, false);
    CHECK(memcmp(&k1, &k1r, sizeof k1) == 0); /* both directions: one key */
    flow_t *f1 = flow_table_get(ft, &k1, 1000000, &created);
    CHECK(created && f1->id == 1);
    CHECK(flow_table_get(ft, &k1r, 2000000, &created) == f1 && !created);
    CHECK_EQ(f1->last_us, 2000000);
    flow_t *f2 = flow_table_get(ft, &k2, 20000000, &created);
    CHECK(created && f2 != f1 && f2->id == 2);
    /* Idle expiry: at t=33s, f1 (last 2s) is past 30s idle, f2 (20s) is not. */
    flow_table_expire(ft, 33000000);
    CHECK_EQ(e.ended[FLOW_END_IDLE], 1);
    CHECK_EQ(e.last_id, 1);
    CHECK(flow_table_find(ft, &k1) == NULL);
    CHECK(flow_table_find(ft, &k2) != NULL);
    /* A slot is reused, and the new flow starts clean. */
    flow_t *f3 = flow_table_get(ft, &k1, 34000000, &created);
    CHECK(created && f3->id == 3 && f3->d[0].pkts == 0);
    flow_table_flush(ft);
    CHECK_EQ(e.ended[FLOW_END_FLUSH], 2);
    flow_table_stats_t st;
    flow_table_stats(ft, &st);
    CHECK_EQ(st.active, 0);
    CHECK_EQ(st.created, 3);
    flow_table_destroy(&ft);
    CHECK(ft == NULL);
    flow_table_destroy(&ft); /* NULL is accepted */
    CHECK(flow_table_new(0, 1, NULL, NULL) == NULL);
    RUN(s_eviction);
    RUN(s_flood);
    RUN(s_canonical);
    return 0;
}
