/* SPDX-License-Identifier: MIT */
/* media.h: RTP streams found from the calls' SDP, and their quality.
 *
 * Each INVITE / 200 OK (and re-INVITE, UPDATE) SDP names media endpoints
 * (address, port). A new UDP flow with one end on such an endpoint is that
 * call's media: it skips nDPI, and its RTP is measured per direction
 * (packets, loss from sequence numbers, RFC 3550 interarrival jitter). Behind
 * a NAT the phone's SDP address is private, so a flow is matched by either of
 * its ends: the provider's endpoint is enough (symmetric RTP). */
#ifndef PINHOLE_MEDIA_H
#define PINHOLE_MEDIA_H

#include <stdbool.h>
#include <stdint.h>

#include "flow.h"
#include "lrutab.h"
#include "packet.h"
#include "sip.h"

typedef struct media media_t;

typedef struct {
    uint32_t pkts;
    uint32_t lost;       /* expected minus received, from sequence numbers */
    double jitter_ms;    /* RFC 3550 6.4.1, at 8 kHz unless the payload type says */
} media_dir_t;

typedef struct {
    char call_id[128];
    bool answered;       /* a 2xx answered the INVITE */
    media_dir_t d[2];    /* indexed by flow side (0: key.a sends) */
} media_stream_t;

typedef struct {
    uint64_t calls, streams;
    uint64_t calls_ended;          /* by BYE or a failed INVITE */
    lrutab_stats_t call_table, endpoint_table, stream_table;
    uint32_t max_calls, max_endpoints, max_streams;
} media_stats_t;

/* max_calls (1 .. 2^27) calls at once, 4 x max_calls media endpoints and
 * max_streams (1 .. 2^29) media flows measured at once. */
media_t *media_new(uint32_t max_calls, uint32_t max_streams);
void media_destroy(media_t **self_p);

/* Learns media endpoints from a SIP message's SDP body, and answers; a BYE
 * or the failure of an unanswered INVITE ends the call (its endpoints then
 * match no new flow). */
void media_sip(media_t *self, const sip_msg_t *m, uint64_t ts_us);
/* For a new UDP flow: true if it is a call's media; the flow then carries
 * the stream slot (flow->media). When every slot is taken, the stream idle
 * longest is ended early: its flow's media becomes FLOW_NONE. The flow must
 * stay where it is until media_release. */
bool media_match(media_t *self, flow_t *f);
/* Measures one RTP packet of a media flow sent by `side`. */
void media_packet(media_t *self, flow_t *f, int side, const packet_t *p);
/* The stream of a media flow (NULL if none); valid until media_release. */
const media_stream_t *media_stream(media_t *self, const flow_t *f);
/* Frees the stream slot of a flow that ends. */
void media_release(media_t *self, flow_t *f);
/* Frees the calls silent (no SIP, no RTP) for 10 minutes, and endpoints
 * as old. */
void media_expire(media_t *self, uint64_t now_us);
void media_stats(const media_t *self, media_stats_t *out);

#endif
