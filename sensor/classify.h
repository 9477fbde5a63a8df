/* SPDX-License-Identifier: MIT */
/* classify.h: application classification with nDPI (the only module that
 * includes it).
 *
 * nDPI sees a flow only until it is classified: its per-flow state (several
 * hundred bytes) lives in a bounded pool of slots and goes back to the pool
 * as soon as the protocol and host name are known, or after a packet budget;
 * a full pool gives up the flow it has waited on longest for a new one.
 * What remains on the flow is two protocol ids and the host name. */
#ifndef PINHOLE_CLASSIFY_H
#define PINHOLE_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow.h"
#include "packet.h"

typedef struct classify classify_t;

typedef struct {
    uint64_t packets;  /* packets given to nDPI */
    uint64_t classified, given_up;
    uint64_t pool_full; /* flows that found the pool full (the flow waited on
                         * longest was given up for each) */
    uint64_t slots_in_use, slots_peak;
} classify_stats_t;

/* max_slots bounds the flows nDPI looks at at once; max_packets the packets
 * of one flow it sees before giving up. */
/* True when nDPI knows `name` as a protocol (any case), or every part of a
 * dotted name ("TLS.Microsoft"). For checking an inventory's `apps`. */
bool classify_app_known(void *cls, const char *name);

/* The protocols the sensor reads from nDPI itself (TLS, QUIC and DTLS for
 * the server name, HTTP for the Host and `https_only`): dissected whatever
 * --ndpi-protocols says. */
#define CLASSIFY_OWN_PROTOCOLS "TLS,QUIC,DTLS,HTTP,HTTP_Connect,HTTP_Proxy"

/* Checks a comma-separated list of nDPI protocol names (any case; a dotted
 * name counts as its parts). False with the first name nDPI does not know
 * in bad (at most n bytes). */
bool classify_protocols_check(void *cls, const char *list, char *bad, size_t n);
/* True when every name of `names` (a list as above, "" for none) is one of
 * `list`'s; else false with the first that is not in bad. */
bool classify_protocols_cover(void *cls, const char *list, const char *names, char *bad,
        size_t n);

/* protocols: the nDPI dissectors that run, as a list classify_protocols_check
 * accepts, or NULL for every one. NULL when nDPI cannot be set up or a name
 * is unknown. */
classify_t *classify_new(uint32_t max_slots, uint32_t max_packets, const char *protocols);
/* How many protocols' dissectors run (every one nDPI has, or the list's). */
uint32_t classify_protocols(const classify_t *self);
void classify_destroy(classify_t **self_p);

/* Feeds one packet of a flow to nDPI, if the flow still needs it. */
void classify_packet(classify_t *self, flow_t *f, const packet_t *p);
/* Ends classification of a flow (it is leaving the table). */
void classify_finish(classify_t *self, flow_t *f);
/* Marks a flow as RTP known from signalling: nDPI never looks at it. */
void classify_mark_rtp(classify_t *self, flow_t *f);
/* Name of the flow's protocol, "Unknown" if none (buf: 64 bytes). */
const char *classify_app_name(classify_t *self, const flow_t *f, char *buf, size_t n);
/* True if nDPI found plaintext HTTP on the flow. */
bool classify_is_http(const flow_t *f);
void classify_stats(const classify_t *self, classify_stats_t *out);

#endif
