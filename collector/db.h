/* SPDX-License-Identifier: MIT */
/* db.h: the one interface both store backends implement: SQLite (a file,
 * db_sqlite.c) and PostgreSQL (a postgresql:// URI, db_pg.c). The store
 * (store*.c) speaks SQL only through it (docs/scale.md).
 *
 * The SQL is one text for both: placeholders are SQLite's (`?`, `?N`,
 * `:name`; db_pg.c numbers them $N), scalar GREATEST/LEAST exist in both
 * (db_sqlite.c defines them), booleans are compared (`x = 1`), never used
 * as numbers, and integers are 64-bit (BIGINT). What differs in the schema
 * (an id column) is asked of db_dialect(). No SQL comments, and no ? or
 * :name inside a comment or an E'' string: the PostgreSQL backend skips
 * only '...' and "..." when it numbers placeholders. Text sorts in byte
 * order on SQLite and in the database's collation on PostgreSQL.
 *
 * A statement's values are copied when bound; a row's columns stay valid
 * until the next db_step, db_reset or db_finalize of that statement. A
 * failed statement says why in db_errmsg(). One connection is used by one
 * thread at a time. */
#ifndef PINHOLE_DB_H
#define PINHOLE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct db db_t;
typedef struct db_stmt db_stmt_t;

enum { DB_ERROR = -1, DB_DONE = 0, DB_ROW = 1 };
typedef enum { DB_NULL, DB_INT, DB_FLOAT, DB_TEXT } db_type_t;
typedef enum { DB_SQLITE, DB_POSTGRESQL } db_dialect_t;

typedef struct {
    bool readonly;         /* a reader's connection (the HTTP threads) */
    bool sync_full;        /* SQLite: fsync at every commit */
} db_cfg_t;

/* True for a PostgreSQL target: postgresql://... or postgres://... */
bool db_target_is_pg(const char *target);

/* target as it may be shown (logs): a PostgreSQL URI's password masked. */
void db_target_display(const char *target, char *out, size_t n);

/* Opens target (a SQLite file, created if missing, or a PostgreSQL URI).
 * NULL on failure, with err set (the target, what failed). */
db_t *db_open(const char *target, const db_cfg_t *cfg, char *err, size_t errlen);
void db_close(db_t **self_p);
db_dialect_t db_dialect(const db_t *self);
/* SQLite: bounds the file at max_bytes (in its own pages): past it writes
 * fail as on a full disk, and are not acknowledged (store_commit). 0: no
 * bound. PostgreSQL: nothing (its server bounds itself). 0, or -1. */
int db_limit_bytes(db_t *self, uint64_t max_bytes);

/* Runs one or more statements without parameters: 0, or -1 (db_errmsg). */
int db_exec(db_t *self, const char *sql);
/* The write transaction: SQLite's BEGIN IMMEDIATE; on PostgreSQL, BEGIN
 * and the writers' lock (one writer at a time across every collector
 * sharing the database). 0, or -1 (db_errmsg). */
int db_begin_write(db_t *self);
/* True between BEGIN and the end of the transaction (an error may have
 * ended it already: SQLite rolls back on a full disk). */
bool db_in_tx(db_t *self);
const char *db_errmsg(db_t *self);
/* Rows changed by the last INSERT, UPDATE or DELETE run. */
uint64_t db_changes(db_t *self);

/* persistent: prepared once and kept (the store caches it); else run
 * once and finalized. NULL on failure (db_errmsg). */
db_stmt_t *db_prepare(db_t *self, const char *sql, bool persistent);
void db_finalize(db_stmt_t *st);
/* Ready to bind and run again; every value unbound (NULL). */
void db_reset(db_stmt_t *st);

/* i counts from 1; len < 0: up to the NUL. A NULL s binds NULL. */
void db_bind_text(db_stmt_t *st, int i, const char *s, long len);
/* The same, without a copy where the backend can (SQLite; PostgreSQL for a
 * NUL-terminated s, len < 0): s must stay as it is until the statement's
 * next db_reset (or db_finalize). */
void db_bind_text_ref(db_stmt_t *st, int i, const char *s, long len);
void db_bind_int64(db_stmt_t *st, int i, int64_t v);
/* The index of a named parameter (":site"), 0 if the SQL has none. */
int db_param_index(db_stmt_t *st, const char *name);

/* DB_ROW (a row to read), DB_DONE, or DB_ERROR. */
int db_step(db_stmt_t *st);
int db_ncols(db_stmt_t *st);
const char *db_col_name(db_stmt_t *st, int i);
db_type_t db_col_type(db_stmt_t *st, int i);
int64_t db_col_int64(db_stmt_t *st, int i);
/* NULL for SQL NULL. */
const char *db_col_text(db_stmt_t *st, int i);
size_t db_col_bytes(db_stmt_t *st, int i);

/* How the backends plug in (db.c dispatches; nothing else uses this). */
typedef struct db_ops {
    void (*close)(db_t *self);
    int (*exec)(db_t *self, const char *sql);
    int (*begin_write)(db_t *self);
    bool (*in_tx)(db_t *self);
    const char *(*errmsg)(db_t *self);
    uint64_t (*changes)(db_t *self);
    db_stmt_t *(*prepare)(db_t *self, const char *sql, bool persistent);
    void (*finalize)(db_stmt_t *st);
    void (*reset)(db_stmt_t *st);
    void (*bind_text)(db_stmt_t *st, int i, const char *s, long len);
    void (*bind_text_ref)(db_stmt_t *st, int i, const char *s, long len);
    void (*bind_int64)(db_stmt_t *st, int i, int64_t v);
    int (*param_index)(db_stmt_t *st, const char *name);
    int (*step)(db_stmt_t *st);
    int (*ncols)(db_stmt_t *st);
    const char *(*col_name)(db_stmt_t *st, int i);
    db_type_t (*col_type)(db_stmt_t *st, int i);
    int64_t (*col_int64)(db_stmt_t *st, int i);
    const char *(*col_text)(db_stmt_t *st, int i);
    size_t (*col_bytes)(db_stmt_t *st, int i);
    int (*limit_bytes)(db_t *self, uint64_t max_bytes);
} db_ops_t;

/* Every connection and statement starts with its backend's ops. */
struct db {
    const db_ops_t *ops;
    db_dialect_t dialect;
};
struct db_stmt {
    const db_ops_t *ops;
};

/* The SQL db_pg.c sends for sql ($N placeholders), malloc'd, and its
 * number of parameters; NULL if it cannot (more than 2048 parameters, named
 * and numbered mixed). For tests. */
char *db_pg_translate(const char *sql, int *nparams);

db_t *db_sqlite_open(const char *path, const db_cfg_t *cfg, char *err, size_t errlen);
db_t *db_pg_open(const char *uri, const db_cfg_t *cfg, char *err, size_t errlen);

#endif
