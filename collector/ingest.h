/* SPDX-License-Identifier: MIT */
/* ingest.h: one message from a sensor into the store, in one transaction
 * (docs/link.md, docs/collector.md).
 *
 * A batch's events, its stream's next number, the sensor's counters and
 * what the events change (counts, statuses, alerts) are committed together,
 * or not at all: the ack the caller sends names only what was committed.
 * Duplicates (a resend) are counted and skipped; a gap the sensor says it
 * discarded (`base`) is counted missing and alerted; a batch that comes
 * before the one missing asks for a resend. */
#ifndef PINHOLE_INGEST_H
#define PINHOLE_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"
#include "alert.h"
#include "batch.h"
#include "evschema.h"
#include "store.h"

typedef struct ingest ingest_t;

/* What the caller answers: ack `acked` (the highest number stored), and
 * ask for a resend from acked + 1 if `resend`. No ack at all when the
 * transaction was refused (the store fails) or the message was refused. */
typedef struct {
    bool ack;
    uint64_t acked;
    bool resend;
    uint64_t stored;   /* events stored new */
} ingest_result_t;

/* Once, at start, in a program that ingests (the collector, the bench):
 * the heap keeps what a message freed for the next one. glibc gave it back
 * to the kernel at every message (SQLite's sorter and page cache at the
 * top of the heap) and took it again: a page fault a page, more time in
 * the kernel than in ingest itself. */
void ingest_tune_memory(void);

ingest_t *ingest_new(store_t *db, aggregate_t *agg, alert_t *alert);
void ingest_destroy(ingest_t **self_p);

/* An `events` message (header and body), its lines read here. */
void ingest_events(ingest_t *self, const evschema_header_t *h, const char *body, size_t len,
        uint64_t now_us, ingest_result_t *out);
/* The same, its lines read already (batch_parse of its body, which must
 * still be there: the store reads the lines at the message's end). */
void ingest_parsed(ingest_t *self, const evschema_header_t *h, const batch_t *b,
        uint64_t now_us, ingest_result_t *out);
/* A `heartbeat` or `bye` message. */
void ingest_heartbeat(ingest_t *self, const evschema_header_t *h, uint64_t now_us);

#endif
