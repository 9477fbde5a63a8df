/* SPDX-License-Identifier: MIT */
/* ingest_bench: the collector's ingest alone, without the network: an
 * events file (a sensor's --events) fed in batches of 512 lines to
 * ingest_events on a fresh SQLite file, as the link would deliver them.
 * Prints events/s while busy, and the process's CPU time (user, system:
 * steadier than the wall clock on a shared machine); run it under
 * valgrind --tool=callgrind for instruction counts (docs/collector.md,
 * "Ingest speed"; tests/bench/collector.sh measures the whole link).
 *
 *   pinhole-ingest-bench RULES_DIR INVENTORY EVENTS.jsonl DB [sync: full|normal] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "aggregate.h"
#include "alert.h"
#include "ingest.h"
#include "rules.h"
#include "store.h"

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s RULES_DIR INVENTORY EVENTS.jsonl DB [full|normal]\n", argv[0]);
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
    size_t cap = 64u << 20, len = 0, n = 0;
    char *body = malloc(cap), line[65536];
    uint64_t seq = 1, events = 0;
    double busy = 0;
    for (;;) {
        bool eof = !fgets(line, sizeof line, f);
        if (!eof) {
            size_t l = strlen(line);
            if (l && line[l - 1] == '\n')
                line[--l] = '\0';
            if (len + l + 1 < cap) {
                if (n)
                    body[len++] = '\n';
                memcpy(body + len, line, l);
                len += l;
                n++;
            }
        }
        if (n && (n == 512 || eof)) {
            evschema_header_t h;
            memset(&h, 0, sizeof h);
            h.kind = EVSCHEMA_EVENTS;
            snprintf(h.sensor, sizeof h.sensor, "bench");
            snprintf(h.epoch, sizeof h.epoch, "0bench");
            h.first = h.base = seq;
            h.count = n;
            ingest_result_t r;
            double t0 = s_now();
            ingest_events(in, &h, body, len, (uint64_t)(t0 * 1e6), &r);
            aggregate_settle(agg);
            busy += s_now() - t0;
            if (!r.ack) {
                fprintf(stderr, "batch at %llu not acknowledged\n", (unsigned long long)seq);
                return 1;
            }
            events += r.stored;
            seq += n;
            n = len = 0;
        }
        if (eof)
            break;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("ingest: %llu events in %.2f s busy: %.0f events/s (sync %s); "
           "CPU %.2f s user, %.2f s system (reading the file too)\n",
            (unsigned long long)events, busy, busy > 0 ? (double)events / busy : 0.0,
            cfg.sync_full ? "full" : "normal",
            (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
    fclose(f);
    free(body);
    ingest_destroy(&in);
    aggregate_destroy(&agg);
    alert_destroy(&alert);
    store_close(&db);
    rules_destroy(&rs);
    return 0;
}
