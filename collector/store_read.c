/* SPDX-License-Identifier: MIT */
/* store_read.c: the store read for the API: sites, sensors, events, alerts,
 * as JSON (docs/collector.md). */
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
/* Reads                                                               */

static void s_col(json_object *o, db_stmt_t *st, int i, const char *k)
{
    switch (db_col_type(st, i)) {
        case DB_INT:
            json_object_object_add(o, k, json_object_new_int64(db_col_int64(st, i)));
            break;
        case DB_TEXT:
            json_object_object_add(o, k, json_object_new_string(db_col_text(st, i)));
            break;
        default:
            break;
    }
}

static void s_bind_named(db_stmt_t *st, const char *name, const char *value)
{
    int i = db_param_index(st, name);
    if (i > 0)
        store_bind(st, i, value);
}

/* Runs a read query; its parameters are named (:site, :type, :sensor,
 * :limit), a NULL one stays NULL. Every row becomes an object named by the
 * columns; "body" and "stats" columns hold JSON and are embedded. */
static json_object *s_rows(store_t *self, const char *sql, const char *site, const char *type,
        const char *sensor, int64_t limit)
{
    json_object *arr = json_object_new_array();
    db_stmt_t *st = NULL;
    if (!(st = store_prepare(self, sql))) {
        log_error("store: %s", db_errmsg(self->db));
        return arr;
    }
    s_bind_named(st, ":site", site);
    s_bind_named(st, ":type", type);
    s_bind_named(st, ":sensor", sensor);
    int li = db_param_index(st, ":limit");
    if (li > 0)
        db_bind_int64(st, li, limit);
    while (store_sqlstep(self, st) == DB_ROW) {
        json_object *o = json_object_new_object();
        for (int i = 0; i < db_ncols(st); i++) {
            const char *name = db_col_name(st, i);
            if (strcmp(name, "body") == 0 || strcmp(name, "stats") == 0) {
                const char *t = db_col_text(st, i);
                json_object *v = t ? json_tokener_parse(t) : NULL;
                if (v)
                    json_object_object_add(o, strcmp(name, "body") == 0 ? "event" : name, v);
            } else {
                s_col(o, st, i, name);
            }
        }
        json_object_array_add(arr, o);
    }
    db_finalize(st);
    return arr;
}

static char *s_take(json_object *o)
{
    char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s;
}

static json_object *s_site_object(store_t *self, const char *site)
{
    store_site_t s;
    store_site_get(self, site, &s);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "site", json_object_new_string(site));
    json_object_object_add(o, "observed", json_object_new_boolean(s.observed));
    json_object_object_add(o, "status", json_object_new_string(store_site_status(s.compliant)));
    if (s.compliant != STORE_SITE_UNKNOWN)
        json_object_object_add(o, "compliant", json_object_new_boolean(s.compliant == STORE_SITE_COMPLIANT));
    json_object_object_add(o, "flows", json_object_new_int64((int64_t)s.flows));
    json_object_object_add(o, "rules_failing", json_object_new_int64((int64_t)s.bad_rules));
    json_object_object_add(o, "violations", json_object_new_int64((int64_t)s.violations));
    json_object_object_add(o, "nat", json_object_new_string(s.nat));
    json_object_object_add(o, "sip_alg", json_object_new_string(
            store_alg_verdict(&s)));
    return o;
}

char *store_json_sites(store_t *self, const char *const *sites, size_t nsites)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < nsites; i++)
        json_object_array_add(arr, s_site_object(self, sites[i]));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "sites", arr);
    json_object_object_add(o, "unknown_sites", s_rows(self,
            "SELECT site, events, first_us AS first_seen_us, last_us AS last_seen_us "
            "FROM unknown_sites ORDER BY site", NULL, NULL, NULL, 0));
    return s_take(o);
}

/* What the profile says of a rule: purpose, document and row (the keys of
 * the profile and of the sensor's report). Looked up, never stored. */
static void s_rule_words(json_object *r, const rule_t *rule)
{
    json_object_object_add(r, "purpose", json_object_new_string(rule->purpose));
    if (rule->document)
        json_object_object_add(r, "document", json_object_new_string(rule->document));
    json_object_object_add(r, "source", json_object_new_string(rule->source));
}

/* Each unexpected group's nearest rule, with its purpose. */
static void s_nearest_purpose(json_object *groups, const rules_t *rules)
{
    for (size_t i = 0; i < json_object_array_length(groups); i++) {
        json_object *g = json_object_array_get_idx(groups, i), *near;
        if (!json_object_object_get_ex(g, "nearest_rule", &near) ||
                !json_object_is_type(near, json_type_string))
            continue;
        int r = rules_rule_index(rules, json_object_get_string(near));
        if (r >= 0)
            json_object_object_add(g, "nearest_purpose",
                    json_object_new_string(rules_rule(rules, (size_t)r)->purpose));
    }
}

/* Each violated requirement's text and source, as the profile words them. */
static void s_req_words(json_object *rows, const rules_t *rules)
{
    for (size_t i = 0; i < json_object_array_length(rows); i++) {
        json_object *v = json_object_array_get_idx(rows, i), *id;
        if (!json_object_object_get_ex(v, "requirement", &id))
            continue;
        for (size_t q = 0; q < rules_nreqs(rules); q++) {
            const requirement_t *req = rules_req(rules, q);
            if (strcmp(req->id, json_object_get_string(id)) != 0)
                continue;
            json_object_object_add(v, "text", json_object_new_string(req->text));
            if (req->document)
                json_object_object_add(v, "document", json_object_new_string(req->document));
            json_object_object_add(v, "source", json_object_new_string(req->source));
            break;
        }
    }
}

char *store_json_site(store_t *self, const rules_t *rules, size_t si)
{
    const char *site = rules_site_name(rules, si);
    json_object *o = s_site_object(self, site);
    store_facts_t facts;
    if (store_facts_get(self, rules, si, &facts) != 0)
        return s_take(o);
    json_object *rs = json_object_new_array();
    db_stmt_t *st = NULL;
    st = store_prepare(self, "SELECT allowed, blocked, unconfirmed, first_us, last_us, example, status "
            "FROM rules WHERE site=? AND rule=?");
    for (size_t i = 0; st && i < rules_nrules(rules); i++) {
        const rule_t *rule = rules_rule(rules, i);
        if (rule->primary != (int)i || !rules_applies_to_site(rules, si, i))
            continue;
        json_object *r = json_object_new_object();
        json_object_object_add(r, "rule", json_object_new_string(rule->id));
        s_rule_words(r, rule);
        db_reset(st);
        store_bind(st, 1, site);
        store_bind(st, 2, rule->id);
        /* The status as common/compliance.c has it (not_checked: waived). */
        json_object_object_add(r, "status",
                json_object_new_string(compliance_site_rule(rules, si, i, &facts.site)));
        if (store_sqlstep(self, st) == DB_ROW) {
            s_col(r, st, 0, "allowed");
            s_col(r, st, 1, "blocked");
            s_col(r, st, 2, "unconfirmed");
            s_col(r, st, 3, "first_seen_us");
            s_col(r, st, 4, "last_seen_us");
            s_col(r, st, 5, "example");
        }
        json_object_array_add(rs, r);
    }
    db_finalize(st);
    json_object_object_add(o, "rules", rs);
    store_site_t s;
    store_site_get(self, site, &s);
    json_object *nat = json_object_new_object();
    json_object_object_add(nat, "verdict", json_object_new_string(s.nat));
    if (strcmp(s.nat, "not_checked") == 0)
        json_object_object_add(nat, "reason", json_object_new_string(COMPLIANCE_REASON_SIP_TLS));
    json_object_object_add(nat, "comparisons", json_object_new_int64((int64_t)s.nat_comparisons));
    json_object_object_add(nat, "changes", json_object_new_int64((int64_t)s.nat_changes));
    json_object_object_add(nat, "changes_total", json_object_new_int64((int64_t)s.nat_changes_total));
    json_object_object_add(nat, "evidence", s_rows(self,
            "SELECT body FROM nat_changes WHERE site=:site ORDER BY id DESC", site, NULL, NULL, 0));
    json_object_object_add(o, "nat", nat);
    json_object *un = s_rows(self,
            "SELECT dest, port, proto, count, first_us AS first_seen_us, last_us AS last_seen_us, "
            "nearest AS nearest_rule, differs AS nearest_differs, example FROM unexpected "
            "WHERE site=:site ORDER BY count DESC, dest, port LIMIT 200", site, NULL, NULL, 0);
    s_nearest_purpose(un, rules);
    json_object_object_add(o, "unexpected", un);
    /* Every requirement that applies, with its status; the violated ones
     * (https_only flows, and NAT or SIP ALG findings) also listed apart,
     * with the flows that broke them where there are such. */
    json_object *reqs = json_object_new_array();
    json_object *viol = s_rows(self,
            "SELECT requirement, count, last_us AS last_seen_us, example FROM violations "
            "WHERE site=:site ORDER BY requirement", site, NULL, NULL, 0);
    for (size_t q = 0; q < rules_nreqs(rules); q++) {
        if (!compliance_req_applies(rules, si, q))
            continue;
        const char *status = compliance_site_req(rules, si, q, &facts.site);
        json_object *r = json_object_new_object();
        json_object_object_add(r, "requirement", json_object_new_string(rules_req(rules, q)->id));
        json_object_object_add(r, "status", json_object_new_string(status));
        json_object_array_add(reqs, r);
        if (strcmp(status, "violated") == 0 && !facts.viol[q]) { /* NAT, SIP ALG, ports */
            json_object *v = json_object_new_object();
            json_object_object_add(v, "requirement", json_object_new_string(rules_req(rules, q)->id));
            json_object_array_add(viol, v);
        }
    }
    s_req_words(reqs, rules);
    s_req_words(viol, rules);
    json_object_object_add(o, "requirements", reqs);
    json_object_object_add(o, "requirements_violated", viol);
    compliance_counts_t counts;
    compliance_site(rules, si, &facts.site, &counts);
    json_object_object_add(o, "compliance", compliance_counts_json(&counts));
    store_facts_fini(&facts);
    json_object_object_add(o, "counts", s_rows(self,
            "SELECT unexpected, one_way, missed, alg_signs, groups_dropped FROM sites WHERE site=:site",
            site, NULL, NULL, 0));
    json_object_object_add(o, "sensors", s_rows(self,
            "SELECT sensor, last_us AS last_event_us FROM site_sensors WHERE site=:site "
            "ORDER BY sensor", site, NULL, NULL, 0));
    return s_take(o);
}

char *store_json_sensors(store_t *self)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "sensors", s_rows(self,
            "SELECT sensor, state, last_seen AS last_seen_us, epoch, received, duplicates, "
            "missing, rejected, out_of_order, flows_repeated, nat_changes_repeated, "
            "events_repeated, stats "
            "FROM sensors ORDER BY sensor",
            NULL, NULL, NULL, 0));
    return s_take(o);
}

/* The SQL of one page of events: only the filters given, so that a type
 * uses events_type(type, id) and the id bound is a range of the primary key.
 * events_type holds the types other than flow (store.c, schema 3): a query
 * for one of them says so, in the index's words, for the planner to take it
 * (a bound parameter alone does not show it). Flows are read along the ids. */
static void s_events_sql(const store_events_query_t *q, char *sql, size_t n)
{
    bool indexed = q->type && strcmp(q->type, "flow") != 0;
    snprintf(sql, n,
            "SELECT id, sensor, epoch, seq, body FROM events WHERE 1=1%s%s%s%s%s "
            "ORDER BY id %s LIMIT :limit",
            q->type ? (indexed ? " AND type=:type AND type <> 'flow'" : " AND type=:type") : "",
            q->site ? " AND site=:site" : "",
            q->sensor ? " AND sensor=:sensor" : "", q->before > 0 ? " AND id<:before" : "",
            q->after > 0 ? " AND id>:after" : "", q->oldest_first ? "ASC" : "DESC");
}

int store_events_page(store_t *self, const store_events_query_t *q, unsigned n, bool first,
        strbuf_t *out, int64_t *last, bool *more)
{
    char sql[320];
    db_stmt_t *st = NULL;
    s_events_sql(q, sql, sizeof sql);
    *more = false;
    if (!(st = store_prepare(self, sql))) {
        log_error("store: %s", db_errmsg(self->db));
        return -1;
    }
    s_bind_named(st, ":type", q->type);
    s_bind_named(st, ":site", q->site);
    s_bind_named(st, ":sensor", q->sensor);
    db_bind_int64(st, db_param_index(st, ":limit"), n + 1);
    if (q->before > 0)
        db_bind_int64(st, db_param_index(st, ":before"), q->before);
    if (q->after > 0)
        db_bind_int64(st, db_param_index(st, ":after"), q->after);
    int rows = 0, rc;
    /* One row at a time: parse its body, write it out, drop it. The
     * statement ends here, so no read transaction outlives the call. */
    while ((rc = db_step(st)) == DB_ROW) {
        if ((unsigned)rows == n) {
            *more = true; /* the (n+1)th: another page follows */
            break;
        }
        json_object *o = json_object_new_object();
        for (int i = 0; i < 4; i++)
            s_col(o, st, i, db_col_name(st, i));
        const char *t = db_col_text(st, 4);
        json_object *v = t ? json_tokener_parse(t) : NULL;
        if (v)
            json_object_object_add(o, "event", v);
        if (rows > 0 || !first)
            strbuf_append(out, ",", 1);
        size_t len = 0;
        const char *js = json_object_to_json_string_length(
                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        strbuf_append(out, js, len);
        json_object_put(o);
        *last = db_col_int64(st, 0);
        rows++;
    }
    if (rc != DB_ROW && rc != DB_DONE) {
        log_error("store: %s", db_errmsg(self->db));
        rows = -1;
    }
    db_finalize(st);
    return out->failed ? -1 : rows;
}

char *store_json_alerts(store_t *self, unsigned limit)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "alerts", s_rows(self,
            "SELECT id, kind, state, body FROM alerts ORDER BY id DESC LIMIT :limit",
            NULL, NULL, NULL, limit));
    return s_take(o);
}


/* ------------------------------------------------------------------ */
/* The dashboard's reads                                               */

/* Files each row of `rows` (objects with a "site") under by[site][key]: an
 * array of them, or with `one` the row itself. Frees rows. */
static void s_by_site(json_object *by, json_object *rows, const char *key, bool one)
{
    for (size_t i = 0; i < json_object_array_length(rows); i++) {
        json_object *row = json_object_array_get_idx(rows, i), *site, *entry, *arr;
        if (!json_object_object_get_ex(row, "site", &site))
            continue;
        const char *name = json_object_get_string(site);
        if (!json_object_object_get_ex(by, name, &entry)) {
            entry = json_object_new_object();
            json_object_object_add(by, name, entry);
        }
        json_object_get(row);
        json_object_object_del(row, "site");
        if (one) {
            json_object_object_add(entry, key, row);
            continue;
        }
        if (!json_object_object_get_ex(entry, key, &arr)) {
            arr = json_object_new_array();
            json_object_object_add(entry, key, arr);
        }
        json_object_array_add(arr, row);
    }
    json_object_put(rows);
}

char *store_json_overview(store_t *self, const char *const *sites, size_t nsites)
{
    /* Three reads for every site at once, not three a site: the page stays
     * quick with a thousand of them. */
    json_object *by = json_object_new_object();
    s_by_site(by, s_rows(self,
            "SELECT site, rule, status FROM rules WHERE status IN ('blocked', 'partly_blocked') "
            "ORDER BY site, rule", NULL, NULL, NULL, 0), "failing_rules", false);
    s_by_site(by, s_rows(self,
            "SELECT site, unexpected, one_way, missed, alg_signs, groups_dropped FROM sites",
            NULL, NULL, NULL, 0), "counts", true);
    s_by_site(by, s_rows(self,
            "SELECT site, sensor, last_us AS last_event_us FROM site_sensors ORDER BY site, sensor",
            NULL, NULL, NULL, 0), "sensors", false);
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < nsites; i++) {
        json_object *o = s_site_object(self, sites[i]), *entry, *v;
        static const char *const keys[] = {"failing_rules", "counts", "sensors"};
        bool has = json_object_object_get_ex(by, sites[i], &entry);
        for (size_t k = 0; k < 3; k++) {
            if (has && json_object_object_get_ex(entry, keys[k], &v))
                json_object_object_add(o, keys[k], json_object_get(v));
            else
                json_object_object_add(o, keys[k],
                        k == 1 ? json_object_new_object() : json_object_new_array());
        }
        json_object_array_add(arr, o);
    }
    json_object_put(by);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "sites", arr);
    return s_take(o);
}

char *store_json_rule_history(store_t *self, const char *site)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "site", json_object_new_string(site));
    json_object_object_add(o, "history", s_rows(self,
            "SELECT rule, ts AS ts_us, at_us, was, status FROM rule_history WHERE site=:site "
            "ORDER BY rule, id", site, NULL, NULL, 0));
    return s_take(o);
}
