/* SPDX-License-Identifier: MIT */
/* store_metrics.c: the store read for /metrics (Prometheus text format). */
#include "store.h"
#include "store_internal.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compliance.h"
#include "log.h"
#include "strbuf.h"
#include "strutil.h"

/* ------------------------------------------------------------------ */
/* Metrics                                                             */

static void s_help(strbuf_t *b, const char *name, const char *type, const char *help)
{
    strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void s_sample(strbuf_t *b, const char *name, const char *l1, const char *v1,
        const char *l2, const char *v2, const char *l3, const char *v3, double value)
{
    strbuf_printf(b, "%s{%s=\"", name, l1);
    strbuf_label(b, v1);
    strbuf_append(b, "\"", 1);
    if (l2) {
        strbuf_printf(b, ",%s=\"", l2);
        strbuf_label(b, v2);
        strbuf_append(b, "\"", 1);
    }
    if (l3) {
        strbuf_printf(b, ",%s=\"", l3);
        strbuf_label(b, v3);
        strbuf_append(b, "\"", 1);
    }
    strbuf_printf(b, "} %.17g\n", value);
}

static const char *const s_statuses[] = {"verified", "blocked", "partly_blocked", "unconfirmed",
        "not_observed"};

static void s_metrics_sites(store_t *self, strbuf_t *b, const char *const *sites, size_t nsites,
        const char *const *const *site_rules, const size_t *nsite_rules)
{
    store_site_t *ss = calloc(nsites ? nsites : 1, sizeof *ss);
    if (!ss)
        return;
    for (size_t i = 0; i < nsites; i++)
        store_site_get(self, sites[i], &ss[i]);
    s_help(b, "pinhole_site_observed", "gauge", "1 if a sensor has reported flows of the site");
    for (size_t i = 0; i < nsites; i++)
        s_sample(b, "pinhole_site_observed", "site", sites[i], NULL, NULL, NULL, NULL, ss[i].observed);
    s_help(b, "pinhole_site_compliant", "gauge",
            "1 if every applicable rule is verified (or waived) and no requirement is violated");
    for (size_t i = 0; i < nsites; i++)
        if (ss[i].observed)
            s_sample(b, "pinhole_site_compliant", "site", sites[i], NULL, NULL, NULL, NULL,
                    ss[i].compliant == STORE_SITE_COMPLIANT);
    s_help(b, "pinhole_site_status", "gauge",
            "one-hot: compliant, incomplete (nothing failed, a rule not verified) or not_compliant");
    static const char *const site_statuses[] = {"compliant", "incomplete", "not_compliant"};
    for (size_t i = 0; i < nsites; i++)
        for (size_t k = 0; ss[i].compliant != STORE_SITE_UNKNOWN && k < 3; k++)
            s_sample(b, "pinhole_site_status", "site", sites[i], "status", site_statuses[k], NULL,
                    NULL, strcmp(store_site_status(ss[i].compliant), site_statuses[k]) == 0);
    s_help(b, "pinhole_nat_consistent", "gauge",
            "1 consistent, 0 inconsistent (absent: not enough REGISTERs compared)");
    for (size_t i = 0; i < nsites; i++)
        if (strcmp(ss[i].nat, "not_enough_data") != 0)
            s_sample(b, "pinhole_nat_consistent", "site", sites[i], NULL, NULL, NULL, NULL,
                    strcmp(ss[i].nat, "consistent") == 0);
    s_help(b, "pinhole_nat_port_changes_total", "counter",
            "NAT source-port changes between REGISTERs of one registration");
    for (size_t i = 0; i < nsites; i++)
        s_sample(b, "pinhole_nat_port_changes_total", "site", sites[i], NULL, NULL, NULL, NULL,
                (double)ss[i].nat_changes_total);
    free(ss);

    s_help(b, "pinhole_rule_status", "gauge", "1 for the current status of each expected rule");
    db_stmt_t *st = NULL;
    st = store_prepare(self, "SELECT status, allowed, blocked FROM rules WHERE site=? AND rule=?");
    strbuf_t flows;
    strbuf_init(&flows);
    for (size_t i = 0; st && i < nsites; i++) {
        for (size_t r = 0; r < nsite_rules[i]; r++) {
            const char *rule = site_rules[i][r];
            db_reset(st);
            store_bind(st, 1, sites[i]);
            store_bind(st, 2, rule);
            char status[24] = "not_observed";
            double allowed = 0, blocked = 0;
            if (store_sqlstep(self, st) == DB_ROW) {
                const char *t = db_col_text(st, 0);
                if (t && *t)
                    str_copy(status, t, sizeof status);
                allowed = (double)db_col_int64(st, 1);
                blocked = (double)db_col_int64(st, 2);
            }
            for (size_t k = 0; k < sizeof s_statuses / sizeof *s_statuses; k++)
                s_sample(b, "pinhole_rule_status", "site", sites[i], "rule", rule, "status",
                        s_statuses[k], strcmp(status, s_statuses[k]) == 0);
            s_sample(&flows, "pinhole_rule_flows_total", "site", sites[i], "rule", rule, "verdict",
                    "allowed", allowed);
            s_sample(&flows, "pinhole_rule_flows_total", "site", sites[i], "rule", rule, "verdict",
                    "blocked", blocked);
        }
    }
    db_finalize(st);
    s_help(b, "pinhole_rule_flows_total", "counter", "flows judged against each expected rule");
    if (flows.buf)
        strbuf_append(b, flows.buf, flows.len);
    strbuf_fini(&flows);
}

/* One metric per column of the sensors table (or of a site's row). */
static void s_metric_rows(store_t *self, strbuf_t *b, const char *name, const char *type,
        const char *help, const char *label, const char *sql, double scale)
{
    s_help(b, name, type, help);
    db_stmt_t *st = NULL;
    if (!(st = store_prepare(self, sql)))
        return;
    while (store_sqlstep(self, st) == DB_ROW)
        s_sample(b, name, label, db_col_text(st, 0), NULL, NULL, NULL, NULL,
                (double)db_col_int64(st, 1) * scale);
    db_finalize(st);
}

/* The value at a dotted path of a heartbeat's stats (NULL: absent). */
static json_object *s_stat(json_object *stats, const char *path)
{
    char key[64];
    json_object *o = stats;
    for (const char *p = path; o && *p;) {
        size_t n = strcspn(p, ".");
        if (n >= sizeof key)
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &o))
            return NULL;
        p += n + (p[n] == '.');
    }
    return o;
}

/* The counters read from each sensor's last heartbeat: at `path`, or
 * else `alt`, or 0; `live`: only for sensors that capture live (their
 * stats have capture.capture). */
static const struct {
    const char *name, *help, *path, *alt;
    bool live;
} s_stat_metrics[] = {
        {"pinhole_sensor_packets_total", "packets the sensor has read (from its heartbeat)",
                "capture.decoder.pkts", "capture.packets", false},
        {"pinhole_sensor_kernel_packets_total",
                "packets the sensor's kernel capture received (live; from its heartbeat)",
                "capture.capture.kernel_packets", NULL, true},
        {"pinhole_sensor_kernel_drops_total",
                "packets the kernel dropped before the sensor read them: capture buffer full "
                "(live; from its heartbeat)", "capture.capture.kernel_drops", NULL, true},
        {"pinhole_sensor_kernel_ifdrops_total",
                "packets the capture interface dropped (live; from its heartbeat)",
                "capture.capture.kernel_ifdrops", NULL, true},
        {"pinhole_sensor_spool_discarded_total",
                "events the sensor's full spool discarded (from its heartbeat)", "link.discarded",
                NULL, false},
};
#define STAT_METRICS (sizeof s_stat_metrics / sizeof *s_stat_metrics)

/* Each sensor's stats parsed once, its samples put under each metric. */
static void s_metrics_stats(store_t *self, strbuf_t *b)
{
    strbuf_t per[STAT_METRICS];
    for (size_t k = 0; k < STAT_METRICS; k++)
        strbuf_init(&per[k]);
    db_stmt_t *st = store_prepare(self, "SELECT sensor, stats FROM sensors ORDER BY sensor");
    while (st && store_sqlstep(self, st) == DB_ROW) {
        const char *text = db_col_text(st, 1);
        json_object *stats = text ? json_tokener_parse(text) : NULL;
        bool live = s_stat(stats, "capture.capture") != NULL;
        for (size_t k = 0; k < STAT_METRICS; k++) {
            if (s_stat_metrics[k].live && !live)
                continue;
            json_object *v = s_stat(stats, s_stat_metrics[k].path);
            if (!v && s_stat_metrics[k].alt)
                v = s_stat(stats, s_stat_metrics[k].alt);
            s_sample(&per[k], s_stat_metrics[k].name, "sensor", db_col_text(st, 0), NULL, NULL,
                    NULL, NULL, v ? json_object_get_double(v) : 0);
        }
        json_object_put(stats);
    }
    db_finalize(st);
    for (size_t k = 0; k < STAT_METRICS; k++) {
        s_help(b, s_stat_metrics[k].name, "counter", s_stat_metrics[k].help);
        if (per[k].buf)
            strbuf_append(b, per[k].buf, per[k].len);
        strbuf_fini(&per[k]);
    }
}

void store_metrics(store_t *self, strbuf_t *b, const char *const *sites, size_t nsites,
        const char *const *const *site_rules, const size_t *nsite_rules)
{
    s_metrics_sites(self, b, sites, nsites, site_rules, nsite_rules);
    s_metric_rows(self, b, "pinhole_unexpected_flows_total", "counter",
            "flows that match no expected rule", "site", "SELECT site, unexpected FROM sites", 1);
    s_metric_rows(self, b, "pinhole_sensor_up", "gauge",
            "1 if the sensor is sending (0: silent or finished)", "sensor",
            "SELECT sensor, CASE WHEN state='up' THEN 1 ELSE 0 END FROM sensors", 1);
    s_metric_rows(self, b, "pinhole_sensor_last_seen_timestamp_seconds", "gauge",
            "when the collector last heard from the sensor", "sensor",
            "SELECT sensor, last_seen FROM sensors", 1e-6);
    s_metric_rows(self, b, "pinhole_sensor_events_received_total", "counter",
            "events stored, each once", "sensor", "SELECT sensor, received FROM sensors", 1);
    s_metric_rows(self, b, "pinhole_sensor_events_duplicate_total", "counter",
            "events received again and dropped", "sensor", "SELECT sensor, duplicates FROM sensors", 1);
    s_metric_rows(self, b, "pinhole_sensor_events_missing_total", "counter",
            "events the sensor discarded before sending (gaps in its numbering)", "sensor",
            "SELECT sensor, missing FROM sensors", 1);
    s_metric_rows(self, b, "pinhole_sensor_events_rejected_total", "counter",
            "events refused as malformed", "sensor", "SELECT sensor, rejected FROM sensors", 1);
    s_metric_rows(self, b, "pinhole_flows_repeated_total", "counter",
            "flow events of a flow already counted (the same capture published again): stored, "
            "not counted again", "sensor", "SELECT sensor, flows_repeated FROM sensors", 1);
    s_metric_rows(self, b, "pinhole_nat_changes_repeated_total", "counter",
            "NAT port changes already counted (the other vantage's copy, or published again)",
            "sensor", "SELECT sensor, nat_changes_repeated FROM sensors", 1);
    s_metric_rows(self, b, "pinhole_events_repeated_total", "counter",
            "rtp_one_way, sip_alg and missed_call events already counted (published again): "
            "stored, not counted again", "sensor", "SELECT sensor, events_repeated FROM sensors", 1);
    s_metric_rows(self, b, "pinhole_identities_pruned_total", "counter",
            "flow and NAT change identities forgotten (older than the retention, or beyond the "
            "bound)", "kind",
            "SELECT substr(name, 1, length(name) - 11), value FROM counters "
            "WHERE name LIKE '%_ids_pruned'", 1);
    s_metrics_stats(self, b);
    s_metric_rows(self, b, "pinhole_messages_rejected_total", "counter",
            "messages refused before reading their events, by reason", "reason",
            "SELECT substr(name, 10), value FROM counters WHERE name LIKE 'rejected.%'", 1);
    s_metric_rows(self, b, "pinhole_alerts_total", "counter", "alerts raised, by kind", "kind",
            "SELECT substr(name, 8), value FROM counters WHERE name LIKE 'alerts.%'", 1);
    s_metric_rows(self, b, "pinhole_alerts_suppressed_total", "counter",
            "alerts held back as repeats, by kind", "kind",
            "SELECT substr(name, 12), value FROM counters WHERE name LIKE 'suppressed.%'", 1);
    s_help(b, "pinhole_events_evicted_total", "counter", "old events dropped from the event table");
    strbuf_printf(b, "pinhole_events_evicted_total %llu\n",
            (unsigned long long)store_scalar(self, "SELECT COALESCE(SUM(value), 0) FROM counters "
                                               "WHERE name='events_evicted'"));
    s_metric_rows(self, b, "pinhole_unknown_site_events_total", "counter",
            "events for sites the inventory does not know (kept; at most 1000 names)", "site",
            "SELECT site, events FROM unknown_sites", 1);
    s_help(b, "pinhole_events_utf8_fixed_total", "counter",
            "events whose bytes that are not UTF-8 were stored as U+FFFD");
    strbuf_printf(b, "pinhole_events_utf8_fixed_total %llu\n",
            (unsigned long long)store_scalar(self, "SELECT COALESCE(SUM(value), 0) FROM counters "
                                               "WHERE name='events_utf8_fixed'"));
    s_help(b, "pinhole_events_stored", "gauge", "events in the event table");
    strbuf_printf(b, "pinhole_events_stored %llu\n", (unsigned long long)store_count_events(self));
}

