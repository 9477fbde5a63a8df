/* SPDX-License-Identifier: MIT */
/* aggregate.c: events into per-site compliance. */
#include "aggregate.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "compliance.h"
#include "event.h"
#include "evschema.h"
#include "evtypes.h"
#include "log.h"
#include "strutil.h"

typedef struct {
    const char *name;
    size_t index;
} site_ix_t;

/* A site's flows since the last settle, stored then in one write. */
typedef struct {
    uint64_t flows, unexpected, first_us, last_us;
} site_pending_t;

/* An unexpected-traffic group's flows since the last settle (one write at
 * settle: store_unexpected_group). Strings owned; the first flow's
 * nearest rule, difference and example. */
typedef struct {
    size_t site;
    char *dest, *proto, *nearest, *differs, *example;
    int port;
    uint64_t hash, count, first_us, last_us;
} unexp_pending_t;

/* The events since the last settle, stored then in a few statements. */
typedef struct {
    store_event_row_t *rows; /* type: set at the flush (types moves not) */
    char (*types)[40];
    char **sites;            /* an unknown site's name (owned), or NULL */
    size_t n;
    char sensor[EVSCHEMA_NAME_LEN], epoch[EVSCHEMA_EPOCH_LEN]; /* of them all */
} event_pending_t;

/* A flow whose only effects are counts, its identity looked up at the
 * settle with the message's others (s_flow_defer). */
typedef struct {
    size_t site;
    uint64_t ts;
    long group;       /* its unexpected group (index), or -1 */
    bool unexpected;
} flow_pending_t;

/* A (site, rule) of the message (s_rule_pending). */
typedef struct {
    size_t site;
    int rule;                /* its index in the rules */
    char *name;
    store_rule_t row;        /* the row as it stands after the message's flows so far */
    store_rule_t add;        /* what they add (store_rule_add_n) */
    char *example, *example_blocked; /* the first flow's, the first blocked one's */
} rule_pending_t;

/* Repeats counted for the sensor (store_repeated_n at the settle). */
enum { AGG_REP_FLOWS, AGG_REP_NAT, AGG_REP_EVENTS, AGG_REP_N };
static const char *const s_rep_what[AGG_REP_N] = {"flows", "nat_changes", "events"};

#define AGG_GROUP_SLOTS 8192 /* twice EVSCHEMA_MAX_BATCH: a message's groups */

struct aggregate {
    store_t *store;
    const rules_t *rules;
    uint64_t window_us;
    site_ix_t *sites;    /* sorted by name */
    size_t nsites;
    uint64_t *touched;   /* per site: latest event time of this message; 0 untouched */
    char sensor[EVSCHEMA_NAME_LEN]; /* the sensor of the events since the last settle */
    uint64_t unknown;
    site_pending_t *pending; /* by site: flows since the last settle */
    event_parser_t *parser;  /* events kept for an unknown site, read again (adopt) */
    event_pending_t ev;      /* events since the last settle */
    unexp_pending_t *groups; /* unexpected groups since the last settle, first seen first */
    size_t ngroups, capgroups;
    uint32_t *slots;         /* AGG_GROUP_SLOTS: 1 + index into groups, 0 free */
    flow_pending_t *flows;   /* deferred flows since the last settle (s_flow_defer) */
    store_flow_id_t *fids;   /* their identities */
    bool *fseen;
    size_t nflows;
    rule_pending_t *rules_p; /* (site, rule) rows the message counts */
    size_t nrules, caprules;
    uint64_t repeated[AGG_REP_N]; /* this message's repeats, by kind */
};

static int s_site_cmp(const void *a, const void *b)
{
    return strcmp(((const site_ix_t *)a)->name, ((const site_ix_t *)b)->name);
}

aggregate_t *aggregate_new(store_t *store, const rules_t *rules, uint64_t window_us)
{
    aggregate_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    self->rules = rules;
    self->window_us = window_us;
    self->nsites = rules_nsites(rules);
    self->sites = calloc(self->nsites + 1, sizeof *self->sites);
    self->touched = calloc(self->nsites + 1, sizeof *self->touched);
    self->pending = calloc(self->nsites + 1, sizeof *self->pending);
    self->parser = event_parser_new();
    self->ev.rows = calloc(EVSCHEMA_MAX_BATCH, sizeof *self->ev.rows);
    self->ev.types = calloc(EVSCHEMA_MAX_BATCH, sizeof *self->ev.types);
    self->ev.sites = calloc(EVSCHEMA_MAX_BATCH, sizeof *self->ev.sites);
    self->slots = calloc(AGG_GROUP_SLOTS, sizeof *self->slots);
    self->flows = calloc(EVSCHEMA_MAX_BATCH, sizeof *self->flows);
    self->fids = calloc(EVSCHEMA_MAX_BATCH, sizeof *self->fids);
    self->fseen = calloc(EVSCHEMA_MAX_BATCH, sizeof *self->fseen);
    if (!self->sites || !self->touched || !self->pending || !self->parser || !self->ev.rows ||
            !self->ev.types || !self->ev.sites || !self->slots || !self->flows || !self->fids ||
            !self->fseen) {
        aggregate_destroy(&self);
        return NULL;
    }
    for (size_t i = 0; i < self->nsites; i++)
        self->sites[i] = (site_ix_t){rules_site_name(rules, i), i};
    qsort(self->sites, self->nsites, sizeof *self->sites, s_site_cmp);
    return self;
}

void aggregate_destroy(aggregate_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aggregate_discard(*self_p); /* what was kept since the last settle */
    free((*self_p)->sites);
    free((*self_p)->touched);
    free((*self_p)->pending);
    event_parser_destroy(&(*self_p)->parser);
    free((*self_p)->ev.rows);
    free((*self_p)->ev.types);
    free((*self_p)->ev.sites);
    free((*self_p)->groups);
    free((*self_p)->slots);
    free((*self_p)->flows);
    free((*self_p)->fids);
    free((*self_p)->fseen);
    free((*self_p)->rules_p);
    free(*self_p);
    *self_p = NULL;
}

uint64_t aggregate_unknown(const aggregate_t *self)
{
    return self->unknown;
}

static int s_site(const aggregate_t *self, const char *name)
{
    if (!name)
        return -1;
    site_ix_t key = {name, 0};
    const site_ix_t *hit = bsearch(&key, self->sites, self->nsites, sizeof key, s_site_cmp);
    return hit ? (int)hit->index : -1;
}

static const char *s_str(const event_t *e, event_field_t f)
{
    return event_str(e, f);
}

/* A count of a site_summary's object (nat, sip_alg): 0 unless positive. */
static uint64_t s_u64(const event_t *e, event_field_t f)
{
    int64_t v = event_int(e, f);
    return v > 0 ? (uint64_t)v : 0;
}

static char *s_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* arr (*cap elements of size) with room for one more after n: arr, or
 * it moved; NULL if out of memory (arr is left as it was). */
static void *s_room(void *arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return arr;
    size_t c = *cap ? *cap * 2 : 16;
    void *a = realloc(arr, c * size);
    if (a)
        *cap = c;
    return a;
}

static const char *s_or(const char *s, const char *dflt)
{
    return s ? s : dflt;
}

void aggregate_alert(aggregate_t *self, const char *kind, const char *site, const char *rule,
        const char *device, const char *from, const char *to, const char *message)
{
    json_object *a = json_object_new_object();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    json_object_object_add(a, "alert", json_object_new_string(kind));
    json_object_object_add(a, "raised_us", json_object_new_int64(
            (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000));
    const char *keys[] = {"site", "rule", "device", "from", "to", "message"};
    const char *vals[] = {site, rule, device, from, to, message};
    for (size_t i = 0; i < 6; i++)
        if (vals[i])
            json_object_object_add(a, keys[i], json_object_new_string(vals[i]));
    int ri = rule ? rules_rule_index(self->rules, rule) : -1;
    if (ri >= 0) { /* what the rule is for, from which row of which document */
        const rule_t *r = rules_rule(self->rules, (size_t)ri);
        json_object_object_add(a, "purpose", json_object_new_string(r->purpose));
        if (r->document)
            json_object_object_add(a, "document", json_object_new_string(r->document));
        json_object_object_add(a, "source", json_object_new_string(r->source));
    }
    store_alert_add(self->store, kind,
            json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(a);
}

static void s_example(const event_t *e, char *buf, size_t n)
{
    const char *host = s_str(e, EVENT_TLS_SNI);
    if (!host)
        host = s_str(e, EVENT_HTTP_HOSTNAME);
    if (!host)
        host = s_str(e, EVENT_SNI) ? s_str(e, EVENT_SNI) : s_str(e, EVENT_HTTP_HOST); /* schema 1 */
    if (!host)
        host = event_judged(e, EVENT_PH_DNS_NAME, EVENT_DNS_NAME); /* the server named by a DNS answer */
    const char *app = s_str(e, EVENT_APP_PROTO) ? s_str(e, EVENT_APP_PROTO) : s_str(e, EVENT_APP);
    const char *reason = event_judged(e, EVENT_PH_REASON, EVENT_REASON);
    snprintf(buf, n, "%s:%lld -> %s:%lld %s %s%s%s%s%s", s_or(s_str(e, EVENT_SRC_IP), "?"),
            (long long)event_int(e, EVENT_SRC_PORT), s_or(s_str(e, EVENT_DEST_IP), "?"),
            (long long)event_int(e, EVENT_DEST_PORT), s_or(s_str(e, EVENT_PROTO), "?"), s_or(app, ""),
            host ? " host " : "", host ? host : "", reason ? " " : "", s_or(reason, ""));
}

static uint64_t s_now_us(void);

/* A (site, rule) of this message: its row as it stands now (loaded at
 * its first flow, then counted in memory) and what the message adds,
 * written once at the settle (store_rule_add_n). */
static rule_pending_t *s_rule_pending(aggregate_t *self, size_t si, int ri, const char *site,
        const char *rule)
{
    for (size_t i = 0; i < self->nrules; i++)
        if (self->rules_p[i].site == si && self->rules_p[i].rule == ri)
            return &self->rules_p[i];
    rule_pending_t *grown = s_room(self->rules_p, self->nrules, &self->caprules,
            sizeof *self->rules_p);
    if (!grown)
        return NULL;
    self->rules_p = grown;
    rule_pending_t *p = &self->rules_p[self->nrules];
    memset(p, 0, sizeof *p);
    p->site = si;
    p->rule = ri;
    if (!(p->name = strdup(rule)))
        return NULL;
    store_rule_get(self->store, site, rule, &p->row);
    self->nrules++;
    return p;
}

/* A flow's verdict on a rule, counted in memory: the row after it (as
 * it is in the store after the message), its status and alerts in message order. */
static void s_rule_count(rule_pending_t *p, bool ok, bool bad, uint64_t ts, const char *example)
{
    store_rule_t *r = &p->row, *d = &p->add;
    bool existed = r->allowed + r->blocked + r->unconfirmed > 0; /* a row has a flow */
    bool first = d->allowed + d->blocked + d->unconfirmed == 0;  /* the message's first */
    r->first_us = existed && r->first_us < ts ? r->first_us : ts;
    r->last_us = existed && r->last_us > ts ? r->last_us : ts;
    d->first_us = !first && d->first_us < ts ? d->first_us : ts;
    d->last_us = !first && d->last_us > ts ? d->last_us : ts;
    r->allowed += ok;
    r->blocked += bad;
    r->unconfirmed += !ok && !bad;
    d->allowed += ok;
    d->blocked += bad;
    d->unconfirmed += !ok && !bad;
    if (ok && ts > r->last_allowed_us)
        r->last_allowed_us = d->last_allowed_us = ts;
    if (bad && ts > r->last_blocked_us)
        r->last_blocked_us = d->last_blocked_us = ts;
    if (first)
        p->example = s_dup(example);
    if (bad && d->blocked == 1)
        p->example_blocked = s_dup(example);
}

static void s_rule_write(aggregate_t *self, const rule_pending_t *p, const char *rule);

static void s_rule(aggregate_t *self, size_t si, const char *rule, const char *verdict,
        uint64_t ts, const char *example, const char *device)
{
    int ri = rules_rule_index(self->rules, rule);
    if (ri < 0) {
        self->unknown++;
        return;
    }
    const char *site = rules_site_name(self->rules, si);
    bool ok = strcmp(verdict, "allowed") == 0, bad = strcmp(verdict, "blocked") == 0;
    rule_pending_t *p = s_rule_pending(self, si, ri, site, rule);
    rule_pending_t alone; /* out of memory: this flow's row, written at once */
    if (!p) {
        memset(&alone, 0, sizeof alone);
        alone.site = si;
        store_rule_get(self->store, site, rule, &alone.row);
        p = &alone;
    }
    s_rule_count(p, ok, bad, ts, example);
    store_rule_t r = p->row;
    const char *now = compliance_rule_status_at(r.allowed, r.blocked, r.unconfirmed,
            r.last_allowed_us, r.last_blocked_us, self->window_us);
    if (bad) {
        char msg[400];
        snprintf(msg, sizeof msg, "expected flow blocked: %s", example);
        aggregate_alert(self, "flow_blocked", site, rule, device, NULL, NULL, msg);
    }
    if (strcmp(now, r.status) != 0) {
        str_copy(p->row.status, now, sizeof p->row.status);
        store_rule_history_add(self->store, site, rule, r.status, now, ts, s_now_us());
        char msg[200];
        snprintf(msg, sizeof msg, "rule %s at %s is now %s", rule, site, now);
        if (r.status[0] || compliance_status_is_bad(now))
            aggregate_alert(self, "rule_status", site, rule, NULL,
                    r.status[0] ? r.status : "not_observed", now, msg);
    }
    if (p == &alone) {
        s_rule_write(self, p, rule);
        free(alone.example);
        free(alone.example_blocked);
    }
}

static void s_rules_clear(aggregate_t *self)
{
    for (size_t i = 0; i < self->nrules; i++) {
        free(self->rules_p[i].name);
        free(self->rules_p[i].example);
        free(self->rules_p[i].example_blocked);
    }
    self->nrules = 0;
}

/* A (site, rule)'s flows of the message, and its status after them. */
static void s_rule_write(aggregate_t *self, const rule_pending_t *p, const char *rule)
{
    store_rule_add_n(self->store, rules_site_name(self->rules, p->site), rule, &p->add,
            p->add.blocked ? p->example_blocked : p->example, p->row.status);
}

/* The message's (site, rule) rows: one write each. */
static void s_rules_flush(aggregate_t *self)
{
    for (size_t i = 0; i < self->nrules; i++)
        s_rule_write(self, &self->rules_p[i], self->rules_p[i].name);
    s_rules_clear(self);
}

static uint64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A NAT change with its identity (schema 2: aor, call_id and cseq, the same
 * in the inside and the outside copy): recorded; true if counted already
 * (the other vantage's copy, or its capture published again). false too
 * for a change without one, stored the old way. */
static bool s_nat_repeated(aggregate_t *self, const char *epoch, const char *site, const event_t *e,
        uint64_t ts, const char *line, size_t len)
{
    store_nat_id_t id = {site, s_str(e, EVENT_AOR), s_str(e, EVENT_CALL_ID), 0};
    int64_t cseq = event_int(e, EVENT_CSEQ);
    if (event_int(e, EVENT_SCHEMA) < 2 || cseq < 0 || !id.aor || !id.call_id) {
        store_nat_change(self->store, self->sensor, epoch, site, ts, line, len);
        return false;
    }
    id.cseq = (uint64_t)cseq;
    if (!store_nat_change_id(self->store, self->sensor, epoch, &id, ts, line, len, s_now_us()))
        return false;
    self->repeated[AGG_REP_NAT]++;
    return true;
}

/* An rtp_one_way, sip_alg or missed_call event counted already (the same
 * capture published again): its identity is a hash of its type and the
 * fields that name it, with its time, kept with the flows' (schema 2). */
static bool s_event_repeated(aggregate_t *self, const char *site, const event_t *e, uint64_t ts,
        const event_field_t *keys)
{
    if (event_int(e, EVENT_SCHEMA) < 2)
        return false;
    XXH3_state_t *h = XXH3_createState();
    if (!h)
        return false;
    XXH3_64bits_reset(h);
    const char *type = s_str(e, EVENT_EVENT_TYPE);
    XXH3_64bits_update(h, type, strlen(type) + 1);
    for (size_t i = 0; keys[i] != EVENT_NFIELDS; i++) {
        const char *v = s_or(s_str(e, keys[i]), "");
        XXH3_64bits_update(h, v, strlen(v) + 1);
    }
    uint64_t id = XXH3_64bits_digest(h) >> 1; /* a positive SQLite integer */
    XXH3_freeState(h);
    if (!store_flow_seen(self->store, site, ts, id))
        return false;
    self->repeated[AGG_REP_EVENTS]++;
    return true;
}

/* The message's group of (site, dest, port, proto), added if new (NULL:
 * out of memory). */
static unexp_pending_t *s_group(aggregate_t *self, size_t si, const char *dest, int port,
        const char *proto, bool *is_new)
{
    uint64_t hash = XXH3_64bits_withSeed(dest, strlen(dest), (uint64_t)si << 32 | (uint32_t)port) ^
                    XXH3_64bits(proto, strlen(proto));
    size_t slot = hash % AGG_GROUP_SLOTS;
    *is_new = false;
    for (; self->slots[slot]; slot = (slot + 1) % AGG_GROUP_SLOTS) {
        unexp_pending_t *g = &self->groups[self->slots[slot] - 1];
        if (g->hash == hash && g->site == si && g->port == port && !strcmp(g->dest, dest) &&
                !strcmp(g->proto, proto))
            return g;
    }
    if (self->ngroups >= AGG_GROUP_SLOTS / 2)
        return NULL; /* more than a message holds: the caller writes it alone */
    unexp_pending_t *grown = s_room(self->groups, self->ngroups, &self->capgroups,
            sizeof *self->groups);
    if (!grown)
        return NULL;
    self->groups = grown;
    unexp_pending_t *g = &self->groups[self->ngroups];
    *g = (unexp_pending_t){si, strdup(dest), strdup(proto), NULL, NULL, NULL, port, hash, 0, 0, 0};
    if (!g->dest || !g->proto) {
        free(g->dest);
        free(g->proto);
        return NULL;
    }
    self->slots[slot] = (uint32_t)++self->ngroups;
    *is_new = true;
    return g;
}

/* An unexpected flow's group in this message, made with the flow's
 * nearest rule, difference, example (the flow's, or NULL: written here
 * if needed) and time if new; NULL if none can be had, then the flow is
 * written alone if `alone`. */
static unexp_pending_t *s_group_of(aggregate_t *self, size_t si, const event_t *e, uint64_t ts,
        const char *example, bool alone)
{
    char buf[320];
    int64_t p = event_int(e, EVENT_DEST_PORT);
    int port = (int)(p < 0 ? 0 : p);
    const char *dest = s_or(s_str(e, EVENT_DEST_IP), "?"), *proto = s_or(s_str(e, EVENT_PROTO), "?");
    const char *nearest = event_judged(e, EVENT_PH_NEAREST_RULE, EVENT_NEAREST_RULE);
    const char *differs = event_judged(e, EVENT_PH_NEAREST_DIFFERS, EVENT_NEAREST_DIFFERS);
    bool is_new;
    unexp_pending_t *g = s_group(self, si, dest, port, proto, &is_new);
    if (g && !is_new)
        return g;
    if (!g && !alone)
        return NULL;
    if (!example) {
        s_example(e, buf, sizeof buf);
        example = buf;
    }
    if (!g) {
        store_unexpected_group(self->store, rules_site_name(self->rules, si), dest, port, proto,
                1, ts, ts, nearest, differs, example);
        return NULL;
    }
    g->first_us = ts;
    g->nearest = s_dup(nearest);
    g->differs = s_dup(differs);
    g->example = s_dup(example);
    return g;
}

/* A flow counted: in its site's and its unexpected group's counts. */
static void s_count(aggregate_t *self, size_t si, uint64_t ts, bool unexpected,
        unexp_pending_t *g)
{
    site_pending_t *pf = &self->pending[si];
    if (!pf->flows || ts < pf->first_us)
        pf->first_us = ts;
    if (ts > pf->last_us)
        pf->last_us = ts;
    pf->flows++;
    pf->unexpected += unexpected;
    if (g) {
        g->count++;
        if (ts > g->last_us)
            g->last_us = ts;
    }
}

/* A flow whose only effects are counts, with a flow_id: kept to be looked
 * up with the message's others at the settle (s_flows_settle). False if
 * it cannot be (then the caller does it now). */
static bool s_flow_defer(aggregate_t *self, size_t si, const event_t *e, uint64_t ts,
        uint64_t id, bool unexpected)
{
    if (self->nflows == EVSCHEMA_MAX_BATCH)
        return false;
    unexp_pending_t *g = unexpected ? s_group_of(self, si, e, ts, NULL, false) : NULL;
    if (unexpected && !g)
        return false;
    self->flows[self->nflows] = (flow_pending_t){si, ts, g ? (long)(g - self->groups) : -1,
            unexpected};
    self->fids[self->nflows++] = (store_flow_id_t){rules_site_name(self->rules, si), ts, id};
    return true;
}

/* The deferred flows: their identities looked up and stored together; the
 * new ones counted, the others counted as repeats, as one at a time. Their
 * groups were made in message order, so the bound on a site's groups
 * keeps the same ones (a group made by a repeat alone is not written). */
static void s_flows_settle(aggregate_t *self)
{
    if (!self->nflows)
        return;
    store_flows_seen(self->store, self->fids, self->nflows, self->fseen);
    for (size_t i = 0; i < self->nflows; i++) {
        const flow_pending_t *f = &self->flows[i];
        if (self->fseen[i])
            self->repeated[AGG_REP_FLOWS]++;
        else
            s_count(self, f->site, f->ts, f->unexpected, f->group >= 0 ? &self->groups[f->group] : NULL);
    }
    self->nflows = 0;
}

static void s_flow(aggregate_t *self, size_t si, const event_t *e, uint64_t ts)
{
    const char *site = rules_site_name(self->rules, si);
    const char *verdict = s_or(event_judged(e, EVENT_PH_VERDICT, EVENT_VERDICT), "");
    bool unexpected = strcmp(verdict, "unexpected") == 0;
    const char *rule = event_judged(e, EVENT_PH_RULE, EVENT_RULE);
    const char *reply = event_judged(e, EVENT_PH_REPLY_RULE, EVENT_REPLY_RULE);
    const char *violation = event_judged(e, EVENT_PH_VIOLATION, EVENT_VIOLATION);
    if (rule && strcmp(verdict, "allowed") && strcmp(verdict, "blocked") &&
            strcmp(verdict, "one_sided") && strcmp(verdict, "capture_ended"))
        rule = NULL; /* the rule's counts take those verdicts only */
    if (reply && strcmp(verdict, "allowed"))
        reply = NULL;
    /* Only schema 2 flow_ids are stable across runs (a hash of the 5-tuple
     * and the first packet's time); schema 1's count within a run. */
    int64_t id = event_int(e, EVENT_FLOW_ID);
    bool has_id = event_int(e, EVENT_SCHEMA) >= 2 && id >= 0;
    if (has_id && !rule && !reply && !violation &&
            s_flow_defer(self, si, e, ts, (uint64_t)id, unexpected))
        return; /* counts alone: looked up with the message's others */
    if (has_id && store_flow_seen(self->store, site, ts, (uint64_t)id)) {
        self->repeated[AGG_REP_FLOWS]++;
        return; /* stored as an event; counted once */
    }
    char example[320] = "";
    bool judged = rule || reply || violation; /* the example is written for those */
    if (judged)
        s_example(e, example, sizeof example);
    unexp_pending_t *g = unexpected ? s_group_of(self, si, e, ts, judged ? example : NULL, true)
                                    : NULL;
    s_count(self, si, ts, unexpected, g);
    const char *device = s_str(e, EVENT_SRC_IP);
    if (rule)
        s_rule(self, si, rule, verdict, ts, example, device);
    if (reply)
        s_rule(self, si, reply, "allowed", ts, example, device);
    if (violation) {
        store_violation(self->store, site, violation, ts, example);
        char msg[400];
        snprintf(msg, sizeof msg, "requirement %s violated: %s", violation, example);
        aggregate_alert(self, "requirement_violated", site, violation, device, NULL, NULL, msg);
    }
}

static void s_apply(aggregate_t *self, const char *sensor, const char *epoch, const event_t *e,
        const char *line, size_t len);

static void s_events_flush(aggregate_t *self);

/* An event to store at the settle; its line stays where it is until then. */
static void s_event_keep(aggregate_t *self, const char *sensor, const char *epoch,
        const store_event_row_t *row)
{
    event_pending_t *p = &self->ev;
    if (p->n && (p->n == EVSCHEMA_MAX_BATCH || strcmp(p->sensor, sensor) || strcmp(p->epoch, epoch)))
        s_events_flush(self);
    char *site = row->unknown && row->site ? strdup(row->site) : NULL;
    if (row->unknown && row->site && !site) { /* out of memory: stored now, in order */
        s_events_flush(self);
        store_events(self->store, sensor, epoch, row, 1);
        return;
    }
    if (!p->n) {
        str_copy(p->sensor, sensor, sizeof p->sensor);
        str_copy(p->epoch, epoch, sizeof p->epoch);
    }
    p->rows[p->n] = *row;
    str_copy(p->types[p->n], row->type, sizeof p->types[p->n]);
    p->rows[p->n].type = p->types[p->n];
    if (site)
        p->rows[p->n].site = site;
    p->sites[p->n++] = site;
}

void aggregate_event(aggregate_t *self, const char *sensor, const char *epoch, uint64_t seq,
        const event_t *e, const char *line, size_t len)
{
    const char *type = s_str(e, EVENT_EVENT_TYPE);
    const char *site = s_str(e, EVENT_SITE);
    uint64_t ts = e->ts_us;
    int si = s_site(self, site);
    bool keep_site = si >= 0;
    if (site && si < 0) { /* kept and counted: adding the site later shows them */
        int k = store_unknown_site(self->store, site, ts);
        if (k == 1)
            log_notice("sensor %s sends events for site '%s', which the inventory does not know: "
                       "they are kept and counted (/api/sites unknown_sites) until it does",
                    sensor, site);
        keep_site = k >= 0;
        self->unknown++;
    }
    store_event_row_t row = {seq, ts, type, keep_site ? site : NULL, site && si < 0, line, len};
    if (si >= 0)
        row.site = rules_site_name(self->rules, (size_t)si); /* lives as long as we do */
    s_event_keep(self, sensor, epoch, &row);
    if (si >= 0)
        s_apply(self, sensor, epoch, e, line, len);
}

typedef struct {
    aggregate_t *self;
    uint64_t n;
} adopt_t;

static void s_adopt_one(const char *sensor, const char *epoch, uint64_t seq, const char *body,
        size_t len, void *ctx)
{
    (void)seq;
    adopt_t *ad = ctx;
    if (strcmp(sensor, ad->self->sensor) != 0)
        aggregate_settle(ad->self); /* each site credited to the sensor that sent it */
    event_t e;
    char err[160];
    if (event_parse(ad->self->parser, body, len, &e, err, sizeof err) == 0) {
        s_apply(ad->self, sensor, epoch, &e, body, len);
        ad->n++;
    }
}

uint64_t aggregate_adopt(aggregate_t *self)
{
    uint64_t total = 0;
    for (size_t i = 0; i < self->nsites; i++) {
        const char *site = rules_site_name(self->rules, i);
        adopt_t ad = {self, 0};
        if (!store_unknown_take(self->store, site, s_adopt_one, &ad))
            continue;
        log_notice("site '%s' is in the inventory now: its %llu event(s) kept from before are "
                   "counted", site, (unsigned long long)ad.n);
        total += ad.n;
    }
    aggregate_settle(self);
    return total;
}

/* What an event of a known site changes: counts, statuses, alerts. */
static void s_apply(aggregate_t *self, const char *sensor, const char *epoch, const event_t *e,
        const char *line, size_t len)
{
    const char *type = s_str(e, EVENT_EVENT_TYPE);
    const char *site = s_str(e, EVENT_SITE);
    uint64_t ts = e->ts_us;
    int si = s_site(self, site);
    if (si < 0 || !type)
        return;
    str_copy(self->sensor, sensor, sizeof self->sensor);
    if (ts + 1 > self->touched[si])
        self->touched[si] = ts + 1;
    char msg[400];
    if (strcmp(type, EV_FLOW) == 0) {
        s_flow(self, (size_t)si, e, ts);
    } else if (strcmp(type, EV_NAT_PORT_CHANGE) == 0) {
        if (s_nat_repeated(self, epoch, site, e, ts, line, len))
            return; /* stored as an event; counted, kept as evidence and alerted once */
        snprintf(msg, sizeof msg, "NAT mapping of %s changed from %s to %s after %.0f s",
                s_or(s_str(e, EVENT_AOR), "?"), s_or(s_str(e, EVENT_OLD_PUBLIC), "?"),
                s_or(s_str(e, EVENT_NEW_PUBLIC), "?"),
                event_double(e, EVENT_INTERVAL));
        aggregate_alert(self, "nat_port_change", site, "consistent-nat", s_str(e, EVENT_AOR), NULL,
                NULL, msg);
    } else if (strcmp(type, EV_SITE_SUMMARY) == 0) {
        store_site_summary(self->store, sensor, epoch, site, ts, s_u64(e, EVENT_NAT_COMPARISONS),
                s_u64(e, EVENT_NAT_CHANGES),
                s_u64(e, EVENT_ALG_REWRITTEN) + s_u64(e, EVENT_ALG_HEURISTIC),
                s_u64(e, EVENT_ALG_COMPARED));
        /* Per vantage (absent before: then the whole count is one vantage's). */
        uint64_t cmp[2] = {s_u64(e, EVENT_NAT_COMPARISONS_INSIDE),
                s_u64(e, EVENT_NAT_COMPARISONS_OUTSIDE)};
        uint64_t chg[2] = {s_u64(e, EVENT_NAT_CHANGES_INSIDE),
                s_u64(e, EVENT_NAT_CHANGES_OUTSIDE)};
        store_site_summary_vantages(self->store, sensor, epoch, site, cmp, chg);
        int64_t tls = event_int(e, EVENT_SIP_TLS_FLOWS);
        store_site_summary_sip(self->store, sensor, epoch, site, s_u64(e, EVENT_NAT_REGISTERS),
                tls > 0 ? (uint64_t)tls : 0);
    } else if (strcmp(type, EV_SIP_ALG) == 0) {
        static const event_field_t k[] = {EVENT_EVIDENCE, EVENT_CALL_ID, EVENT_MESSAGE,
                EVENT_HEADER, EVENT_INSIDE, EVENT_NFIELDS};
        if (s_event_repeated(self, site, e, ts, k))
            return;
        store_site_count(self->store, site, "alg_signs");
        snprintf(msg, sizeof msg, "SIP rewritten in between: %s %s", s_or(s_str(e, EVENT_MESSAGE), ""),
                s_or(s_str(e, EVENT_HEADER), ""));
        aggregate_alert(self, "sip_alg", site, "no-sip-alg", s_str(e, EVENT_CALL_ID), NULL, NULL, msg);
    } else if (strcmp(type, EV_RTP_ONE_WAY) == 0) {
        static const event_field_t k[] = {EVENT_CALL_ID, EVENT_MISSING, EVENT_NFIELDS};
        if (s_event_repeated(self, site, e, ts, k))
            return;
        store_site_count(self->store, site, "one_way");
        snprintf(msg, sizeof msg, "one-way media: %s RTP missing", s_or(s_str(e, EVENT_MISSING), "?"));
        aggregate_alert(self, "rtp_one_way", site, s_str(e, EVENT_RULE), s_str(e, EVENT_SRC_IP), NULL,
                NULL, msg);
    } else if (strcmp(type, EV_MISSED_CALL) == 0) {
        static const event_field_t k[] = {EVENT_REASON, EVENT_CALL_ID, EVENT_TARGET,
                EVENT_NFIELDS};
        if (s_event_repeated(self, site, e, ts, k))
            return;
        store_site_count(self->store, site, "missed");
        snprintf(msg, sizeof msg, "missed call (%s) to %s", s_or(s_str(e, EVENT_REASON), "?"),
                s_or(s_str(e, EVENT_TARGET), "?"));
        aggregate_alert(self, "missed_call", site, NULL, s_str(e, EVENT_TARGET), NULL, NULL, msg);
    }
}

static void s_settle_site(aggregate_t *self, size_t i)
{
    const char *site = rules_site_name(self->rules, i);
    /* Judged as the sensor's report judges it (common/compliance.c). */
    store_facts_t f;
    if (store_facts_get(self->store, self->rules, i, &f) != 0)
        return;
    const store_site_t s = f.s;
    const char *nat = f.site.nat;
    int compliant = store_site_code(compliance_site(self->rules, i, &f.site, NULL));
    store_facts_fini(&f);
    char msg[200];
    if (strcmp(nat, s.nat) != 0) {
        snprintf(msg, sizeof msg, "NAT at %s is now %s", site, nat);
        aggregate_alert(self, "nat_verdict", site, NULL, NULL, s.nat, nat, msg);
    }
    if (compliant != s.compliant && compliant != STORE_SITE_UNKNOWN) {
        snprintf(msg, sizeof msg, "%s is %s", site, store_site_status(compliant));
        aggregate_alert(self, "site_compliance", site, NULL, NULL,
                s.compliant == STORE_SITE_UNKNOWN ? "unknown" : store_site_status(s.compliant),
                store_site_status(compliant), msg);
    }
    if (compliant != s.compliant || strcmp(nat, s.nat) != 0)
        store_site_set(self->store, site, compliant, nat);
}

static void s_events_clear(aggregate_t *self)
{
    for (size_t i = 0; self->ev.sites && i < self->ev.n; i++) {
        free(self->ev.sites[i]);
        self->ev.sites[i] = NULL;
    }
    self->ev.n = 0;
}

static void s_groups_clear(aggregate_t *self)
{
    for (size_t i = 0; i < self->ngroups; i++) {
        unexp_pending_t *g = &self->groups[i];
        free(g->dest);
        free(g->proto);
        free(g->nearest);
        free(g->differs);
        free(g->example);
    }
    if (self->ngroups)
        memset(self->slots, 0, AGG_GROUP_SLOTS * sizeof *self->slots);
    self->ngroups = 0;
}

void aggregate_discard(aggregate_t *self)
{
    if (self->pending)
        memset(self->pending, 0, self->nsites * sizeof *self->pending);
    if (self->touched)
        memset(self->touched, 0, self->nsites * sizeof *self->touched);
    s_events_clear(self);
    s_groups_clear(self);
    s_rules_clear(self);
    self->nflows = 0;
    memset(self->repeated, 0, sizeof self->repeated);
}

/* The events kept since the last settle, stored (their order kept). */
static void s_events_flush(aggregate_t *self)
{
    if (!self->ev.n)
        return;
    store_events(self->store, self->ev.sensor, self->ev.epoch, self->ev.rows, self->ev.n);
    s_events_clear(self);
}

/* Groups in the order the message first showed them, so the bound on a
 * site's groups keeps the same ones as one flow at a time would. */
static void s_groups_flush(aggregate_t *self)
{
    for (size_t i = 0; i < self->ngroups; i++) {
        const unexp_pending_t *g = &self->groups[i];
        if (!g->count)
            continue; /* its flows were all repeats */
        store_unexpected_group(self->store, rules_site_name(self->rules, g->site), g->dest,
                g->port, g->proto, g->count, g->first_us, g->last_us, g->nearest, g->differs,
                g->example);
    }
    s_groups_clear(self);
}

void aggregate_settle(aggregate_t *self)
{
    s_events_flush(self);
    s_rules_flush(self); /* before the sites are judged: they read the rules' statuses */
    s_flows_settle(self);
    s_groups_flush(self); /* before the sites' flows, as when each flow wrote its group */
    for (int i = 0; i < AGG_REP_N; i++)
        if (self->repeated[i]) /* the sensor's: settled when the sensor changes (adopt) */
            store_repeated_n(self->store, self->sensor, s_rep_what[i], self->repeated[i]);
    memset(self->repeated, 0, sizeof self->repeated);
    for (size_t i = 0; i < self->nsites; i++) { /* the flows counted since: one write a site */
        if (!self->pending[i].flows)
            continue;
        store_site_flows(self->store, rules_site_name(self->rules, i), self->pending[i].flows,
                self->pending[i].unexpected, self->pending[i].first_us, self->pending[i].last_us);
        memset(&self->pending[i], 0, sizeof self->pending[i]);
    }
    for (size_t i = 0; i < self->nsites; i++) {
        if (!self->touched[i])
            continue;
        store_site_sensor(self->store, rules_site_name(self->rules, i), self->sensor,
                self->touched[i] - 1);
        self->touched[i] = 0;
        s_settle_site(self, i);
    }
}
