/* SPDX-License-Identifier: MIT */
/* media.c: RTP streams from SDP (RFC 4566, 3264) and their quality
 * (RFC 3550: sequence-number loss, interarrival jitter).
 *
 *   RTP header: |V=2|P|X|CC|M| PT | sequence 16 | timestamp 32 | SSRC 32 |
 *
 * Three bounded tables: calls by Call-ID, media endpoints (address, port) to
 * their call, and streams (one per media flow, freed when the flow ends).
 *
 * Lifetimes
 * ---------
 * A call ends at its BYE, or at a final failure of an INVITE that was never
 * answered (busy, cancelled...). One that says nothing for MEDIA_CALL_IDLE_US
 * (no SIP, no RTP on its streams) is freed by media_expire; a full table
 * frees the call idle longest to make room (common/lrutab.h). Endpoints
 * name their call by index and key: once the call has ended they match no
 * new flow, so RTP on a recycled port is never given to a call long gone.
 * They live as long as their call did when last named, and make room the
 * same way. A stream lives with its flow (media_release), and never past
 * it; when every stream slot is taken, the stream whose last RTP packet is
 * oldest makes room, and its flow goes on without measurements. */
#include "media.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "hash.h"
#include "lrutab.h"

#define MEDIA_CALL_IDLE_US (600ull * 1000000u)

typedef struct {
    uint64_t key; /* its key in the calls table; 0: free */
    char call_id[128];
    bool answered;
} call_t;

typedef struct {
    uint32_t call;
    uint64_t ckey;          /* the call's key then */
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
    flow_t *flow;           /* the flow that holds it (valid while used) */
    uint32_t call;
    uint64_t ckey;
    media_stream_t pub;
    rtp_state_t rtp[2];
} stream_t;

struct media {
    call_t *calls;
    lrutab_t *ct;
    endpoint_t *eps;
    lrutab_t *et;
    stream_t *streams;
    lrutab_t *stt;          /* streams by flow id, in order of last packet */
    uint32_t max_streams;
    media_stats_t st;
};

static void s_call_end(uint32_t idx, lrutab_end_t why, void *ctx)
{
    (void)why;
    media_t *self = ctx;
    self->calls[idx].key = 0;
}

/* A stream pushed out of a full table: its flow goes on unmeasured. */
static void s_stream_end(uint32_t idx, lrutab_end_t why, void *ctx)
{
    media_t *self = ctx;
    stream_t *st = &self->streams[idx];
    if (why == LRUTAB_EVICTED)
        st->flow->media = FLOW_NONE;
    st->used = false;
}

media_t *media_new(uint32_t max_calls, uint32_t max_streams)
{
    if (max_calls == 0 || max_calls > (1u << 27) || max_streams == 0 || max_streams > (1u << 29))
        return NULL;
    media_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    /* An offer and an answer, each with audio (and perhaps video) and
     * their RTCP ports: four endpoints a call is typical. */
    uint32_t max_eps = 4 * max_calls;
    self->max_streams = max_streams;
    self->calls = calloc(max_calls, sizeof(call_t));
    self->ct = lrutab_new(max_calls, s_call_end, self);
    self->eps = calloc(max_eps, sizeof(endpoint_t));
    self->et = lrutab_new(max_eps, NULL, NULL);
    self->streams = calloc(max_streams, sizeof(stream_t));
    self->stt = lrutab_new(max_streams, s_stream_end, self);
    if (!self->calls || !self->ct || !self->eps || !self->et || !self->streams || !self->stt)
        media_destroy(&self);
    return self;
}

void media_destroy(media_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->calls);
    lrutab_destroy(&(*self_p)->ct);
    free((*self_p)->eps);
    lrutab_destroy(&(*self_p)->et);
    free((*self_p)->streams);
    lrutab_destroy(&(*self_p)->stt);
    free(*self_p);
    *self_p = NULL;
}

/* The call of call_id, or LRUTAB_NONE; created if `create`. */
static uint32_t s_call(media_t *self, sip_str_t call_id, bool create, uint64_t now_us)
{
    uint64_t key = hash_keyed(call_id.p, call_id.len) | 1;
    uint32_t i = lrutab_find(self->ct, key);
    if (i != LRUTAB_NONE) {
        lrutab_touch(self->ct, i, now_us + MEDIA_CALL_IDLE_US);
        return i;
    }
    if (!create)
        return LRUTAB_NONE;
    i = lrutab_add(self->ct, key, now_us + MEDIA_CALL_IDLE_US);
    call_t *c = &self->calls[i];
    c->key = key;
    c->answered = false;
    sip_str_copy(call_id, c->call_id, sizeof c->call_id);
    self->st.calls++;
    return i;
}

static uint64_t s_ep_key(const ip_addr_t *a, uint16_t port)
{
    return hash_keyed_more(hash_keyed(a->b, 16), &port, sizeof port);
}

/* Points an endpoint at a call (the newest SDP wins), for as long as the
 * call now lives. */
static void s_ep_put(media_t *self, const ip_addr_t *a, uint16_t port, uint32_t call)
{
    uint64_t key = s_ep_key(a, port);
    uint64_t deadline = lrutab_deadline(self->ct, call);
    uint32_t i = lrutab_find(self->et, key);
    if (i == LRUTAB_NONE)
        i = lrutab_add(self->et, key, deadline);
    else
        lrutab_touch(self->et, i, deadline);
    self->eps[i] = (endpoint_t){call, self->calls[call].key};
}

/* The endpoint of a live call at a:port, or NULL. One whose call has ended
 * is freed on the way. */
static const endpoint_t *s_ep_get(media_t *self, const ip_addr_t *a, uint16_t port)
{
    uint32_t i = lrutab_find(self->et, s_ep_key(a, port));
    if (i == LRUTAB_NONE)
        return NULL;
    if (self->calls[self->eps[i].call].key != self->eps[i].ckey) {
        lrutab_release(self->et, i);
        return NULL;
    }
    return &self->eps[i];
}

/* A message that ends a call: its BYE, or a final failure of an INVITE
 * never answered (a failed re-INVITE leaves the call up). */
static bool s_ends_call(const sip_msg_t *m)
{
    if (m->is_request)
        return sip_str_eq(m->method, "BYE");
    return m->status >= 300 && sip_str_eq(m->method, "INVITE");
}

void media_sip(media_t *self, const sip_msg_t *m, uint64_t ts_us)
{
    if (!m->call_id.len)
        return;
    if (s_ends_call(m)) {
        uint32_t idx = s_call(self, m->call_id, false, ts_us);
        if (idx != LRUTAB_NONE && (m->is_request || !self->calls[idx].answered)) {
            self->st.calls_ended++;
            lrutab_release(self->ct, idx);
        }
        return;
    }
    bool invite = sip_str_eq(m->method, "INVITE") || sip_str_eq(m->method, "UPDATE");
    if (!invite)
        return;
    bool answer = !m->is_request && m->status >= 200 && m->status < 300;
    uint32_t idx = s_call(self, m->call_id, m->is_request || answer, ts_us);
    if (idx == LRUTAB_NONE)
        return;
    if (answer)
        self->calls[idx].answered = true;
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
    lrutab_touch(self->ct, e->call, f->first_us + MEDIA_CALL_IDLE_US);
    /* Streams leave with their flow, not by the clock: no deadline. */
    uint32_t s = lrutab_add(self->stt, f->id, UINT64_MAX);
    stream_t *st = &self->streams[s];
    memset(st, 0, sizeof *st);
    st->used = true;
    st->flow = f;
    st->call = e->call;
    st->ckey = e->ckey;
    st->pub.answered = self->calls[e->call].answered;
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
    lrutab_touch(self->stt, f->media, UINT64_MAX);
    /* Media keeps its call alive, for the SIP that may still end it. */
    if (self->calls[st->call].key == st->ckey)
        lrutab_touch(self->ct, st->call, p->ts_us + MEDIA_CALL_IDLE_US);
}

const media_stream_t *media_stream(media_t *self, const flow_t *f)
{
    if (f->media == FLOW_NONE || f->media >= self->max_streams || !self->streams[f->media].used)
        return NULL;
    stream_t *st = &self->streams[f->media];
    if (self->calls[st->call].key == st->ckey) /* else: as it was when the call ended */
        st->pub.answered = self->calls[st->call].answered;
    return &st->pub;
}

void media_release(media_t *self, flow_t *f)
{
    if (f->media == FLOW_NONE || f->media >= self->max_streams)
        return;
    lrutab_release(self->stt, f->media);
    f->media = FLOW_NONE;
}

void media_expire(media_t *self, uint64_t now_us)
{
    lrutab_expire(self->ct, now_us);
    lrutab_expire(self->et, now_us);
}

void media_stats(const media_t *self, media_stats_t *out)
{
    *out = self->st;
    lrutab_stats(self->ct, &out->call_table);
    lrutab_stats(self->et, &out->endpoint_table);
    out->max_calls = lrutab_max(self->ct);
    out->max_endpoints = lrutab_max(self->et);
    lrutab_stats(self->stt, &out->stream_table);
    out->max_streams = self->max_streams;
}
