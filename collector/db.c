/* SPDX-License-Identifier: MIT */
/* db.c: a connection's calls to its backend (db.h). */
#include "db.h"

#include <stdio.h>
#include <string.h>

bool db_target_is_pg(const char *target)
{
    return strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0;
}

void db_target_display(const char *target, char *out, size_t n)
{
    snprintf(out, n, "%s", target);
    if (!db_target_is_pg(target))
        return;
    /* postgresql://user:PASSWORD@host/... and ...?password=PASSWORD&... */
    char *at = strchr(out, '@'), *scheme = strstr(out, "://");
    char *colon = scheme ? strchr(scheme + 3, ':') : NULL;
    if (at && colon && colon < at && at - colon > 1)
        memmove(colon + 2, at, strlen(at) + 1), colon[1] = '*';
    char *pw = strstr(out, "?password=");
    if (!pw)
        pw = strstr(out, "&password=");
    if (pw) {
        pw++;
        char *end = pw + 9 + strcspn(pw + 9, "&");
        if (end > pw + 9)
            memmove(pw + 10, end, strlen(end) + 1), pw[9] = '*';
    }
}

db_t *db_open(const char *target, const db_cfg_t *cfg, char *err, size_t errlen)
{
    return db_target_is_pg(target) ? db_pg_open(target, cfg, err, errlen)
                                   : db_sqlite_open(target, cfg, err, errlen);
}

int db_limit_bytes(db_t *self, uint64_t max_bytes)
{
    return self->ops->limit_bytes(self, max_bytes);
}

void db_close(db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    (*self_p)->ops->close(*self_p);
    *self_p = NULL;
}

db_dialect_t db_dialect(const db_t *self)
{
    return self->dialect;
}

int db_exec(db_t *self, const char *sql)
{
    return self->ops->exec(self, sql);
}

int db_begin_write(db_t *self)
{
    return self->ops->begin_write(self);
}

bool db_in_tx(db_t *self)
{
    return self->ops->in_tx(self);
}

const char *db_errmsg(db_t *self)
{
    return self->ops->errmsg(self);
}

uint64_t db_changes(db_t *self)
{
    return self->ops->changes(self);
}

db_stmt_t *db_prepare(db_t *self, const char *sql, bool persistent)
{
    return self->ops->prepare(self, sql, persistent);
}

void db_finalize(db_stmt_t *st)
{
    if (st)
        st->ops->finalize(st);
}

void db_reset(db_stmt_t *st)
{
    st->ops->reset(st);
}

void db_bind_text(db_stmt_t *st, int i, const char *s, long len)
{
    st->ops->bind_text(st, i, s, len);
}

void db_bind_text_ref(db_stmt_t *st, int i, const char *s, long len)
{
    st->ops->bind_text_ref(st, i, s, len);
}

void db_bind_int64(db_stmt_t *st, int i, int64_t v)
{
    st->ops->bind_int64(st, i, v);
}

int db_param_index(db_stmt_t *st, const char *name)
{
    return st->ops->param_index(st, name);
}

int db_step(db_stmt_t *st)
{
    return st->ops->step(st);
}

int db_ncols(db_stmt_t *st)
{
    return st->ops->ncols(st);
}

const char *db_col_name(db_stmt_t *st, int i)
{
    return st->ops->col_name(st, i);
}

db_type_t db_col_type(db_stmt_t *st, int i)
{
    return st->ops->col_type(st, i);
}

int64_t db_col_int64(db_stmt_t *st, int i)
{
    return st->ops->col_int64(st, i);
}

const char *db_col_text(db_stmt_t *st, int i)
{
    return st->ops->col_text(st, i);
}

size_t db_col_bytes(db_stmt_t *st, int i)
{
    return st->ops->col_bytes(st, i);
}
