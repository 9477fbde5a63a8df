/* SPDX-License-Identifier: MIT */
/* flowid.h: a flow's identity as other tools name it.
 *
 * community_id: the Community ID v1 (https://github.com/corelight/
 * community-id-spec), seed 0: the same string Zeek, Suricata and Arkime
 * give the same connection, so their records join with pinhole's.
 * flow_id: a 64-bit hash of the flow's 5-tuple, from its opener, and the
 * time of its first packet; the same capture gives the same ids in every
 * run (unlike a counter), so a collector can tell a flow it has already
 * stored. Below 2^53, so JSON readers that use doubles keep it exact. */
#ifndef PINHOLE_FLOWID_H
#define PINHOLE_FLOWID_H

#include <stdint.h>

#include "flow.h"
#include "strutil.h"

#define FLOWID_COMMUNITY_LEN 32 /* "1:" + 28 base64 characters + NUL */

/* The Community ID v1 of a connection from src to dst. For ICMP and
 * ICMPv6, sport and dport are the type and code of the opener's message. */
const char *flowid_community(uint16_t seed, const ip_addr_t *src, const ip_addr_t *dst,
        uint8_t proto, uint16_t sport, uint16_t dport, char out[FLOWID_COMMUNITY_LEN]);

/* The Community ID of a flow, from its opener (seed 0). */
const char *flowid_community_flow(const flow_t *f, char out[FLOWID_COMMUNITY_LEN]);

/* The flow's stable id. */
uint64_t flowid_stable(const flow_t *f);

#endif
