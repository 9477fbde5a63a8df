/* SPDX-License-Identifier: MIT */
/* health.h: whether the collector's store takes writes, shared between the
 * ingest thread (which finds out) and the HTTP threads (/health, /metrics).
 *
 * While the store refuses writes (disk full, I/O error, database locked),
 * nothing is acknowledged: sensors keep their events in their spools and
 * send them again; when a write succeeds again, ingest goes on where it
 * stopped (docs/collector.md, "Durable"). */
#ifndef PINHOLE_HEALTH_H
#define PINHOLE_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    bool failing;          /* the last transaction could not be committed */
    char reason[200];      /* the store's error then */
    uint64_t since_us;     /* when it began failing (wall clock) */
    uint64_t failures;     /* transactions refused, all told */
    uint64_t episodes;     /* times it began failing */
} health_t;

/* A transaction failed: true if the store was writable until now. */
bool health_store_failed(const char *reason, uint64_t now_us);
/* A transaction was committed: true if the store was failing until now. */
bool health_store_ok(void);
void health_get(health_t *out);

#endif
