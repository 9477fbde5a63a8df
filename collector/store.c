/* SPDX-License-Identifier: MIT */
/* store.c: the collector's SQLite state (docs/collector.md). */
#include "store.h"
#include "store_internal.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "compliance.h"
#include "log.h"
#include "strbuf.h"
#include "strutil.h"

#define STORE_NAT_EVIDENCE 8  /* NAT port changes kept per site */
#define STORE_EPOCHS 64       /* runs remembered per sensor */

/* Columns added before the schema had versions: a SQLite database made
 * then gets them when it becomes version 1 (the CREATE statements below
 * have them already). */
static const char *const s_added[][3] = {
        {"sensors", "flows_repeated", "INTEGER DEFAULT 0"},
        {"sensors", "events_repeated", "INTEGER DEFAULT 0"},
        {"events", "unknown", "INTEGER DEFAULT 0"},
        {"sensors", "nat_changes_repeated", "INTEGER DEFAULT 0"},
        {"summaries", "comparisons_inside", "INTEGER DEFAULT 0"},
        {"summaries", "comparisons_outside", "INTEGER DEFAULT 0"},
        {"summaries", "changes_inside", "INTEGER DEFAULT 0"},
        {"summaries", "changes_outside", "INTEGER DEFAULT 0"},
        {"summaries", "event_ids", "INTEGER DEFAULT 0"},
        {"summaries", "registers", "INTEGER DEFAULT 0"},
        {"summaries", "sip_tls", "INTEGER DEFAULT 0"},
};

/* The schema of version 1: integers are BIGINT (64-bit on both backends);
 * %ID% is an id column given by the database, %NOROWID% a table clustered
 * on its primary key (SQLite only). */
static const char s_schema[] =
        "CREATE TABLE IF NOT EXISTS streams(sensor TEXT, epoch TEXT, next BIGINT, "
        "  updated BIGINT, PRIMARY KEY(sensor, epoch));"
        "CREATE TABLE IF NOT EXISTS sensors(sensor TEXT PRIMARY KEY, state TEXT DEFAULT 'up', "
        "  last_seen BIGINT DEFAULT 0, epoch TEXT DEFAULT '', stats TEXT, "
        "  received BIGINT DEFAULT 0, duplicates BIGINT DEFAULT 0, missing BIGINT DEFAULT 0, "
        "  rejected BIGINT DEFAULT 0, out_of_order BIGINT DEFAULT 0, "
        "  flows_repeated BIGINT DEFAULT 0, nat_changes_repeated BIGINT DEFAULT 0, "
        "  events_repeated BIGINT DEFAULT 0);"
        "CREATE TABLE IF NOT EXISTS events(id %ID%, sensor TEXT, epoch TEXT, "
        "  seq BIGINT, type TEXT, site TEXT, ts BIGINT, body TEXT, unknown BIGINT DEFAULT 0, "
        "  UNIQUE(sensor, epoch, seq));"
        "CREATE INDEX IF NOT EXISTS events_type ON events(type, id);"
        "CREATE TABLE IF NOT EXISTS rules(site TEXT, rule TEXT, allowed BIGINT DEFAULT 0, "
        "  blocked BIGINT DEFAULT 0, unconfirmed BIGINT DEFAULT 0, first_us BIGINT, "
        "  last_us BIGINT, last_allowed_us BIGINT DEFAULT 0, last_blocked_us BIGINT DEFAULT 0, "
        "  example TEXT, example_blocked BIGINT DEFAULT 0, status TEXT DEFAULT '', "
        "  PRIMARY KEY(site, rule));"
        "CREATE TABLE IF NOT EXISTS sites(site TEXT PRIMARY KEY, flows BIGINT DEFAULT 0, "
        "  unexpected BIGINT DEFAULT 0, first_us BIGINT, last_us BIGINT, "
        "  compliant BIGINT DEFAULT -1, nat TEXT DEFAULT 'not_enough_data', "
        "  nat_changes BIGINT DEFAULT 0, one_way BIGINT DEFAULT 0, missed BIGINT DEFAULT 0, "
        "  alg_signs BIGINT DEFAULT 0, groups_dropped BIGINT DEFAULT 0);"
        "CREATE TABLE IF NOT EXISTS unexpected(site TEXT, dest TEXT, port BIGINT, proto TEXT, "
        "  count BIGINT DEFAULT 0, first_us BIGINT, last_us BIGINT, nearest TEXT, "
        "  differs TEXT, example TEXT, PRIMARY KEY(site, dest, port, proto));"
        "CREATE TABLE IF NOT EXISTS violations(site TEXT, requirement TEXT, count BIGINT, "
        "  last_us BIGINT, example TEXT, PRIMARY KEY(site, requirement));"
        "CREATE TABLE IF NOT EXISTS nat_changes(id %ID%, site TEXT, ts BIGINT, "
        "  body TEXT);"
        "CREATE TABLE IF NOT EXISTS summaries(sensor TEXT, epoch TEXT, site TEXT, "
        "  comparisons BIGINT DEFAULT 0, changes BIGINT DEFAULT 0, "
        "  event_changes BIGINT DEFAULT 0, alg_rewritten BIGINT DEFAULT 0, "
        "  alg_compared BIGINT DEFAULT 0, last_us BIGINT DEFAULT 0, "
        "  comparisons_inside BIGINT DEFAULT 0, comparisons_outside BIGINT DEFAULT 0, "
        "  changes_inside BIGINT DEFAULT 0, changes_outside BIGINT DEFAULT 0, "
        "  event_ids BIGINT DEFAULT 0, registers BIGINT DEFAULT 0, sip_tls BIGINT DEFAULT 0, "
        "  PRIMARY KEY(sensor, epoch, site));"
        "CREATE TABLE IF NOT EXISTS unknown_sites(site TEXT PRIMARY KEY, events BIGINT DEFAULT 0, "
        "  first_us BIGINT, last_us BIGINT);"
        "CREATE TABLE IF NOT EXISTS flow_ids(site TEXT, ts BIGINT, flow_id BIGINT, "
        "  seen_us BIGINT, PRIMARY KEY(site, ts, flow_id)) %NOROWID%;"
        "CREATE INDEX IF NOT EXISTS flow_ids_seen ON flow_ids(seen_us);"
        "CREATE TABLE IF NOT EXISTS nat_ids(site TEXT, aor TEXT, call_id TEXT, cseq BIGINT, "
        "  sensor TEXT, epoch TEXT, seen_us BIGINT, "
        "  PRIMARY KEY(site, aor, call_id, cseq, sensor, epoch)) %NOROWID%;"
        "CREATE INDEX IF NOT EXISTS nat_ids_seen ON nat_ids(seen_us);"
        "CREATE INDEX IF NOT EXISTS nat_ids_run ON nat_ids(sensor, epoch, site);"
        "CREATE TABLE IF NOT EXISTS alerts(id %ID%, kind TEXT, body TEXT, "
        "  state BIGINT DEFAULT 0);"
        "CREATE INDEX IF NOT EXISTS alerts_pending ON alerts(id) WHERE state=0;"
        "CREATE TABLE IF NOT EXISTS site_sensors(site TEXT, sensor TEXT, last_us BIGINT, "
        "  PRIMARY KEY(site, sensor));"
        "CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value BIGINT);";

/* Migrations: migration[v - 1] brings version v - 1 to v, in one write
 * transaction (on PostgreSQL under the writers' lock, so collectors
 * starting together migrate once). Add to the end; never change one that
 * has shipped. Version 1 is s_schema. */
static const struct {
    const char *sql;
    const char *pg;   /* PostgreSQL's, where its words differ (NULL: the same) */
    const char *note; /* said before it runs (NULL: nothing) */
} s_migrations[] = {
        {NULL, NULL, NULL}, /* 1: s_schema, and the columns of s_added a database made before lacks */
        /* 2: the rule status history (the dashboard's strip) */
        {"CREATE TABLE IF NOT EXISTS rule_history(id %ID%, site TEXT, rule TEXT, ts BIGINT, "
         "  at_us BIGINT, was TEXT, status TEXT);"
         "CREATE INDEX IF NOT EXISTS rule_history_key ON rule_history(site, rule, id);",
                NULL, NULL},
        /* 3: index entries ingest paid for at every flow event and nothing
         * needs: events' UNIQUE(sensor, epoch, seq) (a stream's next number
         * already keeps an event from being stored twice), flow_ids'
         * seen_us (identities are pruned by their own time now, along the
         * key; the column becomes the mark of the statement that put the
         * row in, store_flows_seen), and flows in events_type (most events
         * are flows: a page of them is read along the ids; store_read.c
         * names the index's condition for the other types). SQLite cannot
         * drop a table's constraint: the table is made again (s_migrate
         * lifts a --max-db-bytes bound for that while). */
        {"CREATE TABLE events_v3(id %ID%, sensor TEXT, epoch TEXT, seq BIGINT, type TEXT, "
         "  site TEXT, ts BIGINT, body TEXT, unknown BIGINT DEFAULT 0);"
         "INSERT INTO events_v3(id, sensor, epoch, seq, type, site, ts, body, unknown) "
         "  SELECT id, sensor, epoch, seq, type, site, ts, body, unknown FROM events;"
         "DROP TABLE events;"
         "ALTER TABLE events_v3 RENAME TO events;"
         "CREATE INDEX events_type ON events(type, id) WHERE type <> 'flow';"
         "DROP INDEX IF EXISTS flow_ids_seen;"
         "ALTER TABLE flow_ids RENAME COLUMN seen_us TO mark;",
                "ALTER TABLE events DROP CONSTRAINT IF EXISTS events_sensor_epoch_seq_key;"
                "DROP INDEX events_type;"
                "CREATE INDEX events_type ON events(type, id) WHERE type <> 'flow';"
                "DROP INDEX IF EXISTS flow_ids_seen;"
                "ALTER TABLE flow_ids RENAME COLUMN seen_us TO mark;",
                "version 3 rebuilds the events index (SQLite: copies the events table once, "
                "about a second per 100,000 events, needing as much disk again)"},
};
#define STORE_SCHEMA_VERSION ((int)(sizeof s_migrations / sizeof *s_migrations))

/* db_step, with a failure remembered for store_commit. After one, nothing
 * more runs until the next store_begin: SQLite may have rolled the
 * transaction back already (a full disk, an I/O error), PostgreSQL
 * refuses every statement after a failed one, and a statement run then
 * would commit on its own. */
int store_sqlstep(store_t *self, db_stmt_t *st)
{
    if (self->in_tx && self->werr)
        return DB_ERROR;
    int rc = db_step(st);
    if (rc == DB_ERROR) {
        if (self->in_tx) { /* reported once, by store_commit's caller */
            self->werr = 1;
            snprintf(self->werr_msg, sizeof self->werr_msg, "%s", db_errmsg(self->db));
        } else { /* a read of the API's: this query fails, the next may not */
            log_error("store: %s", db_errmsg(self->db));
        }
    }
    return rc;
}

/* A statement that could not be prepared inside the write transaction:
 * what it would have written is missing, so the transaction fails. */
static void s_prepare_failed(store_t *self, const char *sql)
{
    if (self->in_tx && !self->werr) {
        self->werr = 1;
        snprintf(self->werr_msg, sizeof self->werr_msg, "%s", db_errmsg(self->db));
    }
    log_error("store: %.200s: %s", sql, db_errmsg(self->db));
}

db_stmt_t *store_prepare(store_t *self, const char *sql)
{
    db_stmt_t *st = db_prepare(self->db, sql, false);
    if (!st)
        s_prepare_failed(self, sql);
    return st;
}

void store_cfg_defaults(store_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg); /* every bound not named below: none (max_db_bytes) */
    cfg->max_events = 1000000;
    cfg->max_groups = 1000;
    cfg->max_sensors = 10000;
    cfg->max_alerts = 10000;
    cfg->sync_full = true;
    cfg->id_retention_us = 7ull * 86400 * 1000000;
    cfg->max_ids = 2000000;
}

/* Runs sql; a failure is logged, but that of the ingest's own BEGIN,
 * COMMIT and ROLLBACK (quiet: the caller reports a failing store once, not
 * at every message a full disk refuses). */
static bool s_exec_how(store_t *self, const char *sql, bool quiet)
{
    if (db_exec(self->db, sql) == 0)
        return true;
    if (!quiet)
        log_error("store: %s", db_errmsg(self->db));
    return false;
}

/* Runs sql in the open transaction (or alone): after a failed statement of
 * the transaction nothing more runs (see store_sqlstep), and a failure of
 * its own is the transaction's. */
static bool s_exec(store_t *self, const char *sql)
{
    if (self->in_tx && self->werr)
        return false;
    bool ok = s_exec_how(self, sql, self->in_tx);
    if (!ok && self->in_tx) {
        self->werr = 1;
        snprintf(self->werr_msg, sizeof self->werr_msg, "%s", db_errmsg(self->db));
    }
    return ok;
}

/* Schema SQL (s_schema, a migration) in the database's own words. */
static char *s_schema_sql(store_t *self, const char *text)
{
    bool pg = db_dialect(self->db) == DB_POSTGRESQL;
    const char *id = pg ? "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" : "INTEGER PRIMARY KEY";
    const char *norowid = pg ? "" : "WITHOUT ROWID";
    strbuf_t b;
    strbuf_init(&b);
    for (const char *p = text; *p;) {
        if (strncmp(p, "%ID%", 4) == 0) {
            strbuf_append(&b, id, strlen(id));
            p += 4;
        } else if (strncmp(p, "%NOROWID%", 9) == 0) {
            strbuf_append(&b, norowid, strlen(norowid));
            p += 9;
        } else {
            strbuf_append(&b, p++, 1);
        }
    }
    return strbuf_take(&b, NULL);
}

static bool s_has_column(store_t *self, const char *table, const char *column)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT 1 FROM pragma_table_info('%s') WHERE name=?", table);
    db_stmt_t *st = store_prepare(self, sql);
    bool has = false;
    if (st) {
        store_bind(st, 1, column);
        has = store_sqlstep(self, st) == DB_ROW;
    }
    db_finalize(st);
    return has;
}

/* Version 1: the schema, and on a SQLite database made before versions
 * the columns added since its tables were made. */
static bool s_version1(store_t *self)
{
    char *sql = s_schema_sql(self, s_schema);
    bool ok = sql && s_exec(self, sql);
    free(sql);
    for (size_t i = 0; ok && db_dialect(self->db) == DB_SQLITE && i < sizeof s_added / sizeof *s_added; i++) {
        if (s_has_column(self, s_added[i][0], s_added[i][1]))
            continue;
        char alter[160];
        snprintf(alter, sizeof alter, "ALTER TABLE %s ADD COLUMN %s %s", s_added[i][0],
                s_added[i][1], s_added[i][2]);
        ok = s_exec(self, alter);
    }
    return ok;
}

/* Brings the database to STORE_SCHEMA_VERSION, one version per
 * transaction. Refuses a database of a newer version. */
static bool s_migrate(store_t *self, char *err, size_t errlen)
{
    for (int guard = 0; guard <= STORE_SCHEMA_VERSION; guard++) {
        /* made under the writers' lock: collectors starting together on a
         * new PostgreSQL database would race to make it */
        if (store_begin(self) != 0 ||
                !s_exec(self, "CREATE TABLE IF NOT EXISTS schema_version(version BIGINT NOT NULL)"))
            goto fail;
        int v = (int)store_scalar(self, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
        if (v > STORE_SCHEMA_VERSION) {
            store_rollback(self);
            snprintf(err, errlen, "the database's schema is version %d, newer than this "
                     "collector's %d: run a collector of that version or later", v, STORE_SCHEMA_VERSION);
            return false;
        }
        if (v == STORE_SCHEMA_VERSION) {
            store_rollback(self);
            return true;
        }
        bool ok;
        if (v == 0) {
            ok = s_version1(self);
        } else {
            if (s_migrations[v].note)
                log_notice("store: %s", s_migrations[v].note);
            const char *text = db_dialect(self->db) == DB_POSTGRESQL && s_migrations[v].pg
                    ? s_migrations[v].pg : s_migrations[v].sql;
            char *sql = s_schema_sql(self, text);
            ok = sql && s_exec(self, sql);
            free(sql);
        }
        char set[96];
        snprintf(set, sizeof set, "DELETE FROM schema_version; INSERT INTO schema_version VALUES(%d)", v + 1);
        if (!ok || !s_exec(self, set) || store_commit(self) != 0)
            goto fail;
        log_notice("store: database schema now version %d", v + 1);
    }
fail:
    snprintf(err, errlen, "cannot set up the database: %s",
            self->werr_msg[0] ? self->werr_msg : db_errmsg(self->db));
    store_rollback(self);
    return false;
}

store_t *store_open(const char *target, const store_cfg_t *cfg, bool readonly, char *err,
        size_t errlen)
{
    store_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    db_cfg_t dc = {.readonly = readonly, .sync_full = cfg->sync_full};
    self->db = db_open(target, &dc, err, errlen);
    if (!self->db) {
        free(self);
        return NULL;
    }
    /* The size bound after the migrations: one may copy a table once
     * (schema 3 on SQLite), and a collector that cannot start stores
     * nothing at all. */
    char why[400] = "";
    bool ok = readonly || s_migrate(self, why, sizeof why);
    if (ok && !readonly && db_limit_bytes(self->db, cfg->max_db_bytes) != 0) {
        snprintf(why, sizeof why, "cannot bound the database: %s", db_errmsg(self->db));
        ok = false;
    }
    if (!ok) {
        snprintf(err, errlen, "%s: %s", db_target_is_pg(target) ? "PostgreSQL" : target, why);
        store_close(&self);
        return NULL;
    }
    return self;
}

void store_close(store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_t *self = *self_p;
    for (int i = 0; i < Q_COUNT; i++)
        db_finalize(self->q[i]);
    db_close(&self->db);
    free(self);
    *self_p = NULL;
}

/* A cached prepared statement, reset and ready to bind. */
static db_stmt_t *s_q(store_t *self, int id, const char *sql)
{
    if (!self->q[id] && !(self->q[id] = db_prepare(self->db, sql, true))) {
        s_prepare_failed(self, sql);
        return NULL;
    }
    db_reset(self->q[id]);
    return self->q[id];
}

void store_bind(db_stmt_t *st, int i, const char *s)
{
    db_bind_text(st, i, s, -1);
}

static void s_step(store_t *self, db_stmt_t *st)
{
    if (!st)
        return;
    store_sqlstep(self, st);
    db_reset(st);
}

int store_begin(store_t *self)
{
    self->werr = 0;
    self->werr_msg[0] = '\0';
    self->failed = false;
    if (db_begin_write(self->db) == 0) {
        self->in_tx = true;
        return 0;
    }
    snprintf(self->werr_msg, sizeof self->werr_msg, "%s", db_errmsg(self->db));
    if (db_in_tx(self->db))
        s_exec_how(self, "ROLLBACK", true);
    self->failed = true;
    return -1;
}

/* The transaction is over, refused: rolled back (by SQLite already, or
 * now); statements run again (outside a transaction, each its own). */
static int s_refused(store_t *self)
{
    if (db_in_tx(self->db))
        s_exec_how(self, "ROLLBACK", true);
    self->in_tx = false;
    self->werr = 0;
    self->failed = true;
    return -1;
}

int store_commit(store_t *self)
{
    if (self->werr) /* a write failed: nothing of it is kept, nor acknowledged */
        return s_refused(self);
    if (s_exec_how(self, "COMMIT", true)) {
        self->in_tx = false;
        return 0;
    }
    snprintf(self->werr_msg, sizeof self->werr_msg, "%s", db_errmsg(self->db));
    return s_refused(self);
}

const char *store_error(const store_t *self)
{
    return self->failed ? self->werr_msg : NULL;
}

void store_rollback(store_t *self)
{
    self->in_tx = false;
    self->werr = 0;
    if (db_in_tx(self->db)) /* else: rolled back already */
        s_exec_how(self, "ROLLBACK", true);
}

/* ------------------------------------------------------------------ */
/* Streams and sensors                                                 */

uint64_t store_stream_next(store_t *self, const char *sensor, const char *epoch, bool *is_new)
{
    db_stmt_t *st = s_q(self, Q_STREAM_GET, "SELECT next FROM streams WHERE sensor=? AND epoch=?");
    uint64_t next = 1;
    *is_new = true;
    if (!st)
        return next;
    store_bind(st, 1, sensor);
    store_bind(st, 2, epoch);
    if (store_sqlstep(self, st) == DB_ROW) {
        next = (uint64_t)db_col_int64(st, 0);
        *is_new = false;
    }
    db_reset(st);
    return next;
}

void store_stream_set(store_t *self, const char *sensor, const char *epoch, uint64_t next)
{
    db_stmt_t *st = s_q(self, Q_STREAM_SET,
            "INSERT INTO streams(sensor, epoch, next, updated) VALUES(?, ?, ?, "
            "(SELECT COALESCE(MAX(updated), 0) + 1 FROM streams)) "
            "ON CONFLICT(sensor, epoch) DO UPDATE SET next=excluded.next, updated=excluded.updated");
    if (!st)
        return;
    store_bind(st, 1, sensor);
    store_bind(st, 2, epoch);
    db_bind_int64(st, 3, (int64_t)next);
    s_step(self, st);
}

bool store_sensor_known(store_t *self, const char *sensor)
{
    db_stmt_t *st = s_q(self, Q_SENSOR_GET, "SELECT 1 FROM sensors WHERE sensor=?");
    if (!st)
        return false;
    store_bind(st, 1, sensor);
    bool known = store_sqlstep(self, st) == DB_ROW;
    db_reset(st);
    if (known)
        return true;
    st = s_q(self, Q_SENSOR_COUNT, "SELECT COUNT(*) FROM sensors");
    uint64_t n = st && store_sqlstep(self, st) == DB_ROW ? (uint64_t)db_col_int64(st, 0) : 0;
    if (st)
        db_reset(st);
    return n < self->cfg.max_sensors;
}

void store_sensor_update(store_t *self, const char *sensor, const store_sensor_delta_t *d,
        uint64_t now_us)
{
    db_stmt_t *st = s_q(self, Q_SENSOR_UPD,
            "INSERT INTO sensors(sensor, last_seen, received, duplicates, missing, rejected, "
            "out_of_order) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(sensor) DO UPDATE SET "
            "last_seen=?2, received=sensors.received+?3, duplicates=sensors.duplicates+?4, "
            "missing=sensors.missing+?5, rejected=sensors.rejected+?6, "
            "out_of_order=sensors.out_of_order+?7");
    if (!st)
        return;
    store_bind(st, 1, sensor);
    db_bind_int64(st, 2, (int64_t)now_us);
    db_bind_int64(st, 3, (int64_t)d->received);
    db_bind_int64(st, 4, (int64_t)d->duplicates);
    db_bind_int64(st, 5, (int64_t)d->missing);
    db_bind_int64(st, 6, (int64_t)d->rejected);
    db_bind_int64(st, 7, (int64_t)d->out_of_order);
    s_step(self, st);
}

static void s_sensor_state(store_t *self, const char *sensor, char *was, size_t waslen)
{
    db_stmt_t *st = s_q(self, Q_SENSOR_STATE, "SELECT state FROM sensors WHERE sensor=?");
    was[0] = '\0';
    if (!st)
        return;
    store_bind(st, 1, sensor);
    if (store_sqlstep(self, st) == DB_ROW && db_col_text(st, 0))
        str_copy(was, db_col_text(st, 0), waslen);
    db_reset(st);
}

void store_sensor_heartbeat(store_t *self, const char *sensor, const char *epoch,
        const char *stats, bool bye, uint64_t now_us, char *was, size_t waslen)
{
    s_sensor_state(self, sensor, was, waslen);
    db_stmt_t *st = s_q(self, Q_SENSOR_HB,
            "INSERT INTO sensors(sensor, state, last_seen, epoch, stats) VALUES(?1, ?2, ?3, ?4, ?5) "
            "ON CONFLICT(sensor) DO UPDATE SET state=?2, last_seen=?3, epoch=?4, "
            "stats=COALESCE(?5, sensors.stats)");
    if (!st)
        return;
    store_bind(st, 1, sensor);
    store_bind(st, 2, bye ? "finished" : "up");
    db_bind_int64(st, 3, (int64_t)now_us);
    store_bind(st, 4, epoch);
    store_bind(st, 5, stats);
    s_step(self, st);
}

void store_sensor_up(store_t *self, const char *sensor, char *was, size_t waslen)
{
    s_sensor_state(self, sensor, was, waslen);
    if (strcmp(was, "up") == 0)
        return;
    db_stmt_t *st = s_q(self, Q_SENSOR_UP, "UPDATE sensors SET state='up' WHERE sensor=?");
    if (!st)
        return;
    store_bind(st, 1, sensor);
    s_step(self, st);
}

void store_site_sensor(store_t *self, const char *site, const char *sensor, uint64_t ts_us)
{
    db_stmt_t *st = s_q(self, Q_SITE_SENSOR,
            "INSERT INTO site_sensors(site, sensor, last_us) VALUES(?1, ?2, ?3) "
            "ON CONFLICT(site, sensor) DO UPDATE SET last_us=GREATEST(site_sensors.last_us, ?3)");
    if (!st)
        return;
    store_bind(st, 1, site);
    store_bind(st, 2, sensor);
    db_bind_int64(st, 3, (int64_t)ts_us);
    s_step(self, st);
}

void store_sensors_silent(store_t *self, uint64_t before_us,
        void (*fn)(const char *sensor, uint64_t last_us, void *ctx), void *ctx)
{
    db_stmt_t *st = NULL;
    if (!(st = store_prepare(self, "UPDATE sensors SET state='silent' WHERE state='up' AND last_seen < ? "
                "RETURNING sensor, last_seen")))
        return;
    db_bind_int64(st, 1, (int64_t)before_us);
    while (store_sqlstep(self, st) == DB_ROW)
        fn(db_col_text(st, 0), (uint64_t)db_col_int64(st, 1), ctx);
    db_finalize(st);
}

/* ------------------------------------------------------------------ */
/* Events and aggregates                                               */

void store_event(store_t *self, const char *sensor, const char *epoch, uint64_t seq,
        const char *type, const char *site, bool unknown, uint64_t ts_us, const char *body,
        size_t len)
{
    db_stmt_t *st = s_q(self, Q_EVENT,
            "INSERT INTO events(sensor, epoch, seq, type, site, ts, body, unknown) "
            "VALUES(?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING");
    if (!st)
        return;
    store_bind(st, 1, sensor);
    store_bind(st, 2, epoch);
    db_bind_int64(st, 3, (int64_t)seq);
    store_bind(st, 4, type);
    store_bind(st, 5, site);
    db_bind_int64(st, 6, (int64_t)ts_us);
    db_bind_text(st, 7, body, (long)len);
    db_bind_int64(st, 8, unknown);
    s_step(self, st);
}

int store_unknown_site(store_t *self, const char *site, uint64_t ts_us)
{
    db_stmt_t *st = s_q(self, Q_UNKNOWN_GET,
            "SELECT (SELECT 1 FROM unknown_sites WHERE site=?1), (SELECT COUNT(*) FROM unknown_sites)");
    if (!st)
        return -1;
    store_bind(st, 1, site);
    bool known = false;
    uint64_t n = 0;
    if (store_sqlstep(self, st) == DB_ROW) {
        known = db_col_type(st, 0) != DB_NULL;
        n = (uint64_t)db_col_int64(st, 1);
    }
    db_reset(st);
    if (!known && n >= STORE_UNKNOWN_SITES) {
        store_counter_add(self, "unknown_sites.dropped", 1);
        return -1;
    }
    st = s_q(self, Q_UNKNOWN_UPS,
            "INSERT INTO unknown_sites(site, events, first_us, last_us) VALUES(?1, 1, ?2, ?2) "
            "ON CONFLICT(site) DO UPDATE SET events=unknown_sites.events+1, "
            "first_us=LEAST(unknown_sites.first_us, ?2), last_us=GREATEST(unknown_sites.last_us, ?2)");
    if (!st)
        return -1;
    store_bind(st, 1, site);
    db_bind_int64(st, 2, (int64_t)ts_us);
    s_step(self, st);
    return known ? 0 : 1;
}

bool store_unknown_take(store_t *self, const char *site,
        void (*fn)(const char *sensor, const char *epoch, uint64_t seq, const char *body,
                size_t len, void *ctx),
        void *ctx)
{
    db_stmt_t *st = NULL;
    st = store_prepare(self, "SELECT 1 FROM unknown_sites WHERE site=?");
    if (!st)
        return false;
    store_bind(st, 1, site);
    bool was = store_sqlstep(self, st) == DB_ROW;
    db_finalize(st);
    if (!was)
        return false;
    st = NULL;
    st = store_prepare(self, "SELECT sensor, epoch, seq, body FROM events WHERE site=? AND unknown=1 ORDER BY id");
    if (st) {
        store_bind(st, 1, site);
        while (store_sqlstep(self, st) == DB_ROW)
            fn(db_col_text(st, 0), db_col_text(st, 1),
                    (uint64_t)db_col_int64(st, 2), db_col_text(st, 3),
                    (size_t)db_col_bytes(st, 3), ctx);
        db_finalize(st);
    }
    st = NULL;
    st = store_prepare(self, "UPDATE events SET unknown=0 WHERE site=?1 AND unknown=1; ");
    if (st) {
        store_bind(st, 1, site);
        store_sqlstep(self, st);
        db_finalize(st);
    }
    st = NULL;
    st = store_prepare(self, "DELETE FROM unknown_sites WHERE site=?");
    if (st) {
        store_bind(st, 1, site);
        store_sqlstep(self, st);
        db_finalize(st);
    }
    return true;
}

void store_site_flows(store_t *self, const char *site, uint64_t flows, uint64_t unexpected,
        uint64_t first_us, uint64_t last_us)
{
    db_stmt_t *st = s_q(self, Q_SITE_FLOW,
            "INSERT INTO sites(site, flows, unexpected, first_us, last_us) VALUES(?1, ?2, ?3, ?4, ?5) "
            "ON CONFLICT(site) DO UPDATE SET flows=sites.flows+?2, unexpected=sites.unexpected+?3, "
            "first_us=LEAST(sites.first_us, ?4), last_us=GREATEST(sites.last_us, ?5)");
    if (!st)
        return;
    store_bind(st, 1, site);
    db_bind_int64(st, 2, (int64_t)flows);
    db_bind_int64(st, 3, (int64_t)unexpected);
    db_bind_int64(st, 4, (int64_t)first_us);
    db_bind_int64(st, 5, (int64_t)last_us);
    s_step(self, st);
}

void store_violation(store_t *self, const char *site, const char *requirement, uint64_t ts_us,
        const char *example)
{
    db_stmt_t *st = s_q(self, Q_VIOL,
            "INSERT INTO violations(site, requirement, count, last_us, example) "
            "VALUES(?1, ?2, 1, ?3, ?4) ON CONFLICT(site, requirement) DO UPDATE SET "
            "count=violations.count+1, last_us=GREATEST(violations.last_us, ?3)");
    if (!st)
        return;
    store_bind(st, 1, site);
    store_bind(st, 2, requirement);
    db_bind_int64(st, 3, (int64_t)ts_us);
    store_bind(st, 4, example);
    s_step(self, st);
}

/* A change counted: kept as evidence (the newest STORE_NAT_EVIDENCE) and in
 * the site's total. */
static void s_nat_evidence(store_t *self, const char *site, uint64_t ts_us, const char *body,
        size_t len)
{
    db_stmt_t *st = s_q(self, Q_NAT_INS, "INSERT INTO nat_changes(site, ts, body) VALUES(?, ?, ?)");
    if (!st)
        return;
    store_bind(st, 1, site);
    db_bind_int64(st, 2, (int64_t)ts_us);
    db_bind_text(st, 3, body, (long)len);
    s_step(self, st);
    store_site_count(self, site, "nat_changes");
    char sql[256];
    snprintf(sql, sizeof sql,
            "DELETE FROM nat_changes WHERE site=?1 AND id NOT IN "
            "(SELECT id FROM nat_changes WHERE site=?1 ORDER BY id DESC LIMIT %d)",
            STORE_NAT_EVIDENCE);
    db_stmt_t *d = NULL;
    if ((d = store_prepare(self, sql))) {
        store_bind(d, 1, site);
        s_step(self, d);
    }
    db_finalize(d);
}

void store_nat_change(store_t *self, const char *sensor, const char *epoch, const char *site,
        uint64_t ts_us, const char *body, size_t len)
{
    db_stmt_t *run = s_q(self, Q_NAT_RUN,
            "INSERT INTO summaries(sensor, epoch, site, event_changes, last_us) "
            "VALUES(?1, ?2, ?3, 1, ?4) ON CONFLICT(sensor, epoch, site) DO UPDATE SET "
            "event_changes=summaries.event_changes+1, last_us=GREATEST(summaries.last_us, ?4)");
    if (run) {
        store_bind(run, 1, sensor);
        store_bind(run, 2, epoch);
        store_bind(run, 3, site);
        db_bind_int64(run, 4, (int64_t)ts_us);
        s_step(self, run);
    }
    s_nat_evidence(self, site, ts_us, body, len);
}

/* Inserts a row of an identity table; true if it was there already. */
static bool s_id_seen(store_t *self, db_stmt_t *st)
{
    if (!st)
        return false;
    int rc = store_sqlstep(self, st); /* a failure: the transaction's (store_commit) */
    bool seen = rc == DB_DONE && db_changes(self->db) == 0;
    db_reset(st);
    return seen;
}

/* The mark of a statement putting flow_ids rows in (its column `mark`),
 * never given by another statement: 2^62, a prefix drawn at random when the
 * store opened (30 bits: another process's, another run's, is another),
 * and a counter. Above every microsecond time the column held before
 * schema 3 (seen_us). */
static uint64_t s_flow_mark(store_t *self)
{
    if (!self->flow_mark) {
        uint32_t r = 0;
        if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
            r = (uint32_t)time(NULL) ^ (uint32_t)getpid();
        self->flow_mark = (1ull << 62) | ((uint64_t)(r & 0x3fffffffu) << 32);
    }
    return ++self->flow_mark;
}

bool store_flow_seen(store_t *self, const char *site, uint64_t ts_us, uint64_t flow_id)
{
    /* Keyed by the first packet's time before the hash: a capture's flows
     * come roughly in time order, so they go in at the end of the tree
     * rather than all over it (the insert costs a page, not one each). */
    db_stmt_t *st = s_q(self, Q_FLOW_ID,
            "INSERT INTO flow_ids(site, ts, flow_id, mark) VALUES(?, ?, ?, ?) "
            "ON CONFLICT(site, ts, flow_id) DO NOTHING");
    if (!st)
        return false;
    store_bind(st, 1, site);
    db_bind_int64(st, 2, (int64_t)ts_us);
    db_bind_int64(st, 3, (int64_t)flow_id);
    db_bind_int64(st, 4, (int64_t)s_flow_mark(self));
    return s_id_seen(self, st);
}

void store_site_summary_vantages(store_t *self, const char *sensor, const char *epoch,
        const char *site, const uint64_t comparisons[2], const uint64_t changes[2])
{
    db_stmt_t *st = s_q(self, Q_SUMMARY_VTG,
            "UPDATE summaries SET comparisons_inside=?4, comparisons_outside=?5, "
            "changes_inside=?6, changes_outside=?7 WHERE sensor=?1 AND epoch=?2 AND site=?3");
    if (!st)
        return;
    store_bind(st, 1, sensor);
    store_bind(st, 2, epoch);
    store_bind(st, 3, site);
    db_bind_int64(st, 4, (int64_t)comparisons[0]);
    db_bind_int64(st, 5, (int64_t)comparisons[1]);
    db_bind_int64(st, 6, (int64_t)changes[0]);
    db_bind_int64(st, 7, (int64_t)changes[1]);
    s_step(self, st);
}

bool store_nat_change_id(store_t *self, const char *sensor, const char *epoch,
        const store_nat_id_t *id, uint64_t ts_us, const char *body, size_t len, uint64_t now_us)
{
    db_stmt_t *st = s_q(self, Q_NAT_KNOWN,
            "SELECT 1 FROM nat_ids WHERE site=? AND aor=? AND call_id=? AND cseq=? LIMIT 1");
    if (!st)
        return false;
    store_bind(st, 1, id->site);
    store_bind(st, 2, id->aor);
    store_bind(st, 3, id->call_id);
    db_bind_int64(st, 4, (int64_t)id->cseq);
    bool known = store_sqlstep(self, st) == DB_ROW;
    db_reset(st);
    /* The run's sighting, for the changes it reports now (store_site_get). */
    st = s_q(self, Q_NAT_IDRUN,
            "INSERT INTO nat_ids(site, aor, call_id, cseq, sensor, epoch, seen_us) "
            "VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING");
    if (st) {
        store_bind(st, 1, id->site);
        store_bind(st, 2, id->aor);
        store_bind(st, 3, id->call_id);
        db_bind_int64(st, 4, (int64_t)id->cseq);
        store_bind(st, 5, sensor);
        store_bind(st, 6, epoch);
        db_bind_int64(st, 7, (int64_t)now_us);
        s_step(self, st);
    }
    st = s_q(self, Q_NAT_RUNID,
            "INSERT INTO summaries(sensor, epoch, site, event_ids, last_us) "
            "VALUES(?1, ?2, ?3, 1, ?4) ON CONFLICT(sensor, epoch, site) DO UPDATE SET "
            "event_ids=summaries.event_ids+1, last_us=GREATEST(summaries.last_us, ?4)");
    if (st) {
        store_bind(st, 1, sensor);
        store_bind(st, 2, epoch);
        store_bind(st, 3, id->site);
        db_bind_int64(st, 4, (int64_t)ts_us);
        s_step(self, st);
    }
    if (!known)
        s_nat_evidence(self, id->site, ts_us, body, len);
    return known;
}

void store_site_summary_sip(store_t *self, const char *sensor, const char *epoch,
        const char *site, uint64_t registers, uint64_t sip_tls_flows)
{
    db_stmt_t *st = s_q(self, Q_SUMMARY_SIP,
            "UPDATE summaries SET registers=?4, sip_tls=?5 WHERE sensor=?1 AND epoch=?2 AND site=?3");
    if (!st)
        return;
    store_bind(st, 1, sensor);
    store_bind(st, 2, epoch);
    store_bind(st, 3, site);
    db_bind_int64(st, 4, (int64_t)registers);
    db_bind_int64(st, 5, (int64_t)sip_tls_flows);
    s_step(self, st);
}

/* The SIP ALG verdict from the counts ("rewritten", "not_rewritten",
 * "not_enough_data"), "not_checked" when SIP was seen only in TLS. */
const char *store_alg_verdict(const store_site_t *s)
{
    const char *reason;
    const char *v = s->alg_rewritten ? "rewritten" : s->alg_compared ? "not_rewritten" : "not_enough_data";
    return compliance_sip_verdict(v, s->sip_tls_flows, s->registers, &reason);
}

void store_site_summary(store_t *self, const char *sensor, const char *epoch, const char *site,
        uint64_t ts_us, uint64_t comparisons, uint64_t changes, uint64_t alg_rewritten,
        uint64_t alg_compared)
{
    db_stmt_t *st = s_q(self, Q_SUMMARY,
            "INSERT INTO summaries(sensor, epoch, site, comparisons, changes, alg_rewritten, "
            "alg_compared, last_us) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
            "ON CONFLICT(sensor, epoch, site) DO UPDATE SET comparisons=?4, changes=?5, "
            "alg_rewritten=?6, alg_compared=?7, last_us=GREATEST(summaries.last_us, ?8)");
    if (!st)
        return;
    store_bind(st, 1, sensor);
    store_bind(st, 2, epoch);
    store_bind(st, 3, site);
    db_bind_int64(st, 4, (int64_t)comparisons);
    db_bind_int64(st, 5, (int64_t)changes);
    db_bind_int64(st, 6, (int64_t)alg_rewritten);
    db_bind_int64(st, 7, (int64_t)alg_compared);
    db_bind_int64(st, 8, (int64_t)ts_us);
    s_step(self, st);
}

void store_site_count(store_t *self, const char *site, const char *column)
{
    /* column is one of ours, never from the wire */
    char sql[160];
    snprintf(sql, sizeof sql,
            "INSERT INTO sites(site, %s) VALUES(?, 1) ON CONFLICT(site) DO UPDATE SET %s=sites.%s+1",
            column, column, column);
    db_stmt_t *st = NULL;
    if ((st = store_prepare(self, sql))) {
        store_bind(st, 1, site);
        s_step(self, st);
    }
    db_finalize(st);
}

void store_site_get(store_t *self, const char *site, store_site_t *out)
{
    memset(out, 0, sizeof *out);
    out->compliant = -1;
    str_copy(out->nat, "not_enough_data", sizeof out->nat);
    db_stmt_t *st = s_q(self, Q_SITE_GET,
            "SELECT s.flows, s.compliant, s.nat, s.nat_changes, s.alg_signs, "
            " (SELECT COUNT(*) FROM rules r WHERE r.site=s.site AND r.status IN "
            "   ('blocked', 'partly_blocked')), "
            " (SELECT COALESCE(SUM(count), 0) FROM violations v WHERE v.site=s.site), "
            " (SELECT COALESCE(SUM(alg_compared), 0) FROM summaries m WHERE m.site=s.site), "
            " (SELECT COALESCE(SUM(alg_rewritten), 0) FROM summaries m WHERE m.site=s.site), "
            " (SELECT COALESCE(SUM(registers), 0) FROM summaries m WHERE m.site=s.site), "
            " (SELECT COALESCE(SUM(sip_tls), 0) FROM summaries m WHERE m.site=s.site) "
            "FROM sites s WHERE s.site=?");
    if (!st)
        return;
    store_bind(st, 1, site);
    if (store_sqlstep(self, st) == DB_ROW) {
        out->flows = (uint64_t)db_col_int64(st, 0);
        out->observed = out->flows > 0;
        out->compliant = (int)db_col_int64(st, 1);
        if (db_col_text(st, 2))
            str_copy(out->nat, db_col_text(st, 2), sizeof out->nat);
        uint64_t events = (uint64_t)db_col_int64(st, 3);
        uint64_t signs = (uint64_t)db_col_int64(st, 4);
        out->bad_rules = (uint64_t)db_col_int64(st, 5);
        out->violations = (uint64_t)db_col_int64(st, 6);
        out->nat_changes_total = events; /* distinct changes; at least those of now, below */
        out->alg_compared = (uint64_t)db_col_int64(st, 7);
        uint64_t rw = (uint64_t)db_col_int64(st, 8);
        out->alg_rewritten = signs > rw ? signs : rw;
        out->registers = (uint64_t)db_col_int64(st, 9);
        out->sip_tls_flows = (uint64_t)db_col_int64(st, 10);
    }
    db_reset(st);
    /* NAT now: each sensor's latest run that compared REGISTERs or saw a
     * change. A NAT fixed since shows in the next run; the changes of older
     * runs stay in the evidence and the totals. One REGISTER seen from both
     * vantages (an inside and an outside sensor, or one reading both) is
     * compared once from each: the runs' counters are summed per vantage
     * and the larger vantage counts (a run without the split, an older
     * sensor's, adds its whole count). Changes: the distinct (aor, call_id,
     * cseq) the runs sent as events, plus what the runs without such an
     * event (none sent, or all pruned since) report: their unidentified
     * events (schema 1), or else their summaries' counts (the larger
     * vantage, as above). */
    st = s_q(self, Q_NAT_NOW,
            "WITH cur AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY sensor "
            "  ORDER BY last_us DESC, epoch DESC) AS n FROM summaries WHERE site=?1 AND "
            "  (comparisons > 0 OR changes > 0 OR event_changes > 0 OR event_ids > 0)), "
            "now AS (SELECT *, CASE WHEN EXISTS (SELECT 1 FROM nat_ids i WHERE i.site=?1 AND "
            "  i.sensor=cur.sensor AND i.epoch=cur.epoch) THEN 0 ELSE 1 END AS no_ids FROM cur WHERE n=1), "
            "v AS (SELECT COALESCE(SUM(comparisons_inside), 0) AS ci, "
            "  COALESCE(SUM(comparisons_outside), 0) AS co, "
            "  COALESCE(SUM(GREATEST(comparisons - comparisons_inside - comparisons_outside, 0)), 0) AS cu, "
            "  COALESCE(SUM(changes_inside * no_ids), 0) AS hi, "
            "  COALESCE(SUM(changes_outside * no_ids), 0) AS ho, "
            "  COALESCE(SUM(GREATEST(changes - changes_inside - changes_outside, 0) * no_ids), 0) "
            "  AS hu, COALESCE(SUM(event_changes), 0) AS ev FROM now), "
            "d AS (SELECT COUNT(*) AS ids FROM (SELECT DISTINCT i.aor, i.call_id, i.cseq "
            "  FROM nat_ids i JOIN now ON i.sensor=now.sensor AND i.epoch=now.epoch "
            "  WHERE i.site=?1) AS x) "
            "SELECT GREATEST(ci, co) + cu, ids + GREATEST(GREATEST(hi, ho) + hu, ev) FROM v, d");
    if (!st)
        return;
    store_bind(st, 1, site);
    if (store_sqlstep(self, st) == DB_ROW) {
        out->nat_comparisons = (uint64_t)db_col_int64(st, 0);
        out->nat_changes = (uint64_t)db_col_int64(st, 1);
    }
    db_reset(st);
    if (out->nat_changes > out->nat_changes_total)
        out->nat_changes_total = out->nat_changes;
}

int store_site_code(compliance_t c)
{
    switch (c) {
        case COMPLIANCE_COMPLIANT:
            return STORE_SITE_COMPLIANT;
        case COMPLIANCE_NOT_COMPLIANT:
            return STORE_SITE_NOT_COMPLIANT;
        case COMPLIANCE_INCOMPLETE:
            return STORE_SITE_INCOMPLETE;
        default:
            return STORE_SITE_UNKNOWN;
    }
}

const char *store_site_status(int code)
{
    return code == STORE_SITE_COMPLIANT       ? "compliant"
           : code == STORE_SITE_NOT_COMPLIANT ? "not_compliant"
           : code == STORE_SITE_INCOMPLETE    ? "incomplete"
                                              : "not_observed";
}

/* A stored rule status as one of compliance.c's static strings. */
static const char *s_rule_status_static(const char *t)
{
    static const char *const known[] = {"verified", "blocked", "partly_blocked", "unconfirmed"};
    for (size_t i = 0; t && i < sizeof known / sizeof *known; i++)
        if (strcmp(t, known[i]) == 0)
            return known[i];
    return "not_observed";
}

static const char *s_fact_rule(void *ctx, size_t rule)
{
    return ((store_facts_t *)ctx)->rule[rule];
}

static uint64_t s_fact_req(void *ctx, size_t req)
{
    return ((store_facts_t *)ctx)->viol[req];
}

int store_facts_get(store_t *self, const rules_t *rules, size_t si, store_facts_t *f)
{
    memset(f, 0, sizeof *f);
    const char *site = rules_site_name(rules, si);
    store_site_get(self, site, &f->s);
    size_t nr = rules_nrules(rules), nq = rules_nreqs(rules);
    f->rule = calloc(nr ? nr : 1, sizeof *f->rule);
    f->viol = calloc(nq ? nq : 1, sizeof *f->viol);
    if (!f->rule || !f->viol) {
        store_facts_fini(f);
        return -1;
    }
    for (size_t i = 0; i < nr; i++)
        f->rule[i] = "not_observed";
    db_stmt_t *st = NULL;
    st = store_prepare(self, "SELECT rule, status FROM rules WHERE site=?");
    if (st) {
        store_bind(st, 1, site);
        while (store_sqlstep(self, st) == DB_ROW) {
            int r = rules_rule_index(rules, db_col_text(st, 0));
            if (r >= 0)
                f->rule[r] = s_rule_status_static(db_col_text(st, 1));
        }
        db_finalize(st);
    }
    st = NULL;
    st = store_prepare(self, "SELECT requirement, count FROM violations WHERE site=?");
    if (st) {
        store_bind(st, 1, site);
        while (store_sqlstep(self, st) == DB_ROW) {
            const char *id = db_col_text(st, 0);
            for (size_t q = 0; id && q < nq; q++)
                if (strcmp(rules_req(rules, q)->id, id) == 0)
                    f->viol[q] = (uint64_t)db_col_int64(st, 1);
        }
        db_finalize(st);
    }
    /* Seen: flows, or SIP findings (a site_summary) of the site. */
    f->site.observed = f->s.observed || f->s.nat_comparisons || f->s.nat_changes ||
                       f->s.alg_compared || f->s.alg_rewritten;
    f->site.rule_status = s_fact_rule;
    f->site.req_violations = s_fact_req;
    /* SIP seen only in TLS: NAT and SIP ALG not checked (as the sensor says). */
    const char *reason;
    f->site.nat = compliance_sip_verdict(compliance_nat_verdict(f->s.nat_comparisons, f->s.nat_changes),
            f->s.sip_tls_flows, f->s.registers, &reason);
    f->site.alg = store_alg_verdict(&f->s);
    f->site.ctx = f;
    return 0;
}

void store_facts_fini(store_facts_t *f)
{
    free(f->rule);
    free(f->viol);
    f->rule = NULL;
    f->viol = NULL;
}

void store_site_set(store_t *self, const char *site, int compliant, const char *nat)
{
    db_stmt_t *st = s_q(self, Q_SITE_SET,
            "INSERT INTO sites(site, compliant, nat) VALUES(?1, ?2, ?3) "
            "ON CONFLICT(site) DO UPDATE SET compliant=?2, nat=?3");
    if (!st)
        return;
    store_bind(st, 1, site);
    db_bind_int64(st, 2, compliant);
    store_bind(st, 3, nat);
    s_step(self, st);
}

/* ------------------------------------------------------------------ */
/* Alerts and counters                                                 */

void store_alert_add(store_t *self, const char *kind, const char *body)
{
    db_stmt_t *st = s_q(self, Q_ALERT_INS, "INSERT INTO alerts(kind, body) VALUES(?, ?)");
    if (!st)
        return;
    store_bind(st, 1, kind);
    store_bind(st, 2, body);
    s_step(self, st);
}

void store_alerts_pending(store_t *self, void (*fn)(int64_t id, const char *kind,
        const char *body, void *ctx), void *ctx)
{
    db_stmt_t *st = NULL;
    if (!(st = store_prepare(self, "SELECT id, kind, body FROM alerts WHERE state=0 ORDER BY id")))
        return;
    while (store_sqlstep(self, st) == DB_ROW)
        fn(db_col_int64(st, 0), db_col_text(st, 1),
                db_col_text(st, 2), ctx);
    db_finalize(st);
}

void store_alert_mark(store_t *self, int64_t id, int state)
{
    db_stmt_t *st = s_q(self, Q_ALERT_MARK, "UPDATE alerts SET state=? WHERE id=?");
    if (!st)
        return;
    db_bind_int64(st, 1, state);
    db_bind_int64(st, 2, id);
    s_step(self, st);
}

void store_counter_add(store_t *self, const char *name, uint64_t n)
{
    db_stmt_t *st = s_q(self, Q_COUNTER,
            "INSERT INTO counters(name, value) VALUES(?1, ?2) "
            "ON CONFLICT(name) DO UPDATE SET value=counters.value+?2");
    if (!st)
        return;
    store_bind(st, 1, name);
    db_bind_int64(st, 2, (int64_t)n);
    s_step(self, st);
}

uint64_t store_scalar(store_t *self, const char *sql)
{
    db_stmt_t *st = NULL;
    uint64_t v = 0;
    if ((st = store_prepare(self, sql)) && store_sqlstep(self, st) == DB_ROW)
        v = (uint64_t)db_col_int64(st, 0);
    db_finalize(st);
    return v;
}

void store_trim(store_t *self)
{
    char sql[256];
    /* Ids have gaps on PostgreSQL (an insert rolled back or refused as a
     * duplicate uses one up), so the cut is by position: the newest
     * max_events stay. It runs once the span of ids passes the bound by a
     * slack (the table holds at most max_events + slack), and again only
     * after as many more ids, so the position is not looked for at every
     * tick when gaps make the span long and the table is not. */
    uint64_t max_id = store_scalar(self, "SELECT COALESCE(MAX(id), 0) FROM events");
    uint64_t min_id = store_scalar(self, "SELECT COALESCE(MIN(id), 0) FROM events");
    uint64_t slack = self->cfg.max_events / 64 + 16;
    if (max_id && max_id - min_id + 1 > self->cfg.max_events + slack && max_id >= self->trim_next) {
        snprintf(sql, sizeof sql,
                "DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC "
                "LIMIT 1 OFFSET %llu)", (unsigned long long)self->cfg.max_events);
        if (s_exec(self, sql)) {
            uint64_t n = db_changes(self->db);
            store_counter_add(self, "events_evicted", n);
            self->trim_next = n ? 0 : max_id + slack;
        }
    }
    uint64_t amax = store_scalar(self, "SELECT COALESCE(MAX(id), 0) FROM alerts");
    uint64_t amin = store_scalar(self, "SELECT COALESCE(MIN(id), 0) FROM alerts");
    if (amax && amax - amin + 1 > self->cfg.max_alerts) {
        snprintf(sql, sizeof sql,
                "DELETE FROM alerts WHERE state != 0 AND id <= (SELECT id FROM alerts ORDER BY id "
                "DESC LIMIT 1 OFFSET %llu)", (unsigned long long)self->cfg.max_alerts);
        if (s_exec(self, sql))
            store_counter_add(self, "alerts_evicted", (uint64_t)db_changes(self->db));
    }
    snprintf(sql, sizeof sql,
            "DELETE FROM streams WHERE (sensor, epoch) IN (SELECT sensor, epoch FROM (SELECT sensor, "
            "epoch, ROW_NUMBER() OVER (PARTITION BY sensor ORDER BY updated DESC) AS n FROM streams) "
            "AS x WHERE n > %d)",
            STORE_EPOCHS);
    s_exec(self, sql);
}

/* The next site of flow_ids after `after` ("" for the first), a copy the
 * caller frees; NULL when there is none. A seek along the key, not a scan. */
static char *s_next_flow_site(store_t *self, const char *after)
{
    db_stmt_t *st = s_q(self, Q_FLOW_SITE_NEXT, "SELECT MIN(site) FROM flow_ids WHERE site > ?");
    if (!st)
        return NULL;
    store_bind(st, 1, after);
    const char *got = store_sqlstep(self, st) == DB_ROW ? db_col_text(st, 0) : NULL;
    char *site = got ? strdup(got) : NULL;
    db_reset(st);
    return site;
}

/* Sites pruning walks in flow_ids, at most (identities are kept for the
 * inventory's sites only). */
#define STORE_PRUNE_SITES 100000

/* Flow identities (flows, one-way calls, ALG signs, missed calls) are
 * pruned by their own time, the key's second part: per site, those more
 * than the retention older than the site's newest (which a clock ahead of
 * the collector's cannot put past a day from now), then, beyond max_ids,
 * each site's oldest in proportion to its share. Every step is a range of
 * the key: flow_ids has no other index for ingest to keep up. */
/* Runs the DELETE `sql` (?1 a site, ?2 and ?3 the numbers given) for each
 * site of flow_ids in turn; the rows it deleted. */
static uint64_t s_prune_each_site(store_t *self, int q, const char *sql, uint64_t p2, uint64_t p3)
{
    uint64_t pruned = 0;
    char *site = strdup("");
    for (int guard = 0; site && guard < STORE_PRUNE_SITES; guard++) {
        char *next = s_next_flow_site(self, site);
        free(site);
        db_stmt_t *st = (site = next) ? s_q(self, q, sql) : NULL;
        if (!st)
            break;
        store_bind(st, 1, site);
        db_bind_int64(st, 2, (int64_t)p2);
        db_bind_int64(st, 3, (int64_t)p3);
        s_step(self, st);
        pruned += (uint64_t)db_changes(self->db);
    }
    free(site);
    return pruned;
}

static uint64_t s_flow_ids_prune(store_t *self, uint64_t now_us)
{
    uint64_t pruned = s_prune_each_site(self, Q_FLOW_PRUNE_AGE,
            "DELETE FROM flow_ids WHERE site=?1 AND ts < LEAST((SELECT MAX(ts) FROM flow_ids "
            "WHERE site=?1), ?2) - ?3",
            now_us + 86400ull * 1000000u, self->cfg.id_retention_us);
    uint64_t rows = store_scalar(self, "SELECT COUNT(*) FROM flow_ids");
    if (rows <= self->cfg.max_ids)
        return pruned;
    /* Each site's oldest k, k its share of the excess rounded up: the
     * identities up to the k-th's time go (ties with it too: a few more). */
    return pruned + s_prune_each_site(self, Q_FLOW_PRUNE_N,
            "DELETE FROM flow_ids WHERE site=?1 AND ts <= (SELECT ts FROM flow_ids WHERE "
            "site=?1 ORDER BY ts LIMIT 1 OFFSET ((SELECT COUNT(*) FROM flow_ids WHERE "
            "site=?1) * ?2 + ?3 - 1) / ?3 - 1)",
            rows - self->cfg.max_ids, rows);
}

void store_ids_prune(store_t *self, uint64_t now_us)
{
    uint64_t n = s_flow_ids_prune(self, now_us);
    if (n)
        store_counter_add(self, "flow_ids_pruned", n);
    /* NAT change identities (few: a REGISTER's) by when they were seen. */
    uint64_t before = now_us > self->cfg.id_retention_us ? now_us - self->cfg.id_retention_us : 0;
    char sql[256];
    snprintf(sql, sizeof sql, "DELETE FROM nat_ids WHERE seen_us < %llu", (unsigned long long)before);
    s_exec(self, sql);
    n = (uint64_t)db_changes(self->db);
    uint64_t rows = store_scalar(self, "SELECT COUNT(*) FROM nat_ids");
    if (rows > self->cfg.max_ids) { /* the oldest make room */
        snprintf(sql, sizeof sql,
                "DELETE FROM nat_ids WHERE seen_us <= (SELECT seen_us FROM nat_ids "
                "ORDER BY seen_us LIMIT 1 OFFSET %llu)",
                (unsigned long long)(rows - self->cfg.max_ids - 1));
        s_exec(self, sql);
        n += (uint64_t)db_changes(self->db);
    }
    if (n)
        store_counter_add(self, "nat_ids_pruned", n);
}

uint64_t store_count_events(store_t *self)
{
    return store_scalar(self, "SELECT COUNT(*) FROM events");
}

/* ------------------------------------------------------------------ */
/* Rule status history (the dashboard's strip, docs/collector.md)      */

void store_rule_history_add(store_t *self, const char *site, const char *rule, const char *was,
        const char *status, uint64_t ts_us, uint64_t now_us)
{
    db_stmt_t *st = s_q(self, Q_HIST_INS,
            "INSERT INTO rule_history(site, rule, ts, at_us, was, status) "
            "VALUES(?, ?, ?, ?, ?, ?)");
    if (!st)
        return;
    store_bind(st, 1, site);
    store_bind(st, 2, rule);
    db_bind_int64(st, 3, (int64_t)ts_us);
    db_bind_int64(st, 4, (int64_t)now_us);
    store_bind(st, 5, was);
    store_bind(st, 6, status);
    s_step(self, st);
    /* Bounded per (site, rule): the oldest beyond STORE_RULE_HISTORY go. */
    st = s_q(self, Q_HIST_TRIM,
            "DELETE FROM rule_history WHERE site=?1 AND rule=?2 AND id <= (SELECT id FROM "
            "rule_history WHERE site=?1 AND rule=?2 ORDER BY id DESC LIMIT 1 OFFSET ?3)");
    if (!st)
        return;
    store_bind(st, 1, site);
    store_bind(st, 2, rule);
    db_bind_int64(st, 3, STORE_RULE_HISTORY);
    s_step(self, st);
}

/* ------------------------------------------------------------------ */
/* A message's writes, batched (aggregate_settle)                      */

void store_events(store_t *self, const char *sensor, const char *epoch,
        const store_event_row_t *rows, size_t n)
{
    size_t i = 0;
    if (n >= STORE_EVENTS_N && !self->q[Q_EVENTS_N]) {
        /* ?1 sensor, ?2 epoch, then six a row */
        char sql[8192];
        int w = snprintf(sql, sizeof sql, "INSERT INTO events(sensor, epoch, seq, type, "
                "site, ts, body, unknown) VALUES");
        for (int r = 0; r < STORE_EVENTS_N; r++) {
            int b = 3 + 6 * r;
            w += snprintf(sql + w, sizeof sql - (size_t)w, "%s(?1, ?2, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d)",
                    r ? ", " : "", b, b + 1, b + 2, b + 3, b + 4, b + 5);
        }
        /* No unique index is left to conflict with (schema 3): in case one
         * is, a duplicate is skipped rather than failing the message. */
        snprintf(sql + w, sizeof sql - (size_t)w, " ON CONFLICT DO NOTHING");
        s_q(self, Q_EVENTS_N, sql);
    }
    db_stmt_t *st = self->q[Q_EVENTS_N];
    for (; st && i + STORE_EVENTS_N <= n; i += STORE_EVENTS_N) {
        db_reset(st);
        store_bind(st, 1, sensor);
        store_bind(st, 2, epoch);
        for (int r = 0; r < STORE_EVENTS_N; r++) {
            const store_event_row_t *e = &rows[i + (size_t)r];
            int b = 3 + 6 * r;
            db_bind_int64(st, b, (int64_t)e->seq);
            db_bind_text_ref(st, b + 1, e->type, -1);
            if (e->site)
                db_bind_text_ref(st, b + 2, e->site, -1);
            else
                db_bind_text(st, b + 2, NULL, -1);
            db_bind_int64(st, b + 3, (int64_t)e->ts_us);
            db_bind_text_ref(st, b + 4, e->body, (long)e->len);
            db_bind_int64(st, b + 5, e->unknown);
        }
        s_step(self, st);
        db_reset(st); /* nothing borrowed stays bound */
    }
    for (; i < n; i++)
        store_event(self, sensor, epoch, rows[i].seq, rows[i].type, rows[i].site, rows[i].unknown,
                rows[i].ts_us, rows[i].body, rows[i].len);
}

void store_unexpected_group(store_t *self, const char *site, const char *dest, int port,
        const char *proto, uint64_t count, uint64_t first_us, uint64_t last_us,
        const char *nearest, const char *differs, const char *example)
{
    db_stmt_t *st = s_q(self, Q_UNEXP_UPD_N,
            "UPDATE unexpected SET count=count+?6, last_us=GREATEST(last_us, ?5) "
            "WHERE site=?1 AND dest=?2 AND port=?3 AND proto=?4");
    if (!st)
        return;
    store_bind(st, 1, site);
    store_bind(st, 2, dest);
    db_bind_int64(st, 3, port);
    store_bind(st, 4, proto);
    db_bind_int64(st, 5, (int64_t)last_us);
    db_bind_int64(st, 6, (int64_t)count);
    s_step(self, st);
    if (db_changes(self->db) > 0)
        return;
    st = s_q(self, Q_GROUPS, "SELECT COUNT(*) FROM unexpected WHERE site=?");
    if (!st)
        return;
    store_bind(st, 1, site);
    uint64_t n = store_sqlstep(self, st) == DB_ROW ? (uint64_t)db_col_int64(st, 0) : 0;
    db_reset(st);
    if (n >= self->cfg.max_groups) { /* each of its flows a group dropped, as one at a time */
        st = s_q(self, Q_GROUPS_DROP_N,
                "UPDATE sites SET groups_dropped=groups_dropped+?2 WHERE site=?1");
        if (st) {
            store_bind(st, 1, site);
            db_bind_int64(st, 2, (int64_t)count);
            s_step(self, st);
        }
        return;
    }
    st = s_q(self, Q_UNEXP_INS_N,
            "INSERT INTO unexpected(site, dest, port, proto, count, first_us, last_us, nearest, "
            "differs, example) VALUES(?, ?, ?, ?, ?5, ?6, ?7, ?8, ?9, ?10)");
    if (!st)
        return;
    store_bind(st, 1, site);
    store_bind(st, 2, dest);
    db_bind_int64(st, 3, port);
    store_bind(st, 4, proto);
    db_bind_int64(st, 5, (int64_t)count);
    db_bind_int64(st, 6, (int64_t)first_us);
    db_bind_int64(st, 7, (int64_t)last_us);
    store_bind(st, 8, nearest);
    store_bind(st, 9, differs);
    store_bind(st, 10, example);
    s_step(self, st);
}

/* A chunk's rows that were not all new: which of them the statement with
 * `mark` put in (the first of equal keys in the chunk; the rest were
 * seen), read in one statement (a round trip on PostgreSQL): a key's
 * lookup a row, each numbered. */
static void s_flows_which(store_t *self, const store_flow_id_t *ids, uint64_t mark, bool *seen)
{
    if (!self->q[Q_FLOW_ID_MARK]) {
        char sql[8192];
        int w = 0;
        for (int r = 0; r < STORE_EVENTS_N; r++)
            w += snprintf(sql + w, sizeof sql - (size_t)w,
                    "%sSELECT %d, mark FROM flow_ids WHERE site=?%d AND ts=?%d AND flow_id=?%d",
                    r ? " UNION ALL " : "", r, 1 + 3 * r, 2 + 3 * r, 3 + 3 * r);
        s_q(self, Q_FLOW_ID_MARK, sql);
    }
    db_stmt_t *st = self->q[Q_FLOW_ID_MARK];
    if (!st)
        return; /* the transaction fails (s_prepare_failed) */
    db_reset(st);
    for (int r = 0; r < STORE_EVENTS_N; r++) {
        db_bind_text_ref(st, 1 + 3 * r, ids[r].site, -1);
        db_bind_int64(st, 2 + 3 * r, (int64_t)ids[r].ts_us);
        db_bind_int64(st, 3 + 3 * r, (int64_t)ids[r].flow_id);
    }
    while (store_sqlstep(self, st) == DB_ROW) {
        int64_t r = db_col_int64(st, 0);
        if (r >= 0 && r < STORE_EVENTS_N && (uint64_t)db_col_int64(st, 1) == mark)
            seen[r] = false;
    }
    db_reset(st); /* nothing borrowed stays bound */
    for (size_t r = 0; r < STORE_EVENTS_N; r++)
        for (size_t e = 0; !seen[r] && e < r; e++)
            seen[r] = ids[e].ts_us == ids[r].ts_us && ids[e].flow_id == ids[r].flow_id &&
                      strcmp(ids[e].site, ids[r].site) == 0;
}

void store_flows_seen(store_t *self, const store_flow_id_t *ids, size_t n, bool *seen)
{
    size_t i = 0;
    if (n >= STORE_EVENTS_N && !self->q[Q_FLOW_IDS_N]) {
        /* ?1 the chunk's mark, then three a row */
        char sql[4096];
        int w = snprintf(sql, sizeof sql, "INSERT INTO flow_ids(site, ts, flow_id, mark) VALUES");
        for (int r = 0; r < STORE_EVENTS_N; r++)
            w += snprintf(sql + w, sizeof sql - (size_t)w, "%s(?%d, ?%d, ?%d, ?1)", r ? ", " : "",
                    2 + 3 * r, 3 + 3 * r, 4 + 3 * r);
        snprintf(sql + w, sizeof sql - (size_t)w, " ON CONFLICT(site, ts, flow_id) DO NOTHING");
        s_q(self, Q_FLOW_IDS_N, sql);
    }
    db_stmt_t *st = self->q[Q_FLOW_IDS_N];
    for (; st && i + STORE_EVENTS_N <= n; i += STORE_EVENTS_N) {
        /* The statement's mark, unique to it, tells the rows it put in
         * when some were there already. RETURNING would name them, at a
         * fifth of ingest's work (SQLite writes them to a table of its own
         * first). */
        uint64_t mark = s_flow_mark(self);
        db_reset(st);
        db_bind_int64(st, 1, (int64_t)mark);
        for (int r = 0; r < STORE_EVENTS_N; r++) {
            const store_flow_id_t *f = &ids[i + (size_t)r];
            db_bind_text_ref(st, 2 + 3 * r, f->site, -1);
            db_bind_int64(st, 3 + 3 * r, (int64_t)f->ts_us);
            db_bind_int64(st, 4 + 3 * r, (int64_t)f->flow_id);
        }
        int rc = store_sqlstep(self, st);
        bool all_new = rc == DB_DONE && db_changes(self->db) == STORE_EVENTS_N;
        db_reset(st); /* nothing borrowed stays bound */
        for (size_t r = i; r < i + STORE_EVENTS_N; r++)
            seen[r] = !all_new;
        if (rc == DB_DONE && !all_new)
            s_flows_which(self, ids + i, mark, seen + i);
    }
    for (; i < n; i++)
        seen[i] = store_flow_seen(self, ids[i].site, ids[i].ts_us, ids[i].flow_id);
}

void store_rule_get(store_t *self, const char *site, const char *rule, store_rule_t *out)
{
    memset(out, 0, sizeof *out);
    db_stmt_t *st = s_q(self, Q_RULE_GET_ROW,
            "SELECT allowed, blocked, unconfirmed, first_us, last_us, last_allowed_us, "
            "last_blocked_us, status FROM rules WHERE site=? AND rule=?");
    if (!st)
        return;
    store_bind(st, 1, site);
    store_bind(st, 2, rule);
    if (store_sqlstep(self, st) == DB_ROW) {
        out->allowed = (uint64_t)db_col_int64(st, 0);
        out->blocked = (uint64_t)db_col_int64(st, 1);
        out->unconfirmed = (uint64_t)db_col_int64(st, 2);
        out->first_us = (uint64_t)db_col_int64(st, 3);
        out->last_us = (uint64_t)db_col_int64(st, 4);
        out->last_allowed_us = (uint64_t)db_col_int64(st, 5);
        out->last_blocked_us = (uint64_t)db_col_int64(st, 6);
        const char *t = db_col_text(st, 7);
        str_copy(out->status, t ? (const char *)t : "", sizeof out->status);
    }
    db_reset(st);
}

void store_rule_add_n(store_t *self, const char *site, const char *rule, const store_rule_t *d,
        const char *example, const char *status)
{
    db_stmt_t *st = s_q(self, Q_RULE_UPS_N,
            "INSERT INTO rules(site, rule, allowed, blocked, unconfirmed, first_us, last_us, "
            "last_allowed_us, last_blocked_us, example, example_blocked, status) "
            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, CASE WHEN ?4 > 0 THEN 1 ELSE 0 END, ?11) "
            "ON CONFLICT(site, rule) DO UPDATE SET allowed=rules.allowed+?3, "
            "blocked=rules.blocked+?4, unconfirmed=rules.unconfirmed+?5, "
            "first_us=LEAST(rules.first_us, ?6), last_us=GREATEST(rules.last_us, ?7), "
            "last_allowed_us=GREATEST(rules.last_allowed_us, ?8), "
            "last_blocked_us=GREATEST(rules.last_blocked_us, ?9), "
            "example=CASE WHEN ?4 > 0 AND rules.example_blocked = 0 THEN ?10 ELSE rules.example END, "
            "example_blocked=GREATEST(rules.example_blocked, CASE WHEN ?4 > 0 THEN 1 ELSE 0 END), "
            "status=?11");
    if (!st)
        return;
    store_bind(st, 1, site);
    store_bind(st, 2, rule);
    db_bind_int64(st, 3, (int64_t)d->allowed);
    db_bind_int64(st, 4, (int64_t)d->blocked);
    db_bind_int64(st, 5, (int64_t)d->unconfirmed);
    db_bind_int64(st, 6, (int64_t)d->first_us);
    db_bind_int64(st, 7, (int64_t)d->last_us);
    db_bind_int64(st, 8, (int64_t)d->last_allowed_us);
    db_bind_int64(st, 9, (int64_t)d->last_blocked_us);
    store_bind(st, 10, example);
    store_bind(st, 11, status);
    s_step(self, st);
}

void store_repeated_n(store_t *self, const char *sensor, const char *what, uint64_t n)
{
    /* what is one of ours, never from the wire */
    char sql[200];
    snprintf(sql, sizeof sql,
            "INSERT INTO sensors(sensor, %s_repeated) VALUES(?1, ?2) "
            "ON CONFLICT(sensor) DO UPDATE SET %s_repeated=sensors.%s_repeated+?2", what, what, what);
    db_stmt_t *st = NULL;
    if ((st = store_prepare(self, sql))) {
        store_bind(st, 1, sensor);
        db_bind_int64(st, 2, (int64_t)n);
        s_step(self, st);
    }
    db_finalize(st);
}
