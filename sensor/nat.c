/* SPDX-License-Identifier: MIT */
/* nat.c: NAT consistency between a phone's SIP REGISTERs.
 *
 * Bindings
 * --------
 * A binding is one device's registration: its site, its address-of-record
 * (the To URI of its REGISTERs) and the device itself (the Contact's
 * +sip.instance, else the Contact URI, which carries the private address a
 * phone behind NAT puts there). Bindings live in a bounded table
 * (common/lrutab.h) keyed by a keyed hash of those three; a second table
 * finds a binding from a Call-ID, for the registrar's responses, and a third
 * from a public mapping seen outside, for INVITEs sent to it.
 *
 * Lifetimes
 * ---------
 * A binding lives as long as its registration could: twice the interval its
 * REGISTER asked for (at least 60 s, the window below) plus a grace of 60 s,
 * counted from its last REGISTER. Its Call-IDs and mappings live as long as
 * it did when they were last seen. nat_expire frees what outlived that; when
 * a table is full, the entry refreshed longest ago makes room. The Call-ID
 * and mapping entries name their binding by index and key, so one whose
 * binding has gone (or whose slot serves another phone now) is ignored.
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
 * comparison starts again. A retransmission (same CSeq) is not compared,
 * nor counted again.
 *
 * Phones behind NAT in any SIP
 * ----------------------------
 * Besides REGISTERs, every request and response shows a NAT when the phone
 * is behind one: outside, a request's source differs from its top Via's
 * sent-by; inside, the answer's top Via says received=/rport= other than
 * the sent-by it goes back to. A fourth table (phones: site + private
 * ip:port, an hour after last seen) keeps each vantage's last public
 * mapping and reports it when first learned and when it changes
 * (nat_binding_t). A NAT changes the address: a port alone that differs
 * is one host using several sockets, and a public sent-by behind a private
 * source is a host told its public address, neither a phone behind NAT.
 * Over TCP, TLS or WebSocket the mapping is the address alone (a
 * connection's source port is not its sent-by port by design). These observations
 * do not judge consistency (only REGISTERs of one registration are
 * compared); they show which phones are behind NAT, and where. */
#include "nat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define NAT_GRACE_US (60ull * 1000000u)
#define NAT_PHONE_US (3600ull * 1000000u) /* a phone behind NAT, after last seen */

typedef struct {
    uint64_t key;        /* 0: free */
    int site;
    ip_addr_t priv;
    uint16_t priv_port;
    bool valid[2];       /* per vantage */
    ip_addr_t pub[2];
    uint16_t pub_port[2];
} phone_t;

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
    uint64_t key;        /* its key in the bindings table; 0: free */
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

/* A Call-ID or a public ip:port -> the binding that used it. */
typedef struct {
    uint32_t binding;
    uint64_t bkey;       /* the binding's key then */
} ref_t;

struct nat {
    binding_t *b;
    lrutab_t *bt;        /* bindings */
    ref_t *calls;
    lrutab_t *ct;        /* Call-IDs -> binding */
    ref_t *maps;
    lrutab_t *mt;        /* public mappings seen outside -> binding */
    nat_site_stats_t *sites;
    int nsites;
    /* What a binding's key says of its site: stays the same when a reload
     * moves the site to another index (nat_remap_sites). */
    uint64_t *site_ids;
    uint64_t next_site_id;
    phone_t *ph;
    lrutab_t *pt;        /* phones seen behind NAT */
    nat_binding_fn *bcb;
    void *bctx;
    nat_change_fn *cb;
    void *ctx;
};

static void s_phone_end(uint32_t idx, lrutab_end_t why, void *ctx)
{
    (void)why;
    nat_t *self = ctx;
    self->ph[idx].key = 0;
}

/* A binding leaves its table: its slot is free until reused. */
static void s_binding_end(uint32_t idx, lrutab_end_t why, void *ctx)
{
    (void)why;
    nat_t *self = ctx;
    self->b[idx].key = 0;
}

nat_t *nat_new(uint32_t max_bindings, int nsites, nat_change_fn *cb, void *ctx)
{
    if (max_bindings == 0 || max_bindings > (1u << 29))
        return NULL;
    nat_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    /* A binding changes Call-ID when its phone reboots, and mappings when
     * its NAT moves it: room for two of each per binding. */
    uint32_t nrefs = 2 * max_bindings;
    self->b = calloc(max_bindings, sizeof(binding_t));
    self->bt = lrutab_new(max_bindings, s_binding_end, self);
    self->calls = calloc(nrefs, sizeof(ref_t));
    self->ct = lrutab_new(nrefs, NULL, NULL);
    self->maps = calloc(nrefs, sizeof(ref_t));
    self->mt = lrutab_new(nrefs, NULL, NULL);
    self->ph = calloc(max_bindings, sizeof(phone_t));
    self->pt = lrutab_new(max_bindings, s_phone_end, self);
    self->nsites = nsites;
    self->sites = calloc((size_t)(nsites > 0 ? nsites : 1) + 1, sizeof(nat_site_stats_t));
    self->site_ids = calloc((size_t)(nsites > 0 ? nsites : 1), sizeof(uint64_t));
    for (int i = 0; self->site_ids && i < nsites; i++)
        self->site_ids[i] = (uint64_t)i;
    self->next_site_id = (uint64_t)(nsites > 0 ? nsites : 0);
    self->cb = cb;
    self->ctx = ctx;
    if (!self->b || !self->bt || !self->calls || !self->ct || !self->maps || !self->mt ||
            !self->sites || !self->site_ids || !self->ph || !self->pt)
        nat_destroy(&self);
    return self;
}

void nat_destroy(nat_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->b);
    lrutab_destroy(&(*self_p)->bt);
    free((*self_p)->calls);
    lrutab_destroy(&(*self_p)->ct);
    free((*self_p)->maps);
    lrutab_destroy(&(*self_p)->mt);
    free((*self_p)->sites);
    free((*self_p)->site_ids);
    lrutab_destroy(&(*self_p)->pt);
    free((*self_p)->ph);
    free(*self_p);
    *self_p = NULL;
}

/* Per-site counters; site -1 (no site) has its own slot at the end. */
static nat_site_stats_t *s_site(nat_t *self, int site)
{
    return &self->sites[site >= 0 && site < self->nsites ? site : self->nsites];
}

/* The binding of key, refreshed to live until `deadline`; created if
 * absent (the stalest makes room when the table is full). */
static binding_t *s_binding(nat_t *self, uint64_t key, uint64_t deadline)
{
    key |= 1; /* never 0: 0 marks a free slot */
    uint32_t i = lrutab_find(self->bt, key);
    if (i != LRUTAB_NONE) {
        lrutab_touch(self->bt, i, deadline);
        return &self->b[i];
    }
    i = lrutab_add(self->bt, key, deadline);
    memset(&self->b[i], 0, sizeof self->b[i]);
    self->b[i].key = key;
    return &self->b[i];
}

/* Points key (a Call-ID's or a mapping's) at binding b, for as long as b
 * now lives (the newest user wins). */
static void s_ref_put(nat_t *self, lrutab_t *t, ref_t *refs, uint64_t key, const binding_t *b)
{
    uint32_t bi = (uint32_t)(b - self->b);
    uint64_t deadline = lrutab_deadline(self->bt, bi);
    uint32_t i = lrutab_find(t, key);
    if (i == LRUTAB_NONE)
        i = lrutab_add(t, key, deadline);
    else
        lrutab_touch(t, i, deadline);
    refs[i] = (ref_t){bi, b->key};
}

/* The binding key names, if it is still the one that used it. */
static binding_t *s_ref_get(nat_t *self, const lrutab_t *t, const ref_t *refs, uint64_t key)
{
    uint32_t i = lrutab_find(t, key);
    if (i == LRUTAB_NONE || self->b[refs[i].binding].key != refs[i].bkey)
        return NULL;
    return &self->b[refs[i].binding];
}

/* A keyed hash naming the site by its id, which a reload keeps (not its
 * index, which a reload may change): the start of every per-site key. */
static uint64_t s_site_key(const nat_t *self, int site)
{
    uint64_t sid = site >= 0 && site < self->nsites ? self->site_ids[site] : UINT64_MAX;
    return hash_keyed(&sid, sizeof sid);
}

static uint64_t s_callid_key(sip_str_t call_id)
{
    return hash_keyed(call_id.p, call_id.len);
}

static uint64_t s_map_key(const ip_addr_t *a, uint16_t port)
{
    return hash_keyed_more(hash_keyed(a->b, 16), &port, sizeof port);
}

static void s_endpoint(char *buf, size_t n, const ip_addr_t *a, uint16_t port)
{
    char ip[64];
    ip_to_str(a, ip, sizeof ip);
    snprintf(buf, n, ip_is_v4(a) ? "%s:%u" : "[%s]:%u", ip, port);
}

/* The registration interval a REGISTER asks for (Expires, else the
 * Contact's expires=, else the RFC 3261 default of 3600 s). */
static int64_t s_expires(const sip_msg_t *m)
{
    return m->expires >= 0 ? m->expires : m->contact_expires >= 0 ? m->contact_expires : 3600;
}

/* How long a binding's REGISTERs are compared: twice the interval asked
 * for, at least 60 s. */
static uint64_t s_window(int64_t expires)
{
    return (uint64_t)(expires < 30 ? 60 : 2 * expires) * 1000000u;
}

/* Compares a new observation of a binding's public mapping with the last.
 * `expires` is the interval the REGISTER asked for (a response may not say). */
static void s_observe(nat_t *self, binding_t *b, nat_vantage_t vtg, const sip_msg_t *m,
        int64_t expires, const ip_addr_t *pub, uint16_t pub_port, uint64_t ts_us)
{
    view_t *v = &b->view[vtg];
    nat_site_stats_t *st = s_site(self, b->site);
    bool same_call = v->valid && sip_str_eq(m->call_id, v->call_id);
    uint64_t window = s_window(expires);
    if (v->valid && same_call && m->cseq == v->cseq)
        return; /* a retransmission, or the response to one */
    if (v->valid && (!same_call || m->cseq < v->cseq)) {
        st->reboots++;
    } else if (v->valid && ts_us > v->ts_us + window) {
        st->silences++;
    } else if (v->valid) {
        st->comparisons++;
        st->comparisons_v[vtg]++;
        if (v->pub_port != pub_port || memcmp(&v->pub, pub, sizeof *pub) != 0) {
            st->changes++;
            st->changes_v[vtg]++;
            nat_change_t c;
            memset(&c, 0, sizeof c);
            c.site = b->site;
            c.vantage = vtg;
            str_copy(c.aor, b->aor, sizeof c.aor);
            sip_str_copy(m->call_id, c.call_id, sizeof c.call_id);
            c.cseq = m->cseq; /* inside: the 2xx's CSeq, the REGISTER's own */
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
    uint64_t key = s_site_key(self, site);
    key = hash_keyed_more(hash_keyed_more(key, m->to_uri.p, m->to_uri.len), dev.p, dev.len);
    binding_t *b = s_binding(self, key, ts_us + s_window(s_expires(m)) + NAT_GRACE_US);
    /* A retransmission (or the other vantage's copy) is the same REGISTER. */
    const view_t *out = &b->view[NAT_OUTSIDE];
    bool again = (sip_str_eq(m->call_id, b->req_call_id) && m->cseq == b->req_cseq) ||
                 (out->valid && sip_str_eq(m->call_id, out->call_id) && m->cseq == out->cseq);
    if (!again)
        s_site(self, site)->registers++;
    b->site = site;
    if (!b->aor[0])
        sip_str_copy(m->to_uri, b->aor, sizeof b->aor);
    s_ref_put(self, self->ct, self->calls, s_callid_key(m->call_id), b);
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
        s_ref_put(self, self->mt, self->maps, s_map_key(src, sport), b);
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
    if (!b->req_rport && !again)
        s_site(self, site)->no_rport++;
}

/* The top Via's sent-by as an address (false: a host name, or none). */
static bool s_sent_by(const sip_msg_t *m, ip_addr_t *ip, uint16_t *port)
{
    char host[64];
    if (m->nvia == 0 || !ip_parse(sip_str_copy(m->via[0].host, host, sizeof host), ip))
        return false;
    *port = m->via[0].port ? m->via[0].port : 5060;
    return true;
}

/* Over a connection (TCP, TLS, WebSocket) the source port is not the
 * sent-by port, NAT or not: only addresses count there. */
static bool s_stream_transport(const sip_msg_t *m)
{
    return m->nvia && !sip_str_eq(m->via[0].transport, "UDP");
}

/* A phone (site, private priv:pport) seen behind NAT from vantage vtg with
 * public mapping pub:pubport: learned, refreshed, or changed. */
static void s_phone(nat_t *self, const sip_msg_t *m, int site, nat_vantage_t vtg,
        const ip_addr_t *priv, uint16_t pport, const ip_addr_t *pub, uint16_t pubport,
        uint64_t ts_us)
{
    uint64_t key = hash_keyed_more(hash_keyed_more(s_site_key(self, site), priv->b, 16), &pport,
                           sizeof pport) | 1;
    uint32_t i = lrutab_find(self->pt, key);
    nat_site_stats_t *st = s_site(self, site);
    if (i == LRUTAB_NONE) {
        i = lrutab_add(self->pt, key, ts_us + NAT_PHONE_US);
        memset(&self->ph[i], 0, sizeof self->ph[i]);
        self->ph[i] = (phone_t){.key = key, .site = site, .priv = *priv, .priv_port = pport};
        st->behind_nat++;
    } else {
        lrutab_touch(self->pt, i, ts_us + NAT_PHONE_US);
    }
    phone_t *p = &self->ph[i];
    bool known = p->valid[vtg];
    if (known && p->pub_port[vtg] == pubport && memcmp(&p->pub[vtg], pub, sizeof *pub) == 0)
        return;
    nat_binding_t nb;
    memset(&nb, 0, sizeof nb);
    if (known) {
        st->mapping_changes++;
        s_endpoint(nb.old_public, sizeof nb.old_public, &p->pub[vtg], p->pub_port[vtg]);
    }
    p->valid[vtg] = true;
    p->pub[vtg] = *pub;
    p->pub_port[vtg] = pubport;
    if (!self->bcb)
        return;
    nb.site = site;
    nb.vantage = vtg;
    s_endpoint(nb.priv, sizeof nb.priv, priv, pport);
    s_endpoint(nb.public_, sizeof nb.public_, pub, pubport);
    sip_str_copy(m->method, nb.method, sizeof nb.method);
    sip_str_copy(m->call_id, nb.call_id, sizeof nb.call_id);
    nb.ts_us = ts_us;
    self->bcb(&nb, self->bctx);
}

/* No NAT hands out a loopback source: a capture on a host's own loopback. */
static bool s_loopback(const ip_addr_t *a)
{
    static const uint8_t v6[16] = {[15] = 1};
    return (ip_is_v4(a) && a->b[12] == 127) || memcmp(a->b, v6, 16) == 0;
}

/* Outside: a request whose source is not its sent-by left through a NAT. */
static void s_request_nat(nat_t *self, const sip_msg_t *m, const ip_addr_t *src, uint16_t sport,
        int site, uint64_t ts_us)
{
    ip_addr_t via;
    uint16_t vport;
    if (!s_sent_by(m, &via, &vport))
        return;
    /* A NAT changes the address. The same address from another port is one
     * host using several sockets (public captures show phones doing so);
     * a public sent-by sent from a private source is a host told its public
     * address (a cloud instance's 1:1 NAT), not a phone behind a NAT. */
    if (memcmp(&via, src, sizeof via) == 0 || (ip_is_private(src) && !ip_is_private(&via)) ||
            s_loopback(src))
        return;
    s_phone(self, m, site, NAT_OUTSIDE, &via, vport, src, s_stream_transport(m) ? 0 : sport,
            ts_us);
}

/* Inside: the answer to the phone (sent to its sent-by) says where its
 * request came from: received= (else the sent-by host) and rport=. */
static void s_response_nat(nat_t *self, const sip_msg_t *m, const ip_addr_t *dst, uint16_t dport,
        int site, uint64_t ts_us)
{
    ip_addr_t via, pub;
    uint16_t vport;
    if (!s_sent_by(m, &via, &vport) || memcmp(&via, dst, sizeof via) != 0)
        return;
    bool stream = s_stream_transport(m);
    if (!stream && vport != dport)
        return; /* not going back to the sent-by: an outside view */
    const sip_via_t *v = &m->via[0];
    char host[64];
    if (!v->received.len || !ip_parse(sip_str_copy(v->received, host, sizeof host), &pub))
        pub = via;
    uint16_t pubport = stream ? 0 : v->rport_value;
    if (!stream && pubport == 0)
        return; /* no rport asked: no port to tell */
    if (memcmp(&pub, &via, sizeof pub) == 0 || (ip_is_private(&pub) && !ip_is_private(&via)))
        return; /* the same address: no NAT (as for requests above) */
    s_phone(self, m, site, NAT_INSIDE, &via, vport, &pub, pubport, ts_us);
}

static void s_response(nat_t *self, const sip_msg_t *m, const ip_addr_t *dst, uint16_t dport,
        uint64_t ts_us)
{
    binding_t *b = s_ref_get(self, self->ct, self->calls, s_callid_key(m->call_id));
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
    s_site(self, site)->sip_messages++;
    if (m->is_request)
        s_request_nat(self, m, src, sport, site, ts_us);
    else
        s_response_nat(self, m, dst, dport, site, ts_us);
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
    binding_t *b = s_ref_get(self, self->mt, self->maps, s_map_key(dst, dport));
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

void nat_set_binding_cb(nat_t *self, nat_binding_fn *cb, void *ctx)
{
    self->bcb = cb;
    self->bctx = ctx;
}

void nat_expire(nat_t *self, uint64_t now_us)
{
    lrutab_expire(self->pt, now_us);
    lrutab_expire(self->bt, now_us);
    lrutab_expire(self->ct, now_us);
    lrutab_expire(self->mt, now_us);
}

void nat_tables(const nat_t *self, nat_tables_t *out)
{
    lrutab_stats(self->bt, &out->bindings);
    lrutab_stats(self->ct, &out->call_ids);
    lrutab_stats(self->mt, &out->mappings);
    lrutab_stats(self->pt, &out->phones);
    out->max_bindings = lrutab_max(self->bt);
    out->max_refs = lrutab_max(self->ct);
}

int nat_remap_sites(nat_t *self, const rules_remap_t *m)
{
    size_t n = m->to_nsites;
    nat_site_stats_t *st = calloc(n + 1, sizeof *st);
    uint64_t *ids = calloc(n ? n : 1, sizeof *ids);
    bool *kept = calloc(n ? n : 1, sizeof *kept);
    if (!st || !ids || !kept) {
        free(st);
        free(ids);
        free(kept);
        return -1;
    }
    for (int i = 0; i < self->nsites; i++) {
        int j = rules_remap_site(m, i);
        if (j < 0)
            continue;
        st[j] = self->sites[i];
        ids[j] = self->site_ids[i];
        kept[j] = true;
    }
    for (size_t j = 0; j < n; j++) /* a new site: an id never used before */
        if (!kept[j])
            ids[j] = self->next_site_id++;
    st[n] = self->sites[self->nsites]; /* no site */
    free(kept);
    for (uint32_t i = 0; i < lrutab_max(self->bt); i++)
        if (self->b[i].key)
            self->b[i].site = rules_remap_site(m, self->b[i].site);
    for (uint32_t i = 0; i < lrutab_max(self->pt); i++)
        if (self->ph[i].key)
            self->ph[i].site = rules_remap_site(m, self->ph[i].site);
    free(self->sites);
    free(self->site_ids);
    self->sites = st;
    self->site_ids = ids;
    self->nsites = (int)n;
    return 0;
}
