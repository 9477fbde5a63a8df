/* SPDX-License-Identifier: MIT */
/* conn.h: per-packet connection state of a flow: counters, the TCP
 * handshake and teardown, a Zeek-style history and conn_state, duplicate
 * copies from a mirror that sends a packet twice. */
#ifndef PINHOLE_CONN_H
#define PINHOLE_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "flow.h"
#include "packet.h"

/* Decides which side opened a new flow from its first packet. */
void conn_start(flow_t *f, int side, const packet_t *p);
/* The packet's fingerprint for de-duplication (keyed from the run's XXH3 seed):
 * its bytes from the IP header to the end of the capture, the TTL or hop
 * limit and the IPv4 header checksum aside. Never 0, except for a packet
 * with no IP header (0: never a duplicate). */
uint64_t conn_fingerprint(const packet_t *p);
/* True if p, of fingerprint fp, is a true copy of the last packet the same
 * side sent, within window_us (a SPAN port copying both ingress and egress,
 * or both sides of a router). Not counted. */
bool conn_is_duplicate(const flow_t *f, int side, const packet_t *p, uint64_t fp,
        uint64_t window_us);
/* Accounts one packet sent by `side`; fp (conn_fingerprint, or 0) is kept
 * for the next conn_is_duplicate. */
void conn_update(flow_t *f, int side, const packet_t *p, uint64_t fp);
/* Records an ICMP error (type/code) about this flow. */
void conn_icmp_error(flow_t *f, uint8_t type, uint8_t code);

/* Zeek conn_state of a TCP flow (S0, REJ, S1, SF, RSTO, ...); "" otherwise. */
const char *conn_state(const flow_t *f);
/* True if the responder answered at all (any packet from it). */
bool conn_answered(const flow_t *f);
/* TCP: the responder completed the handshake (SYN-ACK, or data both ways). */
bool conn_established(const flow_t *f);

#endif
