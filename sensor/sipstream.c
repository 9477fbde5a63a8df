/* SPDX-License-Identifier: MIT */
/* sipstream.c: SIP over TCP (RFC 3261 18.3).
 *
 * Each followed flow has a slot with one buffer per direction and the next
 * sequence number expected. A segment at that number is appended; a
 * retransmission (wholly or partly old) contributes only its new bytes; a
 * segment past it means one was lost: the buffer is emptied and the
 * direction waits for a segment that begins with a SIP start line. Whole
 * messages are cut off the front with sip_parse (stream mode); CRLF
 * keep-alives between them are skipped (RFC 5626 4.4.1).
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
    uint8_t buf[SIPSTREAM_BUF];
} dir_t;

typedef struct {
    flow_t *flow; /* the flow it follows (valid until released) */
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

static bool s_starts_sip(const uint8_t *p, uint32_t n)
{
    if (n < 8)
        return false;
    if (memcmp(p, "SIP/2.0 ", 8) == 0)
        return true;
    sip_msg_t m;
    return p[0] >= 'A' && p[0] <= 'Z' && sip_parse(p, n, true, &m) != SIP_NOT_SIP;
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
        if (rc != SIP_OK) { /* not SIP after all, or broken: resync */
            self->st.dropped += d->len - off;
            d->len = 0;
            d->synced = false;
            return;
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

void sipstream_segment(sipstream_t *self, flow_t *f, int side, const packet_t *p)
{
    if (p->proto != 6 || p->payload_len == 0)
        return;
    const uint8_t *data = p->payload;
    uint32_t n = p->payload_caplen;
    if (f->sipstream == FLOW_NONE) {
        if (!s_starts_sip(data, n))
            return;
        /* Streams leave with their flow, not by the clock: no deadline. */
        uint32_t i = lrutab_add(self->t, f->id, UINT64_MAX);
        self->slots[i].flow = f;
        self->slots[i].d[0].synced = self->slots[i].d[1].synced = false;
        self->slots[i].d[0].len = self->slots[i].d[1].len = 0;
        f->sipstream = i;
        self->st.streams++;
    } else {
        lrutab_touch(self->t, f->sipstream, UINT64_MAX);
    }
    dir_t *d = &self->slots[f->sipstream].d[side];
    if (n < p->payload_len) { /* cut by the snap length: the stream has a hole */
        d->synced = false;
        d->len = 0;
        self->st.gaps++;
        return;
    }
    if (d->synced) {
        int32_t ahead = (int32_t)(p->seq - d->next_seq);
        if (ahead > 0) { /* a segment is missing */
            self->st.gaps++;
            d->synced = false;
            d->len = 0;
        } else if ((uint32_t)-ahead >= n) {
            return; /* wholly a retransmission */
        } else {
            data += (uint32_t)-ahead; /* partly old: keep the new bytes */
            n -= (uint32_t)-ahead;
        }
    }
    if (!d->synced) {
        if (!s_starts_sip(data, n))
            return;
        d->synced = true;
        d->len = 0;
    }
    d->next_seq = p->seq + p->payload_len;
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
