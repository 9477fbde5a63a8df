/* SPDX-License-Identifier: MIT */
/* sipstream.c: SIP over TCP (RFC 3261 18.3).
 *
 * Each followed flow has a slot with one buffer per direction and the next
 * sequence number expected. A segment at that number is appended; a
 * retransmission (wholly or partly old) contributes only its new bytes; a
 * segment past it means one was lost: the buffer is emptied and the
 * direction waits for a segment that begins with a SIP start line. Whole
 * messages are cut off the front with sip_parse (stream mode); CRLF
 * keep-alives between them are skipped (RFC 5626 4.4.1). A message that
 * cannot be framed (no Content-Length, or one that is not a number) is
 * counted invalid and the direction resyncs on the next start line in its
 * buffer. A first segment shorter than a start line (a keep-alive, or the
 * line split over segments) is enough to start following.
 *
 * SIP over WebSocket (RFC 7118) shares the slots: a flow that begins with
 * an Upgrade to the sip subprotocol gets one whose directions feed
 * websocket.c, which gathers each data message in the direction's buffer;
 * a message is one SIP message (datagram framing). WebSocket cannot resync
 * after a lost segment: that direction is no longer read.
 *
 * Slots live with their flow (sipstream_release) on an lrutab ordered by
 * their last segment: when all are taken, the stream idle longest is
 * dropped for the new one, and its flow is no longer followed. */
#include "sipstream.h"

#include <stdlib.h>
#include <string.h>

#include "lrutab.h"

typedef struct {
    bool synced;
    uint32_t next_seq;
    uint32_t len;
    ws_dir_t ws; /* WebSocket slots: the frame reader; buf holds a message */
    uint8_t buf[SIPSTREAM_BUF];
} dir_t;

typedef struct {
    flow_t *flow; /* the flow it follows (valid until released) */
    bool ws;      /* SIP over WebSocket: framed by websocket.c */
    dir_t d[2];
} slot_t;

struct sipstream {
    slot_t *slots;
    uint32_t max;
    lrutab_t *t;
    sipstream_fn *fn;
    void *ctx;
    sipstream_stats_t st;
};

/* A stream pushed out by a new one: its flow is not followed any more. */
static void s_stream_end(uint32_t idx, lrutab_end_t why, void *ctx)
{
    sipstream_t *self = ctx;
    if (why == LRUTAB_EVICTED)
        self->slots[idx].flow->sipstream = FLOW_NONE;
}

sipstream_t *sipstream_new(uint32_t max_streams, sipstream_fn *fn, void *ctx)
{
    if (max_streams == 0)
        return NULL;
    sipstream_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->slots = calloc(max_streams, sizeof(slot_t));
    self->t = lrutab_new(max_streams, s_stream_end, self);
    self->max = max_streams;
    self->fn = fn;
    self->ctx = ctx;
    if (!self->slots || !self->t)
        sipstream_destroy(&self);
    return self;
}

void sipstream_destroy(sipstream_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->slots);
    lrutab_destroy(&(*self_p)->t);
    free(*self_p);
    *self_p = NULL;
}

/* Whether a segment may begin a SIP stream: CRLF keep-alives (RFC 5626
 * 4.4.1) and then a start line, whole or cut by the segment's end (a
 * first segment of a few bytes, or a start line split over two). Only the
 * first line is parsed, so the cost is bounded by its length. */
static bool s_starts_sip(const uint8_t *p, uint32_t n)
{
    uint32_t i = 0;
    while (i < n && (p[i] == '\r' || p[i] == '\n'))
        i++;
    if (i == n)
        return true; /* keep-alives only: the start line comes next */
    p += i;
    n -= i;
    uint32_t eol = 0;
    while (eol < n && p[eol] != '\n')
        eol++;
    if (eol == n) { /* no line end yet: a prefix of a start line? */
        static const char resp[] = "SIP/2.0 ";
        uint32_t k = n < 8 ? n : 8;
        if (memcmp(p, resp, k) == 0)
            return true;
        return p[0] >= 'A' && p[0] <= 'Z' && n < SIP_MAX_LINE;
    }
    sip_msg_t m; /* the start line alone: INCOMPLETE if it is one */
    return sip_parse(p, eol + 1, true, &m) != SIP_NOT_SIP;
}

/* The offset of the next line at or past `from` that may start a message,
 * or len if none: how a stream resyncs after a message it cannot read. */
static uint32_t s_next_start(const uint8_t *buf, uint32_t from, uint32_t len)
{
    for (uint32_t i = from; i < len; i++) {
        if (buf[i] != '\n' || i + 1 >= len)
            continue;
        const uint8_t *q = buf + i + 1;
        if (q[0] == '\r' || q[0] == '\n')
            continue;
        uint32_t eol = 0;
        while (i + 1 + eol < len && q[eol] != '\n')
            eol++;
        if (s_starts_sip(q, i + 1 + eol < len ? eol + 1 : eol))
            return i + 1;
        i += eol; /* the line just checked: every line once */
    }
    return len;
}

/* Cuts whole messages off the front of a direction's buffer. */
static void s_drain(sipstream_t *self, dir_t *d, flow_t *f, int side, const packet_t *p)
{
    uint32_t off = 0;
    for (;;) {
        while (off < d->len && (d->buf[off] == '\r' || d->buf[off] == '\n'))
            off++;
        if (off == d->len)
            break;
        sip_msg_t m;
        sip_rc_t rc = sip_parse(d->buf + off, d->len - off, true, &m);
        if (rc == SIP_INCOMPLETE)
            break;
        if (rc != SIP_OK) {
            /* Not SIP after all, or a message whose end is unknown (no
             * Content-Length, or one that is not a number): skip to the
             * next start line in what is buffered, else wait for one. */
            if (rc == SIP_INVALID)
                self->st.invalid++;
            uint32_t next = s_next_start(d->buf, off + 1, d->len);
            self->st.dropped += next - off;
            off = next;
            if (off == d->len) {
                d->len = 0;
                d->synced = false;
                return;
            }
            continue;
        }
        self->st.messages++;
        self->fn(&m, f, side, p, self->ctx);
        off += m.msg_len;
    }
    if (off) {
        memmove(d->buf, d->buf + off, d->len - off);
        d->len -= off;
    }
    if (d->len == SIPSTREAM_BUF) { /* a message larger than we keep */
        self->st.dropped += d->len;
        d->len = 0;
        d->synced = false;
    }
}

typedef struct {
    sipstream_t *self;
    flow_t *f;
    int side;
    const packet_t *p;
} ws_ctx_t;

/* A whole WebSocket data message: one SIP message. */
static void s_ws_message(const uint8_t *msg, uint32_t len, void *ctx)
{
    ws_ctx_t *c = ctx;
    sip_msg_t m;
    if (sip_parse(msg, len, false, &m) != SIP_OK) {
        c->self->st.ws.invalid++;
        return;
    }
    c->self->st.ws.messages++;
    c->self->fn(&m, c->f, c->side, c->p, c->self->ctx);
}

/* A hole in a direction: it waits for a start line, or (WebSocket) stops. */
static void s_lost(sipstream_t *self, slot_t *s, dir_t *d)
{
    self->st.gaps++;
    d->synced = false;
    d->len = 0;
    if (s->ws)
        ws_dir_lost(&d->ws);
}

bool sipstream_may_begin(const uint8_t *p, uint32_t n)
{
    return n && p[0] != '\r' && p[0] != '\n' && (s_starts_sip(p, n) || ws_is_sip_upgrade(p, n));
}

static bool s_follow(sipstream_t *self, flow_t *f, int side, const uint8_t *data, uint32_t n)
{
    bool ws = false;
    if (!s_starts_sip(data, n)) {
        if (!ws_is_sip_upgrade(data, n))
            return false;
        ws = true;
    }
    /* Streams leave with their flow, not by the clock: no deadline. */
    uint32_t i = lrutab_add(self->t, f->id, UINT64_MAX);
    slot_t *s = &self->slots[i];
    s->flow = f;
    s->ws = ws;
    s->d[0].synced = s->d[1].synced = false;
    s->d[0].len = s->d[1].len = 0;
    f->sipstream = i;
    if (ws) {
        ws_dir_init(&s->d[side].ws, true);
        ws_dir_init(&s->d[!side].ws, false);
        self->st.ws.streams++;
    } else {
        self->st.streams++;
    }
    return true;
}

void sipstream_segment(sipstream_t *self, flow_t *f, int side, const packet_t *p)
{
    if (p->proto != 6 || p->payload_len == 0)
        return;
    const uint8_t *data = p->payload;
    uint32_t n = p->payload_caplen;
    if (f->sipstream == FLOW_NONE) {
        if (!s_follow(self, f, side, data, n))
            return;
    } else {
        lrutab_touch(self->t, f->sipstream, UINT64_MAX);
    }
    slot_t *s = &self->slots[f->sipstream];
    dir_t *d = &s->d[side];
    if (n < p->payload_len) { /* cut by the snap length: the stream has a hole */
        s_lost(self, s, d);
        return;
    }
    if (d->synced) {
        int32_t ahead = (int32_t)(p->seq - d->next_seq);
        if (ahead > 0) { /* a segment is missing */
            s_lost(self, s, d);
        } else if ((uint32_t)-ahead >= n) {
            return; /* wholly a retransmission */
        } else {
            data += (uint32_t)-ahead; /* partly old: keep the new bytes */
            n -= (uint32_t)-ahead;
        }
    }
    if (!d->synced) {
        if (s->ws ? !ws_dir_is_alive(&d->ws) : !s_starts_sip(data, n))
            return;
        d->synced = true;
        d->len = 0;
    }
    d->next_seq = p->seq + p->payload_len;
    if (s->ws) {
        ws_ctx_t c = {self, f, side, p};
        ws_feed(&d->ws, data, n, d->buf, &d->len, SIPSTREAM_BUF, &self->st.ws, s_ws_message, &c);
        return;
    }
    uint32_t room = SIPSTREAM_BUF - d->len;
    uint32_t take = n < room ? n : room;
    memcpy(d->buf + d->len, data, take);
    d->len += take;
    s_drain(self, d, f, side, p);
    if (take < n) {
        self->st.dropped += n - take;
        d->synced = false;
        d->len = 0;
    }
}

void sipstream_release(sipstream_t *self, flow_t *f)
{
    if (f->sipstream == FLOW_NONE || f->sipstream >= self->max)
        return;
    lrutab_release(self->t, f->sipstream);
    f->sipstream = FLOW_NONE;
}

void sipstream_stats(const sipstream_t *self, sipstream_stats_t *out)
{
    *out = self->st;
    lrutab_stats(self->t, &out->table);
    out->max = self->max;
}
