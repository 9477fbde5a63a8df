/* SPDX-License-Identifier: MIT */
/* The store's driver interface (collector/db.h): the SQLite backend on a
 * real file, and what the PostgreSQL backend makes of the store's SQL
 * (its server is tested by the collector.pg-* and collector.shared cases). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "store.h"
#include "unit.h"

int test_db(void);

static int64_t s_scalar(db_t *db, const char *sql, db_type_t *type)
{
    db_stmt_t *st = db_prepare(db, sql, false);
    int64_t v = -999;
    if (st && db_step(st) == DB_ROW) {
        *type = db_col_type(st, 0);
        v = db_col_int64(st, 0);
    }
    db_finalize(st);
    return v;
}

static int s_sqlite(void)
{
    char path[] = "/tmp/pinhole-unit-db-XXXXXX";
    CHECK(unit_db_name(path) == 0);
    char err[256];
    db_cfg_t cfg = {.readonly = false, .sync_full = false};
    db_t *db = db_open(path, &cfg, err, sizeof err);
    CHECK(db != NULL);
    CHECK(db_dialect(db) == DB_SQLITE);
    db_type_t t = DB_NULL;
    /* PostgreSQL's GREATEST and LEAST: NULLs ignored, any number of values */
    CHECK_EQ(s_scalar(db, "SELECT GREATEST(3, NULL, 7, 5)", &t), 7);
    CHECK(t == DB_INT);
    CHECK_EQ(s_scalar(db, "SELECT LEAST(NULL, 3, 7)", &t), 3);
    s_scalar(db, "SELECT GREATEST(NULL, NULL)", &t);
    CHECK(t == DB_NULL);
    CHECK(db_exec(db, "CREATE TABLE t(k TEXT PRIMARY KEY, n BIGINT)") == 0);
    /* an upsert as the store writes them, with ?N and a bare ? */
    db_stmt_t *st = db_prepare(db, "INSERT INTO t(k, n) VALUES(?, ?2) ON CONFLICT(k) DO UPDATE "
                                   "SET n=GREATEST(t.n, ?2) RETURNING n", true);
    CHECK(st != NULL);
    int64_t seen[3] = {0};
    const int64_t vals[3] = {5, 2, 9};
    for (int i = 0; i < 3; i++) {
        db_reset(st);
        db_bind_text(st, 1, "key-with-more", 3); /* a length: "key" */
        db_bind_int64(st, 2, vals[i]);
        CHECK(db_step(st) == DB_ROW);
        seen[i] = db_col_int64(st, 0);
    }
    db_finalize(st);
    CHECK_EQ(seen[0], 5);
    CHECK_EQ(seen[1], 5);
    CHECK_EQ(seen[2], 9);
    st = db_prepare(db, "SELECT k, n FROM t WHERE k=:k", false);
    CHECK(st != NULL);
    CHECK_EQ(db_param_index(st, ":k"), 1);
    CHECK_EQ(db_param_index(st, ":none"), 0);
    db_bind_text(st, 1, "key", -1);
    CHECK(db_step(st) == DB_ROW);
    CHECK(strcmp(db_col_text(st, 0), "key") == 0 && db_col_bytes(st, 0) == 3);
    CHECK(strcmp(db_col_name(st, 1), "n") == 0 && db_ncols(st) == 2);
    CHECK(db_step(st) == DB_DONE);
    db_finalize(st);
    /* a failed statement says why; the transaction is open until it ends */
    CHECK(db_begin_write(db) == 0 && db_in_tx(db));
    st = db_prepare(db, "INSERT INTO nowhere VALUES(1)", false);
    CHECK(st == NULL && strstr(db_errmsg(db), "nowhere"));
    CHECK(db_exec(db, "ROLLBACK") == 0 && !db_in_tx(db));
    CHECK(db_exec(db, "DELETE FROM t") == 0 && db_changes(db) == 1);
    db_close(&db);
    CHECK(db == NULL);
    unit_db_remove(path);
    return 0;
}

static int s_translate(void)
{
    static const struct {
        const char *in, *out;
        int n;
    } cases[] = {
            /* bare ? is one more than the largest before it, as in SQLite */
            {"VALUES(?, ?, ?, ?, 1, ?6, ?6, ?7)", "VALUES($1, $2, $3, $4, 1, $6, $6, $7)", 7},
            {"SET a=?2, b=? WHERE c=?1", "SET a=$2, b=$3 WHERE c=$1", 3},
            /* named: $1.. in order of first appearance */
            {"WHERE site=:site AND x=:limit OR site=:site", "WHERE site=$1 AND x=$2 OR site=$1", 2},
            /* not placeholders: in literals, casts, times */
            {"SELECT '?:x', \"a?\", 1::int, '12:30' FROM t WHERE k=?",
                    "SELECT '?:x', \"a?\", 1::int, '12:30' FROM t WHERE k=$1", 1},
            {"SELECT 1", "SELECT 1", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int n = -1;
        char *out = db_pg_translate(cases[i].in, &n);
        CHECK(out != NULL);
        if (strcmp(out, cases[i].out) != 0)
            fprintf(stderr, "translate %s: %s, expected %s\n", cases[i].in, out, cases[i].out);
        CHECK(strcmp(out, cases[i].out) == 0);
        CHECK_EQ(n, cases[i].n);
        free(out);
    }
    int n;
    CHECK(db_pg_translate("WHERE a=?2049", &n) == NULL);        /* past 2048 */
    CHECK(db_pg_translate("WHERE a=? AND b=:b", &n) == NULL);   /* mixed */
    return 0;
}

static int s_display(void)
{
    static const char *const cases[][2] = {
            {"postgresql://pinhole:s3cret@db.example/pinhole", "postgresql://pinhole:*@db.example/pinhole"},
            {"postgres://db/p?user=u&password=s3cret&sslmode=require",
                    "postgres://db/p?user=u&password=*&sslmode=require"},
            {"postgresql:///pinhole?host=/tmp/x&user=pinhole", "postgresql:///pinhole?host=/tmp/x&user=pinhole"},
            {"/var/lib/pinhole/a:b@c.db", "/var/lib/pinhole/a:b@c.db"}, /* a file: as it is */
            {"postgresql://db/p?sslpassword=x&password=s3cret", "postgresql://db/p?sslpassword=x&password=*"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[128];
        db_target_display(cases[i][0], out, sizeof out);
        if (strcmp(out, cases[i][1]) != 0)
            fprintf(stderr, "display %s: %s\n", cases[i][0], out);
        CHECK(strcmp(out, cases[i][1]) == 0);
    }
    CHECK(db_target_is_pg("postgresql://x") && db_target_is_pg("postgres://x") &&
          !db_target_is_pg("pg.db"));
    return 0;
}

/* Runs sql on the file (outside the store). */
static int s_raw(const char *path, const char *sql)
{
    char err[256];
    db_cfg_t cfg = {.readonly = false, .sync_full = false};
    db_t *db = db_open(path, &cfg, err, sizeof err);
    int rc = db ? db_exec(db, sql) : -1;
    db_close(&db);
    return rc;
}

static int64_t s_raw_scalar(const char *path, const char *sql)
{
    char err[256];
    db_cfg_t cfg = {.readonly = true, .sync_full = false};
    db_t *db = db_open(path, &cfg, err, sizeof err);
    db_type_t t;
    int64_t v = db ? s_scalar(db, sql, &t) : -1;
    db_close(&db);
    return v;
}

/* The size of path + suffix, 0 if there is none. */
static long s_size(const char *path, const char *suffix)
{
    char name[96];
    snprintf(name, sizeof name, "%s%s", path, suffix);
    struct stat sb;
    return stat(name, &sb) == 0 ? (long)sb.st_size : 0;
}

/* A store's settings for a test file: the defaults, without fsync. */
static void s_cfg(store_cfg_t *cfg)
{
    store_cfg_defaults(cfg);
    cfg->sync_full = false;
}

static store_t *s_open(const char *path, const store_cfg_t *cfg)
{
    char err[512];
    store_t *st = store_open(path, cfg, false, err, sizeof err);
    if (!st)
        fprintf(stderr, "%s\n", err);
    return st;
}

/* A database of an older schema version is migrated at open; one of a
 * newer version is refused, and said so. */
static int s_migrations(void)
{
    char path[] = "/tmp/pinhole-unit-mig-XXXXXX";
    CHECK(unit_db_name(path) == 0);
    store_cfg_t cfg;
    s_cfg(&cfg);
    store_t *st = s_open(path, &cfg);
    CHECK(st != NULL);
    store_close(&st);
    int64_t v = s_raw_scalar(path, "SELECT version FROM schema_version");
    CHECK(v >= 2);
    /* back to version 1: the rule history did not exist then */
    CHECK(s_raw(path, "DROP TABLE rule_history; ALTER TABLE flow_ids RENAME COLUMN mark TO seen_us;"
            "UPDATE schema_version SET version=1") == 0);
    st = s_open(path, &cfg);
    CHECK(st != NULL);
    store_close(&st);
    CHECK_EQ(s_raw_scalar(path, "SELECT version FROM schema_version"), v);
    CHECK_EQ(s_raw_scalar(path, "SELECT COUNT(*) FROM rule_history"), 0);
    /* version 2's events (UNIQUE(sensor, epoch, seq)) and flow_ids_seen,
     * with rows: version 3 keeps the rows and their ids, without either */
    CHECK(s_raw(path, "DROP TABLE events;"
            "CREATE TABLE events(id INTEGER PRIMARY KEY, sensor TEXT, epoch TEXT, seq BIGINT, "
            "  type TEXT, site TEXT, ts BIGINT, body TEXT, unknown BIGINT DEFAULT 0, "
            "  UNIQUE(sensor, epoch, seq));"
            "CREATE INDEX events_type ON events(type, id);"
            "INSERT INTO events(id, sensor, epoch, seq, type, body) VALUES(5, 's', 'e', 1, 'flow', 'a'),"
            "  (6, 's', 'e', 2, 'stats', 'b'), (9, 's', 'e', 3, 'flow', 'c');"
            "INSERT INTO events(id, sensor, epoch, seq, type, body) SELECT 100 + n, 'o', 'e', n, "
            "  'flow', hex(randomblob(500)) FROM (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL "
            "  SELECT n + 1 FROM c WHERE n < 2000) SELECT n FROM c);"
            "ALTER TABLE flow_ids RENAME COLUMN mark TO seen_us;"
            "CREATE INDEX flow_ids_seen ON flow_ids(seen_us);"
            "UPDATE schema_version SET version=2") == 0);
    CHECK_EQ(s_raw_scalar(path, "SELECT COUNT(*) FROM pragma_index_list('events') WHERE \"unique\""), 1);
    /* bounded at about its size: the copy of version 3 goes past the
     * bound, which holds again once the collector runs */
    cfg.max_db_bytes = (uint64_t)s_size(path, "") + (uint64_t)s_size(path, "-wal") + 65536;
    st = s_open(path, &cfg);
    CHECK(st != NULL);
    cfg.max_db_bytes = 0;
    CHECK(store_begin(st) == 0);
    store_event(st, "s", "e", 4, "flow", "x", false, 1, "d", 1);
    CHECK(store_commit(st) == 0);
    store_close(&st);
    CHECK_EQ(s_raw_scalar(path, "SELECT version FROM schema_version"), v);
    CHECK_EQ(s_raw_scalar(path, "SELECT COUNT(*) FROM pragma_index_list('events') WHERE \"unique\""), 0);
    CHECK_EQ(s_raw_scalar(path, "SELECT COUNT(*) FROM sqlite_master WHERE name='flow_ids_seen'"), 0);
    CHECK_EQ(s_raw_scalar(path, "SELECT COUNT(*) FROM pragma_table_info('flow_ids') WHERE name='mark'"), 1);
    CHECK_EQ(s_raw_scalar(path, "SELECT COUNT(*) FROM sqlite_master WHERE name='events_type'"), 1);
    CHECK_EQ(s_raw_scalar(path, "SELECT group_concat(id) = '5,6,9,2101' FROM (SELECT id FROM events "
            "WHERE sensor='s' ORDER BY id)"), 1);
    CHECK_EQ(s_raw_scalar(path, "SELECT COUNT(*) FROM events WHERE sensor='o'"), 2000);
    CHECK_EQ(s_raw_scalar(path, "SELECT COUNT(*) FROM events WHERE id=9 AND seq=3 AND body='c'"), 1);
    /* a newer collector's database */
    CHECK(s_raw(path, "UPDATE schema_version SET version=999") == 0);
    char err[512];
    st = store_open(path, &cfg, false, err, sizeof err);
    CHECK(st == NULL);
    CHECK(strstr(err, "version 999, newer than this collector's") != NULL);
    unit_db_remove(path);
    return 0;
}

/* store_trim keeps the newest max_events events, also when ids have gaps
 * (as PostgreSQL's do: an insert rolled back uses one up). */
static int s_trim(void)
{
    char path[] = "/tmp/pinhole-unit-trim-XXXXXX";
    CHECK(unit_db_name(path) == 0);
    store_cfg_t cfg;
    s_cfg(&cfg);
    cfg.max_events = 100;
    store_t *st = s_open(path, &cfg);
    CHECK(st != NULL);
    CHECK(store_begin(st) == 0);
    for (uint64_t seq = 1; seq <= 400; seq++)
        store_event(st, "s", "e", seq, "flow", "x", false, seq, "{}", 2);
    CHECK(store_commit(st) == 0);
    store_close(&st);
    /* gaps among the newest: every third id of 251..399 gone */
    CHECK(s_raw(path, "DELETE FROM events WHERE id > 250 AND id < 400 AND id % 3 = 0") == 0);
    st = s_open(path, &cfg);
    CHECK(st != NULL);
    CHECK(store_begin(st) == 0);
    store_trim(st);
    CHECK(store_commit(st) == 0);
    store_close(&st);
    CHECK_EQ(s_raw_scalar(path, "SELECT COUNT(*) FROM events"), 100);
    CHECK_EQ(s_raw_scalar(path, "SELECT MAX(id) FROM events"), 400);
    CHECK_EQ(s_raw_scalar(path, "SELECT value FROM counters WHERE name='events_evicted'"), 250);
    unit_db_remove(path);
    return 0;
}

/* store_flows_seen: a chunk of new identities at once; one with some
 * known already and one repeated within it, each told apart. */
static int s_flow_ids(void)
{
    char path[] = "/tmp/pinhole-unit-fids-XXXXXX";
    CHECK(unit_db_name(path) == 0);
    store_cfg_t cfg;
    s_cfg(&cfg);
    store_t *st = s_open(path, &cfg);
    CHECK(st != NULL);
    enum { N = STORE_EVENTS_N * 2 + 5 };
    store_flow_id_t ids[N];
    bool seen[N];
    for (size_t i = 0; i < N; i++)
        ids[i] = (store_flow_id_t){.site = "a", .ts_us = 1000 + i, .flow_id = 7 * i};
    CHECK(store_begin(st) == 0);
    store_flows_seen(st, ids, N, seen);
    for (size_t i = 0; i < N; i++)
        CHECK(!seen[i]);
    /* again, with every third one new and the first chunk's tenth equal
     * to its ninth (new: the ninth only) */
    for (size_t i = 0; i < N; i++)
        if (i % 3 == 0)
            ids[i] = (store_flow_id_t){.site = "b", .ts_us = 1000 + i, .flow_id = 7 * i};
    ids[10] = ids[9];
    store_flows_seen(st, ids, N, seen);
    for (size_t i = 0; i < N; i++)
        CHECK(seen[i] == (i % 3 != 0 || i == 10));
    store_flows_seen(st, ids, N, seen);
    for (size_t i = 0; i < N; i++)
        CHECK(seen[i]);
    CHECK(store_commit(st) == 0);
    store_close(&st);
    /* another run of the store (a restart, or a second collector): its
     * marks are its own, what is known stays known, what is new is new */
    st = s_open(path, &cfg);
    CHECK(st != NULL);
    CHECK(store_begin(st) == 0);
    ids[N - 1] = (store_flow_id_t){.site = "c", .ts_us = 1, .flow_id = 1};
    store_flows_seen(st, ids, N, seen);
    for (size_t i = 0; i < N; i++)
        CHECK(seen[i] == (i != N - 1));
    ids[STORE_EVENTS_N - 1] = (store_flow_id_t){.site = "c", .ts_us = 2, .flow_id = 2};
    store_flows_seen(st, ids, N, seen); /* a chunk of 32 with one new */
    for (size_t i = 0; i < N; i++)
        CHECK(seen[i] == (i != STORE_EVENTS_N - 1));
    CHECK(store_commit(st) == 0);
    store_close(&st);
    CHECK_EQ(s_raw_scalar(path, "SELECT COUNT(*) FROM flow_ids"), N + N / 3 + 2);
    unit_db_remove(path);
    return 0;
}

/* Flow identities are pruned by their own time, per site: older than the
 * retention before the site's newest (no further ahead than a day past
 * now), then beyond max_ids the oldest of each site by its share. */
static int s_flow_prune(void)
{
    char path[] = "/tmp/pinhole-unit-fprune-XXXXXX";
    CHECK(unit_db_name(path) == 0);
    const uint64_t now = 1800000000ull * 1000000u, hour = 3600ull * 1000000u, day = 24 * hour;
    store_cfg_t cfg;
    s_cfg(&cfg);
    cfg.id_retention_us = 2 * day;
    store_t *st = s_open(path, &cfg);
    CHECK(st != NULL);
    /* a: a capture of long ago, a flow an hour for 99 hours; b: the last
     * 50 s, and one flow a week ahead (a sensor's clock that jumped) */
    CHECK(store_begin(st) == 0);
    for (uint64_t k = 0; k < 100; k++)
        CHECK(!store_flow_seen(st, "a", k * hour, k));
    for (uint64_t k = 1; k <= 50; k++)
        CHECK(!store_flow_seen(st, "b", now - k * 1000000u, k));
    CHECK(!store_flow_seen(st, "b", now + 7 * day, 1));
    store_ids_prune(st, now);
    CHECK(store_commit(st) == 0);
    store_close(&st);
    /* a: two days before its own newest (hour 99) are kept, from hour 51;
     * b: all (its newest is taken as a day past now at most) */
    CHECK_EQ(s_raw_scalar(path, "SELECT COUNT(*) FROM flow_ids WHERE site='a'"), 49);
    CHECK_EQ(s_raw_scalar(path, "SELECT MIN(ts) FROM flow_ids WHERE site='a'"), 51 * hour);
    CHECK_EQ(s_raw_scalar(path, "SELECT COUNT(*) FROM flow_ids WHERE site='b'"), 51);
    CHECK_EQ(s_raw_scalar(path, "SELECT value FROM counters WHERE name='flow_ids_pruned'"), 51);
    /* at most 40: 60 too many of 100, each site's oldest by its share
     * (a: 30 of 49, b: 31 of 51; rounded up) */
    cfg.max_ids = 40;
    st = s_open(path, &cfg);
    CHECK(st != NULL);
    CHECK(store_begin(st) == 0);
    store_ids_prune(st, now);
    CHECK(store_commit(st) == 0);
    store_close(&st);
    CHECK_EQ(s_raw_scalar(path, "SELECT COUNT(*) FROM flow_ids WHERE site='a'"), 19);
    CHECK_EQ(s_raw_scalar(path, "SELECT MIN(ts) FROM flow_ids WHERE site='a'"), 81 * hour);
    CHECK_EQ(s_raw_scalar(path, "SELECT COUNT(*) FROM flow_ids WHERE site='b'"), 20);
    CHECK_EQ(s_raw_scalar(path, "SELECT MAX(ts) FROM flow_ids WHERE site='b'"), now + 7 * day);
    CHECK_EQ(s_raw_scalar(path, "SELECT value FROM counters WHERE name='flow_ids_pruned'"), 51 + 61);
    unit_db_remove(path);
    return 0;
}

int test_db(void)
{
    RUN(s_sqlite);
    RUN(s_migrations);
    RUN(s_trim);
    RUN(s_flow_ids);
    RUN(s_flow_prune);
    RUN(s_translate);
    RUN(s_display);
    return 0;
}
