/* SPDX-License-Identifier: MIT */
/* report.c: the per-site compliance report. */
#include "report.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "compliance.h"
#include "output.h"

typedef struct {
    uint64_t n[VERDICT_COUNT];
    uint64_t reasons[REASON_COUNT];
    uint64_t first_us, last_us;
    char example[256];      /* one flow, the first seen; a blocked one wins */
    bool example_blocked;
} rule_stat_t;

typedef struct {
    uint64_t count;
    char example[256];
} req_stat_t;

typedef struct {
    int site;
    uint8_t proto;
    ip_addr_t dst;
    uint16_t dport;
    int nearest;
    near_kind_t near;
    uint64_t count;
    char roles[64];
    char app[32];
    char host[FLOW_HOST_LEN];
} group_t;

#define REPORT_NAT_EXAMPLES 8

typedef struct {
    uint64_t flows, unexpected;
    uint64_t n[VERDICT_COUNT];
    rule_stat_t *rules; /* one per rule */
    req_stat_t *reqs;   /* one per requirement */
    nat_change_t nat[REPORT_NAT_EXAMPLES];
    size_t nnat;
    nat_binding_t phones[REPORT_NAT_EXAMPLES]; /* phones behind NAT, latest mapping */
    size_t nphones;
    uint64_t media[MEDIA_NOT_CHECKED + 1]; /* calls with media, by judgement */
    uint64_t media_calls;
    char one_way_call[128];
    alg_sign_t alg[REPORT_NAT_EXAMPLES];
    size_t nalg;
    uint64_t missed;
    char missed_example[640];
    uint64_t sip_tls_flows;
} site_stat_t;

#define REPORT_SIP_TLS_PORT 5061 /* RFC 3261 26.2 (sips) */

#define REPORT_GROUP_SLOTS (REPORT_MAX_GROUPS * 2) /* open addressing, half full at most */

struct report {
    const rules_t *rules;
    classify_t *cls;
    site_stat_t *sites;
    size_t nsites;
    uint64_t unmonitored;
    group_t *groups;
    size_t ngroups;
    uint32_t *slots; /* group index + 1; 0: empty */
    const nat_t *nat;
    const alg_t *alg;
    uint64_t groups_dropped;
};

/* One site's counters moved to the new rules' positions. */
static int s_remap_site(site_stat_t *s, const rules_remap_t *m)
{
    if (!s->rules)
        return 0;
    rule_stat_t *r = calloc(m->to_nrules + 1, sizeof *r);
    req_stat_t *q = calloc(m->to_nreqs + 1, sizeof *q);
    if (!r || !q) {
        free(r);
        free(q);
        return -1;
    }
    for (size_t i = 0; i < m->nrules; i++)
        if (m->rule[i] >= 0)
            r[m->rule[i]] = s->rules[i];
    for (size_t i = 0; i < m->nreqs; i++)
        if (m->req[i] >= 0)
            q[m->req[i]] = s->reqs[i];
    free(s->rules);
    free(s->reqs);
    s->rules = r;
    s->reqs = q;
    return 0;
}

static void s_add_group_slot(report_t *self, uint32_t gi);

int report_set_rules(report_t *self, const rules_t *rules, const rules_remap_t *m)
{
    site_stat_t *ns = calloc(m->to_nsites ? m->to_nsites : 1, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < self->nsites; i++) {
        int j = rules_remap_site(m, (int)i);
        if (j >= 0 && s_remap_site(&self->sites[i], m) == 0) {
            ns[j] = self->sites[i];
            continue;
        }
        free(self->sites[i].rules); /* a site no longer in the inventory */
        free(self->sites[i].reqs);
    }
    free(self->sites);
    self->sites = ns;
    self->nsites = m->to_nsites;
    self->rules = rules;
    /* Unexpected-flow groups: kept with their site, hashed again. */
    size_t kept = 0;
    memset(self->slots, 0, REPORT_GROUP_SLOTS * sizeof(uint32_t));
    for (size_t i = 0; i < self->ngroups; i++) {
        group_t g = self->groups[i];
        if ((g.site = rules_remap_site(m, g.site)) < 0)
            continue;
        g.nearest = rules_remap_rule(m, g.nearest);
        self->groups[kept] = g;
        s_add_group_slot(self, (uint32_t)kept++);
    }
    self->ngroups = kept;
    return 0;
}

report_t *report_new(const rules_t *rules, classify_t *cls)
{
    report_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->rules = rules;
    self->cls = cls;
    self->nsites = rules_nsites(rules);
    self->sites = calloc(self->nsites ? self->nsites : 1, sizeof(site_stat_t));
    self->groups = calloc(REPORT_MAX_GROUPS, sizeof(group_t));
    self->slots = calloc(REPORT_GROUP_SLOTS, sizeof(uint32_t));
    if (!self->sites || !self->groups || !self->slots)
        report_destroy(&self);
    return self;
}

void report_destroy(report_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    report_t *self = *self_p;
    for (size_t i = 0; self->sites && i < self->nsites; i++) {
        free(self->sites[i].rules);
        free(self->sites[i].reqs);
    }
    free(self->sites);
    free(self->groups);
    free(self->slots);
    free(self);
    *self_p = NULL;
}

static void s_flow_text(const flow_view_t *fv, char *buf, size_t n)
{
    const flow_t *f = fv->f;
    char s[46], d[46], app[32];
    ip_to_str(fv->src, s, sizeof s);
    ip_to_str(fv->dst, d, sizeof d);
    str_copy(app, fv->app, sizeof app);
    snprintf(buf, n, "%s:%u -> %s:%u %s %s%s%s", s, fv->sport, d, fv->dport,
            f->key.proto == 6 ? "tcp" : f->key.proto == 17 ? "udp" : "ip",
            app, f->host[0] ? " host " : "", f->host);
}

static uint32_t s_group_hash(int site, uint8_t proto, const ip_addr_t *dst, uint16_t dport)
{
    uint64_t w[2];
    memcpy(w, dst->b, 16);
    uint64_t h = (w[0] ^ (w[1] * 0x9e3779b97f4a7c15ull)) ^ ((uint64_t)site << 24 | (uint64_t)proto << 16 | dport);
    h *= 0xff51afd7ed558ccdull;
    return (uint32_t)(h >> 32);
}

/* Puts group gi (already filled in) into the open-addressing slots. */
static void s_add_group_slot(report_t *self, uint32_t gi)
{
    const group_t *g = &self->groups[gi];
    uint32_t i = s_group_hash(g->site, g->proto, &g->dst, g->dport) & (REPORT_GROUP_SLOTS - 1);
    while (self->slots[i]) /* ends: the table is never more than half full */
        i = (i + 1) & (REPORT_GROUP_SLOTS - 1);
    self->slots[i] = gi + 1;
}

/* Unexpected flows grouped by site, transport, destination and port; the
 * group table is bounded and what it cannot hold is counted. */
static void s_add_group(report_t *self, flow_view_t *fv)
{
    const flow_t *f = fv->f;
    const verdict_t *v = &fv->v;
    const ip_addr_t *dst = fv->dst;
    uint16_t dport = fv->dport;
    uint32_t i = s_group_hash(v->site, f->key.proto, dst, dport) & (REPORT_GROUP_SLOTS - 1);
    for (;; i = (i + 1) & (REPORT_GROUP_SLOTS - 1)) {
        if (!self->slots[i])
            break;
        group_t *g = &self->groups[self->slots[i] - 1];
        if (g->site == v->site && g->proto == f->key.proto && g->dport == dport &&
                memcmp(&g->dst, dst, sizeof *dst) == 0) {
            g->count++;
            return;
        }
    }
    if (self->ngroups == REPORT_MAX_GROUPS) {
        self->groups_dropped++;
        return;
    }
    self->slots[i] = (uint32_t)self->ngroups + 1;
    group_t *g = &self->groups[self->ngroups++];
    g->site = v->site;
    g->proto = f->key.proto;
    g->dst = *dst;
    g->dport = dport;
    g->nearest = v->nearest;
    g->near = v->near;
    g->count = 1;
    str_copy(g->roles, flow_view_roles(fv, self->rules, 1), sizeof g->roles);
    str_copy(g->app, fv->app, sizeof g->app);
    memcpy(g->host, f->host, sizeof g->host);
}

static bool s_prepare(report_t *self, site_stat_t *s)
{
    if (s->rules)
        return true;
    s->rules = calloc(rules_nrules(self->rules) + 1, sizeof(rule_stat_t));
    s->reqs = calloc(rules_nreqs(self->rules) + 1, sizeof(req_stat_t));
    return s->rules && s->reqs;
}

static void s_add_rule(site_stat_t *s, int rule, const flow_view_t *fv, verdict_kind_t kind)
{
    const flow_t *f = fv->f;
    const verdict_t *v = &fv->v;
    rule_stat_t *r = &s->rules[rule];
    r->n[kind]++;
    if (kind == VERDICT_BLOCKED)
        r->reasons[v->reason]++;
    if (!r->first_us || f->first_us < r->first_us)
        r->first_us = f->first_us;
    if (f->last_us > r->last_us)
        r->last_us = f->last_us;
    bool blocked = kind == VERDICT_BLOCKED;
    if (!r->example[0] || (blocked && !r->example_blocked)) {
        s_flow_text(fv, r->example, sizeof r->example);
        r->example_blocked = blocked;
    }
}

void report_add(report_t *self, const flow_t *f, const verdict_t *v)
{
    flow_view_t fv;
    flow_view_init(&fv, self->cls, NULL, f, NULL);
    fv.v = *v;
    report_add_view(self, &fv);
}

void report_add_view(report_t *self, flow_view_t *fv)
{
    const flow_t *f = fv->f;
    const verdict_t *v = &fv->v;
    if (v->site < 0 || (size_t)v->site >= self->nsites) {
        self->unmonitored++;
        return;
    }
    site_stat_t *s = &self->sites[v->site];
    if (!s_prepare(self, s))
        return;
    s->flows++;
    s->n[v->kind]++;
    if (v->rule >= 0)
        s_add_rule(s, v->rule, fv, v->kind);
    if (v->reply_rule >= 0)
        s_add_rule(s, v->reply_rule, fv, VERDICT_ALLOWED);
    if (v->kind == VERDICT_UNEXPECTED) {
        s->unexpected++;
        s_add_group(self, fv);
    }
    if (v->violation >= 0) {
        req_stat_t *q = &s->reqs[v->violation];
        if (!q->count++)
            s_flow_text(fv, q->example, sizeof q->example);
    }
    /* SIP over TLS: a session (bytes both ways) on the sips port. */
    if (f->key.proto == 6 && (f->key.pa == REPORT_SIP_TLS_PORT || f->key.pb == REPORT_SIP_TLS_PORT) &&
            f->d[0].payload && f->d[1].payload)
        s->sip_tls_flows++;
}

uint64_t report_sip_tls_flows(const report_t *self, size_t site)
{
    return site < self->nsites ? self->sites[site].sip_tls_flows : 0;
}

void report_set_nat(report_t *self, const nat_t *nat)
{
    self->nat = nat;
}

void report_nat_change(report_t *self, const nat_change_t *c)
{
    if (c->site < 0 || (size_t)c->site >= self->nsites)
        return;
    site_stat_t *s = &self->sites[c->site];
    if (s->nnat < REPORT_NAT_EXAMPLES)
        s->nat[s->nnat++] = *c;
}

void report_nat_binding(report_t *self, const nat_binding_t *b)
{
    if (b->site < 0 || (size_t)b->site >= self->nsites)
        return;
    site_stat_t *s = &self->sites[b->site];
    for (size_t k = 0; k < s->nphones; k++)
        if (s->phones[k].vantage == b->vantage && strcmp(s->phones[k].priv, b->priv) == 0) {
            s->phones[k] = *b; /* its mapping now */
            return;
        }
    if (s->nphones < REPORT_NAT_EXAMPLES)
        s->phones[s->nphones++] = *b;
}

void report_missed_call(report_t *self, int site, const nat_stale_t *st, const char *reason)
{
    if (site < 0 || (size_t)site >= self->nsites)
        return;
    site_stat_t *s = &self->sites[site];
    if (!s->missed++)
        snprintf(s->missed_example, sizeof s->missed_example, "%s%s%s to %s (%s)%s%s",
                st->aor[0] ? st->aor : "", st->aor[0] ? " " : "", st->call_id, st->target, reason,
                st->current[0] ? ", the phone is now at " : "", st->current);
}

void report_set_alg(report_t *self, const alg_t *alg)
{
    self->alg = alg;
}

void report_sip_alg(report_t *self, const alg_sign_t *sg)
{
    if (sg->site < 0 || (size_t)sg->site >= self->nsites)
        return;
    site_stat_t *s = &self->sites[sg->site];
    for (size_t k = 0; k < s->nalg; k++) /* the same rewrite again: one example is enough */
        if (strcmp(s->alg[k].how, sg->how) == 0 && strcmp(s->alg[k].header, sg->header) == 0 &&
                strcmp(s->alg[k].inside, sg->inside) == 0 && strcmp(s->alg[k].outside, sg->outside) == 0)
            return;
    if (s->nalg < REPORT_NAT_EXAMPLES) {
        s->alg[s->nalg++] = *sg;
        return;
    }
    /* Full: a comparison (exact evidence) displaces a heuristic sign. */
    for (size_t k = 0; k < s->nalg && strcmp(sg->how, "compared") == 0; k++)
        if (strcmp(s->alg[k].how, "compared") != 0) {
            s->alg[k] = *sg;
            return;
        }
}

static nat_site_stats_t s_nat(const report_t *self, size_t site)
{
    nat_site_stats_t st;
    memset(&st, 0, sizeof st);
    if (self->nat)
        nat_site_stats(self->nat, (int)site, &st);
    return st;
}

/* "rewritten" (evidence), "not_rewritten" (compared, all equal),
 * "not_enough_data", or "not_checked" (SIP seen only in TLS; *reason). */
static const char *s_alg_verdict_why(const report_t *self, size_t site, const char **reason)
{
    alg_site_stats_t st;
    memset(&st, 0, sizeof st);
    if (self->alg)
        alg_site_stats(self->alg, (int)site, &st);
    const char *v = st.rewritten || st.heuristic ? "rewritten"
                    : st.compared                ? "not_rewritten"
                                                 : "not_enough_data";
    return compliance_sip_verdict(v, report_sip_tls_flows(self, site), s_nat(self, site).registers, reason);
}

static const char *s_alg_verdict(const report_t *self, size_t site)
{
    const char *reason;
    return s_alg_verdict_why(self, site, &reason);
}

void report_media(report_t *self, int site, const char *call_id, media_judgement_t j)
{
    if (site < 0 || (size_t)site >= self->nsites || (unsigned)j > MEDIA_NOT_CHECKED)
        return;
    site_stat_t *s = &self->sites[site];
    s->media_calls++;
    if (j == MEDIA_ONE_WAY && !s->media[j])
        str_copy(s->one_way_call, call_id, sizeof s->one_way_call);
    s->media[j]++;
}

/* One rule's counters of a worker added to the merged ones. */
static void s_merge_rule(rule_stat_t *d, const rule_stat_t *r)
{
    for (int k = 0; k < VERDICT_COUNT; k++)
        d->n[k] += r->n[k];
    for (int k = 0; k < REASON_COUNT; k++)
        d->reasons[k] += r->reasons[k];
    if (r->first_us && (!d->first_us || r->first_us < d->first_us))
        d->first_us = r->first_us;
    if (r->last_us > d->last_us)
        d->last_us = r->last_us;
    if (r->example[0] && (!d->example[0] || (r->example_blocked && !d->example_blocked))) {
        memcpy(d->example, r->example, sizeof d->example);
        d->example_blocked = r->example_blocked;
    }
}

static void s_merge_site(report_t *self, site_stat_t *d, const site_stat_t *s)
{
    d->flows += s->flows;
    d->unexpected += s->unexpected;
    for (int k = 0; k < VERDICT_COUNT; k++)
        d->n[k] += s->n[k];
    if (s->rules && s_prepare(self, d)) {
        for (size_t r = 0; r <= rules_nrules(self->rules); r++)
            s_merge_rule(&d->rules[r], &s->rules[r]);
        for (size_t q = 0; q <= rules_nreqs(self->rules); q++) {
            if (!d->reqs[q].count)
                memcpy(d->reqs[q].example, s->reqs[q].example, sizeof d->reqs[q].example);
            d->reqs[q].count += s->reqs[q].count;
        }
    }
    for (size_t k = 0; k < s->nnat && d->nnat < REPORT_NAT_EXAMPLES; k++)
        d->nat[d->nnat++] = s->nat[k];
    for (size_t k = 0; k < s->nphones; k++) { /* a phone's latest mapping wins */
        const nat_binding_t *b = &s->phones[k];
        size_t j = 0;
        while (j < d->nphones && (d->phones[j].vantage != b->vantage ||
                                         strcmp(d->phones[j].priv, b->priv) != 0))
            j++;
        if (j < d->nphones ? b->ts_us >= d->phones[j].ts_us : d->nphones < REPORT_NAT_EXAMPLES)
            d->phones[j == d->nphones ? d->nphones++ : j] = *b;
    }
    for (size_t k = 0; k < s->nalg; k++)
        report_sip_alg(self, &s->alg[k]);
    for (int k = 0; k <= MEDIA_NOT_CHECKED; k++)
        d->media[k] += s->media[k];
    d->media_calls += s->media_calls;
    if (!d->one_way_call[0])
        memcpy(d->one_way_call, s->one_way_call, sizeof d->one_way_call);
    if (!d->missed)
        memcpy(d->missed_example, s->missed_example, sizeof d->missed_example);
    d->missed += s->missed;
    d->sip_tls_flows += s->sip_tls_flows;
}

void report_merge(report_t *self, const report_t *src)
{
    for (size_t i = 0; i < self->nsites && i < src->nsites; i++)
        s_merge_site(self, &self->sites[i], &src->sites[i]);
    self->unmonitored += src->unmonitored;
    self->groups_dropped += src->groups_dropped;
    for (size_t gi = 0; gi < src->ngroups; gi++) {
        const group_t *sg = &src->groups[gi];
        uint32_t i = s_group_hash(sg->site, sg->proto, &sg->dst, sg->dport) & (REPORT_GROUP_SLOTS - 1);
        group_t *g = NULL;
        for (; self->slots[i]; i = (i + 1) & (REPORT_GROUP_SLOTS - 1)) {
            group_t *x = &self->groups[self->slots[i] - 1];
            if (x->site == sg->site && x->proto == sg->proto && x->dport == sg->dport &&
                    memcmp(&x->dst, &sg->dst, sizeof x->dst) == 0) {
                g = x;
                break;
            }
        }
        if (g) {
            g->count += sg->count;
        } else if (self->ngroups == REPORT_MAX_GROUPS) {
            self->groups_dropped += sg->count;
        } else {
            self->slots[i] = (uint32_t)self->ngroups + 1;
            self->groups[self->ngroups++] = *sg;
        }
    }
}

static const char *s_nat_verdict_why(const report_t *self, size_t site, const char **reason)
{
    nat_site_stats_t st = s_nat(self, site);
    return compliance_sip_verdict(compliance_nat_verdict(st.comparisons, st.changes),
            report_sip_tls_flows(self, site), st.registers, reason);
}

const char *report_nat_verdict(const report_t *self, size_t site)
{
    const char *reason;
    return s_nat_verdict_why(self, site, &reason);
}

/* ------------------------------------------------------------------ */
/* Status                                                              */

static const char *s_rule_status(const rule_stat_t *r)
{
    return compliance_rule_status(r->n[VERDICT_ALLOWED], r->n[VERDICT_BLOCKED],
            r->n[VERDICT_ONE_SIDED] + r->n[VERDICT_CAPTURE_ENDED]);
}

/* The site's facts, for common/compliance.c (one home of the verdicts). */
static const char *s_fact_rule(void *ctx, size_t rule)
{
    const site_stat_t *s = ctx;
    return s->rules ? s_rule_status(&s->rules[rule]) : "not_observed";
}

static uint64_t s_fact_req(void *ctx, size_t req)
{
    const site_stat_t *s = ctx;
    return s->reqs ? s->reqs[req].count : 0;
}

static const char *s_alg_verdict(const report_t *self, size_t site);

static compliance_site_t s_facts(const report_t *self, size_t site)
{
    site_stat_t *s = &self->sites[site];
    compliance_site_t f = {s->flows > 0, s_fact_rule, s_fact_req, report_nat_verdict(self, site),
            s_alg_verdict(self, site), s};
    return f;
}

static compliance_t s_site_verdict(const report_t *self, size_t site)
{
    compliance_site_t f = s_facts(self, site);
    return compliance_site(self->rules, site, &f, NULL);
}

compliance_t report_verdict(const report_t *self)
{
    compliance_t worst = COMPLIANCE_NOT_OBSERVED;
    for (size_t i = 0; i < self->nsites; i++) {
        compliance_t c = s_site_verdict(self, i);
        if (c > worst)
            worst = c; /* not_compliant > incomplete > compliant > not observed */
    }
    return worst;
}

/* COMPLIANT, NOT COMPLIANT, INCOMPLETE (nothing failed, some rule not
 * verified yet). */
static const char *s_verdict_text(compliance_t c)
{
    return c == COMPLIANCE_COMPLIANT       ? "COMPLIANT"
           : c == COMPLIANCE_NOT_COMPLIANT ? "NOT COMPLIANT"
           : c == COMPLIANCE_INCOMPLETE    ? "INCOMPLETE"
                                           : "NO SITE OBSERVED";
}

size_t report_sites_observed(const report_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->nsites; i++)
        n += self->sites[i].flows > 0;
    return n;
}

uint64_t report_groups_dropped(const report_t *self)
{
    return self->groups_dropped;
}

/* ------------------------------------------------------------------ */
/* Text                                                                */

/* Where a rule or requirement comes from: "DOCUMENT: ROW" (the profile's
 * `document:` and the entry's `source:`), or the row alone. */
static void s_source_text(const char *document, const char *source, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s", document ? document : "", document ? ": " : "", source);
}

static void s_reasons_text(const rule_stat_t *r, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 1; i < REASON_COUNT && off < n; i++)
        if (r->reasons[i])
            off += (size_t)snprintf(buf + off, n - off, "%s%s x%llu", off ? ", " : "",
                    verdict_reason_str((reason_t)i), (unsigned long long)r->reasons[i]);
}

static void s_nat_text(const report_t *self, size_t i, FILE *out)
{
    nat_site_stats_t st = s_nat(self, i);
    const site_stat_t *s = &self->sites[i];
    if (st.behind_nat) {
        fprintf(out, "  phones behind NAT: %llu (%llu mapping changes)",
                (unsigned long long)st.behind_nat, (unsigned long long)st.mapping_changes);
        for (size_t k = 0; k < s->nphones; k++)
            fprintf(out, "%s%s -> %s (%s)", k ? ", " : ": ", s->phones[k].priv,
                    s->phones[k].public_, s->phones[k].vantage == NAT_INSIDE ? "inside" : "outside");
        fprintf(out, "\n");
    }
    const char *why;
    const char *v = s_nat_verdict_why(self, i, &why);
    if (why) { /* SIP seen only in TLS: NAT could not be checked */
        fprintf(out, "  NAT: %s, %s (%llu SIP over TLS flows)\n", v, why,
                (unsigned long long)s->sip_tls_flows);
        return;
    }
    if (!st.registers)
        return;
    fprintf(out, "  NAT: %s (%llu REGISTERs, %llu consecutive pairs compared, %llu mapping changes, "
                 "%llu reboots, %llu lapsed",
            v, (unsigned long long)st.registers,
            (unsigned long long)st.comparisons, (unsigned long long)st.changes,
            (unsigned long long)st.reboots, (unsigned long long)st.silences);
    if (st.no_rport)
        fprintf(out, "; %llu REGISTERs without rport: the inside view cannot judge those",
                (unsigned long long)st.no_rport);
    fprintf(out, ")\n");
    for (size_t k = 0; k < s->nnat; k++) {
        const nat_change_t *c = &s->nat[k];
        fprintf(out, "    %s %s: %s -> %s after %.1f s%s%s%s\n",
                c->vantage == NAT_INSIDE ? "inside " : "outside", c->aor, c->old_public, c->new_public,
                (double)(c->new_us - c->old_us) / 1e6, c->priv[0] ? " (private " : "", c->priv,
                c->priv[0] ? ")" : "");
    }
}

static void s_site_text(const report_t *self, size_t i, FILE *out)
{
    const rules_t *rs = self->rules;
    const site_stat_t *s = &self->sites[i];
    compliance_site_t facts = s_facts(self, i);
    fprintf(out, "\nSite %s: %s (%llu flows: %llu allowed, %llu blocked, %llu unexpected, "
                 "%llu one-sided, %llu at capture end)\n",
            rules_site_name(rs, i), s_verdict_text(s_site_verdict(self, i)),
            (unsigned long long)s->flows, (unsigned long long)s->n[VERDICT_ALLOWED],
            (unsigned long long)s->n[VERDICT_BLOCKED], (unsigned long long)s->n[VERDICT_UNEXPECTED],
            (unsigned long long)s->n[VERDICT_ONE_SIDED],
            (unsigned long long)s->n[VERDICT_CAPTURE_ENDED]);
    fprintf(out, "  %-14s %-15s %7s %7s %7s  %s\n", "rule", "status", "allowed", "blocked",
            "other", "example / reasons");
    for (size_t r = 0; r < rules_nrules(rs); r++) {
        const rule_t *rule = rules_rule(rs, r);
        if (rule->primary != (int)r || !rules_applies_to_site(rs, i, r))
            continue;
        const rule_stat_t *st = &s->rules[r];
        char reasons[200];
        s_reasons_text(st, reasons, sizeof reasons);
        size_t off = strlen(reasons);
        if (st->n[VERDICT_ONE_SIDED])
            off += (size_t)snprintf(reasons + off, sizeof reasons - off, "%sone-sided x%llu",
                    off ? ", " : "", (unsigned long long)st->n[VERDICT_ONE_SIDED]);
        if (st->n[VERDICT_CAPTURE_ENDED] && off < sizeof reasons)
            snprintf(reasons + off, sizeof reasons - off, "%sat capture end x%llu", off ? ", " : "",
                    (unsigned long long)st->n[VERDICT_CAPTURE_ENDED]);
        fprintf(out, "  %-14s %-15s %7llu %7llu %7llu  %s%s%s%s\n", rule->id,
                compliance_site_rule(rs, i, r, &facts),
                (unsigned long long)st->n[VERDICT_ALLOWED],
                (unsigned long long)st->n[VERDICT_BLOCKED],
                (unsigned long long)(st->n[VERDICT_ONE_SIDED] + st->n[VERDICT_CAPTURE_ENDED]),
                st->example, reasons[0] ? " [" : "", reasons, reasons[0] ? "]" : "");
        char src[512];
        s_source_text(rule->document, rule->source, src, sizeof src);
        fprintf(out, "  %-14s purpose: %s\n  %-14s source: %s\n", "", rule->purpose, "", src);
    }
    fprintf(out, "  requirements:\n");
    for (size_t q = 0; q < rules_nreqs(rs); q++) {
        const requirement_t *req = rules_req(rs, q);
        if (!compliance_req_applies(rs, i, q))
            continue;
        const req_stat_t *st = &s->reqs[q];
        fprintf(out, "    %-24s %-18s %s", req->id, compliance_site_req(rs, i, q, &facts),
                rules_req_kind_str(req->kind));
        if (st->count)
            fprintf(out, ": %llu flow(s), e.g. %s", (unsigned long long)st->count, st->example);
        char src[512];
        s_source_text(req->document, req->source, src, sizeof src);
        fprintf(out, "\n    %-24s %s\n    %-24s source: %s\n", "", req->text, "", src);
    }
    s_nat_text(self, i, out);
    for (size_t k = 0; k < s->nalg; k++) {
        const alg_sign_t *a = &s->alg[k];
        if (k == 0)
            fprintf(out, "  SIP rewritten by a device in between (SIP ALG):\n");
        fprintf(out, "    %s %s, %s: inside \"%s\"%s%s%s\n", a->message, a->header, a->how, a->inside,
                a->outside[0] ? ", outside \"" : "", a->outside, a->outside[0] ? "\"" : "");
    }
    if (s->missed)
        fprintf(out, "  likely missed calls: %llu, e.g. %s\n", (unsigned long long)s->missed,
                s->missed_example);
    if (s->media_calls)
        fprintf(out, "  media: %llu call(s): %llu as negotiated, %llu one-way%s%s%s, %llu not seen here, "
                "%llu not checked (unanswered, on hold or too short)\n",
                (unsigned long long)s->media_calls, (unsigned long long)s->media[MEDIA_OK],
                (unsigned long long)s->media[MEDIA_ONE_WAY],
                s->media[MEDIA_ONE_WAY] ? " (e.g. call " : "", s->one_way_call,
                s->media[MEDIA_ONE_WAY] ? ")" : "", (unsigned long long)s->media[MEDIA_NO_MEDIA],
                (unsigned long long)s->media[MEDIA_NOT_CHECKED]);
    bool any = false;
    for (size_t g = 0; g < self->ngroups; g++) {
        const group_t *gr = &self->groups[g];
        if (gr->site != (int)i)
            continue;
        if (!any)
            fprintf(out, "  unexpected flows (by destination):\n");
        any = true;
        char ip[64];
        fprintf(out, "    %s %s:%u x%llu %s%s%s%s", gr->proto == 6 ? "tcp" : gr->proto == 17 ? "udp" : "ip",
                ip_to_str(&gr->dst, ip, sizeof ip), gr->dport, (unsigned long long)gr->count,
                gr->app, gr->host[0] ? " host " : "", gr->host,
                gr->roles[0] ? "" : "");
        if (gr->roles[0])
            fprintf(out, " roles %s", gr->roles);
        if (gr->nearest >= 0) {
            const rule_t *near = rules_rule(rs, (size_t)gr->nearest);
            fprintf(out, " (nearest rule %s: %s differs)\n      %s is for: %s", near->id,
                    rules_near_str(gr->near), near->id, near->purpose);
        }
        fputc('\n', out);
    }
}

void report_write_text(const report_t *self, const report_meta_t *meta, FILE *out)
{
    char a[40], b[40];
    fprintf(out, "pinhole compliance report: sensor %s, %llu packets in %llu source(s)",
            meta->sensor, (unsigned long long)meta->packets, (unsigned long long)meta->files);
    if (meta->packets)
        fprintf(out, ", %s to %s", output_time(meta->first_us, a, sizeof a),
                output_time(meta->last_us, b, sizeof b));
    fprintf(out, "\n%llu flows, %llu duplicate packets dropped, %llu undecodable packets, "
                 "%llu flows outside every site\n",
            (unsigned long long)meta->flows, (unsigned long long)meta->duplicates,
            (unsigned long long)meta->decode_errors, (unsigned long long)self->unmonitored);
    size_t shown = 0;
    for (size_t i = 0; i < self->nsites; i++) {
        if (!self->sites[i].flows)
            continue;
        s_site_text(self, i, out);
        shown++;
    }
    for (size_t i = 0; i < self->nsites; i++)
        if (!self->sites[i].flows)
            fprintf(out, "\nSite %s: no traffic observed\n", rules_site_name(self->rules, i));
    if (self->groups_dropped)
        fprintf(out, "\n%llu unexpected flows not grouped (group table full)\n",
                (unsigned long long)self->groups_dropped);
    fprintf(out, "\nOverall: %s\n", s_verdict_text(report_verdict(self)));
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */

/* The profile's words for a rule or requirement: what it is for (`purpose`
 * or `text`) and which row of which document it encodes, under the keys the
 * profile uses. */
static void s_source_json(json_object *o, const char *key, const char *what, const char *document,
        const char *source)
{
    json_object_object_add(o, key, json_object_new_string(what));
    if (document)
        json_object_object_add(o, "document", json_object_new_string(document));
    json_object_object_add(o, "source", json_object_new_string(source));
}

static json_object *s_site_json(const report_t *self, size_t i)
{
    const rules_t *rs = self->rules;
    const site_stat_t *s = &self->sites[i];
    compliance_site_t facts = s_facts(self, i);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "site", json_object_new_string(rules_site_name(rs, i)));
    json_object_object_add(o, "observed", json_object_new_boolean(s->flows > 0));
    json_object_object_add(o, "flows", json_object_new_int64((int64_t)s->flows));
    if (!s->flows)
        return o;
    compliance_counts_t counts;
    compliance_t verdict = compliance_site(rs, i, &facts, &counts);
    json_object_object_add(o, "status", json_object_new_string(compliance_str(verdict)));
    json_object_object_add(o, "compliant", json_object_new_boolean(verdict == COMPLIANCE_COMPLIANT));
    json_object_object_add(o, "compliance", compliance_counts_json(&counts));
    json_object *rules = json_object_new_array();
    for (size_t r = 0; r < rules_nrules(rs); r++) {
        const rule_t *rule = rules_rule(rs, r);
        if (rule->primary != (int)r || !rules_applies_to_site(rs, i, r))
            continue;
        const rule_stat_t *st = &s->rules[r];
        json_object *ro = json_object_new_object();
        json_object_object_add(ro, "rule", json_object_new_string(rule->id));
        s_source_json(ro, "purpose", rule->purpose, rule->document, rule->source);
        json_object_object_add(ro, "status", json_object_new_string(
                compliance_site_rule(rs, i, r, &facts)));
        for (int k = 0; k < VERDICT_UNEXPECTED; k++)
            json_object_object_add(ro, verdict_kind_str((verdict_kind_t)k),
                    json_object_new_int64((int64_t)st->n[k]));
        json_object_object_add(ro, "one_sided", json_object_new_int64((int64_t)st->n[VERDICT_ONE_SIDED]));
        json_object_object_add(ro, "capture_ended",
                json_object_new_int64((int64_t)st->n[VERDICT_CAPTURE_ENDED]));
        json_object *reasons = json_object_new_object();
        for (int k = 1; k < REASON_COUNT; k++)
            if (st->reasons[k])
                json_object_object_add(reasons, verdict_reason_str((reason_t)k),
                        json_object_new_int64((int64_t)st->reasons[k]));
        json_object_object_add(ro, "reasons", reasons);
        if (st->example[0])
            json_object_object_add(ro, "example", json_object_new_string(st->example));
        json_object_array_add(rules, ro);
    }
    json_object_object_add(o, "rules", rules);
    json_object *reqs = json_object_new_array();
    for (size_t q = 0; q < rules_nreqs(rs); q++) {
        const requirement_t *req = rules_req(rs, q);
        if (!compliance_req_applies(rs, i, q))
            continue;
        json_object *qo = json_object_new_object();
        json_object_object_add(qo, "requirement", json_object_new_string(req->id));
        json_object_object_add(qo, "kind", json_object_new_string(rules_req_kind_str(req->kind)));
        s_source_json(qo, "text", req->text, req->document, req->source);
        json_object_object_add(qo, "status",
                json_object_new_string(compliance_site_req(rs, i, q, &facts)));
        json_object_object_add(qo, "violations", json_object_new_int64((int64_t)s->reqs[q].count));
        if (s->reqs[q].count)
            json_object_object_add(qo, "example", json_object_new_string(s->reqs[q].example));
        json_object_array_add(reqs, qo);
    }
    json_object_object_add(o, "requirements", reqs);
    nat_site_stats_t st = s_nat(self, i);
    json_object *nat = json_object_new_object();
    const char *why;
    json_object_object_add(nat, "verdict", json_object_new_string(s_nat_verdict_why(self, i, &why)));
    if (why)
        json_object_object_add(nat, "reason", json_object_new_string(why));
    json_object_object_add(nat, "registers", json_object_new_int64((int64_t)st.registers));
    json_object_object_add(nat, "comparisons", json_object_new_int64((int64_t)st.comparisons));
    json_object_object_add(nat, "changes", json_object_new_int64((int64_t)st.changes));
    json_object_object_add(nat, "reboots", json_object_new_int64((int64_t)st.reboots));
    json_object_object_add(nat, "lapsed", json_object_new_int64((int64_t)st.silences));
    json_object_object_add(nat, "no_rport", json_object_new_int64((int64_t)st.no_rport));
    json_object_object_add(nat, "behind_nat", json_object_new_int64((int64_t)st.behind_nat));
    json_object_object_add(nat, "mapping_changes",
            json_object_new_int64((int64_t)st.mapping_changes));
    json_object *ph = json_object_new_array();
    for (size_t k = 0; k < s->nphones; k++) {
        json_object *po = json_object_new_object();
        json_object_object_add(po, "vantage", json_object_new_string(
                s->phones[k].vantage == NAT_INSIDE ? "inside" : "outside"));
        json_object_object_add(po, "private", json_object_new_string(s->phones[k].priv));
        json_object_object_add(po, "public", json_object_new_string(s->phones[k].public_));
        json_object_array_add(ph, po);
    }
    json_object_object_add(nat, "phones", ph);
    json_object *ev = json_object_new_array();
    for (size_t k = 0; k < s->nnat; k++) {
        const nat_change_t *c = &s->nat[k];
        json_object *co = json_object_new_object();
        json_object_object_add(co, "vantage", json_object_new_string(c->vantage == NAT_INSIDE ? "inside" : "outside"));
        json_object_object_add(co, "aor", json_object_new_string(c->aor));
        json_object_object_add(co, "old_public", json_object_new_string(c->old_public));
        json_object_object_add(co, "new_public", json_object_new_string(c->new_public));
        if (c->priv[0])
            json_object_object_add(co, "private", json_object_new_string(c->priv));
        json_object_array_add(ev, co);
    }
    json_object_object_add(nat, "evidence", ev);
    json_object_object_add(o, "nat", nat);
    json_object_object_add(o, "sip_tls_flows", json_object_new_int64((int64_t)s->sip_tls_flows));
    json_object *media = json_object_new_object();
    json_object_object_add(media, "calls", json_object_new_int64((int64_t)s->media_calls));
    json_object_object_add(media, "ok", json_object_new_int64((int64_t)s->media[MEDIA_OK]));
    json_object_object_add(media, "one_way", json_object_new_int64((int64_t)s->media[MEDIA_ONE_WAY]));
    json_object_object_add(media, "no_media", json_object_new_int64((int64_t)s->media[MEDIA_NO_MEDIA]));
    json_object_object_add(media, "not_checked",
            json_object_new_int64((int64_t)s->media[MEDIA_NOT_CHECKED]));
    if (s->media[MEDIA_ONE_WAY])
        json_object_object_add(media, "one_way_call_id", json_object_new_string(s->one_way_call));
    json_object_object_add(o, "media", media);
    json_object *alg = json_object_new_object();
    json_object_object_add(alg, "verdict", json_object_new_string(s_alg_verdict_why(self, i, &why)));
    if (why)
        json_object_object_add(alg, "reason", json_object_new_string(why));
    json_object *signs = json_object_new_array();
    for (size_t k = 0; k < s->nalg; k++) {
        json_object *so = json_object_new_object();
        json_object_object_add(so, "evidence", json_object_new_string(s->alg[k].how));
        json_object_object_add(so, "message", json_object_new_string(s->alg[k].message));
        json_object_object_add(so, "header", json_object_new_string(s->alg[k].header));
        json_object_object_add(so, "inside", json_object_new_string(s->alg[k].inside));
        json_object_object_add(so, "outside", json_object_new_string(s->alg[k].outside));
        json_object_array_add(signs, so);
    }
    json_object_object_add(alg, "evidence", signs);
    json_object_object_add(o, "sip_alg", alg);
    json_object *missed = json_object_new_object();
    json_object_object_add(missed, "count", json_object_new_int64((int64_t)s->missed));
    if (s->missed)
        json_object_object_add(missed, "example", json_object_new_string(s->missed_example));
    json_object_object_add(o, "missed_calls", missed);
    json_object *un = json_object_new_array();
    for (size_t g = 0; g < self->ngroups; g++) {
        const group_t *gr = &self->groups[g];
        if (gr->site != (int)i)
            continue;
        char ip[64];
        json_object *go = json_object_new_object();
        json_object_object_add(go, "proto", json_object_new_string(gr->proto == 6 ? "TCP" : gr->proto == 17 ? "UDP" : "other"));
        json_object_object_add(go, "dest_ip", json_object_new_string(ip_to_str(&gr->dst, ip, sizeof ip)));
        json_object_object_add(go, "dest_port", json_object_new_int(gr->dport));
        json_object_object_add(go, "flows", json_object_new_int64((int64_t)gr->count));
        json_object_object_add(go, "app", json_object_new_string(gr->app));
        if (gr->host[0])
            json_object_object_add(go, "host", json_object_new_string(gr->host));
        if (gr->roles[0])
            json_object_object_add(go, "dest_roles", json_object_new_string(gr->roles));
        if (gr->nearest >= 0) {
            json_object_object_add(go, "nearest_rule",
                    json_object_new_string(rules_rule(rs, (size_t)gr->nearest)->id));
            json_object_object_add(go, "nearest_differs", json_object_new_string(rules_near_str(gr->near)));
            json_object_object_add(go, "nearest_purpose",
                    json_object_new_string(rules_rule(rs, (size_t)gr->nearest)->purpose));
        }
        json_object_array_add(un, go);
    }
    json_object_object_add(o, "unexpected", un);
    return o;
}

void report_write_json(const report_t *self, const report_meta_t *meta, FILE *out)
{
    char t[40];
    json_object *o = json_object_new_object();
    json_object_object_add(o, "schema", json_object_new_int(REPORT_FORMAT_VERSION));
    json_object_object_add(o, "sensor", json_object_new_string(meta->sensor));
    compliance_t verdict = report_verdict(self);
    json_object_object_add(o, "status", json_object_new_string(compliance_str(verdict)));
    json_object_object_add(o, "compliant", json_object_new_boolean(verdict == COMPLIANCE_COMPLIANT));
    json_object *m = json_object_new_object();
    json_object_object_add(m, "packets", json_object_new_int64((int64_t)meta->packets));
    json_object_object_add(m, "sources", json_object_new_int64((int64_t)meta->files));
    json_object_object_add(m, "flows", json_object_new_int64((int64_t)meta->flows));
    json_object_object_add(m, "duplicates", json_object_new_int64((int64_t)meta->duplicates));
    json_object_object_add(m, "decode_errors", json_object_new_int64((int64_t)meta->decode_errors));
    json_object_object_add(m, "evicted", json_object_new_int64((int64_t)meta->evicted));
    json_object_object_add(m, "unmonitored_flows", json_object_new_int64((int64_t)self->unmonitored));
    json_object_object_add(m, "unexpected_groups_dropped", json_object_new_int64((int64_t)self->groups_dropped));
    if (meta->packets) {
        json_object_object_add(m, "first", json_object_new_string(output_time(meta->first_us, t, sizeof t)));
        json_object_object_add(m, "last", json_object_new_string(output_time(meta->last_us, t, sizeof t)));
    }
    json_object_object_add(o, "capture", m);
    json_object *sites = json_object_new_array();
    for (size_t i = 0; i < self->nsites; i++)
        json_object_array_add(sites, s_site_json(self, i));
    json_object_object_add(o, "sites", sites);
    fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE), out);
    fputc('\n', out);
    json_object_put(o);
}
