/* SPDX-License-Identifier: MIT */
/* verdict.h: what a finished flow means against the expected rules table.
 *
 * allowed     the flow matches rule R and worked;
 * blocked     it matches R and failed: no_answer, reset, icmp_unreachable,
 *             tls_incomplete, no_response;
 * unexpected  no rule matches (the nearest rule is named when only the port,
 *             the direction or the transport is off);
 * one_sided   it would be blocked, but the mirror shows only one direction;
 * capture_ended  it would be blocked, but it began in the last seconds of
 *             the capture;
 * unmonitored neither end is in a site of the inventory. */
#ifndef PINHOLE_VERDICT_H
#define PINHOLE_VERDICT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "flow.h"
#include "geo.h"
#include "rules.h"

typedef enum {
    VERDICT_ALLOWED = 0,
    VERDICT_BLOCKED,
    VERDICT_UNEXPECTED,
    VERDICT_ONE_SIDED,
    VERDICT_CAPTURE_ENDED,
    VERDICT_UNMONITORED,
    VERDICT_COUNT
} verdict_kind_t;

typedef enum {
    REASON_NONE = 0,
    REASON_NO_ANSWER,
    REASON_RESET,
    REASON_ICMP_UNREACHABLE,
    REASON_TLS_INCOMPLETE,
    REASON_NO_RESPONSE,
    REASON_ONE_WAY_MEDIA, /* RTP of a call (from SDP) came back from neither side */
    REASON_COUNT
} reason_t;

/* How a side's roles were recognised: the most specific evidence that
 * contributed a role. */
typedef enum {
    ROLE_BY_NONE = 0, /* no role */
    ROLE_BY_ADDRESS,  /* a site binding or a `cidrs` binding */
    ROLE_BY_SNI,      /* the TLS/QUIC ClientHello's server name */
    ROLE_BY_HTTP_HOST,
    ROLE_BY_DNS,      /* a DNS answer the site was given for the address */
    ROLE_BY_ASN,      /* the network owner (`asns`, `orgs`, `countries`) */
    ROLE_BY_COUNT
} role_by_t;

typedef struct {
    verdict_kind_t kind;
    reason_t reason;     /* blocked; and the failure a one_sided / capture_ended flow showed */
    int rule;            /* rule matched by the opening direction, -1 */
    int reply_rule;      /* another rule the reply direction verifies, -1 */
    int nearest;         /* unexpected: nearest rule, -1 */
    near_kind_t near;
    int site;            /* -1: unmonitored */
    int violation;       /* requirement violated (https_only), -1 */
    role_set_t roles[2]; /* roles of originator [0] and responder [1] */
    role_by_t by[2];     /* how each was recognised */
    int remote;          /* side (0 orig, 1 resp) outside the site, -1 */
    geo_info_t geo;      /* of the remote side */
} verdict_t;

typedef struct verdict_ctx verdict_ctx_t;

/* end_window_us: attempts that began this close to the end of the capture
 * are capture_ended, not blocked. */
verdict_ctx_t *verdict_ctx_new(const rules_t *rules, geo_t *geo, uint64_t end_window_us);
/* Judges by `rules` from now on; `m` says where the old sites went (their
 * inbound-traffic counts follow them). -1: out of memory (nothing changed). */
int verdict_set_rules(verdict_ctx_t *self, const rules_t *rules, const rules_remap_t *m);
void verdict_ctx_destroy(verdict_ctx_t **self_p);

/* Per-packet: notes that a packet reached a site from outside it (the
 * evidence that the mirror copies the inbound direction at all). */
void verdict_note_inbound(verdict_ctx_t *self, int site);
/* Workers (sensor/workers.h): one flag per site, shared by every worker's
 * context, says some worker saw inbound traffic there; this context's own
 * sightings are set in it now. verdict_set_rules forgets it (the sites
 * move): share the new one again then. NULL: none. */
void verdict_share_inbound(verdict_ctx_t *self, _Atomic uint8_t *flags);
/* Sets the side sites of a new flow (once per flow). */
void verdict_flow_sites(verdict_ctx_t *self, flow_t *f);
/* The time of the last packet of the capture (for capture_ended). */
void verdict_set_capture_end(verdict_ctx_t *self, uint64_t ts_us);

/* What classification knows of a flow, for its verdict. */
typedef struct {
    const char *app; /* nDPI protocol name, NULL if none */
    bool is_http;    /* plaintext HTTP seen */
    bool is_media;   /* RTP of a call, known from its SDP */
    /* Its call was judged one-way (sensor/media.h): the flow carried media
     * only from the party no media reached; the direction that failed is
     * toward the flow's originator (`missing_to_orig`) or its responder. */
    bool one_way;
    bool missing_to_orig;
} verdict_hint_t;

/* Judges a finished flow. `at_end`: the flow ends because the capture did. */
void verdict_judge(verdict_ctx_t *self, const flow_t *f, bool at_end, const verdict_hint_t *hint,
        verdict_t *out);

const char *verdict_kind_str(verdict_kind_t k);
const char *verdict_reason_str(reason_t r);
/* "address", "sni", "http_host", "dns", "asn"; NULL for ROLE_BY_NONE. */
const char *verdict_role_by_str(role_by_t b);

#endif
