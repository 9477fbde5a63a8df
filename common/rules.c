/* SPDX-License-Identifier: MIT */
/* rules.c: the expected rules table: lookups and flow-to-rule matching. */
#define _GNU_SOURCE /* strcasestr */
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules_internal.h"

rules_t *rules_new(void)
{
    return calloc(1, sizeof(rules_t));
}

static void s_free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void rules_destroy(rules_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rules_t *self = *self_p;
    for (size_t i = 0; i < self->nroles; i++) {
        free(self->roles[i].id);
        free(self->roles[i].name);
        free(self->roles[i].profile);
    }
    for (size_t i = 0; i < self->nrules; i++) {
        rule_t *r = &self->rules[i];
        free(r->id);
        free(r->profile);
        free(r->purpose);
        free(r->source);
        free(r->document);
        free(r->seed_direction);
        free(r->file);
    }
    free(self->rules);
    for (size_t i = 0; i < self->nreqs; i++) {
        requirement_t *q = &self->reqs[i];
        free(q->id);
        free(q->profile);
        free(q->text);
        free(q->source);
        free(q->document);
        s_free_strv(q->rules, q->nrules);
    }
    free(self->reqs);
    for (size_t i = 0; i < self->nsites; i++) {
        free(self->sites[i].name);
        free(self->sites[i].cidrs);
        free(self->sites[i].local);
        s_free_strv(self->sites[i].profiles, self->sites[i].nprofiles);
        free(self->sites[i].waived);
    }
    free(self->sites);
    for (size_t i = 0; i < self->nbindings; i++) {
        free(self->bindings[i].cidrs);
        s_free_strv(self->bindings[i].hosts, self->bindings[i].nhosts);
        free(self->bindings[i].asns);
        s_free_strv(self->bindings[i].orgs, self->bindings[i].norgs);
        s_free_strv(self->bindings[i].countries, self->bindings[i].ncountries);
        s_free_strv(self->bindings[i].apps, self->bindings[i].napps);
    }
    free(self->bindings);
    s_free_strv(self->profiles, self->nprofiles);
    free(self->sensor);
    free(self->inventory);
    free(self);
    *self_p = NULL;
}

rules_remap_t *rules_remap_new(const rules_t *from, const rules_t *to)
{
    rules_remap_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->nsites = from->nsites;
    m->nrules = from->nrules;
    m->nreqs = from->nreqs;
    m->to_nsites = to->nsites;
    m->to_nrules = to->nrules;
    m->to_nreqs = to->nreqs;
    m->site = calloc(from->nsites + 1, sizeof(int));
    m->rule = calloc(from->nrules + 1, sizeof(int));
    m->req = calloc(from->nreqs + 1, sizeof(int));
    if (!m->site || !m->rule || !m->req) {
        rules_remap_destroy(&m);
        return NULL;
    }
    for (size_t i = 0; i < from->nsites; i++) {
        m->site[i] = -1;
        for (size_t j = 0; j < to->nsites; j++)
            if (strcmp(from->sites[i].name, to->sites[j].name) == 0)
                m->site[i] = (int)j;
    }
    for (size_t i = 0; i < from->nrules; i++)
        m->rule[i] = rules_rule_index(to, from->rules[i].id);
    for (size_t i = 0; i < from->nreqs; i++) {
        m->req[i] = -1;
        for (size_t j = 0; j < to->nreqs; j++)
            if (strcmp(from->reqs[i].id, to->reqs[j].id) == 0)
                m->req[i] = (int)j;
    }
    return m;
}

void rules_remap_destroy(rules_remap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->site);
    free((*self_p)->rule);
    free((*self_p)->req);
    free(*self_p);
    *self_p = NULL;
}

int rules_remap_site(const rules_remap_t *m, int site)
{
    return site >= 0 && (size_t)site < m->nsites ? m->site[site] : -1;
}

int rules_remap_rule(const rules_remap_t *m, int rule)
{
    return rule >= 0 && (size_t)rule < m->nrules ? m->rule[rule] : -1;
}

size_t rules_nroles(const rules_t *self)
{
    return self->nroles;
}

const role_t *rules_role(const rules_t *self, size_t i)
{
    return i < self->nroles ? &self->roles[i] : NULL;
}

int rules_role_index(const rules_t *self, const char *id)
{
    for (size_t i = 0; i < self->nroles; i++)
        if (strcmp(self->roles[i].id, id) == 0)
            return (int)i;
    return -1;
}

int rules_rule_index(const rules_t *self, const char *id)
{
    for (size_t i = 0; i < self->nrules; i++)
        if (strcmp(self->rules[i].id, id) == 0)
            return (int)i;
    return -1;
}

size_t rules_nrules(const rules_t *self)
{
    return self->nrules;
}

const rule_t *rules_rule(const rules_t *self, size_t i)
{
    return i < self->nrules ? &self->rules[i] : NULL;
}

size_t rules_nreqs(const rules_t *self)
{
    return self->nreqs;
}

const requirement_t *rules_req(const rules_t *self, size_t i)
{
    return i < self->nreqs ? &self->reqs[i] : NULL;
}

size_t rules_nsites(const rules_t *self)
{
    return self->nsites;
}

const char *rules_site_name(const rules_t *self, size_t i)
{
    return i < self->nsites ? self->sites[i].name : NULL;
}

const char *rules_sensor_name(const rules_t *self)
{
    return self->sensor;
}

bool rules_uses_asn(const rules_t *self)
{
    for (size_t i = 0; i < self->nbindings; i++)
        if (self->bindings[i].nasns > 0)
            return true;
    return false;
}

bool rules_host_known(const rules_t *self, const char *host)
{
    for (size_t i = 0; i < self->nbindings; i++)
        for (size_t j = 0; j < self->bindings[i].nhosts; j++)
            if (str_host_match(self->bindings[i].hosts[j], host))
                return true;
    return false;
}

int rules_site_of(const rules_t *self, const ip_addr_t *addr)
{
    int best = -1, best_bits = -1;
    for (size_t i = 0; i < self->nsites; i++) {
        const site_t *s = &self->sites[i];
        for (size_t j = 0; j < s->ncidrs; j++) {
            if (s->cidrs[j].bits > best_bits && cidr_contains(&s->cidrs[j], addr)) {
                best = (int)i;
                best_bits = s->cidrs[j].bits;
            }
        }
    }
    return best;
}

static role_set_t s_site_roles(const rules_t *self, const site_t *s, const ip_addr_t *addr)
{
    role_set_t set = 0;
    bool bound[RULES_MAX_ROLES] = {false};
    for (size_t i = 0; i < s->nlocal; i++) {
        bound[s->local[i].role] = true;
        if (cidr_contains(&s->local[i].cidr, addr))
            set |= (role_set_t)1 << s->local[i].role;
    }
    /* A site-located role the site does not bind is played by every host of
     * the site: a small site rarely separates its phones from its PCs. */
    for (size_t r = 0; r < self->nroles; r++)
        if (self->roles[r].location == ROLE_AT_SITE && !bound[r])
            set |= (role_set_t)1 << r;
    return set;
}

/* "TLS.Microsoft" matches "TLS", "Microsoft" and "TLS.Microsoft". */
static bool s_app_match(const char *pattern, const char *app)
{
    size_t pl = strlen(pattern);
    for (const char *p = app; p && *p;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len == pl && strncasecmp(p, pattern, pl) == 0)
            return true;
        p = dot ? dot + 1 : NULL;
    }
    return strcasecmp(pattern, app) == 0;
}

static bool s_binding_hit(const binding_t *b, const role_query_t *q)
{
    bool hit = true;
    if (b->ncidrs) {
        bool any = false;
        for (size_t j = 0; j < b->ncidrs && !any; j++)
            any = cidr_contains(&b->cidrs[j], q->addr);
        hit = any;
    }
    if (hit && b->nasns) {
        bool any = false;
        for (size_t j = 0; j < b->nasns && !any && q->asn; j++)
            any = b->asns[j] == q->asn;
        hit = any;
    }
    if (hit && b->nhosts) {
        bool any = false;
        for (size_t j = 0; j < b->nhosts && !any && q->host; j++)
            any = str_host_match(b->hosts[j], q->host);
        hit = any;
    }
    if (hit && b->norgs) {
        bool any = false;
        for (size_t j = 0; j < b->norgs && !any && q->org; j++)
            any = strcasestr(q->org, b->orgs[j]) != NULL;
        hit = any;
    }
    if (hit && b->ncountries) {
        bool any = false;
        for (size_t j = 0; j < b->ncountries && !any && q->country; j++)
            any = strcasecmp(b->countries[j], q->country) == 0;
        hit = any;
    }
    if (hit && b->napps) {
        bool any = false;
        for (size_t j = 0; j < b->napps && !any && q->app; j++)
            any = s_app_match(b->apps[j], q->app);
        hit = any;
    }
    return hit;
}

role_set_t rules_roles_of(const rules_t *self, int site, const role_query_t *q)
{
    role_set_t set = 0;
    if (site >= 0 && (size_t)site < self->nsites)
        set |= s_site_roles(self, &self->sites[site], q->addr);
    for (size_t i = 0; i < self->nbindings; i++)
        if (s_binding_hit(&self->bindings[i], q))
            set |= (role_set_t)1 << self->bindings[i].role;
    return set;
}

const char *rules_roles_str(const rules_t *self, role_set_t set, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t r = 0; r < self->nroles && off < n; r++) {
        if (!(set & ((role_set_t)1 << r)))
            continue;
        int w = snprintf(buf + off, n - off, "%s%s", off ? "," : "", self->roles[r].id);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    return buf;
}

static bool s_in(const port_range_t *p, uint16_t port)
{
    return port >= p->lo && port <= p->hi;
}

static bool s_has(role_set_t set, int role)
{
    return role >= 0 && (set & ((role_set_t)1 << role));
}

static unsigned s_width(const rule_t *r)
{
    return (unsigned)(r->from_ports.hi - r->from_ports.lo) + (unsigned)(r->to_ports.hi - r->to_ports.lo);
}

static bool s_matches(const rule_t *r, uint8_t proto, role_set_t src, uint16_t sport,
        role_set_t dst, uint16_t dport)
{
    if (r->proto != proto)
        return false;
    if (s_has(src, r->from) && s_has(dst, r->to) && s_in(&r->from_ports, sport) &&
            s_in(&r->to_ports, dport))
        return true;
    /* "either" rules may be opened from the `to` side, ports swapped. */
    return r->either && s_has(src, r->to) && s_has(dst, r->from) && s_in(&r->to_ports, sport) &&
           s_in(&r->from_ports, dport);
}

int rules_match(const rules_t *self, uint8_t proto, role_set_t src, uint16_t sport,
        role_set_t dst, uint16_t dport)
{
    int best = -1;
    for (size_t i = 0; i < self->nrules; i++) {
        const rule_t *r = &self->rules[i];
        if (!s_matches(r, proto, src, sport, dst, dport))
            continue;
        /* Prefer the narrowest rule, then the primary view of a flow. */
        if (best < 0 || s_width(r) < s_width(&self->rules[best]) ||
                (s_width(r) == s_width(&self->rules[best]) && r->primary == (int)i &&
                        self->rules[best].primary != best))
            best = (int)i;
    }
    return best < 0 ? -1 : self->rules[best].primary;
}

int rules_nearest(const rules_t *self, uint8_t proto, role_set_t src, uint16_t sport,
        role_set_t dst, uint16_t dport, near_kind_t *why)
{
    (void)sport; /* client ports are rarely what a rule gets wrong */
    *why = NEAR_NONE;
    for (size_t i = 0; i < self->nrules; i++) {
        const rule_t *r = &self->rules[i];
        if (r->proto == proto && ((s_has(src, r->from) && s_has(dst, r->to)) ||
                                         (r->either && s_has(src, r->to) && s_has(dst, r->from)))) {
            *why = NEAR_PORT;
            return r->primary;
        }
    }
    for (size_t i = 0; i < self->nrules; i++) {
        const rule_t *r = &self->rules[i];
        if (r->proto == proto && s_has(src, r->to) && s_has(dst, r->from) &&
                s_in(&r->from_ports, dport)) {
            *why = NEAR_DIRECTION;
            return r->primary;
        }
    }
    for (size_t i = 0; i < self->nrules; i++) {
        const rule_t *r = &self->rules[i];
        if (r->proto != proto && s_has(src, r->from) && s_has(dst, r->to) &&
                s_in(&r->to_ports, dport)) {
            *why = NEAR_TRANSPORT;
            return r->primary;
        }
    }
    return -1;
}

const char *rules_near_str(near_kind_t why)
{
    switch (why) {
        case NEAR_PORT:
            return "port";
        case NEAR_DIRECTION:
            return "direction";
        case NEAR_TRANSPORT:
            return "transport";
        default:
            return "none";
    }
}

bool rules_waived(const rules_t *self, size_t site, size_t rule)
{
    if (site >= self->nsites)
        return false;
    for (size_t i = 0; i < self->sites[site].nwaived; i++)
        if (self->sites[site].waived[i] == (int)rule)
            return true;
    return false;
}

int rules_check_apps(const rules_t *self, bool (*known)(void *ctx, const char *name), void *ctx,
        char *err, size_t errlen)
{
    for (size_t i = 0; i < self->nbindings; i++) {
        const binding_t *b = &self->bindings[i];
        for (size_t j = 0; j < b->napps; j++)
            if (!known(ctx, b->apps[j])) {
                snprintf(err, errlen, "%s:%d: role '%s': '%s' is not an application nDPI "
                                      "knows: write an nDPI protocol name such as TLS, HTTP, "
                                      "SIP or RTP ('ndpiReader -h' lists them)",
                        self->inventory ? self->inventory : "inventory", b->apps_line,
                        self->roles[b->role].id, b->apps[j]);
                return -1;
            }
    }
    return 0;
}

bool rules_applies_to_site(const rules_t *self, size_t site, size_t rule)
{
    if (site >= self->nsites || rule >= self->nrules)
        return false;
    const rule_t *r = &self->rules[rule];
    const site_t *s = &self->sites[site];
    if (s->profiles) {
        bool used = false;
        for (size_t i = 0; i < s->nprofiles && !used; i++)
            used = strcmp(s->profiles[i], r->profile) == 0;
        if (!used)
            return false;
    }
    return self->roles[r->from].location == ROLE_AT_SITE ||
           self->roles[r->to].location == ROLE_AT_SITE;
}

const char *rules_req_kind_str(req_kind_t k)
{
    static const char *const names[REQ_KIND_COUNT] = {"consistent_nat", "no_sip_alg",
            "https_only", "ports_open"};
    return (unsigned)k < REQ_KIND_COUNT ? names[k] : "unknown";
}

rules_t *rules_load_all(const char *const *profiles, size_t nprofiles, const char *inventory,
        char *err, size_t errlen)
{
    rules_t *rs = rules_new();
    if (!rs) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < nprofiles; i++)
        if (rules_load_profiles(rs, profiles[i], err, errlen) != 0)
            goto fail;
    if (rules_load_inventory(rs, inventory, err, errlen) != 0)
        goto fail;
    return rs;
fail:
    rules_destroy(&rs);
    return NULL;
}
