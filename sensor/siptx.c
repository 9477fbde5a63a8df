/* SPDX-License-Identifier: MIT */
/* siptx.c: SIP transactions (RFC 3261 17).
 *
 * A transaction is keyed by Call-ID, CSeq number and method, and the top
 * Via branch (a response carries its request's top Via). Slots live in one
 * array probed linearly from the key's hash over a short window: a new
 * transaction takes an empty slot there, or one whose transaction is older
 * than 32 s (timer B/F: it has timed out and is reported so), or else the
 * oldest in the window (reported as evicted and counted). No per-message
 * allocation; memory is max x sizeof(slot). ACK has no response and is not
 * recorded; a CANCEL or 2xx retransmission after the final one is ignored. */
#include "siptx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIPTX_WINDOW 16
#define SIPTX_TIMEOUT_US (32ull * 1000000u)

typedef struct {
    uint64_t key; /* 0: empty */
    siptx_t tx;
} slot_t;

struct siptx_table {
    slot_t *s;
    uint32_t cap; /* power of two */
    siptx_fn *fn;
    void *ctx;
    siptx_stats_t st;
};

siptx_table_t *siptx_new(uint32_t max, siptx_fn *fn, void *ctx)
{
    siptx_table_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cap = 64;
    while (self->cap < max)
        self->cap <<= 1;
    self->s = calloc(self->cap, sizeof(slot_t));
    self->fn = fn;
    self->ctx = ctx;
    if (!self->s) {
        free(self);
        return NULL;
    }
    return self;
}

void siptx_destroy(siptx_table_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->s);
    free(*self_p);
    *self_p = NULL;
}

static uint64_t s_key(const sip_msg_t *m)
{
    uint64_t h = HASH_FNV_INIT;
    const sip_str_t parts[3] = {m->call_id, m->cseq_method, m->nvia ? m->via[0].branch : m->call_id};
    for (int k = 0; k < 3; k++)
        h = hash_fnv(h, parts[k].p, parts[k].len);
    return hash_fnv(h, &m->cseq, sizeof m->cseq) | 1;
}

static void s_end(siptx_table_t *self, slot_t *sl, const char *how)
{
    if (sl->tx.status >= 200)
        self->st.completed++;
    else
        self->st.unanswered++;
    if (self->fn)
        self->fn(&sl->tx, how, self->ctx);
    sl->key = 0;
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

static void s_request(siptx_table_t *self, const sip_msg_t *m, uint64_t key, const ip_addr_t *src,
        uint16_t sport, const ip_addr_t *dst, uint16_t dport, int site, uint64_t ts_us)
{
    uint32_t base = (uint32_t)key & (self->cap - 1);
    slot_t *take = NULL, *oldest = NULL;
    for (uint32_t k = 0; k < SIPTX_WINDOW; k++) {
        slot_t *sl = &self->s[(base + k) & (self->cap - 1)];
        if (sl->key == key) {
            sl->tx.retransmissions++;
            return;
        }
        if (sl->key && sl->tx.req_us + SIPTX_TIMEOUT_US < ts_us)
            s_end(self, sl, "timeout");
        if (!sl->key && !take)
            take = sl;
        if (sl->key && (!oldest || sl->tx.req_us < oldest->tx.req_us))
            oldest = sl;
    }
    if (!take) {
        take = oldest;
        self->st.evicted++;
        s_end(self, take, "evicted");
    }
    take->key = key;
    s_fill(&take->tx, m, src, sport, dst, dport, site, ts_us);
    self->st.transactions++;
}

void siptx_message(siptx_table_t *self, const sip_msg_t *m, const ip_addr_t *src, uint16_t sport,
        const ip_addr_t *dst, uint16_t dport, int site, uint64_t ts_us)
{
    if (!m->call_id.len || sip_str_eq(m->method, "ACK"))
        return;
    uint64_t key = s_key(m);
    if (m->is_request) {
        s_request(self, m, key, src, sport, dst, dport, site, ts_us);
        return;
    }
    uint32_t base = (uint32_t)key & (self->cap - 1);
    for (uint32_t k = 0; k < SIPTX_WINDOW; k++) {
        slot_t *sl = &self->s[(base + k) & (self->cap - 1)];
        if (sl->key != key)
            continue;
        if (m->status < 200) {
            if (!sl->tx.first_prov_us)
                sl->tx.first_prov_us = ts_us;
            return;
        }
        sl->tx.status = m->status;
        sl->tx.resp_us = ts_us;
        s_end(self, sl, "final");
        return;
    }
}

void siptx_flush(siptx_table_t *self)
{
    for (uint32_t i = 0; i < self->cap; i++)
        if (self->s[i].key)
            s_end(self, &self->s[i], "capture_ended");
}

void siptx_stats(const siptx_table_t *self, siptx_stats_t *out)
{
    *out = self->st;
}
