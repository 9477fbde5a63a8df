/* SPDX-License-Identifier: MIT */
/* The collector's ingest on a real SQLite file: acknowledged means stored,
 * once; a store that refuses writes acknowledges nothing, and the stream
 * goes on where it stopped when it takes them again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aggregate.h"
#include "alert.h"
#include "db.h"
#include "health.h"
#include "ingest.h"
#include "rules.h"
#include "store.h"
#include "unit.h"

extern const char *unit_srcdir;
int test_ingest(void);

typedef struct {
    store_t *db;
    rules_t *rs;
    aggregate_t *agg;
    alert_t *alert;
    ingest_t *in;
} rig_t;

static int s_rig(rig_t *r, const char *path, uint64_t max_bytes)
{
    memset(r, 0, sizeof *r);
    char prof[1024], inv[1024], err[512];
    snprintf(prof, sizeof prof, "%s/rules", unit_srcdir);
    snprintf(inv, sizeof inv, "%s/rules/inventory/lab.yaml", unit_srcdir);
    const char *profs[] = {prof};
    r->rs = rules_load_all(profs, 1, inv, err, sizeof err);
    store_cfg_t cfg;
    store_cfg_defaults(&cfg);
    cfg.sync_full = false;
    cfg.max_db_bytes = max_bytes;
    r->db = store_open(path, &cfg, false, err, sizeof err);
    alert_cfg_t ac = {NULL, false, 1000000, NULL, NULL};
    r->alert = alert_new(&ac, err, sizeof err);
    r->agg = r->rs && r->db ? aggregate_new(r->db, r->rs, 300000000) : NULL;
    r->in = r->agg && r->alert ? ingest_new(r->db, r->agg, r->alert) : NULL;
    return r->in ? 0 : 1;
}

static void s_unrig(rig_t *r)
{
    ingest_destroy(&r->in);
    aggregate_destroy(&r->agg);
    alert_destroy(&r->alert);
    store_close(&r->db);
    rules_destroy(&r->rs);
}

/* A batch of n events numbered from first (base: the oldest the sensor
 * holds), each pad bytes of padding. */
static void s_batch(rig_t *r, const char *epoch, uint64_t first, uint64_t n, uint64_t base,
        size_t pad, ingest_result_t *out)
{
    evschema_header_t h;
    memset(&h, 0, sizeof h);
    h.kind = EVSCHEMA_EVENTS;
    snprintf(h.sensor, sizeof h.sensor, "s1");
    snprintf(h.epoch, sizeof h.epoch, "%s", epoch);
    h.first = first;
    h.count = n;
    h.base = base;
    size_t cap = n * (pad + 200) + 1;
    char *body = malloc(cap), *p = body;
    char *fill = malloc(pad + 1);
    memset(fill, 'x', pad);
    fill[pad] = '\0';
    for (uint64_t i = 0; i < n; i++)
        p += sprintf(p, "%s{\"timestamp\":\"2026-11-22T04:11:29.354881+0000\",\"event_type\":\"stats\","
                        "\"schema\":2,\"sensor\":\"s1\",\"pad\":\"%s\"}", i ? "\n" : "", fill);
    ingest_events(r->in, &h, body, (size_t)(p - body), 1000, out);
    free(fill);
    free(body);
}

int test_ingest(void)
{
    char path[] = "/tmp/pinhole-ingest-XXXXXX";
    CHECK(unit_db_name(path) == 0);
    rig_t r;
    CHECK(!s_rig(&r, path, 0));
    ingest_result_t res;
    s_batch(&r, "0a", 1, 3, 1, 10, &res);
    CHECK(res.ack && res.acked == 3 && res.stored == 3 && !res.resend);
    s_batch(&r, "0a", 1, 3, 1, 10, &res); /* a resend: acked again, stored no more */
    CHECK(res.ack && res.acked == 3 && res.stored == 0);
    s_batch(&r, "0a", 6, 1, 1, 10, &res); /* 4 and 5 missing: ask for them */
    CHECK(res.ack && res.acked == 3 && res.resend && res.stored == 0);
    s_batch(&r, "0a", 10, 2, 10, 10, &res); /* the sensor discarded 4..9 */
    CHECK(res.ack && res.acked == 11 && res.stored == 2);
    CHECK_EQ(store_count_events(r.db), 5);
    s_unrig(&r);
    /* The same database bounded small: batches are refused, not acked,
     * until the bound is lifted; then the stream goes on from where the
     * last committed batch left it, nothing twice. */
    CHECK(!s_rig(&r, path, 200 * 1024));
    uint64_t next = 12, acked = 11;
    int refused = 0;
    for (int i = 0; i < 400 && refused < 3; i++) {
        uint64_t before = store_count_events(r.db);
        s_batch(&r, "0a", next, 50, next, 400, &res);
        if (res.ack) { /* acked: all 50 stored */
            CHECK_EQ(res.acked, next + 49);
            CHECK_EQ(store_count_events(r.db), before + 50);
            acked = res.acked;
            next += 50;
        } else { /* refused: nothing of it stored, nothing acked */
            CHECK_EQ(store_count_events(r.db), before);
            refused++;
        }
    }
    CHECK(refused == 3);
    health_t h;
    health_get(&h);
    CHECK(h.failures >= 1);
    uint64_t stored = store_count_events(r.db);
    CHECK_EQ(stored, 5 + (next - 12)); /* what was acked, once each */
    s_unrig(&r);
    CHECK(!s_rig(&r, path, 0));
    s_batch(&r, "0a", next, 50, next, 400, &res);
    CHECK(res.ack && res.acked == next + 49 && res.stored == 50);
    CHECK_EQ(store_count_events(r.db), stored + 50);
    CHECK_EQ(acked + 1, next);
    health_get(&h);
    CHECK(!h.failing);
    /* A heartbeat whose statistics hold bytes that are not UTF-8 (an
     * interface name, say): stored with U+FFFD in their place. */
    evschema_header_t hb;
    memset(&hb, 0, sizeof hb);
    hb.kind = EVSCHEMA_HEARTBEAT;
    snprintf(hb.sensor, sizeof hb.sensor, "s1");
    snprintf(hb.epoch, sizeof hb.epoch, "0a");
    char stats[] = "{\"iface\":\"e\xffth0\"}";
    hb.stats = stats;
    ingest_heartbeat(r.in, &hb, 2000);
    s_unrig(&r);
    db_cfg_t dc = {.readonly = true, .sync_full = false};
    char err[256];
    db_t *db = db_open(path, &dc, err, sizeof err);
    CHECK(db != NULL);
    db_stmt_t *st = db_prepare(db, "SELECT stats FROM sensors WHERE sensor='s1'", false);
    CHECK(st != NULL && db_step(st) == DB_ROW);
    CHECK(strcmp(db_col_text(st, 0), "{\"iface\":\"e\xef\xbf\xbdth0\"}") == 0);
    db_finalize(st);
    db_close(&db);
    unit_db_remove(path);
    return 0;
}
