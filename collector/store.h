/* SPDX-License-Identifier: MIT */
/* store.h: the collector's state in SQLite (WAL), the only file that speaks
 * SQL (schema: docs/collector.md).
 *
 * One writer (the collector's event loop) and any number of readers (the
 * HTTP thread opens its own connection: WAL lets it read while the writer
 * commits). Everything a sensor's message changes is written in one
 * transaction, and only then acknowledged: a collector killed at any point
 * restarts with every acknowledged event and what it changed.
 *
 * Every table traffic can grow is bounded, with a counter for what it
 * drops: events (max_events), unexpected-traffic groups per site, NAT
 * evidence per site, epochs per sensor, alerts, sensors. */
#ifndef PINHOLE_STORE_H
#define PINHOLE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compliance.h"
#include "rules.h"

typedef struct store store_t;

typedef struct {
    uint64_t max_events;      /* events kept for the API (default 1,000,000) */
    uint32_t max_groups;      /* unexpected-traffic groups per site (1000) */
    uint32_t max_sensors;     /* sensors known (10000) */
    uint32_t max_alerts;      /* alerts kept (10000) */
    bool sync_full;           /* fsync at every commit (power-loss safe) */
    uint64_t id_retention_us; /* flow and NAT change identities kept (7 days) */
    uint64_t max_ids;         /* at most this many of each (2,000,000): the oldest go */
    uint64_t max_db_bytes;    /* the database file's size bound (0: the disk's) */
} store_cfg_t;

void store_cfg_defaults(store_cfg_t *cfg);

/* Opens (creating) the database; readonly: a reader connection. */
store_t *store_open(const char *path, const store_cfg_t *cfg, bool readonly, char *err,
        size_t errlen);
void store_close(store_t **self_p);

int store_begin(store_t *self);
int store_commit(store_t *self);
/* Why the last transaction could not be begun or committed (a write
 * failed: disk full, I/O error, locked), or NULL. */
const char *store_error(const store_t *self);
void store_rollback(store_t *self);

/* --- streams and sensors (writer) ------------------------------------ */

/* The next sequence number expected of (sensor, epoch); 1 for a new one. */
uint64_t store_stream_next(store_t *self, const char *sensor, const char *epoch, bool *is_new);
void store_stream_set(store_t *self, const char *sensor, const char *epoch, uint64_t next);

typedef struct {
    uint64_t received, duplicates, missing, rejected, out_of_order;
} store_sensor_delta_t;

/* False if the sensor is new and the sensor table is full. */
bool store_sensor_known(store_t *self, const char *sensor);
/* Adds to a sensor's counters and marks it seen now (wall clock, us). */
void store_sensor_update(store_t *self, const char *sensor, const store_sensor_delta_t *d,
        uint64_t now_us);
/* A heartbeat (stats: JSON) or, with bye, the end of a run. Returns the
 * sensor's state before ("up", "silent", "finished", "" if new). */
void store_sensor_heartbeat(store_t *self, const char *sensor, const char *epoch,
        const char *stats, bool bye, uint64_t now_us, char *was, size_t waslen);
/* The sensor reported on the site (ts_us: its latest event there). */
void store_site_sensor(store_t *self, const char *site, const char *sensor, uint64_t ts_us);
/* Sensors last seen before `before_us` that are "up": marked "silent";
 * fn is called for each. */
void store_sensors_silent(store_t *self, uint64_t before_us,
        void (*fn)(const char *sensor, uint64_t last_us, void *ctx), void *ctx);
/* Marks a sensor "up"; returns its state before. */
void store_sensor_up(store_t *self, const char *sensor, char *was, size_t waslen);

/* --- events and aggregates (writer) ---------------------------------- */

/* Events for sites the inventory does not know are kept and counted per
 * name, for at most STORE_UNKNOWN_SITES names (more: counted in
 * unknown_sites.dropped, their events kept without a site). Returns 1 for
 * a new name, 0 for one already counted, -1 beyond the bound. */
#define STORE_UNKNOWN_SITES 1000
int store_unknown_site(store_t *self, const char *site, uint64_t ts_us);
/* A site now in the inventory that was unknown: calls fn for each of its
 * events kept while it was (stored with `unknown`, oldest first), and
 * forgets the name. False if it was never unknown. */
bool store_unknown_take(store_t *self, const char *site,
        void (*fn)(const char *sensor, const char *epoch, uint64_t seq, const char *body,
                size_t len, void *ctx),
        void *ctx);
void store_event(store_t *self, const char *sensor, const char *epoch, uint64_t seq,
        const char *type, const char *site, bool unknown, uint64_t ts_us, const char *body,
        size_t len);
/* A message's events, as store_event each, in a few statements
 * (STORE_EVENTS_N rows each). The rows' strings are read during the call
 * only. */
#define STORE_EVENTS_N 32
typedef struct {
    uint64_t seq, ts_us;
    const char *type, *site;
    bool unknown;
    const char *body;
    size_t len;
} store_event_row_t;
void store_events(store_t *self, const char *sensor, const char *epoch,
        const store_event_row_t *rows, size_t n);

typedef struct {
    uint64_t allowed, blocked, unconfirmed;
    uint64_t first_us, last_us, last_allowed_us, last_blocked_us;
    char status[24];
} store_rule_t;

/* A (site, rule) row as stored (status "" and counts 0 if none). */
void store_rule_get(store_t *self, const char *site, const char *rule, store_rule_t *out);
/* A message's flows of (site, rule) added to its row, and its status set
 * (the caller judged it): d holds the counts added, the earliest first_us,
 * the latest last_us, last_allowed_us and last_blocked_us (0: none);
 * example: the first blocked flow's if d->blocked, else the first flow's
 * (a blocked flow's example, once kept, stays). */
void store_rule_add_n(store_t *self, const char *site, const char *rule, const store_rule_t *d,
        const char *example, const char *status);

/* A message's flows of a site, counted together (aggregate_settle). */
void store_site_flows(store_t *self, const char *site, uint64_t flows, uint64_t unexpected,
        uint64_t first_us, uint64_t last_us);
/* A message's `count` flows of one unexpected-traffic group (dest, port,
 * proto): first_us, nearest, differs and example are the first flow's
 * (used if the group is new), last_us the latest. A site holds at most
 * max_groups groups; flows of a group beyond are counted in
 * groups_dropped. */
void store_unexpected_group(store_t *self, const char *site, const char *dest, int port,
        const char *proto, uint64_t count, uint64_t first_us, uint64_t last_us,
        const char *nearest, const char *differs, const char *example);
void store_violation(store_t *self, const char *site, const char *requirement, uint64_t ts_us,
        const char *example);
/* A NAT port change seen by one sensor run (evidence, totals, the run's count),
 * counted as is: for a change without an identity (store_nat_change_id). */
void store_nat_change(store_t *self, const char *sensor, const char *epoch, const char *site,
        uint64_t ts_us, const char *body, size_t len);
/* Identities of what was aggregated, so a flow or NAT change published
 * again (the same capture read twice, the other vantage's copy) is counted
 * once. Each records the identity if new and returns true if it was
 * already known. */
/* A flow: its first packet's time (ts_us, the event's timestamp) and flow_id. */
bool store_flow_seen(store_t *self, const char *site, uint64_t ts_us, uint64_t flow_id);
/* Flows as store_flow_seen each, in message order, in a few statements:
 * seen[i] is what store_flow_seen would have returned for ids[i] (a flow
 * twice in ids: the second seen). */
typedef struct {
    const char *site;
    uint64_t ts_us, flow_id;
} store_flow_id_t;
void store_flows_seen(store_t *self, const store_flow_id_t *ids, size_t n, bool *seen);
typedef struct {
    const char *site, *aor, *call_id;
    uint64_t cseq; /* of the REGISTER that showed the new mapping */
} store_nat_id_t;
/* A NAT change with its identity (schema 2: the inside and the outside
 * copy have the same): the run's sighting is recorded; a new one is kept as
 * evidence and counted in the site's total. True if it was known already
 * (then it is counted no more). Without an identity: store_nat_change. */
bool store_nat_change_id(store_t *self, const char *sensor, const char *epoch,
        const store_nat_id_t *id, uint64_t ts_us, const char *body, size_t len, uint64_t now_us);
/* n of a sensor's events skipped as repeats (counter: "flows",
 * "nat_changes" or "events"). */
void store_repeated_n(store_t *self, const char *sensor, const char *what, uint64_t n);
/* Forgets identities first seen before now_us - id_retention_us, and the
 * oldest beyond max_ids (counted: ids_pruned). */
void store_ids_prune(store_t *self, uint64_t now_us);
/* A run's per-vantage NAT counters (site_summary; after store_site_summary). */
void store_site_summary_vantages(store_t *self, const char *sensor, const char *epoch,
        const char *site, const uint64_t comparisons[2], const uint64_t changes[2]);
/* A run's REGISTERs in clear and SIP over TLS sessions (after
 * store_site_summary): with TLS only, NAT and SIP ALG are not_checked. */
void store_site_summary_sip(store_t *self, const char *sensor, const char *epoch,
        const char *site, uint64_t registers, uint64_t sip_tls_flows);
/* A run's site_summary: its counters so far (they replace the earlier ones). */
void store_site_summary(store_t *self, const char *sensor, const char *epoch, const char *site,
        uint64_t ts_us, uint64_t comparisons, uint64_t changes, uint64_t alg_rewritten,
        uint64_t alg_compared);
void store_site_count(store_t *self, const char *site, const char *column); /* one_way, missed, alg_signs */

typedef struct {
    bool observed;
    uint64_t flows, bad_rules, violations;
    /* now: each sensor's latest run with data; comparisons and changes of
     * one REGISTER seen from both vantages count once (the larger vantage),
     * changes reported as events once per (aor, call_id, cseq) */
    uint64_t nat_comparisons, nat_changes;
    uint64_t nat_changes_total;             /* every run (distinct changes) */
    uint64_t alg_compared, alg_rewritten;
    uint64_t registers, sip_tls_flows;     /* REGISTERs in clear, SIP over TLS sessions */
    int compliant;           /* STORE_SITE_*: the site's compliance_t as stored */
    char nat[24];            /* last NAT verdict stored */
} store_site_t;

void store_site_get(store_t *self, const char *site, store_site_t *out);

/* How a site's compliance_t is stored (sites.compliant). */
enum { STORE_SITE_UNKNOWN = -1, STORE_SITE_NOT_COMPLIANT = 0, STORE_SITE_COMPLIANT = 1,
       STORE_SITE_INCOMPLETE = 2 };
int store_site_code(compliance_t c);
/* "not_observed", "not_compliant", "compliant", "incomplete". */
const char *store_site_status(int code);

/* What the store knows of a site, as common/compliance.c judges it: the
 * rules' stored statuses, requirement violations, NAT and SIP ALG. */
typedef struct {
    store_site_t s;
    const char **rule;        /* by rule index: a status (static string) */
    uint64_t *viol;           /* by requirement index: violating flows */
    compliance_site_t site;   /* points into this */
} store_facts_t;

/* 0, or -1 (out of memory: f is empty). store_facts_fini frees it. */
int store_facts_get(store_t *self, const rules_t *rules, size_t site, store_facts_t *f);
void store_facts_fini(store_facts_t *f);
void store_site_set(store_t *self, const char *site, int compliant, const char *nat);

/* A rule's status changed at a site (was: "" if it had none): kept for the
 * dashboard's history strip, the newest STORE_RULE_HISTORY per (site,
 * rule). ts_us: the traffic's time of the flow that changed it; now_us:
 * the wall clock. */
#define STORE_RULE_HISTORY 32
void store_rule_history_add(store_t *self, const char *site, const char *rule, const char *was,
        const char *status, uint64_t ts_us, uint64_t now_us);

/* --- alerts (writer) -------------------------------------------------- */

void store_alert_add(store_t *self, const char *kind, const char *body);
/* Unsent alerts, oldest first: fn(id, kind, body). */
void store_alerts_pending(store_t *self, void (*fn)(int64_t id, const char *kind,
        const char *body, void *ctx), void *ctx);
void store_alert_mark(store_t *self, int64_t id, int state); /* 1 sent, 2 suppressed */

/* Collector-wide counters (rejects by reason, evictions). */
void store_counter_add(store_t *self, const char *name, uint64_t n);
/* Trims the bounded tables (after a commit). */
void store_trim(store_t *self);

/* --- reads (JSON / Prometheus text; the caller frees) ------------------ */

typedef struct strbuf strbuf_t;

char *store_json_sites(store_t *self, const char *const *sites, size_t nsites);
/* Site `site` of `rules`: its applicable primary rules (not-observed ones
 * too), each with its purpose and source looked up in `rules`, and the
 * nearest rule's purpose of each unexpected-traffic group. */
char *store_json_site(store_t *self, const rules_t *rules, size_t site);
char *store_json_sensors(store_t *self);
/* /api/events, a bounded page at a time: events matching every filter
 * given (NULL: any), with ids below `before` (if > 0) and above `after` (if
 * > 0); newest first, or oldest first. */
typedef struct {
    const char *type, *site, *sensor;
    int64_t before, after;
    bool oldest_first;
} store_events_query_t;
/* Appends up to n events of q to out as JSON objects separated by commas
 * (and preceded by one unless `first`), sets *last to the id of the last
 * one appended and *more when another event of q follows it. Returns the
 * number appended, or -1 (a database error, or out of memory: out is cut).
 * Each call is its own short read: nothing stays open in between. */
int store_events_page(store_t *self, const store_events_query_t *q, unsigned n, bool first,
        strbuf_t *out, int64_t *last, bool *more);
char *store_json_alerts(store_t *self, unsigned limit);
/* GET /api/overview: each site of `sites` as in store_json_sites, with its
 * failing rules, counts (unexpected flows, one-way calls, ...) and the
 * sensors that reported on it: the dashboard's overview in one read. */
char *store_json_overview(store_t *self, const char *const *sites, size_t nsites);
/* GET /api/sites/NAME/history: the site's rule status changes, oldest
 * first per rule (at most STORE_RULE_HISTORY each). */
char *store_json_rule_history(store_t *self, const char *site);
/* Appends the stored metrics to buf (Prometheus text format). */
void store_metrics(store_t *self, strbuf_t *out, const char *const *sites, size_t nsites,
        const char *const *const *site_rules, const size_t *nsite_rules);
/* Events stored for a sensor (tests and the health endpoint). */
uint64_t store_count_events(store_t *self);

#endif
