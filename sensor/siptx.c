/* SPDX-License-Identifier: MIT */
/* siptx.c: SIP transactions (RFC 3261 17).
 *
 * A transaction is keyed by Call-ID, CSeq number and method, and the top
 * Via branch (a response carries its request's top Via), under the run's
 * hash key. Open transactions live in a bounded table (common/lrutab.h) in
 * the order their requests came: a final response ends one ("final") and
 * frees it; one unanswered 32 s after its request has timed out (RFC 3261
 * timer B/F) and siptx_expire ends it ("timeout") as the capture's clock
 * passes that time (an INVITE with a provisional response, 100 Trying
 * included, is in Proceeding where timer B no longer runs: 3 minutes after
 * its last 1xx); when the table is full the oldest makes room ("evicted"). At the end of the capture those still inside their 32 s are
 * "capture_ended". No per-message allocation; memory is max x
 * sizeof(siptx_t) plus the index. ACK has no response and is not recorded;
 * a CANCEL or 2xx retransmission after the final one is ignored. */
#include "siptx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define SIPTX_TIMEOUT_US (32ull * 1000000u)
/* An INVITE answered provisionally (any 1xx: RFC 3261 17.1.1.2) may ring
 * for minutes: a proxy's timer C (RFC 3261 16.6) is at least 3 minutes,
 * restarted by each 1xx. */
#define SIPTX_RINGING_US (180ull * 1000000u)

struct siptx_table {
    siptx_t *tx;
    lrutab_t *t;
    siptx_fn *fn;
    void *ctx;
    siptx_stats_t st;
};

static const char *const s_end_str[] = {
        [LRUTAB_EXPIRED] = "timeout",
        [LRUTAB_EVICTED] = "evicted",
        [LRUTAB_RELEASED] = "final",
        [LRUTAB_FLUSHED] = "capture_ended",
};

/* A transaction leaves the table: it is reported once. */
static void s_end(uint32_t idx, lrutab_end_t why, void *ctx)
{
    siptx_table_t *self = ctx;
    const siptx_t *tx = &self->tx[idx];
    if (tx->status >= 200)
        self->st.completed++;
    else
        self->st.unanswered++;
    if (why == LRUTAB_EVICTED)
        self->st.evicted++;
    else if (why == LRUTAB_EXPIRED)
        self->st.timed_out++;
    if (self->fn)
        self->fn(tx, s_end_str[why], self->ctx);
}

siptx_table_t *siptx_new(uint32_t max, siptx_fn *fn, void *ctx)
{
    if (max == 0 || max > (1u << 27))
        return NULL;
    siptx_table_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->tx = calloc(max, sizeof(siptx_t));
    self->t = lrutab_new(max, s_end, self);
    self->fn = fn;
    self->ctx = ctx;
    if (!self->tx || !self->t)
        siptx_destroy(&self);
    return self;
}

void siptx_destroy(siptx_table_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->tx);
    lrutab_destroy(&(*self_p)->t);
    free(*self_p);
    *self_p = NULL;
}

static uint64_t s_key(const sip_msg_t *m)
{
    const sip_str_t parts[3] = {m->call_id, m->cseq_method, m->nvia ? m->via[0].branch : m->call_id};
    uint64_t h = hash_keyed(&m->cseq, sizeof m->cseq);
    for (int k = 0; k < 3; k++)
        h = hash_keyed_more(h, parts[k].p, parts[k].len);
    return h;
}

static void s_fill(siptx_t *tx, const sip_msg_t *m, const ip_addr_t *src, uint16_t sport,
        const ip_addr_t *dst, uint16_t dport, int site, uint64_t ts_us)
{
    memset(tx, 0, sizeof *tx);
    tx->site = site;
    tx->req_us = ts_us;
    tx->cseq = m->cseq;
    tx->expires = m->expires >= 0 ? m->expires : m->contact_expires;
    sip_str_copy(m->method, tx->method, sizeof tx->method);
    sip_str_copy(m->call_id, tx->call_id, sizeof tx->call_id);
    sip_str_copy(m->from_uri, tx->from, sizeof tx->from);
    sip_str_copy(m->to_uri, tx->to, sizeof tx->to);
    sip_str_copy(m->contact_uri, tx->contact, sizeof tx->contact);
    sip_str_copy(m->user_agent, tx->user_agent, sizeof tx->user_agent);
    tx->via_rport = -1;
    if (m->nvia) {
        const sip_via_t *v = &m->via[0];
        char host[64];
        sip_str_copy(v->host, host, sizeof host);
        snprintf(tx->via_sent_by, sizeof tx->via_sent_by, v->port ? "%s:%u" : "%s", host, v->port);
        sip_str_copy(v->branch, tx->via_branch, sizeof tx->via_branch);
        sip_str_copy(v->received, tx->via_received, sizeof tx->via_received);
        if (v->rport)
            tx->via_rport = v->rport_value;
    }
    tx->src = *src;
    tx->dst = *dst;
    tx->sport = sport;
    tx->dport = dport;
}

void siptx_message(siptx_table_t *self, const sip_msg_t *m, const ip_addr_t *src, uint16_t sport,
        const ip_addr_t *dst, uint16_t dport, int site, uint64_t ts_us)
{
    if (!m->call_id.len || sip_str_eq(m->method, "ACK"))
        return;
    uint64_t key = s_key(m);
    uint32_t i = lrutab_find(self->t, key);
    if (m->is_request) {
        if (i != LRUTAB_NONE) {
            self->tx[i].retransmissions++;
            return;
        }
        /* Timer B/F runs from the first request, not its retransmissions. */
        i = lrutab_add(self->t, key, ts_us + SIPTX_TIMEOUT_US);
        s_fill(&self->tx[i], m, src, sport, dst, dport, site, ts_us);
        self->st.transactions++;
        return;
    }
    if (i == LRUTAB_NONE)
        return;
    siptx_t *tx = &self->tx[i];
    if (m->status < 200) {
        if (!tx->first_prov_us)
            tx->first_prov_us = ts_us;
        if (strcmp(tx->method, "INVITE") == 0)
            lrutab_touch(self->t, i, ts_us + SIPTX_RINGING_US);
        return;
    }
    tx->status = m->status;
    tx->resp_us = ts_us;
    lrutab_release(self->t, i);
}

void siptx_expire(siptx_table_t *self, uint64_t now_us)
{
    lrutab_expire(self->t, now_us);
}

void siptx_flush(siptx_table_t *self)
{
    lrutab_flush(self->t);
}

void siptx_stats(const siptx_table_t *self, siptx_stats_t *out)
{
    *out = self->st;
    lrutab_stats(self->t, &out->table);
    out->max = lrutab_max(self->t);
}

void siptx_remap_sites(siptx_table_t *self, const rules_remap_t *m)
{
    for (uint32_t i = 0; i < lrutab_max(self->t); i++) /* free slots too: harmless */
        self->tx[i].site = rules_remap_site(m, self->tx[i].site);
}
