/* SPDX-License-Identifier: MIT */
/* flow_table.h: the bounded flow table. See flow_table.c for the design. */
#ifndef PINHOLE_FLOW_TABLE_H
#define PINHOLE_FLOW_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "flow.h"

typedef struct flow_table flow_table_t;

typedef enum {
    FLOW_END_IDLE = 0,  /* idle timeout */
    FLOW_END_EVICTED,   /* pushed out to make room (table full) */
    FLOW_END_FLUSH,     /* end of capture */
} flow_end_t;

/* Called once for every flow that leaves the table, just before its slot is
 * reused; the flow is valid only during the call. */
typedef void (flow_end_fn)(flow_t *flow, flow_end_t why, void *ctx);

typedef struct {
    uint64_t active, created, expired, evicted, flushed, peak;
    uint64_t chain_max; /* longest hash chain a lookup walked (flows compared) */
} flow_table_stats_t;

/* Preallocates room for max_flows; flows idle for idle_us are expired. */
flow_table_t *flow_table_new(uint32_t max_flows, uint64_t idle_us, flow_end_fn *end, void *ctx);
void flow_table_destroy(flow_table_t **self_p);

/* The flow of key, created if absent (*created says so). When the table is
 * full the least recently active flow is ended first (FLOW_END_EVICTED).
 * Marks the flow active at `now`. Never NULL. */
flow_t *flow_table_get(flow_table_t *self, const flow_key_t *key, uint64_t now, bool *created);
/* The flow of key, or NULL; does not change its activity. */
flow_t *flow_table_find(flow_table_t *self, const flow_key_t *key);
/* Ends every flow idle since before now - idle_us. */
void flow_table_expire(flow_table_t *self, uint64_t now);
/* Ends every flow (end of capture). */
void flow_table_flush(flow_table_t *self);
void flow_table_stats(const flow_table_t *self, flow_table_stats_t *out);
/* Calls fn on every flow in the table, oldest first; fn must not add or end
 * flows. */
void flow_table_foreach(flow_table_t *self, void (*fn)(flow_t *f, void *ctx), void *ctx);

#endif
