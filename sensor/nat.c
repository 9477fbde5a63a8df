/* SPDX-License-Identifier: MIT */
/* nat.c: NAT consistency between a phone's SIP REGISTERs.
 *
 * Bindings
 * --------
 * A binding is one device's registration: its site, its address-of-record
 * (the To URI of its REGISTERs) and the device itself (the Contact's
 * +sip.instance, else the Contact URI, which carries the private address a
 * phone behind NAT puts there). Bindings live in a bounded open-addressing
 * table keyed by a 64-bit hash of those three; a second table finds a binding
 * from a Call-ID, for the registrar's responses.
 *
 * Two vantages
 * ------------
 * Outside the NAT, a REGISTER's packet source differs from the sent-by of
 * its top Via: the source is the public mapping. Inside, they are equal, and
 * the public mapping appears only in the registrar's 2xx response, in the
 * Via's received= and rport= (RFC 3581). A phone that did not ask for rport
 * gets no port back: the inside view cannot judge it (counted as no_rport).
 * Each vantage keeps its own last observation, so inside and outside
 * captures of one site can be read together.
 *
 * When two REGISTERs are compared
 * -------------------------------
 * Only consecutive REGISTERs of one binding with the same Call-ID and a
 * rising CSeq, less than twice the registration interval apart (Expires,
 * at least 60 s). A new Call-ID or a CSeq that starts again is a reboot; a
 * longer gap is a lapsed registration: neither is a NAT change, the
 * comparison starts again. A retransmission (same CSeq) is not compared. */
#include "nat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    bool valid;
    char call_id[128];
    uint32_t cseq;
    uint64_t ts_us;
    int64_t expires;
    ip_addr_t pub;
    uint16_t pub_port;
} view_t;

typedef struct {
    uint64_t key;        /* 0: empty slot */
    int site;
    char aor[128];
    view_t view[2];      /* NAT_INSIDE, NAT_OUTSIDE */
    /* inside: the last REGISTER seen, waiting for its response */
    char req_call_id[128];
    uint32_t req_cseq;
    int64_t req_expires;
    bool req_rport;
    ip_addr_t priv;
    uint16_t priv_port;
    bool has_priv;
} binding_t;

typedef struct {
    uint64_t hash;       /* of the Call-ID, or of a public ip:port; 0: empty */
    uint32_t binding;
} callid_t;

struct nat {
    binding_t *b;
    callid_t *calls;
    callid_t *maps;      /* public mappings seen outside -> binding */
    uint32_t nmaps;
    uint32_t cap;        /* power of two, twice max_bindings */
    uint32_t max, used;
    uint64_t dropped;
    nat_site_stats_t *sites;
    int nsites;
    nat_change_fn *cb;
    void *ctx;
};

static uint64_t s_hash_str(uint64_t h, sip_str_t s)
{
    return hash_fnv(h, s.p, s.len);
}

nat_t *nat_new(uint32_t max_bindings, int nsites, nat_change_fn *cb, void *ctx)
{
    nat_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    uint32_t cap = 16;
    while (cap < 2 * max_bindings)
        cap <<= 1;
    self->cap = cap;
    self->max = max_bindings;
    self->b = calloc(cap, sizeof(binding_t));
    self->calls = calloc(cap, sizeof(callid_t));
    self->maps = calloc(cap, sizeof(callid_t));
    self->nsites = nsites;
    self->sites = calloc((size_t)(nsites > 0 ? nsites : 1) + 1, sizeof(nat_site_stats_t));
    self->cb = cb;
    self->ctx = ctx;
    if (!self->b || !self->calls || !self->maps || !self->sites)
        nat_destroy(&self);
    return self;
}

void nat_destroy(nat_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->b);
    free((*self_p)->calls);
    free((*self_p)->maps);
    free((*self_p)->sites);
    free(*self_p);
    *self_p = NULL;
}

/* Per-site counters; site -1 (no site) has its own slot at the end. */
static nat_site_stats_t *s_site(nat_t *self, int site)
{
    return &self->sites[site >= 0 && site < self->nsites ? site : self->nsites];
}

static binding_t *s_binding(nat_t *self, uint64_t key, bool create)
{
    key |= 1; /* never 0 */
    for (uint32_t i = (uint32_t)key & (self->cap - 1);; i = (i + 1) & (self->cap - 1)) {
        if (self->b[i].key == key)
            return &self->b[i];
        if (self->b[i].key == 0) {
            if (!create)
                return NULL;
            if (self->used >= self->max) {
                self->dropped++;
                return NULL;
            }
            self->used++;
            self->b[i].key = key;
            return &self->b[i];
        }
    }
}

static void s_callid_put(nat_t *self, sip_str_t call_id, binding_t *b)
{
    uint64_t h = s_hash_str(HASH_FNV_INIT, call_id) | 1;
    for (uint32_t i = (uint32_t)h & (self->cap - 1);; i = (i + 1) & (self->cap - 1)) {
        if (self->calls[i].hash == 0 || self->calls[i].hash == h) {
            self->calls[i].hash = h;
            self->calls[i].binding = (uint32_t)(b - self->b);
            return;
        }
    }
}

static binding_t *s_callid_get(nat_t *self, sip_str_t call_id)
{
    uint64_t h = s_hash_str(HASH_FNV_INIT, call_id) | 1;
    for (uint32_t i = (uint32_t)h & (self->cap - 1);; i = (i + 1) & (self->cap - 1)) {
        if (self->calls[i].hash == 0)
            return NULL;
        if (self->calls[i].hash == h)
            return &self->b[self->calls[i].binding];
    }
}

static uint64_t s_map_hash(const ip_addr_t *a, uint16_t port)
{
    return hash_fnv(hash_fnv(HASH_FNV_INIT, a->b, 16), &port, sizeof port) | 1;
}

/* Remembers which binding used a public mapping (the newest user wins). The
 * table keeps at most half its slots so that lookups end; when it is that
 * full, new mappings are not remembered. */
static void s_map_put(nat_t *self, const ip_addr_t *a, uint16_t port, binding_t *b)
{
    uint64_t h = s_map_hash(a, port);
    for (uint32_t i = (uint32_t)h & (self->cap - 1);; i = (i + 1) & (self->cap - 1)) {
        if (self->maps[i].hash == h) {
            self->maps[i].binding = (uint32_t)(b - self->b);
            return;
        }
        if (self->maps[i].hash == 0) {
            if (self->nmaps >= self->cap / 2)
                return;
            self->nmaps++;
            self->maps[i] = (callid_t){h, (uint32_t)(b - self->b)};
            return;
        }
    }
}

static binding_t *s_map_get(nat_t *self, const ip_addr_t *a, uint16_t port)
{
    uint64_t h = s_map_hash(a, port);
    for (uint32_t i = (uint32_t)h & (self->cap - 1);; i = (i + 1) & (self->cap - 1)) {
        if (self->maps[i].hash == 0)
            return NULL;
        if (self->maps[i].hash == h)
            return &self->b[self->maps[i].binding];
    }
}

static void s_endpoint(char *buf, size_t n, const ip_addr_t *a, uint16_t port)
{
    char ip[64];
    ip_to_str(a, ip, sizeof ip);
    snprintf(buf, n, ip_is_v4(a) ? "%s:%u" : "[%s]:%u", ip, port);
}

/* Compares a new observation of a binding's public mapping with the last. */
/* The registration interval a REGISTER asks for (Expires, else the
 * Contact's expires=, else the RFC 3261 default of 3600 s). */
static int64_t s_expires(const sip_msg_t *m)
{
    return m->expires >= 0 ? m->expires : m->contact_expires >= 0 ? m->contact_expires : 3600;
}

/* Compares a new observation of a binding's public mapping with the last.
 * `expires` is the interval the REGISTER asked for (a response may not say). */
static void s_observe(nat_t *self, binding_t *b, nat_vantage_t vtg, const sip_msg_t *m,
        int64_t expires, const ip_addr_t *pub, uint16_t pub_port, uint64_t ts_us)
{
    view_t *v = &b->view[vtg];
    nat_site_stats_t *st = s_site(self, b->site);
    bool same_call = v->valid && sip_str_eq(m->call_id, v->call_id);
    uint64_t window = (uint64_t)(expires < 30 ? 60 : 2 * expires) * 1000000u;
    if (v->valid && same_call && m->cseq == v->cseq)
        return; /* a retransmission, or the response to one */
    if (v->valid && (!same_call || m->cseq < v->cseq)) {
        st->reboots++;
    } else if (v->valid && ts_us > v->ts_us + window) {
        st->silences++;
    } else if (v->valid) {
        st->comparisons++;
        if (v->pub_port != pub_port || memcmp(&v->pub, pub, sizeof *pub) != 0) {
            st->changes++;
            nat_change_t c;
            memset(&c, 0, sizeof c);
            c.site = b->site;
            c.vantage = vtg;
            str_copy(c.aor, b->aor, sizeof c.aor);
            sip_str_copy(m->call_id, c.call_id, sizeof c.call_id);
            if (b->has_priv)
                s_endpoint(c.priv, sizeof c.priv, &b->priv, b->priv_port);
            s_endpoint(c.old_public, sizeof c.old_public, &v->pub, v->pub_port);
            s_endpoint(c.new_public, sizeof c.new_public, pub, pub_port);
            c.old_us = v->ts_us;
            c.new_us = ts_us;
            if (self->cb)
                self->cb(&c, self->ctx);
        }
    }
    v->valid = true;
    sip_str_copy(m->call_id, v->call_id, sizeof v->call_id);
    v->cseq = m->cseq;
    v->ts_us = ts_us;
    v->pub = *pub;
    v->pub_port = pub_port;
}

static void s_register(nat_t *self, const sip_msg_t *m, const ip_addr_t *src, uint16_t sport,
        int site, uint64_t ts_us)
{
    if (!m->to_uri.len || !m->call_id.len || m->nvia == 0)
        return;
    sip_str_t dev = m->instance.len ? m->instance : m->contact_uri;
    uint64_t key = hash_fnv(HASH_FNV_INIT, &site, sizeof site);
    key = s_hash_str(s_hash_str(key, m->to_uri), dev);
    binding_t *b = s_binding(self, key, true);
    if (!b)
        return;
    s_site(self, site)->registers++;
    b->site = site;
    if (!b->aor[0])
        sip_str_copy(m->to_uri, b->aor, sizeof b->aor);
    s_callid_put(self, m->call_id, b);
    /* Outside the NAT the packet's source is not the top Via's sent-by. */
    char host[64];
    ip_addr_t via_ip;
    bool via_is_ip = ip_parse(sip_str_copy(m->via[0].host, host, sizeof host), &via_ip);
    uint16_t via_port = m->via[0].port ? m->via[0].port : 5060;
    if (via_is_ip && (memcmp(&via_ip, src, sizeof via_ip) != 0 || via_port != sport)) {
        b->priv = via_ip;
        b->priv_port = via_port;
        b->has_priv = true;
        s_observe(self, b, NAT_OUTSIDE, m, s_expires(m), src, sport, ts_us);
        s_map_put(self, src, sport, b);
        return;
    }
    /* Inside: remember the request; its response carries the mapping. */
    b->priv = *src;
    b->priv_port = sport;
    b->has_priv = true;
    sip_str_copy(m->call_id, b->req_call_id, sizeof b->req_call_id);
    b->req_cseq = m->cseq;
    b->req_expires = s_expires(m);
    b->req_rport = m->via[0].rport;
    if (!b->req_rport)
        s_site(self, site)->no_rport++;
}

static void s_response(nat_t *self, const sip_msg_t *m, const ip_addr_t *dst, uint16_t dport,
        uint64_t ts_us)
{
    binding_t *b = s_callid_get(self, m->call_id);
    if (!b || !sip_str_eq(m->call_id, b->req_call_id) || m->cseq != b->req_cseq || m->nvia == 0)
        return;
    /* Only the inside view: the response goes to the private address. */
    if (!b->has_priv || b->priv_port != dport || memcmp(&b->priv, dst, sizeof *dst) != 0)
        return;
    const sip_via_t *via = &m->via[0];
    if (!b->req_rport || !via->rport || via->rport_value == 0)
        return; /* no port to judge by */
    char host[64];
    ip_addr_t pub;
    sip_str_t h = via->received.len ? via->received : via->host;
    if (!ip_parse(sip_str_copy(h, host, sizeof host), &pub))
        return;
    s_observe(self, b, NAT_INSIDE, m, b->req_expires, &pub, via->rport_value, ts_us);
}

void nat_sip(nat_t *self, const sip_msg_t *m, const ip_addr_t *src, uint16_t sport,
        const ip_addr_t *dst, uint16_t dport, int site, uint64_t ts_us)
{
    if (!sip_str_eq(m->method, "REGISTER"))
        return;
    if (m->is_request)
        s_register(self, m, src, sport, site, ts_us);
    else if (m->status >= 200 && m->status < 300)
        s_response(self, m, dst, dport, ts_us);
}

bool nat_invite(nat_t *self, const sip_msg_t *m, const ip_addr_t *dst, uint16_t dport,
        uint64_t ts_us, nat_stale_t *out)
{
    if (!m->is_request || !sip_str_eq(m->method, "INVITE"))
        return false;
    binding_t *b = s_map_get(self, dst, dport);
    if (!b)
        return false;
    const view_t *v = &b->view[NAT_OUTSIDE];
    if (!v->valid || (v->pub_port == dport && memcmp(&v->pub, dst, sizeof *dst) == 0))
        return false; /* the mapping in use: nothing wrong */
    memset(out, 0, sizeof *out);
    out->site = b->site;
    str_copy(out->aor, b->aor, sizeof out->aor);
    sip_str_copy(m->call_id, out->call_id, sizeof out->call_id);
    s_endpoint(out->target, sizeof out->target, dst, dport);
    s_endpoint(out->current, sizeof out->current, &v->pub, v->pub_port);
    out->ts_us = ts_us;
    return true;
}

void nat_site_stats(const nat_t *self, int site, nat_site_stats_t *out)
{
    *out = self->sites[site >= 0 && site < self->nsites ? site : self->nsites];
}

uint64_t nat_dropped(const nat_t *self)
{
    return self->dropped;
}
