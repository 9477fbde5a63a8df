/* SPDX-License-Identifier: MIT */
/* fuzz_collector.c: what a sensor's message goes through in the collector:
 * the header check, the body framing, the check of each event, and the
 * aggregation of what passes into a store (SQLite in memory), as
 * collector/main.c does. Input: header frame, a NUL byte, body frame. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "event.h"
#include "evschema.h"
#include "log.h"
#include "rules.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rules_t *s_rules;
static store_t *s_store;
static aggregate_t *s_agg;
static event_parser_t *s_parser;
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
    s_parser = event_parser_new();
    if (!s_agg || !s_parser)
        abort();
}

typedef struct {
    const evschema_header_t *h;
} ctx_t;

static void s_line(const char *line, size_t len, uint64_t index, void *arg)
{
    ctx_t *c = arg;
    char err[160];
    event_t e;
    if (event_parse(s_parser, line, len, &e, err, sizeof err) != 0)
        return;
    aggregate_event(s_agg, c->h->sensor, c->h->epoch, c->h->first + index, &e, line, len);
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
        ctx_t c = {&h};
        store_begin(s_store);
        evschema_body_split((const char *)nul + 1, size - hlen - 1, h.count, s_line, &c);
        aggregate_settle(s_agg);
        store_commit(s_store);
        if (++s_runs % 256 == 0)
            store_trim(s_store);
    }
    evschema_header_fini(&h);
    return 0;
}
