/* SPDX-License-Identifier: MIT */
/* db_sqlite.c: the store's SQLite backend (db.h): a file in WAL mode, one
 * writer and any number of reader connections. */
#include "db.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    db_t base;
    sqlite3 *db;
} lite_t;

typedef struct {
    db_stmt_t base;
    sqlite3_stmt *st;
} lite_stmt_t;

#define L(self) ((lite_t *)(self))
#define S(st) (((lite_stmt_t *)(st))->st)

/* PostgreSQL's GREATEST and LEAST (any number of arguments, NULLs
 * ignored), so one SQL text serves both backends. */
static void s_extreme(sqlite3_context *ctx, int argc, sqlite3_value **argv, int sign)
{
    sqlite3_value *best = NULL;
    for (int i = 0; i < argc; i++) {
        if (sqlite3_value_type(argv[i]) == SQLITE_NULL)
            continue;
        if (!best) {
            best = argv[i];
            continue;
        }
        int c;
        if (sqlite3_value_type(argv[i]) == SQLITE_TEXT || sqlite3_value_type(best) == SQLITE_TEXT) {
            c = strcmp((const char *)sqlite3_value_text(argv[i]), (const char *)sqlite3_value_text(best));
        } else if (sqlite3_value_type(argv[i]) == SQLITE_INTEGER &&
                   sqlite3_value_type(best) == SQLITE_INTEGER) {
            sqlite3_int64 a = sqlite3_value_int64(argv[i]), b = sqlite3_value_int64(best);
            c = (a > b) - (a < b);
        } else {
            double a = sqlite3_value_double(argv[i]), b = sqlite3_value_double(best);
            c = (a > b) - (a < b);
        }
        if (c * sign > 0)
            best = argv[i];
    }
    if (best)
        sqlite3_result_value(ctx, best);
    else
        sqlite3_result_null(ctx);
}

static void s_greatest(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    s_extreme(ctx, argc, argv, 1);
}

static void s_least(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    s_extreme(ctx, argc, argv, -1);
}

static void s_close(db_t *self)
{
    sqlite3_close(L(self)->db);
    free(self);
}

static int s_exec(db_t *self, const char *sql)
{
    return sqlite3_exec(L(self)->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int s_begin_write(db_t *self)
{
    return s_exec(self, "BEGIN IMMEDIATE");
}

static bool s_in_tx(db_t *self)
{
    return !sqlite3_get_autocommit(L(self)->db);
}

static const char *s_errmsg(db_t *self)
{
    return sqlite3_errmsg(L(self)->db);
}

static uint64_t s_changes(db_t *self)
{
    return (uint64_t)sqlite3_changes(L(self)->db);
}

static db_stmt_t *s_prepare(db_t *self, const char *sql, bool persistent)
{
    lite_stmt_t *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->base.ops = self->ops;
    if (sqlite3_prepare_v3(L(self)->db, sql, -1, persistent ? SQLITE_PREPARE_PERSISTENT : 0,
                &st->st, NULL) != SQLITE_OK) {
        free(st);
        return NULL;
    }
    return &st->base;
}

static void s_finalize(db_stmt_t *st)
{
    sqlite3_finalize(S(st));
    free(st);
}

static void s_reset(db_stmt_t *st)
{
    sqlite3_reset(S(st));
    sqlite3_clear_bindings(S(st));
}

static void s_bind_text(db_stmt_t *st, int i, const char *s, long len)
{
    if (s)
        sqlite3_bind_text(S(st), i, s, len < 0 ? -1 : (int)len, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(S(st), i);
}

static void s_bind_text_ref(db_stmt_t *st, int i, const char *s, long len)
{
    if (s)
        sqlite3_bind_text(S(st), i, s, len < 0 ? -1 : (int)len, SQLITE_STATIC);
    else
        sqlite3_bind_null(S(st), i);
}

static void s_bind_int64(db_stmt_t *st, int i, int64_t v)
{
    sqlite3_bind_int64(S(st), i, (sqlite3_int64)v);
}

static int s_param_index(db_stmt_t *st, const char *name)
{
    return sqlite3_bind_parameter_index(S(st), name);
}

static int s_step(db_stmt_t *st)
{
    int rc = sqlite3_step(S(st));
    return rc == SQLITE_ROW ? DB_ROW : rc == SQLITE_DONE ? DB_DONE : DB_ERROR;
}

static int s_ncols(db_stmt_t *st)
{
    return sqlite3_column_count(S(st));
}

static const char *s_col_name(db_stmt_t *st, int i)
{
    return sqlite3_column_name(S(st), i);
}

static db_type_t s_col_type(db_stmt_t *st, int i)
{
    switch (sqlite3_column_type(S(st), i)) {
        case SQLITE_INTEGER:
            return DB_INT;
        case SQLITE_FLOAT:
            return DB_FLOAT;
        case SQLITE_NULL:
            return DB_NULL;
        default:
            return DB_TEXT;
    }
}

static int64_t s_col_int64(db_stmt_t *st, int i)
{
    return (int64_t)sqlite3_column_int64(S(st), i);
}

static const char *s_col_text(db_stmt_t *st, int i)
{
    return (const char *)sqlite3_column_text(S(st), i);
}

static size_t s_col_bytes(db_stmt_t *st, int i)
{
    return (size_t)sqlite3_column_bytes(S(st), i);
}

/* max_page_count, in the file's own pages (0: SQLite's largest). */
static int s_limit_bytes(db_t *self, uint64_t max_bytes)
{
    sqlite3_stmt *ps = NULL;
    int64_t page = 4096;
    if (sqlite3_prepare_v2(L(self)->db, "PRAGMA page_size", -1, &ps, NULL) == SQLITE_OK &&
            sqlite3_step(ps) == SQLITE_ROW && sqlite3_column_int64(ps, 0) > 0)
        page = sqlite3_column_int64(ps, 0);
    sqlite3_finalize(ps);
    char sql[80];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count=%llu",
            max_bytes ? (unsigned long long)(max_bytes / (uint64_t)page + 1) : 4294967294ull);
    return s_exec(self, sql);
}

static const db_ops_t s_ops = {
        s_close, s_exec, s_begin_write, s_in_tx, s_errmsg, s_changes, s_prepare, s_finalize,
        s_reset, s_bind_text, s_bind_text_ref, s_bind_int64, s_param_index, s_step, s_ncols, s_col_name,
        s_col_type, s_col_int64, s_col_text, s_col_bytes, s_limit_bytes,
};

db_t *db_sqlite_open(const char *path, const db_cfg_t *cfg, char *err, size_t errlen)
{
    lite_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    self->base.ops = &s_ops;
    self->base.dialect = DB_SQLITE;
    int flags = cfg->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &self->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, self->db ? sqlite3_errmsg(self->db) : "cannot open");
        s_close(&self->base);
        return NULL;
    }
    sqlite3_busy_timeout(self->db, 5000);
    int fl = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
    sqlite3_create_function(self->db, "greatest", -1, fl, NULL, s_greatest, NULL, NULL);
    sqlite3_create_function(self->db, "least", -1, fl, NULL, s_least, NULL, NULL);
    if (!cfg->readonly) {
        char pragmas[200];
        /* 16 KiB pages (a new file's; a file made before keeps its own):
         * a quarter of the log's frames and of the kernel's work writing
         * them (most of ingest's time in the kernel), B-trees a level
         * lower, for a few small rows rewritten in a larger page. */
        snprintf(pragmas, sizeof pragmas,
                "PRAGMA page_size=16384; "
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=OFF;",
                cfg->sync_full ? "FULL" : "NORMAL");
        if (s_exec(&self->base, pragmas) != 0) {
            snprintf(err, errlen, "%s: cannot set up the database: %s", path, sqlite3_errmsg(self->db));
            s_close(&self->base);
            return NULL;
        }
    }
    return &self->base;
}
