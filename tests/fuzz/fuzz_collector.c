/* SPDX-License-Identifier: MIT */
/* fuzz_collector.c: what a sensor's message goes through in the collector:
 * the header check, the body framing and the check of each event (a
 * batch, read as parse_ahead's thread does), and the aggregation of what passes into a store (SQLite in memory), as
 * collector/main.c does. Input: header frame, a NUL byte, body frame. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "batch.h"
#include "evschema.h"
#include "log.h"
#include "rules.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rules_t *s_rules;
static store_t *s_store;
static aggregate_t *s_agg;
static batch_t *s_batch;
static uint64_t s_runs;

static void s_setup(void)
{
    char err[512];
    log_set_level(LOG_LEVEL_ERROR);
    s_rules = rules_new();
    if (rules_load_profiles(s_rules, PINHOLE_SRCDIR "/rules", err, sizeof err) ||
            rules_load_inventory(s_rules, PINHOLE_SRCDIR "/rules/inventory/lab.yaml", err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        abort();
    }
    store_cfg_t cfg;
    store_cfg_defaults(&cfg);
    cfg.max_events = 1000;
    cfg.sync_full = false;
    s_store = store_open(":memory:", &cfg, false, err, sizeof err);
    s_agg = s_store ? aggregate_new(s_store, s_rules, 300000000) : NULL;
    s_batch = batch_new();
    if (!s_agg || !s_batch)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_rules)
        s_setup();
    const uint8_t *nul = memchr(data, 0, size);
    size_t hlen = nul ? (size_t)(nul - data) : size;
    evschema_header_t h;
    char err[160];
    if (evschema_header_parse(data, hlen, &h, err, sizeof err) != 0)
        return 0;
    if (h.kind == EVSCHEMA_EVENTS && nul) {
        store_begin(s_store);
        size_t n = 0;
        const batch_line_t *l = batch_parse(s_batch, (const char *)nul + 1, size - hlen - 1,
                                        h.count) == 0 ? batch_lines(s_batch, &n) : NULL;
        for (size_t i = 0; i < n; i++)
            if (!l[i].err)
                aggregate_event(s_agg, h.sensor, h.epoch, h.first + i, &l[i].ev, l[i].line,
                        l[i].len);
        aggregate_settle(s_agg);
        store_commit(s_store);
        if (++s_runs % 256 == 0)
            store_trim(s_store);
    }
    evschema_header_fini(&h);
    return 0;
}
