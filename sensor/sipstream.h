/* SPDX-License-Identifier: MIT */
/* sipstream.h: SIP over TCP: in-order reassembly of each direction of a
 * flow into messages (Content-Length framing), several messages per segment
 * or one message over several. Bounded: a fixed pool of stream buffers;
 * when all are taken, the stream idle longest makes room. */
#ifndef PINHOLE_SIPSTREAM_H
#define PINHOLE_SIPSTREAM_H

#include <stdint.h>

#include "flow.h"
#include "lrutab.h"
#include "packet.h"
#include "sip.h"
#include "websocket.h"

#define SIPSTREAM_BUF 16384 /* a SIP message larger than this is skipped */

typedef struct sipstream sipstream_t;

typedef struct {
    uint64_t streams, messages;
    uint64_t gaps;          /* a missing segment: the direction resyncs */
    uint64_t dropped;       /* bytes that were not SIP or did not fit */
    uint64_t invalid;       /* messages that could not be framed */
    ws_stats_t ws;          /* SIP over WebSocket (own streams, not above) */
    lrutab_stats_t table;   /* evicted: streams dropped for a newer one */
    uint32_t max;
} sipstream_stats_t;

/* Called for each whole message; msg is valid during the call. */
typedef void(sipstream_fn)(const sip_msg_t *msg, flow_t *f, int side, const packet_t *p, void *ctx);

/* Whether a TCP segment with payload begins a SIP stream: a start line, or
 * an Upgrade to WebSocket for SIP (workers: the reader's test). */
bool sipstream_may_begin(const uint8_t *p, uint32_t n);
/* max_streams (at least 1) flows followed at once. */
sipstream_t *sipstream_new(uint32_t max_streams, sipstream_fn *fn, void *ctx);
void sipstream_destroy(sipstream_t **self_p);

/* A TCP segment of a flow. Starts following the flow when a segment begins
 * with a SIP start line, or with an HTTP Upgrade to WebSocket for the sip
 * subprotocol (RFC 7118: its frames are read by websocket.c and each data
 * message handed to fn); the flow must stay where it is until
 * sipstream_release. Does nothing for flows it does not follow. */
void sipstream_segment(sipstream_t *self, flow_t *f, int side, const packet_t *p);
/* The flow ends: its buffers go back to the pool. */
void sipstream_release(sipstream_t *self, flow_t *f);
void sipstream_stats(const sipstream_t *self, sipstream_stats_t *out);

#endif
