/* SPDX-License-Identifier: MIT */
/* defrag.h: IPv4 and IPv6 fragment reassembly (RFC 791, RFC 8200 4.5),
 * bounded: a fixed number of datagrams in progress, each up to 64 KiB. */
#ifndef PINHOLE_DEFRAG_H
#define PINHOLE_DEFRAG_H

#include <stdint.h>

#include "packet.h"

typedef struct defrag defrag_t;

typedef struct {
    uint64_t fragments, reassembled;
    uint64_t timed_out;  /* incomplete datagrams dropped after the timeout */
    uint64_t evicted;    /* incomplete datagrams pushed out by a full table */
    uint64_t invalid;    /* beyond 64 KiB, or a conflicting last fragment */
    uint64_t active, peak; /* datagrams in progress, now and at most */
    uint32_t max;
} defrag_stats_t;

/* How long an incomplete datagram waits for its fragments (the pipeline's
 * and the workers' reader's tables alike: they must agree). */
#define DEFRAG_TIMEOUT_US (30ull * 1000000u)

defrag_t *defrag_new(uint32_t max_datagrams, uint64_t timeout_us);
void defrag_destroy(defrag_t **self_p);

/* Adds a fragment (a packet decoded to DECODE_ERR_FRAGMENT). When it
 * completes a datagram, returns 1 with the whole IP packet in *out (decode
 * it as LINK_RAW; valid until the next call); 0 otherwise. */
int defrag_add(defrag_t *self, const packet_t *p, const uint8_t **out, uint32_t *outlen);
/* Drops the incomplete datagrams older than the timeout. */
void defrag_expire(defrag_t *self, uint64_t now_us);
void defrag_stats(const defrag_t *self, defrag_stats_t *out);

#endif
