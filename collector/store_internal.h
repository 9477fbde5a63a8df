/* SPDX-License-Identifier: MIT */
/* store_internal.h: what the store's files share (store.c: opening,
 * transactions and writes; store_read.c: the API's answers;
 * store_metrics.c: /metrics). Nothing outside collector/store*.c includes
 * it. The SQL goes through db.h: the same text for SQLite and PostgreSQL. */
#ifndef PINHOLE_STORE_INTERNAL_H
#define PINHOLE_STORE_INTERNAL_H

#include "db.h"
#include "store.h"

enum {
    Q_STREAM_GET, Q_STREAM_SET, Q_SENSOR_COUNT, Q_SENSOR_GET, Q_SENSOR_UPD, Q_SENSOR_HB,
    Q_SENSOR_STATE, Q_SENSOR_UP, Q_SITE_SENSOR, Q_EVENT, Q_SITE_FLOW,
    Q_GROUPS, Q_VIOL, Q_NAT_INS, Q_NAT_RUN, Q_NAT_NOW, Q_SUMMARY,
    Q_SITE_GET, Q_SITE_SET, Q_ALERT_INS, Q_ALERT_MARK, Q_COUNTER, Q_FLOW_ID,
    Q_SUMMARY_VTG, Q_SUMMARY_SIP, Q_UNKNOWN_GET, Q_UNKNOWN_UPS, Q_NAT_KNOWN, Q_NAT_IDRUN, Q_NAT_RUNID,
    Q_EVENTS_N, Q_UNEXP_UPD_N, Q_UNEXP_INS_N, Q_GROUPS_DROP_N, Q_FLOW_IDS_N, Q_RULE_GET_ROW, Q_RULE_UPS_N, Q_HIST_INS, Q_HIST_TRIM,
    Q_FLOW_SITE_NEXT, Q_FLOW_PRUNE_AGE, Q_FLOW_PRUNE_N, Q_FLOW_ID_MARK, Q_COUNT,
};

struct store {
    db_t *db;
    store_cfg_t cfg;
    db_stmt_t *q[Q_COUNT];
    /* The first statement that failed in the open transaction (0: none):
     * such a transaction is never committed, so what is acknowledged is
     * whole (docs/collector.md, "Durable"). */
    bool in_tx;             /* between store_begin and commit/rollback */
    uint64_t flow_mark;     /* the last mark given to flow_ids rows (s_flow_mark) */
    int werr;
    char werr_msg[200];
    bool failed;            /* the last transaction was refused (werr_msg says why) */
    uint64_t trim_next;     /* store_trim looks for the events' cut again at this id */
};

/* db_step, with a failure remembered for store_commit (store.c). */
int store_sqlstep(store_t *self, db_stmt_t *st);
/* A statement run once (db_finalize it), or NULL (logged). */
db_stmt_t *store_prepare(store_t *self, const char *sql);
/* Binds a C string (NULL: SQL NULL). */
void store_bind(db_stmt_t *st, int i, const char *s);
/* The SIP ALG verdict of stored counts (not_checked with SIP in TLS only). */
const char *store_alg_verdict(const store_site_t *s);
/* The first column of the first row of sql, 0 if none. */
uint64_t store_scalar(store_t *self, const char *sql);

#endif
