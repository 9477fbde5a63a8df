/* SPDX-License-Identifier: MIT */
/* ingest.c: a sensor's message into the store, in one transaction. */
#include "ingest.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "log.h"
#include "strutil.h"

struct ingest {
    store_t *db;
    aggregate_t *agg;
    alert_t *alert;
    batch_t *batch;     /* ingest_events' */
};

void ingest_tune_memory(void)
{
    mallopt(M_TRIM_THRESHOLD, 8 << 20); /* a bound: beyond it, freed memory still goes back */
    /* Setting the one turns off glibc's moving mmap threshold: fixed here
     * above a message's body (about 330 KiB for 512 flow events), which
     * was mapped and unmapped at each message, a page fault a page. */
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
}

ingest_t *ingest_new(store_t *db, aggregate_t *agg, alert_t *alert)
{
    ingest_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    *self = (ingest_t){.db = db, .agg = agg, .alert = alert, .batch = batch_new()};
    if (!self->batch)
        ingest_destroy(&self);
    return self;
}

void ingest_destroy(ingest_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    batch_destroy(&(*self_p)->batch);
    free(*self_p);
    *self_p = NULL;
}

/* The message's lines from skip on, in order, into aggregation. */
static void s_lines(ingest_t *c, const evschema_header_t *h, const batch_t *b, uint64_t skip,
        store_sensor_delta_t *d, uint64_t *fixed)
{
    size_t n;
    const batch_line_t *lines = batch_lines(b, &n);
    for (size_t i = skip; i < n; i++) {
        const batch_line_t *l = &lines[i];
        uint64_t seq = h->first + i;
        if (l->err) {
            d->rejected++;
            if (d->rejected <= 5)
                log_warn("sensor %s, epoch %s, event %llu refused: %s", h->sensor, h->epoch,
                        (unsigned long long)seq, l->err);
            continue;
        }
        aggregate_event(c->agg, h->sensor, h->epoch, seq, &l->ev, l->line, l->len);
        d->received++;
        *fixed += l->fixed;
    }
}

/* A transaction the store refused (disk full, I/O error, locked): nothing
 * of it was kept and it is not acknowledged (sensors send it again). Said
 * once when it begins, with an alert sent directly. */
static void s_store_failed(ingest_t *c, uint64_t now)
{
    const char *why = store_error(c->db);
    if (health_store_failed(why, now)) {
        char msg[320];
        snprintf(msg, sizeof msg, "the store refuses writes (%s): nothing is acknowledged; "
                 "sensors keep their events until it takes them again", why ? why : "?");
        log_error("%s", msg);
        alert_direct(c->alert, "store_failing", "ok", "failing", msg, now);
    }
}

static void s_store_ok(ingest_t *c, uint64_t now)
{
    if (health_store_ok()) {
        health_t h;
        health_get(&h);
        char msg[200];
        snprintf(msg, sizeof msg, "the store takes writes again, after %llu refused transaction(s)",
                (unsigned long long)h.failures);
        log_notice("%s", msg);
        alert_direct(c->alert, "store_failing", "failing", "ok", msg, now);
    }
}

static void s_sensor_back(ingest_t *c, const char *sensor, const char *was)
{
    if (strcmp(was, "silent") == 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "sensor %s is sending again", sensor);
        aggregate_alert(c->agg, "sensor_silent", NULL, NULL, sensor, "silent", "up", msg);
    }
}

void ingest_events(ingest_t *c, const evschema_header_t *h, const char *body, size_t len,
        uint64_t now, ingest_result_t *out)
{
    batch_parse(c->batch, body, len, h->count); /* a body that is not count lines: none */
    ingest_parsed(c, h, c->batch, now, out);
}

void ingest_parsed(ingest_t *c, const evschema_header_t *h, const batch_t *b, uint64_t now,
        ingest_result_t *out)
{
    memset(out, 0, sizeof *out);
    if (batch_status(b) == BATCH_NOMEM) {
        log_warn("sensor %s: out of memory reading %llu events: not acknowledged (sent again)",
                h->sensor, (unsigned long long)h->count);
        return;
    }
    if (store_begin(c->db) != 0) {
        s_store_failed(c, now);
        return; /* no ack: the sensor sends it again */
    }
    if (!store_sensor_known(c->db, h->sensor)) {
        store_counter_add(c->db, "rejected.too_many_sensors", 1);
        store_commit(c->db);
        return;
    }
    bool is_new;
    uint64_t next = store_stream_next(c->db, h->sensor, h->epoch, &is_new);
    store_sensor_delta_t d;
    memset(&d, 0, sizeof d);
    bool resend = false;
    if (h->base > next) {
        /* The sensor no longer holds next..base-1: they were discarded. */
        d.missing = h->base - next;
        char msg[400];
        snprintf(msg, sizeof msg,
                "sensor %s lost events %llu-%llu of run %s (discarded by the sensor: its spool or "
                "memory full, or a batch it could not read back)",
                h->sensor, (unsigned long long)next, (unsigned long long)(h->base - 1), h->epoch);
        log_warn("%s", msg);
        aggregate_alert(c->agg, "events_lost", NULL, NULL, h->sensor, NULL, NULL, msg);
        next = h->base;
    }
    if (h->first > next) {
        d.out_of_order = 1; /* something in between is on its way again */
        resend = true;
    } else if (h->first + h->count > next) {
        uint64_t skip = next - h->first, fixed = 0;
        d.duplicates = skip;
        if (batch_status(b) != BATCH_READ) {
            store_rollback(c->db);
            aggregate_discard(c->agg);
            if (store_begin(c->db) == 0) {
                store_counter_add(c->db, "rejected.malformed", 1);
                store_commit(c->db);
            }
            log_warn("sensor %s: a body that does not hold %llu event lines; refused",
                    h->sensor, (unsigned long long)h->count);
            return;
        }
        s_lines(c, h, b, skip, &d, &fixed);
        next = h->first + h->count;
        aggregate_settle(c->agg);
        if (fixed)
            store_counter_add(c->db, "events_utf8_fixed", fixed);
    } else {
        d.duplicates = h->count;
    }
    store_stream_set(c->db, h->sensor, h->epoch, next);
    store_sensor_update(c->db, h->sensor, &d, now);
    char was[16];
    store_sensor_up(c->db, h->sensor, was, sizeof was);
    s_sensor_back(c, h->sensor, was);
    if (store_commit(c->db) != 0) {
        store_rollback(c->db);
        s_store_failed(c, now);
        return; /* not acknowledged: it comes again */
    }
    if (d.received) /* new events stored: the store takes writes again */
        s_store_ok(c, now);
    out->ack = true;
    out->acked = next - 1;
    out->resend = resend;
    out->stored = d.received;
}

void ingest_heartbeat(ingest_t *c, const evschema_header_t *h, uint64_t now)
{
    if (store_begin(c->db) != 0)
        return;
    if (!store_sensor_known(c->db, h->sensor)) {
        store_counter_add(c->db, "rejected.too_many_sensors", 1);
        store_commit(c->db);
        return;
    }
    char was[16];
    const char *stats = h->stats;
    char *fixed = NULL; /* bytes that are not UTF-8 become U+FFFD, as in event lines */
    size_t n;
    if (stats && str_utf8_valid_len(stats, strlen(stats)) != strlen(stats))
        stats = fixed = str_utf8_fix(stats, strlen(stats), &n); /* NULL: none stored */
    store_sensor_heartbeat(c->db, h->sensor, h->epoch, stats,
            h->kind == EVSCHEMA_BYE, now, was, sizeof was);
    free(fixed); /* bound by copy, and the statement has run */
    s_sensor_back(c, h->sensor, was);
    if (!was[0])
        log_notice("sensor %s connected (run %s)", h->sensor, h->epoch);
    if (h->kind == EVSCHEMA_BYE)
        log_info("sensor %s ended its run %s", h->sensor, h->epoch);
    if (store_commit(c->db) != 0)
        s_store_failed(c, now);
}

