/* SPDX-License-Identifier: MIT */
/* media.h: a call's media, found from its SDP, measured and judged.
 *
 * Each SDP of a call (INVITE, 183, 2xx, ACK, re-INVITE, UPDATE, PRACK)
 * names media endpoints (address, port) for the party that sent it: the
 * caller (the From tag of the INVITE that began the call) or the callee. A
 * new UDP flow with one end on such an endpoint is that call's media: it
 * skips nDPI, and its RTP is measured per direction (packets, loss from
 * sequence numbers, RFC 3550 interarrival jitter at the rtpmap clock).
 * Behind a NAT the phone's SDP address is private, so a flow is matched by
 * either of its ends, and the matched end says which party each side is.
 *
 * One-way media is judged per call and per direction (toward the caller,
 * toward the callee), over every flow of the call: asymmetric RTP (RFC
 * 4961), media moved by a re-INVITE, T.38 (UDPTL, any packet counts) all
 * add to the same two directions. docs/media.md says exactly when a call is
 * one-way. */
#ifndef PINHOLE_MEDIA_H
#define PINHOLE_MEDIA_H

#include <stdbool.h>
#include <stdint.h>

#include "flow.h"
#include "lrutab.h"
#include "packet.h"
#include "rules.h"
#include "sip.h"

typedef struct media media_t;

/* A direction must have been expected (answered, neither party holding it)
 * this long before its silence means anything. */
#define MEDIA_TELL_US (2ull * 1000000u)

typedef struct {
    uint32_t pkts;
    uint32_t lost;       /* expected minus received, from sequence numbers */
    double jitter_ms;    /* RFC 3550 6.4.1, at the payload type's clock */
} media_dir_t;

typedef enum {
    MEDIA_LIVE = 0,      /* the call goes on: not judged yet */
    MEDIA_OK,            /* media reached every party expecting it */
    MEDIA_ONE_WAY,       /* an expected direction carried nothing, the other did */
    MEDIA_NO_MEDIA,      /* none seen either way (it does not pass this sensor) */
    MEDIA_NOT_CHECKED,   /* not answered, or too short / on hold to tell */
} media_judgement_t;

/* A call's media, as judged (at its end, or so far). Parties: 0 the
 * caller, 1 the callee. Directions are indexed by the receiving party. */
typedef struct {
    char call_id[128];
    bool answered;
    media_judgement_t judgement;
    int missing;         /* MEDIA_ONE_WAY: the party no media reached */
    int site[2];         /* each party's site (where its media end is), -1 */
    uint32_t pkts[2];    /* media packets toward each party after the answer */
    uint64_t expected_us[2]; /* how long each direction was expected */
    uint64_t end_us;     /* when it was judged */
    uint32_t streams;    /* media flows of the call */
} media_call_t;

typedef struct {
    char call_id[128];
    bool answered;       /* a 2xx answered the INVITE */
    media_dir_t d[2];    /* indexed by flow side (0: key.a sends) */
    int8_t party[2];     /* the party at each flow side (0 caller, 1 callee) */
    /* The call's judgement; MEDIA_LIVE while the call goes on (then
     * media_stream judges it so far). */
    media_judgement_t judgement;
    int missing;
} media_stream_t;

typedef struct {
    uint64_t calls, streams;
    uint64_t calls_ended;          /* by BYE or a failed INVITE */
    uint64_t one_way;              /* calls judged one-way */
    lrutab_stats_t call_table, endpoint_table, stream_table;
    uint32_t max_calls, max_endpoints, max_streams;
} media_stats_t;

/* Called once per call that had media flows, when it is judged for good:
 * at its BYE, the failure of its INVITE, its expiry or eviction, or
 * media_flush. `flow` is a live flow of the call that carried media toward
 * the party that got some (for a one-way call: the flow that shows it), or
 * NULL if none is left. */
typedef void(media_call_fn)(const media_call_t *call, flow_t *flow, void *ctx);

/* max_calls (1 .. 2^27) calls at once, 4 x max_calls media endpoints and
 * max_streams (1 .. 2^29) media flows measured at once. */
media_t *media_new(uint32_t max_calls, uint32_t max_streams, media_call_fn *fn, void *ctx);
void media_destroy(media_t **self_p);

/* Learns media endpoints from a SIP message's SDP body, the answer, holds;
 * a BYE or the failure of an unanswered INVITE ends the call (its endpoints
 * then match no new flow). */
void media_sip(media_t *self, const sip_msg_t *m, uint64_t ts_us);
/* For a new UDP flow (its sites set): true if it is a call's media; the
 * flow then carries the stream slot (flow->media). When every slot is
 * taken, the stream idle longest is ended early: its flow's media becomes
 * FLOW_NONE (the flow goes on unmeasured, and unjudged by its call). The
 * flow must stay where it is until media_release. */
bool media_match(media_t *self, flow_t *f);
/* Measures one packet of a media flow sent by `side`. */
void media_packet(media_t *self, flow_t *f, int side, const packet_t *p);
/* The stream of a media flow (NULL if none), with its call judged so far
 * if the call goes on; valid until media_release. */
const media_stream_t *media_stream(media_t *self, const flow_t *f);
/* Frees the stream slot of a flow that ends. */
void media_release(media_t *self, flow_t *f);
/* Ends the calls silent (no SIP, no RTP) for 10 minutes, and endpoints
 * as old. */
void media_expire(media_t *self, uint64_t now_us);
/* The rules were reloaded (SIGHUP): the parties' site indices move. */
void media_remap_sites(media_t *self, const rules_remap_t *m);
/* Ends (and judges) every call: the capture is over. */
void media_flush(media_t *self);
void media_stats(const media_t *self, media_stats_t *out);

#endif
