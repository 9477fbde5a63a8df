/* SPDX-License-Identifier: MIT */
/* ingest_bench: the collector's ingest alone, without the network: an
 * events file (a sensor's --events) fed in batches of 512 lines to
 * ingest_events on a fresh SQLite file, as the link would deliver them.
 * Prints events/s while busy, and the process's CPU time (user, system:
 * steadier than the wall clock on a shared machine); run it under
 * valgrind --tool=callgrind for instruction counts (docs/collector.md,
 * "Ingest speed"; tests/bench/collector.sh measures the whole link).
 *
 *   pinhole-ingest-bench RULES_DIR INVENTORY EVENTS.jsonl DB [full|normal] [ahead|inline]
 * ahead (the default): each message's lines are read on a second thread
 * while the one before is stored, as in the collector. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "aggregate.h"
#include "alert.h"
#include "ingest.h"
#include "parse_ahead.h"
#include "rules.h"
#include "store.h"
#include "strbuf.h"

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s RULES_DIR INVENTORY EVENTS.jsonl DB [full|normal] [ahead|inline]\n", argv[0]);
        return 2;
    }
    char err[512];
    const char *profs[] = {argv[1]};
    rules_t *rs = rules_load_all(profs, 1, argv[2], err, sizeof err);
    if (!rs) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    store_cfg_t cfg;
    store_cfg_defaults(&cfg);
    cfg.sync_full = argc > 5 && strcmp(argv[5], "full") == 0;
    bool ahead = !(argc > 6 && strcmp(argv[6], "inline") == 0);
    unlink(argv[4]);
    store_t *db = store_open(argv[4], &cfg, false, err, sizeof err);
    alert_cfg_t ac = {NULL, false, 300000000, NULL, NULL};
    alert_t *alert = alert_new(&ac, err, sizeof err);
    aggregate_t *agg = db ? aggregate_new(db, rs, 300000000) : NULL;
    ingest_tune_memory(); /* as the collector does */
    ingest_t *in = agg && alert ? ingest_new(db, agg, alert) : NULL;
    FILE *f = fopen(argv[3], "r");
    if (!in || !f) {
        fprintf(stderr, "cannot start: %s\n", err);
        return 2;
    }
    /* The messages, read first (not timed): bodies of up to 512 lines. */
    typedef struct {
        char *body;
        size_t len, n;
    } msg_t;
    size_t nmsg = 0, capmsg = 0;
    msg_t *msgs = NULL;
    char *line = malloc(EVSCHEMA_MAX_EVENT + 2);
    strbuf_t cur;
    strbuf_init(&cur);
    size_t n = 0;
    for (;;) {
        bool eof = !fgets(line, EVSCHEMA_MAX_EVENT + 2, f);
        if (!eof) {
            size_t l = strlen(line);
            if (l && line[l - 1] == '\n')
                line[--l] = '\0';
            if (n)
                strbuf_append(&cur, "\n", 1);
            strbuf_append(&cur, line, l);
            n++;
        }
        if (n && (n == 512 || eof)) {
            if (nmsg == capmsg) {
                capmsg = capmsg ? capmsg * 2 : 256;
                msgs = realloc(msgs, capmsg * sizeof *msgs);
            }
            msgs[nmsg].n = n;
            msgs[nmsg].body = strbuf_take(&cur, &msgs[nmsg].len);
            nmsg++;
            n = 0;
        }
        if (eof)
            break;
    }
    free(line);
    /* As the collector does (collector/main.c): message k + 1 is read on
     * parse_ahead's thread while message k is stored; "inline" reads each
     * on this thread. */
    parse_ahead_t *pa = ahead ? parse_ahead_new(2) : NULL;
    batch_t *b[2] = {NULL, NULL};
    uint64_t seq = 1, events = 0;
    double t0 = s_now();
    if (pa) {
        b[0] = parse_ahead_free(pa);
        parse_ahead_submit(pa, b[0], msgs[0].body, msgs[0].len, msgs[0].n);
    }
    for (size_t k = 0; k < nmsg; k++) {
        evschema_header_t h;
        memset(&h, 0, sizeof h);
        h.kind = EVSCHEMA_EVENTS;
        snprintf(h.sensor, sizeof h.sensor, "bench");
        snprintf(h.epoch, sizeof h.epoch, "0bench");
        h.first = h.base = seq;
        h.count = msgs[k].n;
        ingest_result_t r;
        if (pa) {
            if (k + 1 < nmsg) {
                b[(k + 1) % 2] = parse_ahead_free(pa);
                parse_ahead_submit(pa, b[(k + 1) % 2], msgs[k + 1].body, msgs[k + 1].len,
                        msgs[k + 1].n);
            }
            parse_ahead_wait(pa, b[k % 2]);
            ingest_parsed(in, &h, b[k % 2], (uint64_t)(s_now() * 1e6), &r);
            parse_ahead_release(pa, b[k % 2]);
        } else {
            ingest_events(in, &h, msgs[k].body, msgs[k].len, (uint64_t)(s_now() * 1e6), &r);
        }
        if (!r.ack) {
            fprintf(stderr, "batch at %llu not acknowledged\n", (unsigned long long)seq);
            return 1;
        }
        events += r.stored;
        seq += msgs[k].n;
    }
    double busy = s_now() - t0;
    parse_ahead_destroy(&pa);
    for (size_t k = 0; k < nmsg; k++)
        free(msgs[k].body);
    free(msgs);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("ingest: %llu events in %.2f s busy: %.0f events/s (sync %s, lines read %s); "
           "CPU %.2f s user, %.2f s system (reading the file too)\n",
            (unsigned long long)events, busy, busy > 0 ? (double)events / busy : 0.0,
            cfg.sync_full ? "full" : "normal", ahead ? "ahead" : "inline",
            (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
    fclose(f);
    ingest_destroy(&in);
    aggregate_destroy(&agg);
    alert_destroy(&alert);
    store_close(&db);
    rules_destroy(&rs);
    return 0;
}
