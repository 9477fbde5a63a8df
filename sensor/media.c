/* SPDX-License-Identifier: MIT */
/* media.c: a call's media from its SDP (RFC 4566, 3264), its quality
 * (RFC 3550: sequence-number loss, interarrival jitter), and one-way media
 * judged per call and direction.
 *
 *   RTP header: |V=2|P|X|CC|M| PT | sequence 16 | timestamp 32 | SSRC 32 |
 *
 * Three bounded tables: calls by Call-ID, media endpoints (address, port) to
 * their call and party, and streams (one per media flow, freed when the
 * flow ends). A call lists its live streams, so its judgement reaches every
 * flow that carried its media.
 *
 * Judgement
 * ---------
 * Each party's latest SDP says whether it sends and receives (sendrecv,
 * sendonly, recvonly, inactive, port 0, c=0.0.0.0). The direction toward
 * party P is expected while the call is answered, P receives and the other
 * party sends; the time it was expected adds up. Media packets count toward
 * their receiving party once the call is answered (early media does not),
 * from any flow of the call. At the end, an answered call is one-way when
 * one direction got no packet while it was expected for MEDIA_TELL_US or
 * more, and the other direction got some; no packet either way is "no
 * media" (the media does not pass this sensor).
 *
 * Lifetimes
 * ---------
 * A call ends at its BYE, or at a final failure of an INVITE that was never
 * answered (busy, cancelled...). One that says nothing for MEDIA_CALL_IDLE_US
 * (no SIP, no RTP on its streams) is freed by media_expire; a full table
 * frees the call idle longest to make room (common/lrutab.h). Each way it
 * ends, it is judged first. Endpoints name their call by index and key:
 * once the call has ended they match no new flow, so RTP on a recycled port
 * is never given to a call long gone. They live as long as their call did
 * when last named, and make room the same way. A stream lives with its flow
 * (media_release), and never past it; when every stream slot is taken, the
 * stream whose last RTP packet is oldest makes room, and its flow goes on
 * without measurements. */
#include "media.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "hash.h"
#include "lrutab.h"

#define MEDIA_CALL_IDLE_US (600ull * 1000000u)
#define MEDIA_MAP_MAX 16

typedef struct {
    bool sdp;               /* it has sent SDP (until then: sendrecv) */
    bool sends, recvs;
    int site;               /* of its media end, -1 unknown */
} party_t;

typedef struct {
    uint64_t key;           /* its key in the calls table; 0: free */
    char call_id[128];
    uint64_t caller_tag;    /* hash of the From tag of the INVITE */
    bool answered;
    uint64_t answered_us, last_us;
    uint64_t since_us;      /* expected time is added up to here */
    party_t party[2];       /* 0: caller, 1: callee */
    uint32_t pkts[2];       /* toward each party, after the answer */
    uint64_t expected_us[2];
    uint32_t head;          /* its live streams (a list), LRUTAB_NONE */
    uint32_t nstreams;      /* media flows it ever had */
    uint8_t nmap;
    struct {
        uint8_t pt;
        uint32_t clock;
    } map[MEDIA_MAP_MAX];   /* rtpmap of every SDP, newest wins */
} call_t;

typedef struct {
    uint32_t call;
    uint64_t ckey;          /* the call's key then */
    uint8_t party;          /* whose SDP named it */
    bool rtp;               /* RTP, or another transport (udptl) */
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
    bool rtp;
    flow_t *flow;           /* the flow that holds it (valid while used) */
    uint32_t call;          /* LRUTAB_NONE once the call has ended */
    uint32_t prev, next;    /* in the call's list */
    media_stream_t pub;
    rtp_state_t rtp_st[2];
    uint64_t relink_gen;    /* call ended: the endpoints' generation last tried */
} stream_t;

struct media {
    call_t *calls;
    lrutab_t *ct;
    endpoint_t *eps;
    lrutab_t *et;
    stream_t *streams;
    lrutab_t *stt;          /* streams by flow id, in order of last packet */
    uint32_t max_streams;
    uint64_t ep_gen;        /* endpoints learned so far (a stream without a call
                               looks for a new one only when this moved) */
    media_call_fn *fn;
    void *ctx;
    media_stats_t st;
};

/* Adds the time since the last count to each direction that was expected. */
static void s_account(call_t *c, uint64_t now_us)
{
    if (now_us <= c->since_us)
        return;
    for (int d = 0; d < 2; d++)
        if (c->answered && c->party[d].recvs && c->party[!d].sends)
            c->expected_us[d] += now_us - c->since_us;
    c->since_us = now_us;
}

/* The call's media as it stands at now_us: one-way when a direction was
 * expected long enough and got nothing while the other got some; OK when
 * every direction expected long enough got media (a recvonly call that
 * got media one way, as negotiated, is OK). */
static void s_judge(call_t *c, uint64_t now_us, media_call_t *out)
{
    s_account(c, now_us);
    memset(out, 0, sizeof *out);
    memcpy(out->call_id, c->call_id, sizeof out->call_id);
    out->answered = c->answered;
    out->missing = -1;
    out->end_us = now_us;
    out->streams = c->nstreams;
    for (int d = 0; d < 2; d++) {
        out->site[d] = c->party[d].site;
        out->pkts[d] = c->pkts[d];
        out->expected_us[d] = c->expected_us[d];
    }
    bool tell[2] = {c->expected_us[0] >= MEDIA_TELL_US, c->expected_us[1] >= MEDIA_TELL_US};
    if (!c->answered)
        out->judgement = MEDIA_NOT_CHECKED;
    else if (!c->pkts[0] && !c->pkts[1])
        out->judgement = tell[0] || tell[1] ? MEDIA_NO_MEDIA : MEDIA_NOT_CHECKED;
    else if (!c->pkts[0] && tell[0])
        out->judgement = MEDIA_ONE_WAY, out->missing = 0;
    else if (!c->pkts[1] && tell[1])
        out->judgement = MEDIA_ONE_WAY, out->missing = 1;
    else if ((c->pkts[0] && tell[0]) || (c->pkts[1] && tell[1]))
        out->judgement = MEDIA_OK;
    else
        out->judgement = MEDIA_NOT_CHECKED;
}

static void s_unlink(media_t *self, uint32_t s)
{
    stream_t *st = &self->streams[s];
    if (st->call == LRUTAB_NONE)
        return;
    if (st->prev != LRUTAB_NONE)
        self->streams[st->prev].next = st->next;
    else
        self->calls[st->call].head = st->next;
    if (st->next != LRUTAB_NONE)
        self->streams[st->next].prev = st->prev;
    st->call = st->prev = st->next = LRUTAB_NONE;
}

/* A call ends: judged for good, its streams told, and the judgement given
 * to the owner. The flow shown is one whose packets went toward the party
 * that got media (for a one-way call, from the party that got none). */
static void s_call_end(uint32_t idx, lrutab_end_t why, void *ctx)
{
    (void)why;
    media_t *self = ctx;
    call_t *c = &self->calls[idx];
    media_call_t mc;
    s_judge(c, c->last_us, &mc);
    flow_t *show = NULL;
    uint32_t n = 0;
    while (c->head != LRUTAB_NONE && n++ < self->max_streams) {
        uint32_t s = c->head;
        stream_t *st = &self->streams[s];
        st->pub.answered = c->answered;
        st->pub.judgement = mc.judgement;
        st->pub.missing = mc.missing;
        for (int side = 0; side < 2 && !show; side++)
            if (st->pub.d[side].pkts && (mc.missing < 0 || st->pub.party[side] == mc.missing))
                show = st->flow;
        s_unlink(self, s);
    }
    if (mc.judgement == MEDIA_ONE_WAY)
        self->st.one_way++;
    c->key = 0;
    if (mc.streams && self->fn)
        self->fn(&mc, show, self->ctx);
}

/* A stream pushed out of a full table: its flow goes on unmeasured. */
static void s_stream_end(uint32_t idx, lrutab_end_t why, void *ctx)
{
    media_t *self = ctx;
    stream_t *st = &self->streams[idx];
    if (why == LRUTAB_EVICTED)
        st->flow->media = FLOW_NONE;
    s_unlink(self, idx);
    st->used = false;
}

media_t *media_new(uint32_t max_calls, uint32_t max_streams, media_call_fn *fn, void *ctx)
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
    self->fn = fn;
    self->ctx = ctx;
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

static uint64_t s_tag(sip_str_t tag)
{
    return hash_keyed(tag.p, tag.len);
}

/* The call of m, or LRUTAB_NONE; created if `create` (by an INVITE or its
 * answer, whose From is the caller). */
static uint32_t s_call(media_t *self, const sip_msg_t *m, bool create, uint64_t now_us)
{
    uint64_t key = hash_keyed(m->call_id.p, m->call_id.len) | 1;
    uint32_t i = lrutab_find(self->ct, key);
    if (i != LRUTAB_NONE) {
        lrutab_touch(self->ct, i, now_us + MEDIA_CALL_IDLE_US);
        if (now_us > self->calls[i].last_us)
            self->calls[i].last_us = now_us;
        return i;
    }
    if (!create)
        return LRUTAB_NONE;
    i = lrutab_add(self->ct, key, now_us + MEDIA_CALL_IDLE_US);
    call_t *c = &self->calls[i];
    memset(c, 0, sizeof *c);
    c->key = key;
    c->caller_tag = s_tag(m->from_tag);
    c->last_us = c->since_us = now_us;
    c->head = LRUTAB_NONE;
    for (int p = 0; p < 2; p++)
        c->party[p] = (party_t){false, true, true, -1};
    sip_str_copy(m->call_id, c->call_id, sizeof c->call_id);
    self->st.calls++;
    return i;
}

static uint64_t s_ep_key(const ip_addr_t *a, uint16_t port)
{
    return hash_keyed_more(hash_keyed(a->b, 16), &port, sizeof port);
}

/* Points an endpoint at a call's party (the newest SDP wins), for as long
 * as the call now lives. */
static void s_ep_put(media_t *self, const ip_addr_t *a, uint16_t port, uint32_t call, int party,
        bool rtp)
{
    uint64_t key = s_ep_key(a, port);
    uint64_t deadline = lrutab_deadline(self->ct, call);
    uint32_t i = lrutab_find(self->et, key);
    if (i == LRUTAB_NONE)
        i = lrutab_add(self->et, key, deadline);
    else
        lrutab_touch(self->et, i, deadline);
    self->eps[i] = (endpoint_t){call, self->calls[call].key, (uint8_t)party, rtp};
    self->ep_gen++;
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

static bool s_unspecified(const ip_addr_t *a)
{
    static const uint8_t v4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};
    static const uint8_t v6[16] = {0};
    return memcmp(a->b, v4, 16) == 0 || memcmp(a->b, v6, 16) == 0;
}

/* One party's SDP: what it sends and receives from now on, its endpoints
 * and payload types. */
static void s_sdp(media_t *self, uint32_t idx, int party, const sdp_t *sdp)
{
    call_t *c = &self->calls[idx];
    party_t *pt = &c->party[party];
    pt->sdp = true;
    pt->sends = pt->recvs = false;
    for (uint8_t i = 0; i < sdp->nm; i++) {
        const sdp_media_t *md = &sdp->m[i];
        if (md->port == 0)
            continue; /* a declined stream */
        bool held = !md->has_addr || s_unspecified(&md->addr); /* c=0.0.0.0: RFC 2543 hold */
        pt->sends |= md->dir == SDP_SENDRECV || md->dir == SDP_SENDONLY;
        pt->recvs |= !held && (md->dir == SDP_SENDRECV || md->dir == SDP_RECVONLY);
        if (held)
            continue;
        s_ep_put(self, &md->addr, md->port, idx, party, md->rtp);
        if (md->rtp)
            s_ep_put(self, &md->addr, md->rtcp_port, idx, party, true);
        for (uint8_t k = 0; k < md->nmap; k++) {
            uint8_t j = 0;
            while (j < c->nmap && c->map[j].pt != md->map[k].pt)
                j++;
            if (j == c->nmap) {
                if (c->nmap == MEDIA_MAP_MAX)
                    continue;
                c->nmap++;
            }
            c->map[j].pt = md->map[k].pt;
            c->map[j].clock = md->map[k].clock;
        }
    }
}

void media_sip(media_t *self, const sip_msg_t *m, uint64_t ts_us)
{
    if (!m->call_id.len)
        return;
    if (s_ends_call(m)) {
        uint32_t idx = s_call(self, m, false, ts_us);
        if (idx != LRUTAB_NONE && (m->is_request || !self->calls[idx].answered)) {
            self->st.calls_ended++;
            lrutab_release(self->ct, idx); /* judged in s_call_end */
        }
        return;
    }
    bool invite = sip_str_eq(m->method, "INVITE");
    if (!invite && !sip_str_eq(m->method, "UPDATE") && !sip_str_eq(m->method, "ACK") &&
            !sip_str_eq(m->method, "PRACK"))
        return;
    bool answer = invite && !m->is_request && m->status >= 200 && m->status < 300;
    uint32_t idx = s_call(self, m, (invite && m->is_request) || answer, ts_us);
    if (idx == LRUTAB_NONE)
        return;
    call_t *c = &self->calls[idx];
    s_account(c, ts_us);
    if (answer && !c->answered) {
        c->answered = true;
        c->answered_us = ts_us;
    }
    sdp_t sdp;
    if (!m->body_len || sdp_parse(m->body, m->body_len, &sdp) != 0)
        return;
    /* Who sent this SDP: a request's sender is its From, a response's its To. */
    int party = s_tag(m->is_request ? m->from_tag : m->to_tag) == c->caller_tag ? 0 : 1;
    s_sdp(self, idx, party, &sdp);
}

/* The live call whose SDP names an end of the flow, and the endpoints of
 * its ends (eb NULL if the other end is not that call's); NULL if none. */
static const endpoint_t *s_flow_call(media_t *self, const flow_t *f, const endpoint_t **ea,
        const endpoint_t **eb)
{
    *ea = s_ep_get(self, &f->key.a, f->key.pa);
    *eb = s_ep_get(self, &f->key.b, f->key.pb);
    const endpoint_t *e = *ea ? *ea : *eb;
    if (e && *eb && ((*eb)->call != e->call || (*eb)->ckey != e->ckey))
        *eb = NULL; /* the other end belongs to another call */
    return e;
}

/* Stream slot s (fresh, or one whose call has ended) becomes the flow's
 * stream in call e's list, measured from now. */
static void s_link(media_t *self, flow_t *f, uint32_t s, const endpoint_t *e, const endpoint_t *ea,
        const endpoint_t *eb)
{
    call_t *c = &self->calls[e->call];
    lrutab_touch(self->ct, e->call, f->first_us + MEDIA_CALL_IDLE_US);
    stream_t *st = &self->streams[s];
    memset(st, 0, sizeof *st);
    st->used = true;
    st->rtp = e->rtp;
    st->flow = f;
    st->call = e->call;
    st->prev = LRUTAB_NONE;
    st->next = c->head;
    if (c->head != LRUTAB_NONE)
        self->streams[c->head].prev = s;
    c->head = s;
    c->nstreams++;
    /* The end its SDP named is that party; the other end is the other. */
    int pa = ea ? ea->party : !eb->party;
    st->pub.party[0] = (int8_t)pa;
    st->pub.party[1] = (int8_t)!pa;
    for (int side = 0; side < 2; side++)
        if (f->site[side] >= 0 && c->party[st->pub.party[side]].site < 0)
            c->party[st->pub.party[side]].site = f->site[side];
    st->pub.answered = c->answered;
    st->pub.judgement = MEDIA_LIVE;
    st->pub.missing = -1;
    memcpy(st->pub.call_id, c->call_id, sizeof st->pub.call_id);
    self->st.streams++;
}

bool media_match(media_t *self, flow_t *f)
{
    if (f->key.proto != 17)
        return false;
    lrutab_stats_t ts;
    lrutab_stats(self->et, &ts);
    if (!ts.active) /* no SDP named an endpoint: two lookups saved a flow */
        return false;
    const endpoint_t *ea, *eb, *e = s_flow_call(self, f, &ea, &eb);
    if (!e)
        return false;
    /* Streams leave with their flow, not by the clock: no deadline. */
    uint32_t s = lrutab_add(self->stt, f->id, UINT64_MAX);
    s_link(self, f, s, e, ea, eb);
    f->media = s;
    return true;
}

/* A stream whose call has ended, on a flow a new call's SDP names again
 * (a phone with fixed RTP ports calling again within the flow's idle
 * time): the new call's from now on, measured afresh. */
static call_t *s_relink(media_t *self, flow_t *f)
{
    const endpoint_t *ea, *eb, *e = s_flow_call(self, f, &ea, &eb);
    if (!e)
        return NULL;
    s_link(self, f, f->media, e, ea, eb);
    return &self->calls[e->call];
}

/* The clock of payload type pt: the call's rtpmap, else RFC 3551's static
 * types, else 8 kHz (the audio codecs of SIP phones). */
static uint32_t s_clock(const call_t *c, uint8_t pt)
{
    for (uint8_t j = 0; c && j < c->nmap; j++)
        if (c->map[j].pt == pt)
            return c->map[j].clock;
    switch (pt) {
        case 6:
            return 16000;
        case 10:
        case 11:
            return 44100;
        case 16:
            return 11025;
        case 17:
            return 22050;
        case 14:
        case 25:
        case 26:
        case 28:
        case 31:
        case 32:
        case 33:
        case 34:
            return 90000;
        default:
            return 8000;
    }
}

/* RFC 3550 A.1 (sequence) and A.8 (jitter), simplified: no probation. */
static void s_rtp(rtp_state_t *r, media_dir_t *d, uint16_t seq, uint32_t ts, uint64_t arrival_us,
        uint32_t clock)
{
    if (!r->started) {
        r->started = true;
        r->base_seq = r->max_seq = seq;
        r->clock = clock;
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
    call_t *c = st->call != LRUTAB_NONE ? &self->calls[st->call] : NULL;
    if (!c && st->relink_gen != self->ep_gen) { /* not per packet: per new SDP */
        st->relink_gen = self->ep_gen;
        c = s_relink(self, f);
    }
    if (st->rtp) {
        cursor_t cur = cur_make(p->payload, p->payload_caplen);
        uint8_t vpxcc, mpt;
        uint16_t seq;
        uint32_t ts;
        if (!cur_u8(&cur, &vpxcc) || !cur_u8(&cur, &mpt) || !cur_be16(&cur, &seq) ||
                !cur_be32(&cur, &ts))
            return;
        if ((vpxcc >> 6) != 2)
            return;
        uint8_t pt = mpt & 0x7f;
        if (pt >= 72 && pt <= 76)
            return; /* RTCP on the same port (RFC 5761): not a media packet */
        s_rtp(&st->rtp_st[side], &st->pub.d[side], seq, ts, p->ts_us, s_clock(c, pt));
    } else {
        /* T.38 over UDPTL, or another transport: a datagram is media. */
        if (!p->payload_len)
            return;
        st->pub.d[side].pkts++;
    }
    lrutab_touch(self->stt, f->media, UINT64_MAX);
    if (!c)
        return;
    /* Media keeps its call alive, for the SIP that may still end it. */
    lrutab_touch(self->ct, st->call, p->ts_us + MEDIA_CALL_IDLE_US);
    if (p->ts_us > c->last_us)
        c->last_us = p->ts_us;
    if (c->answered && p->ts_us >= c->answered_us)
        c->pkts[st->pub.party[!side]]++;
}

const media_stream_t *media_stream(media_t *self, const flow_t *f)
{
    if (f->media == FLOW_NONE || f->media >= self->max_streams || !self->streams[f->media].used)
        return NULL;
    stream_t *st = &self->streams[f->media];
    if (st->call != LRUTAB_NONE) { /* the call goes on: judged so far */
        call_t *c = &self->calls[st->call];
        media_call_t mc;
        s_judge(c, c->last_us, &mc);
        st->pub.answered = c->answered;
        st->pub.judgement = mc.judgement;
        st->pub.missing = mc.missing;
    }
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

void media_remap_sites(media_t *self, const rules_remap_t *m)
{
    for (uint32_t i = 0; i < lrutab_max(self->ct); i++) /* free slots too: harmless */
        for (int p = 0; p < 2; p++)
            if (self->calls[i].party[p].site >= 0)
                self->calls[i].party[p].site = rules_remap_site(m, self->calls[i].party[p].site);
}

void media_flush(media_t *self)
{
    lrutab_flush(self->ct);
    lrutab_flush(self->et);
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
