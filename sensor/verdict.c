/* SPDX-License-Identifier: MIT */
/* verdict.c: judging finished flows against the expected rules table.
 *
 * Roles are resolved per flow, once, when it ends: the originator from its
 * site bindings and address, the responder also from its host name (TLS SNI,
 * HTTP Host, or the name a DNS answer gave its address when the flow
 * began), and the remote side from its network owner (ASN).
 *
 * No false alarm on one-sided evidence: a flow that looks unanswered is
 * blocked only if the mirror is known to copy the inbound direction of its
 * site (some packet reached the site from outside), the flow itself shows no
 * sign of unseen replies (the originator acknowledging what we never saw),
 * and the attempt did not begin in the last seconds of the capture. */
#include "verdict.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

struct verdict_ctx {
    const rules_t *rules;
    geo_t *geo;
    uint64_t end_window_us;
    uint64_t capture_end_us;
    uint64_t *site_inbound;
    size_t nsites;
    _Atomic uint8_t *shared_inbound; /* workers: any worker saw it (or NULL) */
};

verdict_ctx_t *verdict_ctx_new(const rules_t *rules, geo_t *geo, uint64_t end_window_us)
{
    verdict_ctx_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->rules = rules;
    self->geo = geo;
    self->end_window_us = end_window_us;
    self->nsites = rules_nsites(rules);
    self->site_inbound = calloc(self->nsites ? self->nsites : 1, sizeof(uint64_t));
    if (!self->site_inbound)
        verdict_ctx_destroy(&self);
    return self;
}

void verdict_ctx_destroy(verdict_ctx_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->site_inbound);
    free(*self_p);
    *self_p = NULL;
}

int verdict_set_rules(verdict_ctx_t *self, const rules_t *rules, const rules_remap_t *m)
{
    uint64_t *in = calloc(m->to_nsites ? m->to_nsites : 1, sizeof(uint64_t));
    if (!in)
        return -1;
    for (size_t i = 0; i < self->nsites; i++)
        if (rules_remap_site(m, (int)i) >= 0)
            in[rules_remap_site(m, (int)i)] = self->site_inbound[i];
    free(self->site_inbound);
    self->site_inbound = in;
    self->nsites = m->to_nsites;
    self->rules = rules;
    self->shared_inbound = NULL; /* sized for the old sites: shared again by the caller */
    return 0;
}

void verdict_note_inbound(verdict_ctx_t *self, int site)
{
    if (site < 0 || (size_t)site >= self->nsites)
        return;
    /* Only the first packet of a site reaches the shared line: no cache
     * line bounces between workers on the packet path. */
    if (self->site_inbound[site]++ == 0 && self->shared_inbound)
        atomic_store_explicit(&self->shared_inbound[site], 1, memory_order_relaxed);
}

void verdict_share_inbound(verdict_ctx_t *self, _Atomic uint8_t *flags)
{
    self->shared_inbound = flags;
    for (size_t i = 0; flags && i < self->nsites; i++)
        if (self->site_inbound[i])
            atomic_store_explicit(&flags[i], 1, memory_order_relaxed);
}

static bool s_inbound_seen(const verdict_ctx_t *self, int site)
{
    return self->site_inbound[site] != 0 ||
           (self->shared_inbound &&
                   atomic_load_explicit(&self->shared_inbound[site], memory_order_relaxed));
}

void verdict_flow_sites(verdict_ctx_t *self, flow_t *f)
{
    f->site[0] = (int16_t)rules_site_of(self->rules, &f->key.a);
    f->site[1] = (int16_t)rules_site_of(self->rules, &f->key.b);
}

void verdict_set_capture_end(verdict_ctx_t *self, uint64_t ts_us)
{
    if (ts_us > self->capture_end_us)
        self->capture_end_us = ts_us;
}

static reason_t s_failure(const flow_t *f, const rule_t *r)
{
    if (f->key.proto == 6) {
        if (conn_established(f)) {
            if (r && r->tls && !(f->flags & FLOW_F_TLS_SERVER) && !(f->flags & FLOW_F_HTTP))
                return REASON_TLS_INCOMPLETE;
            return REASON_NONE;
        }
        if (f->d[!f->orig].flags & TCP_RST)
            return REASON_RESET;
        if (f->flags & FLOW_F_ICMP)
            return REASON_ICMP_UNREACHABLE;
        return REASON_NO_ANSWER;
    }
    if (f->d[!f->orig].pkts > 0)
        return REASON_NONE;
    if (f->flags & FLOW_F_ICMP)
        return REASON_ICMP_UNREACHABLE;
    return REASON_NO_RESPONSE;
}

/* Where the flow's host name came from. */
static role_by_t s_host_by(const flow_t *f)
{
    if (f->flags & FLOW_F_HOST_DNS)
        return ROLE_BY_DNS;
    return f->flags & FLOW_F_HTTP ? ROLE_BY_HTTP_HOST : ROLE_BY_SNI;
}

/* How the side got its roles: `address` if its address alone gives them
 * all; else the name's kind if the name without the network owner gives a
 * role the address alone does not; else `asn`. */
static role_by_t s_role_by(const verdict_ctx_t *self, int site, const role_query_t *q,
        role_set_t roles, role_by_t host_by)
{
    if (!roles)
        return ROLE_BY_NONE;
    if (!q->asn && !q->org && !q->country && !q->host)
        return ROLE_BY_ADDRESS; /* the address alone was asked: the roles are its */
    role_query_t n = *q;
    n.asn = 0;
    n.org = n.country = NULL;
    n.host = NULL;
    role_set_t by_addr = rules_roles_of(self->rules, site, &n);
    if (by_addr == roles)
        return ROLE_BY_ADDRESS;
    n.host = q->host;
    if (q->host && (rules_roles_of(self->rules, site, &n) & ~by_addr))
        return host_by;
    return ROLE_BY_ASN;
}

static void s_roles(verdict_ctx_t *self, const flow_t *f, const char *app, verdict_t *v)
{
    int o = f->orig, r = !f->orig;
    const ip_addr_t *addr[2] = {o ? &f->key.b : &f->key.a, r ? &f->key.b : &f->key.a};
    int site[2] = {f->site[o], f->site[r]};
    v->site = site[0] >= 0 ? site[0] : site[1];
    v->remote = site[0] < 0 ? 0 : site[1] < 0 ? 1 : -1;
    if (v->remote >= 0)
        geo_lookup(self->geo, addr[v->remote], &v->geo);
    for (int i = 0; i < 2; i++) {
        bool remote = i == v->remote;
        role_query_t q = {
                .addr = addr[i],
                .asn = remote ? v->geo.asn : 0,
                .org = remote && v->geo.org[0] ? v->geo.org : NULL,
                .country = remote && v->geo.country[0] ? v->geo.country : NULL,
                .host = i == 1 && f->host[0] ? f->host : NULL, /* the server's name */
                .app = app,
        };
        v->roles[i] = rules_roles_of(self->rules, site[i], &q);
        v->by[i] = s_role_by(self, site[i], &q, v->roles[i], s_host_by(f));
    }
}

static int s_https_violation(const rules_t *rules, const verdict_t *v, bool is_http)
{
    if (!is_http)
        return -1;
    for (size_t i = 0; i < rules_nreqs(rules); i++) {
        const requirement_t *q = rules_req(rules, i);
        if (q->kind != REQ_HTTPS_ONLY)
            continue;
        bool from = q->from < 0 ? v->roles[0] != 0 : (v->roles[0] >> q->from) & 1;
        bool to = q->to < 0 ? v->roles[1] != 0 : (v->roles[1] >> q->to) & 1;
        if (from && to)
            return (int)i;
    }
    return -1;
}

void verdict_judge(verdict_ctx_t *self, const flow_t *f, bool at_end, const verdict_hint_t *hint,
        verdict_t *out)
{
    memset(out, 0, sizeof *out);
    out->rule = out->reply_rule = out->nearest = out->violation = -1;
    bool is_http = hint && hint->is_http;
    s_roles(self, f, hint ? hint->app : NULL, out);
    if (out->site < 0) {
        out->kind = VERDICT_UNMONITORED;
        return;
    }
    const flow_key_t *k = &f->key;
    uint16_t sport = f->orig ? k->pb : k->pa, dport = f->orig ? k->pa : k->pb;
    out->violation = s_https_violation(self->rules, out, is_http);
    out->rule = rules_match(self->rules, k->proto, out->roles[0], sport, out->roles[1], dport);
    if (out->rule < 0) {
        out->kind = VERDICT_UNEXPECTED;
        out->nearest = rules_nearest(self->rules, k->proto, out->roles[0], sport, out->roles[1],
                dport, &out->near);
        return;
    }
    out->reason = s_failure(f, rules_rule(self->rules, (size_t)out->rule));
    if (hint && hint->is_media) {
        /* Media is no request: a flow that carried one way only is fine
         * when its call's other direction came on another flow (asymmetric
         * RTP, a re-INVITE, hold). In a one-way call, what failed is the
         * rule that lets the missing direction through. */
        if (hint->one_way) {
            out->reason = REASON_ONE_WAY_MEDIA;
            int rr = hint->missing_to_orig
                    ? rules_match(self->rules, k->proto, out->roles[1], dport, out->roles[0], sport)
                    : out->rule;
            if (rr >= 0)
                out->rule = rr;
        } else if (out->reason == REASON_NO_RESPONSE) {
            out->kind = VERDICT_ALLOWED;
            out->reason = REASON_NONE;
            return;
        }
    }
    if (out->reason == REASON_NONE) {
        out->kind = VERDICT_ALLOWED;
        /* Replies crossed the firewall too: they verify the inbound rule. */
        int rr = rules_match(self->rules, k->proto, out->roles[1], dport, out->roles[0], sport);
        out->reply_rule = rr != out->rule ? rr : -1;
        return;
    }
    bool answered_somehow = out->reason == REASON_RESET || out->reason == REASON_ICMP_UNREACHABLE ||
                            out->reason == REASON_TLS_INCOMPLETE;
    /* One-way media of an answered call: the 2xx came in, so inbound packets
     * do reach this mirror; the flow itself shows the failure. */
    if (!answered_somehow &&
            ((f->flags & FLOW_F_ONE_SIDED) || !s_inbound_seen(self, out->site))) {
        out->kind = VERDICT_ONE_SIDED;
        return;
    }
    /* A one-way call was judged on enough of it already (sensor/media.h). */
    if (at_end && out->reason != REASON_RESET && out->reason != REASON_ICMP_UNREACHABLE &&
            out->reason != REASON_ONE_WAY_MEDIA && f->first_us + self->end_window_us >= self->capture_end_us) {
        out->kind = VERDICT_CAPTURE_ENDED;
        return;
    }
    out->kind = VERDICT_BLOCKED;
}

const char *verdict_kind_str(verdict_kind_t k)
{
    static const char *const names[VERDICT_COUNT] = {"allowed", "blocked", "unexpected",
            "one_sided", "capture_ended", "unmonitored"};
    return (unsigned)k < VERDICT_COUNT ? names[k] : "unknown";
}

const char *verdict_role_by_str(role_by_t b)
{
    static const char *const names[ROLE_BY_COUNT] = {NULL, "address", "sni", "http_host", "dns",
            "asn"};
    return (unsigned)b < ROLE_BY_COUNT ? names[b] : NULL;
}

const char *verdict_reason_str(reason_t r)
{
    static const char *const names[REASON_COUNT] = {"", "no_answer", "reset", "icmp_unreachable",
            "tls_incomplete", "no_response", "one_way_media"};
    return (unsigned)r < REASON_COUNT ? names[r] : "unknown";
}
