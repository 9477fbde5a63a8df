/* SPDX-License-Identifier: MIT */
/* media.c: RTP streams from SDP (RFC 4566, 3264) and their quality
 * (RFC 3550: sequence-number loss, interarrival jitter).
 *
 *   RTP header: |V=2|P|X|CC|M| PT | sequence 16 | timestamp 32 | SSRC 32 |
 *
 * Three bounded tables: calls by Call-ID, media endpoints (address, port) to
 * their call, and streams (one per media flow, freed when the flow ends).
 * What a full table cannot hold is counted. */
#include "media.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "slotpool.h"

typedef struct {
    uint64_t hash; /* 0: empty */
    char call_id[128];
    bool answered;
} call_t;

typedef struct {
    ip_addr_t addr;
    uint16_t port;
    bool used;
    uint32_t call;
} endpoint_t;

typedef struct {
    bool started;
    uint16_t base_seq, max_seq;
    uint32_t cycles, received;
    uint32_t last_ts;       /* RTP timestamp of the previous packet */
    uint64_t last_us;       /* its arrival */
    double jitter;          /* in timestamp units */
    uint32_t clock;         /* Hz */
} rtp_state_t;

typedef struct {
    bool used;
    uint32_t call;
    media_stream_t pub;
    rtp_state_t rtp[2];
} stream_t;

struct media {
    call_t *calls;
    uint32_t ncap, ncalls, max_calls;
    endpoint_t *eps;
    uint32_t ecap, neps;
    stream_t *streams;
    uint32_t max_streams;
    slot_pool_t pool;
    media_stats_t st;
};

static uint32_t s_pow2(uint32_t n)
{
    uint32_t c = 16;
    while (c < n)
        c <<= 1;
    return c;
}

media_t *media_new(uint32_t max_calls, uint32_t max_streams)
{
    media_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->max_calls = max_calls;
    self->ncap = s_pow2(2 * max_calls);
    self->ecap = s_pow2(8 * max_calls);
    self->max_streams = max_streams;
    self->calls = calloc(self->ncap, sizeof(call_t));
    self->eps = calloc(self->ecap, sizeof(endpoint_t));
    self->streams = calloc(max_streams ? max_streams : 1, sizeof(stream_t));
    if (!self->calls || !self->eps || !self->streams || slot_pool_init(&self->pool, max_streams) != 0)
        media_destroy(&self);
    return self;
}

void media_destroy(media_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->calls);
    free((*self_p)->eps);
    free((*self_p)->streams);
    slot_pool_fini(&(*self_p)->pool);
    free(*self_p);
    *self_p = NULL;
}

static call_t *s_call(media_t *self, sip_str_t call_id, bool create, uint32_t *idx)
{
    uint64_t h = hash_fnv(HASH_FNV_INIT, call_id.p, call_id.len) | 1;
    for (uint32_t i = (uint32_t)h & (self->ncap - 1);; i = (i + 1) & (self->ncap - 1)) {
        call_t *c = &self->calls[i];
        if (c->hash == h && sip_str_eq(call_id, c->call_id)) {
            *idx = i;
            return c;
        }
        if (c->hash == 0) {
            if (!create)
                return NULL;
            if (self->ncalls >= self->max_calls) {
                self->st.calls_dropped++;
                return NULL;
            }
            self->ncalls++;
            self->st.calls++;
            c->hash = h;
            sip_str_copy(call_id, c->call_id, sizeof c->call_id);
            *idx = i;
            return c;
        }
    }
}

static uint32_t s_ep_slot(const media_t *self, const ip_addr_t *a, uint16_t port)
{
    uint64_t h = hash_fnv(hash_fnv(HASH_FNV_INIT, &port, sizeof port), a->b, 16);
    return (uint32_t)h & (self->ecap - 1);
}

static void s_ep_put(media_t *self, const ip_addr_t *a, uint16_t port, uint32_t call)
{
    for (uint32_t i = s_ep_slot(self, a, port);; i = (i + 1) & (self->ecap - 1)) {
        endpoint_t *e = &self->eps[i];
        if (e->used && e->port == port && memcmp(&e->addr, a, sizeof *a) == 0) {
            e->call = call; /* the newest SDP wins */
            return;
        }
        if (!e->used) {
            if (self->neps >= self->ecap / 2) {
                self->st.endpoints_dropped++;
                return;
            }
            self->neps++;
            *e = (endpoint_t){*a, port, true, call};
            return;
        }
    }
}

static const endpoint_t *s_ep_get(const media_t *self, const ip_addr_t *a, uint16_t port)
{
    for (uint32_t i = s_ep_slot(self, a, port);; i = (i + 1) & (self->ecap - 1)) {
        const endpoint_t *e = &self->eps[i];
        if (!e->used)
            return NULL;
        if (e->port == port && memcmp(&e->addr, a, sizeof *a) == 0)
            return e;
    }
}

void media_sip(media_t *self, const sip_msg_t *m)
{
    bool invite = sip_str_eq(m->method, "INVITE") || sip_str_eq(m->method, "UPDATE");
    if (!invite || !m->call_id.len)
        return;
    bool answer = !m->is_request && m->status >= 200 && m->status < 300;
    uint32_t idx;
    call_t *c = s_call(self, m->call_id, m->is_request || answer, &idx);
    if (!c)
        return;
    if (answer)
        c->answered = true;
    sdp_t sdp;
    if (!m->body_len || sdp_parse(m->body, m->body_len, &sdp) != 0)
        return;
    for (uint8_t i = 0; i < sdp.nm; i++) {
        const sdp_media_t *md = &sdp.m[i];
        if (!md->has_addr || md->port == 0)
            continue; /* port 0: a declined stream */
        s_ep_put(self, &md->addr, md->port, idx);
        s_ep_put(self, &md->addr, md->rtcp_port, idx);
    }
}

bool media_match(media_t *self, flow_t *f)
{
    if (f->key.proto != 17)
        return false;
    const endpoint_t *e = s_ep_get(self, &f->key.a, f->key.pa);
    if (!e)
        e = s_ep_get(self, &f->key.b, f->key.pb);
    if (!e)
        return false;
    uint32_t s = slot_pool_take(&self->pool);
    if (s == SLOT_NONE) {
        self->st.streams_dropped++;
        return false;
    }
    stream_t *st = &self->streams[s];
    memset(st, 0, sizeof *st);
    st->used = true;
    st->call = e->call;
    memcpy(st->pub.call_id, self->calls[e->call].call_id, sizeof st->pub.call_id);
    f->media = s;
    self->st.streams++;
    return true;
}

/* RFC 3550 A.1 (sequence) and A.8 (jitter), simplified: no probation. */
static void s_rtp(rtp_state_t *r, media_dir_t *d, uint16_t seq, uint32_t ts, uint64_t arrival_us)
{
    if (!r->started) {
        r->started = true;
        r->base_seq = r->max_seq = seq;
        /* Audio codecs of SIP phones (G.711, G.729, G.722 by RFC 3551) count
         * at 8 kHz; a dynamic payload type would need its rtpmap. */
        r->clock = 8000;
    } else {
        uint16_t delta = (uint16_t)(seq - r->max_seq);
        if (delta < 3000) {
            if (seq < r->max_seq)
                r->cycles += 65536;
            r->max_seq = seq;
        }
    }
    r->received++;
    if (r->received > 1) {
        /* D = (Rj - Ri) - (Sj - Si), timestamps compared modulo 2^32. */
        double dr = ((double)arrival_us - (double)r->last_us) * r->clock / 1e6;
        double ds = (double)(int32_t)(ts - r->last_ts);
        r->jitter += (fabs(dr - ds) - r->jitter) / 16.0;
    }
    r->last_ts = ts;
    r->last_us = arrival_us;
    uint64_t expected = (uint64_t)r->cycles + r->max_seq - r->base_seq + 1;
    d->pkts = r->received;
    d->lost = expected > r->received ? (uint32_t)(expected - r->received) : 0;
    d->jitter_ms = r->jitter * 1000.0 / r->clock;
}

void media_packet(media_t *self, flow_t *f, int side, const packet_t *p)
{
    if (f->media == FLOW_NONE || f->media >= self->max_streams)
        return;
    stream_t *st = &self->streams[f->media];
    cursor_t c = cur_make(p->payload, p->payload_caplen);
    uint8_t vpxcc, mpt;
    uint16_t seq;
    uint32_t ts;
    if (!cur_u8(&c, &vpxcc) || !cur_u8(&c, &mpt) || !cur_be16(&c, &seq) || !cur_be32(&c, &ts))
        return;
    if ((vpxcc >> 6) != 2)
        return;
    uint8_t pt = mpt & 0x7f;
    if (pt >= 72 && pt <= 76)
        return; /* RTCP on the same port (RFC 5761): not a media packet */
    s_rtp(&st->rtp[side], &st->pub.d[side], seq, ts, p->ts_us);
}

const media_stream_t *media_stream(media_t *self, const flow_t *f)
{
    if (f->media == FLOW_NONE || f->media >= self->max_streams || !self->streams[f->media].used)
        return NULL;
    stream_t *st = &self->streams[f->media];
    st->pub.answered = self->calls[st->call].answered;
    return &st->pub;
}

void media_release(media_t *self, flow_t *f)
{
    if (f->media == FLOW_NONE || f->media >= self->max_streams)
        return;
    self->streams[f->media].used = false;
    slot_pool_give(&self->pool, f->media);
    f->media = FLOW_NONE;
}

void media_stats(const media_t *self, media_stats_t *out)
{
    *out = self->st;
}
