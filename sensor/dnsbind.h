/* SPDX-License-Identifier: MIT */
/* dnsbind.h: addresses named by the DNS answers a site was given.
 *
 * When a client of site S is told that a name the inventory binds a role to
 * (a `hosts` pattern) has address A, flows from S to A get that name as
 * their server's name for as long as the answer's TTL (capped at a day), so
 * a flow with no SNI of its own (SIP, RTP, TLS with an encrypted
 * ClientHello, plain TCP) still takes the role.
 *
 * Bindings are per site: one name can resolve differently at two sites
 * (split-horizon DNS, geographic answers of a CDN), and an answered private
 * address means a different host at a site with overlapping private ranges.
 * A binding learnt for one site is therefore never applied to another. The
 * table is bounded (common/lrutab.h): the stalest binding makes room. */
#ifndef PINHOLE_DNSBIND_H
#define PINHOLE_DNSBIND_H

#include <stdint.h>

#include "flow.h"
#include "lrutab.h"

typedef struct dnsbind dnsbind_t;

typedef struct {
    uint64_t answers;  /* DNS responses read */
    uint64_t invalid;  /* malformed (truncated ones are read as far as they go) */
    uint64_t bound;    /* addresses bound to a name, or bound again */
    lrutab_stats_t table;
    uint32_t max;
} dnsbind_stats_t;

/* Room for max bindings (at least 1); NULL on allocation failure. */
dnsbind_t *dnsbind_new(uint32_t max);
void dnsbind_destroy(dnsbind_t **self_p);

/* Binds addr at `site` to name until now_us + ttl_s seconds (a longer-lived
 * binding for the same pair keeps its deadline). */
void dnsbind_add(dnsbind_t *self, int site, const ip_addr_t *addr, const char *name,
        uint32_t ttl_s, uint64_t now_us);
/* The name addr is bound to at `site` and now_us, or NULL (valid until the
 * next call that adds to the table). */
const char *dnsbind_lookup(const dnsbind_t *self, int site, const ip_addr_t *addr,
        uint64_t now_us);
/* Ends the bindings whose TTL has passed. */
void dnsbind_expire(dnsbind_t *self, uint64_t now_us);
/* Ends every binding (the sites they were learnt for changed). */
void dnsbind_flush(dnsbind_t *self);
/* Counts a response read (ok) or a malformed one. */
void dnsbind_count(dnsbind_t *self, bool ok);
void dnsbind_stats(const dnsbind_t *self, dnsbind_stats_t *out);

#endif
