/* SPDX-License-Identifier: MIT */
/* alg.c: signs of a SIP ALG rewriting SIP.
 *
 * Compared (two vantages). A NAT without a SIP ALG changes only the IP and
 * UDP headers: the SIP bytes inside and outside are the same. When a run
 * reads both an inside and an outside capture of the same traffic, each
 * message is kept (bounded: the last max_messages, up to 2 KiB each) under
 * its transaction key (Call-ID, CSeq, method, status, top Via branch); when
 * its other copy arrives, the one whose phone-side address is private is the
 * inside one, and every line that differs is a rewritten header, reported
 * with both values. The kept messages are indexed by a keyed hash
 * (common/lrutab.h) and freed when compared; a full table frees the oldest.
 * Nothing expires by time: the two captures are read one after the other,
 * so the packet clock runs through the first before the second's copies
 * come.
 *
 * Heuristics (one vantage):
 * - "private_received": a response from a public address whose top Via says
 *   received=<a private address>. A registrar on the internet saw the
 *   phone's public address; a private one there was put back by a device in
 *   between. False positive: a registrar on the LAN reached through a public
 *   address (hairpin NAT).
 * - "mixed_addresses": a request from a public source whose top Via names
 *   that source while its Contact or SDP names a private address: rewritten
 *   in part. False positive: a phone configured with a static public address
 *   for signalling only. */
#include "alg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hash.h"
#include "lrutab.h"

#define ALG_TEXT 2048

typedef struct {
    int site;
    bool priv;         /* the phone-side address was private */
    uint32_t len;
    char text[ALG_TEXT];
} entry_t;

struct alg {
    entry_t *e;
    lrutab_t *t;
    alg_site_stats_t *sites;
    int nsites;
    alg_fn *fn;
    void *ctx;
};

alg_t *alg_new(uint32_t max_messages, int nsites, alg_fn *fn, void *ctx)
{
    alg_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (max_messages == 0)
        max_messages = 1;
    self->e = calloc(max_messages, sizeof(entry_t));
    self->t = lrutab_new(max_messages, NULL, NULL);
    self->sites = calloc((size_t)(nsites > 0 ? nsites : 0) + 1, sizeof(alg_site_stats_t));
    self->nsites = nsites;
    self->fn = fn;
    self->ctx = ctx;
    if (!self->e || !self->t || !self->sites)
        alg_destroy(&self);
    return self;
}

void alg_destroy(alg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->e);
    lrutab_destroy(&(*self_p)->t);
    free((*self_p)->sites);
    free(*self_p);
    *self_p = NULL;
}

static alg_site_stats_t *s_site(alg_t *self, int site)
{
    return &self->sites[site >= 0 && site < self->nsites ? site : self->nsites];
}

static void s_label(const sip_msg_t *m, char *buf, size_t n)
{
    char meth[32];
    sip_str_copy(m->method, meth, sizeof meth);
    if (m->is_request)
        snprintf(buf, n, "%s", meth);
    else
        snprintf(buf, n, "%d %s", m->status, meth);
}

/* The next line of a text and its length (without CR LF). */
static const char *s_line(const char *t, uint32_t len, uint32_t *off, uint32_t *ll)
{
    if (*off >= len)
        return NULL;
    const char *start = t + *off;
    const char *nl = memchr(start, '\n', len - *off);
    uint32_t n = nl ? (uint32_t)(nl - start) : len - *off;
    *off += n + (nl ? 1 : 0);
    if (n && start[n - 1] == '\r')
        n--;
    *ll = n;
    return start;
}

static void s_header_name(const char *line, uint32_t ll, char *out, size_t n)
{
    uint32_t i = 0;
    if (ll >= 2 && line[1] == '=') /* an SDP line: c=, o=, m= ... */
        i = 1;
    else
        while (i < ll && line[i] != ':' && line[i] != ' ')
            i++;
    if (i >= n)
        i = (uint32_t)n - 1;
    memcpy(out, line, i);
    out[i] = '\0';
}

/* Reports each line that differs between the inside and outside copies. */
static void s_compare(alg_t *self, const sip_msg_t *m, const char *in, uint32_t in_len,
        const char *out, uint32_t out_len, int site, uint64_t ts_us)
{
    alg_site_stats_t *st = s_site(self, site);
    st->compared++;
    if (in_len == out_len && memcmp(in, out, in_len) == 0)
        return;
    uint32_t oi = 0, oo = 0, li, lo;
    bool any = false;
    for (int n = 0; n < 256; n++) {
        const char *a = s_line(in, in_len, &oi, &li);
        const char *b = s_line(out, out_len, &oo, &lo);
        if (!a && !b)
            break;
        if (a && b && li == lo && memcmp(a, b, li) == 0)
            continue;
        char name[32];
        s_header_name(a ? a : b, a ? li : lo, name, sizeof name);
        if (strcasecmp(name, "Content-Length") == 0 || strcasecmp(name, "l") == 0)
            continue; /* follows from the rewrite of the body */
        alg_sign_t sg;
        memset(&sg, 0, sizeof sg);
        sg.site = site;
        sg.how = "compared";
        sip_str_copy(m->call_id, sg.call_id, sizeof sg.call_id);
        s_label(m, sg.message, sizeof sg.message);
        memcpy(sg.header, name, sizeof sg.header);
        snprintf(sg.inside, sizeof sg.inside, "%.*s", a ? (int)li : 0, a ? a : "");
        snprintf(sg.outside, sizeof sg.outside, "%.*s", b ? (int)lo : 0, b ? b : "");
        sg.ts_us = ts_us;
        if (self->fn)
            self->fn(&sg, self->ctx);
        any = true;
    }
    if (any)
        st->rewritten++;
}

static void s_sign(alg_t *self, const sip_msg_t *m, int site, const char *how, const char *header,
        const char *value, uint64_t ts_us)
{
    s_site(self, site)->heuristic++;
    alg_sign_t sg;
    memset(&sg, 0, sizeof sg);
    sg.site = site;
    sg.how = how;
    sip_str_copy(m->call_id, sg.call_id, sizeof sg.call_id);
    s_label(m, sg.message, sizeof sg.message);
    snprintf(sg.header, sizeof sg.header, "%s", header);
    snprintf(sg.inside, sizeof sg.inside, "%s", value);
    sg.ts_us = ts_us;
    if (self->fn)
        self->fn(&sg, self->ctx);
}

/* The host of a URI (sip:user@host:port;params), as an address, if it is one. */
static bool s_uri_ip(sip_str_t uri, ip_addr_t *out)
{
    uint32_t at = 0;
    while (at < uri.len && uri.p[at] != '@')
        at++;
    uint32_t start = at < uri.len ? at + 1 : 4; /* after "sip:" when no user */
    if (start >= uri.len)
        return false;
    char host[64];
    uint32_t n = 0;
    bool v6 = uri.p[start] == '[';
    for (uint32_t i = start + v6; i < uri.len && n < sizeof host - 1; i++) {
        char ch = uri.p[i];
        if (v6 ? ch == ']' : (ch == ':' || ch == ';' || ch == '>'))
            break;
        host[n++] = ch;
    }
    host[n] = '\0';
    return ip_parse(host, out);
}

/* Outside, a request whose top Via names its public source (the SIP was made
 * to match the NAT) while its Contact or SDP still names a private address:
 * a phone that knew its public address would use it everywhere. */
static void s_mixed(alg_t *self, const sip_msg_t *m, const ip_addr_t *src, int site, uint64_t ts_us)
{
    char host[64];
    ip_addr_t via, a;
    if (!m->is_request || m->nvia == 0 || ip_is_private(src) ||
            !ip_parse(sip_str_copy(m->via[0].host, host, sizeof host), &via) ||
            memcmp(&via, src, sizeof via) != 0)
        return;
    if (m->contact_uri.len && s_uri_ip(m->contact_uri, &a) && ip_is_private(&a)) {
        char v[200];
        s_sign(self, m, site, "mixed_addresses", "Contact", sip_str_copy(m->contact_uri, v, sizeof v), ts_us);
        return;
    }
    sdp_t sdp;
    if (m->body_len && sdp_parse(m->body, m->body_len, &sdp) == 0)
        for (uint8_t i = 0; i < sdp.nm; i++)
            if (sdp.m[i].has_addr && ip_is_private(&sdp.m[i].addr)) {
                char v[64];
                s_sign(self, m, site, "mixed_addresses", "c", ip_to_str(&sdp.m[i].addr, v, sizeof v), ts_us);
                return;
            }
}

static void s_heuristic(alg_t *self, const sip_msg_t *m, const ip_addr_t *src, int site,
        uint64_t ts_us)
{
    s_mixed(self, m, src, site, ts_us);
    if (m->is_request || m->nvia == 0 || !m->via[0].received.len || ip_is_private(src))
        return;
    char buf[64];
    ip_addr_t rcv;
    if (!ip_parse(sip_str_copy(m->via[0].received, buf, sizeof buf), &rcv) || !ip_is_private(&rcv))
        return;
    char v[80];
    snprintf(v, sizeof v, "received=%s", buf);
    s_sign(self, m, site, "private_received", "Via", v, ts_us);
}

void alg_sip(alg_t *self, const sip_msg_t *m, const uint8_t *raw, uint32_t raw_len,
        const ip_addr_t *src, const ip_addr_t *dst, int site, uint64_t ts_us)
{
    s_heuristic(self, m, src, site, ts_us);
    uint64_t key = hash_keyed(m->call_id.p, m->call_id.len);
    key = hash_keyed_more(key, &m->cseq, sizeof m->cseq);
    key = hash_keyed_more(key, m->method.p, m->method.len);
    key = hash_keyed_more(key, &m->status, sizeof m->status);
    if (m->nvia)
        key = hash_keyed_more(key, m->via[0].branch.p, m->via[0].branch.len);
    /* The phone's side: the source of a request, the destination of a response. */
    bool priv = ip_is_private(m->is_request ? src : dst);
    uint32_t len = raw_len < ALG_TEXT ? raw_len : ALG_TEXT;
    uint32_t i = lrutab_find(self->t, key);
    if (i != LRUTAB_NONE) {
        entry_t *e = &self->e[i];
        if (e->priv == priv)
            return; /* the same vantage again: a retransmission */
        if (priv)
            s_compare(self, m, (const char *)raw, len, e->text, e->len, site, ts_us);
        else
            s_compare(self, m, e->text, e->len, (const char *)raw, len, e->site, ts_us);
        lrutab_release(self->t, i);
        return;
    }
    /* Kept until its twin comes or newer messages push it out. */
    entry_t *e = &self->e[lrutab_add(self->t, key, UINT64_MAX)];
    e->site = site;
    e->priv = priv;
    e->len = len;
    memcpy(e->text, raw, len);
}

void alg_table(const alg_t *self, lrutab_stats_t *out, uint32_t *max)
{
    lrutab_stats(self->t, out);
    *max = lrutab_max(self->t);
}

void alg_site_stats(const alg_t *self, int site, alg_site_stats_t *out)
{
    *out = self->sites[site >= 0 && site < self->nsites ? site : self->nsites];
}

int alg_remap_sites(alg_t *self, const rules_remap_t *m)
{
    alg_site_stats_t *st = calloc(m->to_nsites + 1, sizeof *st);
    if (!st)
        return -1;
    for (int i = 0; i < self->nsites; i++)
        if (rules_remap_site(m, i) >= 0)
            st[rules_remap_site(m, i)] = self->sites[i];
    st[m->to_nsites] = self->sites[self->nsites]; /* no site */
    for (uint32_t i = 0; i < lrutab_max(self->t); i++) /* free slots too: harmless */
        self->e[i].site = rules_remap_site(m, self->e[i].site);
    free(self->sites);
    self->sites = st;
    self->nsites = (int)m->to_nsites;
    return 0;
}
