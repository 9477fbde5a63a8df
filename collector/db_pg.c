/* SPDX-License-Identifier: MIT */
/* db_pg.c: the store's PostgreSQL backend (db.h) on libpq: several
 * collectors share one database (docs/scale.md).
 *
 * The store's SQL keeps SQLite's placeholders; they are numbered $N here.
 * Values go as text; a statement is prepared on the server at its first
 * run, with the types of that run's values (an integer: int8, text: left
 * to the server), and again after a reconnection. Writers take one
 * advisory lock per transaction: every collector's ingest is serialized
 * on the database, so a (sensor, run, sequence) is stored once whichever
 * collector it came through. */
#include "db.h"

#include <ctype.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pg_advisory_xact_lock's key of the writers' lock ("pinh" in ASCII). */
#define PG_WRITE_LOCK "1885957736"
#define PG_MAX_PARAMS 2048 /* a multi-row INSERT of the store: 32 rows of 6 */
#define PG_MAX_NAMES 8

#define OID_BOOL 16
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_OID 26
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

typedef struct {
    db_t base;
    PGconn *conn;
    char *uri;
    bool readonly;
    unsigned gen;       /* connections made: statements prepared on an older one are again */
    unsigned next_name;
    bool tx;            /* a transaction begun here is open (or lost with the connection) */
    uint64_t changes;
    char err[400];
} pg_t;

typedef struct {
    db_stmt_t base;
    pg_t *db;
    char *sql;          /* with $N */
    bool persistent;
    char name[24];      /* its server-side name, once prepared */
    unsigned gen;       /* the connection it was prepared on (0: not yet) */
    int nparams;
    bool *used;         /* [1..nparams]: the SQL reads $i */
    char *names[PG_MAX_NAMES]; /* :name of $1.. in order (named parameters) */
    int nnames;
    const char **val;   /* [1..nparams] (NULL: SQL NULL) */
    char **copy;        /* val[i]'s copy, freed here (NULL: the caller's, db_bind_text_ref) */
    Oid *type;
    bool oom;           /* a value could not be copied: the run fails */
    PGresult *res;
    int row;            /* the row db_step is on, -1 before the first */
} pg_stmt_t;

#define P(self) ((pg_t *)(self))
#define T(st) ((pg_stmt_t *)(st))

static void s_noticed(void *arg, const char *msg)
{
    (void)arg;
    (void)msg; /* "relation already exists, skipping" and the like */
}

static void s_seterr(pg_t *self, const PGresult *res)
{
    const char *m = res ? PQresultErrorMessage(res) : "";
    if (!m || !*m)
        m = PQerrorMessage(self->conn);
    snprintf(self->err, sizeof self->err, "%s", m && *m ? m : "unknown PostgreSQL error");
    size_t n = strlen(self->err);
    while (n && isspace((unsigned char)self->err[n - 1]))
        self->err[--n] = '\0';
    for (char *p = self->err; *p; p++) /* one line: libpq's messages have several */
        if (*p == '\n' || *p == '\t')
            *p = ' ';
}

/* What every connection sets once made (and made again). A writer waits
 * at most 30 s for the writers' lock (then its message is refused and sent
 * again), and a writer that hangs inside a transaction (its host gone)
 * loses it after 60 s, and the lock with it. */
static bool s_session(pg_t *self)
{
    PQsetNoticeProcessor(self->conn, s_noticed, NULL);
    PGresult *r = PQexec(self->conn, self->readonly
            ? "SET default_transaction_read_only = on"
            : "SET lock_timeout = '30s'; SET idle_in_transaction_session_timeout = '60s'");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        s_seterr(self, r);
    PQclear(r);
    return ok;
}

/* A lost connection is made again, outside a transaction only: inside,
 * the transaction is lost with it, and what follows must fail (run alone,
 * it would commit on its own) until the caller's ROLLBACK. */
static bool s_connected(pg_t *self)
{
    if (PQstatus(self->conn) == CONNECTION_OK)
        return true;
    if (self->tx) {
        snprintf(self->err, sizeof self->err, "the connection to PostgreSQL was lost");
        return false;
    }
    PQreset(self->conn);
    if (PQstatus(self->conn) != CONNECTION_OK) {
        s_seterr(self, NULL);
        return false;
    }
    self->gen++;
    return s_session(self);
}

/* A result: true if it is what the command gives when it works. */
static bool s_ok(pg_t *self, PGresult *res)
{
    ExecStatusType s = PQresultStatus(res);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        const char *n = PQcmdTuples(res);
        self->changes = n && *n ? strtoull(n, NULL, 10) : 0;
        return true;
    }
    s_seterr(self, res);
    return false;
}

static void s_close(db_t *db)
{
    pg_t *self = P(db);
    PQfinish(self->conn);
    free(self->uri);
    free(self);
}

static int s_exec(db_t *db, const char *sql)
{
    pg_t *self = P(db);
    bool ends = strncmp(sql, "COMMIT", 6) == 0 || strncmp(sql, "ROLLBACK", 8) == 0;
    bool ok = false;
    /* Outside a transaction, once more on a new connection if it was found
     * lost (a server restarted, an idle connection closed): nothing ran. */
    for (int attempt = 0; attempt < 2 && s_connected(self); attempt++) {
        PGresult *res = PQexec(self->conn, sql);
        ok = s_ok(self, res);
        /* COMMIT of a transaction with a failed statement "succeeds" as a
         * ROLLBACK: nothing was committed. */
        if (ok && strncmp(sql, "COMMIT", 6) == 0 && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
            snprintf(self->err, sizeof self->err, "the transaction was rolled back (%s)",
                    PQcmdStatus(res));
            ok = false;
        }
        PQclear(res);
        if (ok || self->tx || ends || PQstatus(self->conn) != CONNECTION_BAD)
            break;
    }
    if (ends)
        self->tx = false;
    return ok ? 0 : -1;
}

static bool s_in_tx(db_t *db)
{
    PGTransactionStatusType t = PQtransactionStatus(P(db)->conn);
    return P(db)->tx || t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* READ COMMITTED whatever the server's default: each statement sees what
 * the other collectors committed before this one took the lock. A
 * connection found lost here is made again by s_exec. */
static int s_begin_write(db_t *db)
{
    if (s_exec(db, "BEGIN ISOLATION LEVEL READ COMMITTED; "
                   "SELECT pg_advisory_xact_lock(" PG_WRITE_LOCK ")") == 0) {
        P(db)->tx = true;
        return 0;
    }
    if (s_in_tx(db)) { /* BEGIN went through, the lock did not */
        PGresult *r = PQexec(P(db)->conn, "ROLLBACK");
        PQclear(r);
    }
    return -1;
}

static const char *s_errmsg(db_t *db)
{
    return P(db)->err;
}

static uint64_t s_changes(db_t *db)
{
    return P(db)->changes;
}

/* Copies sql with SQLite's placeholders (?, ?N, :name) numbered $N as
 * SQLite numbers them: a bare ? is one more than the largest before it. */
static bool s_number(pg_stmt_t *st, const char *sql)
{
    size_t n = strlen(sql);
    char *out = malloc(n * 5 + 1), *o = out; /* "?" becomes at most "$2048" */
    bool *used = calloc(PG_MAX_PARAMS + 1, sizeof *used);
    if (!out || !used) {
        free(out);
        free(used);
        return false;
    }
    int largest = 0;
    char quote = 0;
    for (const char *p = sql; *p;) {
        if (quote) {
            if (*p == quote)
                quote = 0;
            *o++ = *p++;
            continue;
        }
        if (*p == '\'' || *p == '"') {
            quote = *p;
            *o++ = *p++;
            continue;
        }
        int idx = 0;
        if (*p == '?') {
            p++;
            if (isdigit((unsigned char)*p)) {
                while (isdigit((unsigned char)*p) && idx <= PG_MAX_PARAMS)
                    idx = idx * 10 + (*p++ - '0');
            } else {
                idx = largest + 1;
            }
        } else if (*p == ':' && p[1] != ':' && (isalpha((unsigned char)p[1]) || p[1] == '_') &&
                   (p == sql || p[-1] != ':')) {
            const char *e = p + 1;
            while (isalnum((unsigned char)*e) || *e == '_')
                e++;
            for (int k = 0; k < st->nnames; k++)
                if (strlen(st->names[k]) == (size_t)(e - p) && strncmp(st->names[k], p, (size_t)(e - p)) == 0)
                    idx = k + 1; /* named parameters are $1.. in order of appearance */
            if (!idx) {
                if (st->nnames == PG_MAX_NAMES || largest != st->nnames)
                    goto fail; /* named and numbered parameters are not mixed */
                st->names[st->nnames] = strndup(p, (size_t)(e - p));
                if (!st->names[st->nnames])
                    goto fail;
                idx = ++st->nnames;
            }
            p = e;
        } else {
            *o++ = *p++;
            continue;
        }
        if (idx < 1 || idx > PG_MAX_PARAMS)
            goto fail;
        if (idx > largest)
            largest = idx;
        used[idx] = true;
        o += sprintf(o, "$%d", idx);
    }
    *o = '\0';
    st->sql = out;
    st->nparams = largest;
    st->used = used;
    return true;
fail:
    free(out);
    free(used);
    return false;
}

char *db_pg_translate(const char *sql, int *nparams)
{
    pg_stmt_t st;
    memset(&st, 0, sizeof st);
    bool ok = s_number(&st, sql);
    for (int k = 0; k < st.nnames; k++)
        free(st.names[k]);
    free(st.used);
    *nparams = ok ? st.nparams : 0;
    return ok ? st.sql : NULL;
}

static void s_clear(pg_stmt_t *st)
{
    PQclear(st->res);
    st->res = NULL;
    st->row = -1;
}

static void s_reset(db_stmt_t *s)
{
    pg_stmt_t *st = T(s);
    s_clear(st);
    st->oom = false;
    for (int i = 1; i <= st->nparams; i++) {
        free(st->copy[i]);
        st->copy[i] = NULL;
        st->val[i] = NULL;
    }
}

static void s_free(pg_stmt_t *st)
{
    for (int k = 0; k < st->nnames; k++)
        free(st->names[k]);
    free(st->sql);
    free(st->used);
    free(st->val);
    free(st->copy);
    free(st->type);
    free(st);
}

static void s_finalize(db_stmt_t *s)
{
    pg_stmt_t *st = T(s);
    s_reset(s);
    if (st->gen && st->gen == st->db->gen && PQstatus(st->db->conn) == CONNECTION_OK &&
            PQtransactionStatus(st->db->conn) == PQTRANS_IDLE) {
        char sql[48];
        snprintf(sql, sizeof sql, "DEALLOCATE %s", st->name);
        PQclear(PQexec(st->db->conn, sql));
    }
    s_free(st);
}

static db_stmt_t *s_prepare(db_t *db, const char *sql, bool persistent)
{
    pg_stmt_t *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(P(db)->err, sizeof P(db)->err, "out of memory");
        return NULL;
    }
    st->base.ops = db->ops;
    st->db = P(db);
    st->persistent = persistent;
    st->row = -1;
    if (!s_number(st, sql)) {
        snprintf(P(db)->err, sizeof P(db)->err, "cannot number the parameters of: %.300s", sql);
        s_free(st);
        return NULL;
    }
    size_t k = (size_t)st->nparams + 1;
    st->val = calloc(k, sizeof *st->val);
    st->copy = calloc(k, sizeof *st->copy);
    st->type = calloc(k, sizeof *st->type);
    if (!st->val || !st->copy || !st->type) {
        snprintf(P(db)->err, sizeof P(db)->err, "out of memory");
        s_free(st);
        return NULL;
    }
    return &st->base;
}

/* copy: v's own copy (freed here), or NULL (v is the caller's). */
static void s_bind(pg_stmt_t *st, int i, const char *v, char *copy, Oid type)
{
    if (i < 1 || i > st->nparams) {
        free(copy);
        return;
    }
    free(st->copy[i]);
    st->val[i] = copy ? copy : v;
    st->copy[i] = copy;
    if (v && !st->gen) /* the types of the first run are the statement's */
        st->type[i] = type;
}

static void s_bind_text(db_stmt_t *s, int i, const char *v, long len)
{
    char *c = v ? strndup(v, len < 0 ? strlen(v) : (size_t)len) : NULL;
    if (v && !c)
        T(s)->oom = true;
    s_bind(T(s), i, c, c, 0);
}

static void s_bind_text_ref(db_stmt_t *s, int i, const char *v, long len)
{
    if (v && len >= 0) /* libpq takes text NUL-terminated: a part of a buffer is copied */
        s_bind_text(s, i, v, len);
    else
        s_bind(T(s), i, v, NULL, 0);
}

static void s_bind_int64(db_stmt_t *s, int i, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    char *c = strdup(buf);
    if (!c)
        T(s)->oom = true;
    s_bind(T(s), i, c, c, OID_INT8);
}

static int s_param_index(db_stmt_t *s, const char *name)
{
    pg_stmt_t *st = T(s);
    for (int k = 0; k < st->nnames; k++)
        if (strcmp(st->names[k], name) == 0)
            return k + 1;
    return 0;
}

static int s_run_once(pg_stmt_t *st)
{
    pg_t *db = st->db;
    if (st->oom) {
        snprintf(db->err, sizeof db->err, "out of memory (a value of the statement)");
        return DB_ERROR;
    }
    if (!s_connected(db))
        return DB_ERROR;
    for (int i = 1; i <= st->nparams; i++)
        if (!st->used[i])
            st->type[i] = OID_TEXT; /* a value nothing reads */
    Oid *types = st->type;
    const char *const *vals = st->val + 1;
    if (!st->persistent) {
        st->res = PQexecParams(db->conn, st->sql, st->nparams, types + 1, vals, NULL, NULL, 0);
    } else {
        if (st->gen != db->gen || !st->gen) {
            snprintf(st->name, sizeof st->name, "pinhole_%u", ++db->next_name);
            PGresult *r = PQprepare(db->conn, st->name, st->sql, st->nparams, types + 1);
            bool ok = s_ok(db, r);
            PQclear(r);
            if (!ok)
                return DB_ERROR;
            st->gen = db->gen ? db->gen : (db->gen = 1);
        }
        st->res = PQexecPrepared(db->conn, st->name, st->nparams, vals, NULL, NULL, 0);
    }
    if (!s_ok(db, st->res)) {
        s_clear(st);
        return DB_ERROR;
    }
    return DB_DONE;
}

/* Outside a transaction, a statement that found the connection lost (the
 * server restarted, a failover, an idle connection closed) runs once more
 * on a new one: nothing of it ran. Inside, it fails (s_connected). */
static int s_run(pg_stmt_t *st)
{
    int rc = s_run_once(st);
    if (rc == DB_ERROR && !st->db->tx && !st->oom && PQstatus(st->db->conn) == CONNECTION_BAD)
        rc = s_run_once(st);
    return rc;
}

static int s_step(db_stmt_t *s)
{
    pg_stmt_t *st = T(s);
    if (!st->res && s_run(st) != DB_DONE)
        return DB_ERROR;
    if (PQresultStatus(st->res) != PGRES_TUPLES_OK)
        return DB_DONE;
    if (st->row + 1 >= PQntuples(st->res))
        return DB_DONE;
    st->row++;
    return DB_ROW;
}

static int s_ncols(db_stmt_t *s)
{
    return T(s)->res ? PQnfields(T(s)->res) : 0;
}

static const char *s_col_name(db_stmt_t *s, int i)
{
    return T(s)->res ? PQfname(T(s)->res, i) : NULL;
}

static bool s_has_row(pg_stmt_t *st, int i)
{
    return st->res && st->row >= 0 && st->row < PQntuples(st->res) && i >= 0 &&
           i < PQnfields(st->res);
}

static db_type_t s_col_type(db_stmt_t *s, int i)
{
    pg_stmt_t *st = T(s);
    if (!s_has_row(st, i) || PQgetisnull(st->res, st->row, i))
        return DB_NULL;
    switch (PQftype(st->res, i)) {
        case OID_BOOL:
        case OID_INT2:
        case OID_INT4:
        case OID_INT8:
        case OID_OID:
            return DB_INT;
        case OID_NUMERIC: /* SUM of integers: whole */
            return strchr(PQgetvalue(st->res, st->row, i), '.') ? DB_FLOAT : DB_INT;
        case OID_FLOAT4:
        case OID_FLOAT8:
            return DB_FLOAT;
        default:
            return DB_TEXT;
    }
}

static int64_t s_col_int64(db_stmt_t *s, int i)
{
    pg_stmt_t *st = T(s);
    if (!s_has_row(st, i) || PQgetisnull(st->res, st->row, i))
        return 0;
    const char *v = PQgetvalue(st->res, st->row, i);
    if (PQftype(st->res, i) == OID_BOOL)
        return v[0] == 't';
    return strtoll(v, NULL, 10);
}

static const char *s_col_text(db_stmt_t *s, int i)
{
    pg_stmt_t *st = T(s);
    if (!s_has_row(st, i) || PQgetisnull(st->res, st->row, i))
        return NULL;
    return PQgetvalue(st->res, st->row, i);
}

static size_t s_col_bytes(db_stmt_t *s, int i)
{
    pg_stmt_t *st = T(s);
    return s_has_row(st, i) ? (size_t)PQgetlength(st->res, st->row, i) : 0;
}

/* The server bounds its own storage. */
static int s_limit_bytes(db_t *self, uint64_t max_bytes)
{
    (void)self;
    (void)max_bytes;
    return 0;
}

static const db_ops_t s_ops = {
        s_close, s_exec, s_begin_write, s_in_tx, s_errmsg, s_changes, s_prepare, s_finalize,
        s_reset, s_bind_text, s_bind_text_ref, s_bind_int64, s_param_index, s_step, s_ncols, s_col_name,
        s_col_type, s_col_int64, s_col_text, s_col_bytes, s_limit_bytes,
};

db_t *db_pg_open(const char *uri, const db_cfg_t *cfg, char *err, size_t errlen)
{
    pg_t *self = calloc(1, sizeof *self);
    if (!self || !(self->uri = strdup(uri))) {
        free(self);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->base.ops = &s_ops;
    self->base.dialect = DB_POSTGRESQL;
    self->readonly = cfg->readonly;
    /* Defaults the URI may override (it comes last): connecting and a dead
     * peer are found out in seconds, not at the kernel's two hours. */
    static const char *const keys[] = {"connect_timeout", "keepalives_idle", "keepalives_interval",
            "keepalives_count", "application_name", "dbname", NULL};
    const char *const vals[] = {"10", "30", "10", "3", "pinhole-collector", uri, NULL};
    self->conn = PQconnectdbParams(keys, vals, 1);
    char shown[512];
    db_target_display(uri, shown, sizeof shown);
    if (PQstatus(self->conn) != CONNECTION_OK) {
        s_seterr(self, NULL);
        snprintf(err, errlen, "%s: cannot connect: %s", shown, self->err);
        s_close(&self->base);
        return NULL;
    }
    self->gen = 1;
    if (!s_session(self)) {
        snprintf(err, errlen, "%s: %s", shown, self->err);
        s_close(&self->base);
        return NULL;
    }
    return &self->base;
}
