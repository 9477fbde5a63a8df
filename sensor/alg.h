/* SPDX-License-Identifier: MIT */
/* alg.h: signs of a SIP-aware firewall (SIP ALG) rewriting SIP. See alg.c
 * and docs/sip-alg.md. */
#ifndef PINHOLE_ALG_H
#define PINHOLE_ALG_H

#include <stdint.h>

#include "lrutab.h"
#include "rules.h"
#include "sip.h"
#include "strutil.h"

typedef struct {
    int site;
    const char *how;      /* "compared" (inside vs outside copy) or a heuristic's name */
    char call_id[128];
    char message[48];     /* "REGISTER" or "200 REGISTER" */
    char header[32];      /* the header (or SDP line type) rewritten */
    char inside[256];     /* its value inside the NAT */
    char outside[256];    /* ... and outside; "" when one vantage only */
    uint64_t ts_us;
} alg_sign_t;

typedef struct {
    uint64_t compared;    /* messages seen from both vantages and compared */
    uint64_t rewritten;   /* ... of which the SIP differed */
    uint64_t heuristic;   /* single-vantage signs */
} alg_site_stats_t;

typedef void(alg_fn)(const alg_sign_t *s, void *ctx);

typedef struct alg alg_t;

alg_t *alg_new(uint32_t max_messages, int nsites, alg_fn *fn, void *ctx);
void alg_destroy(alg_t **self_p);

/* One SIP message (its bytes: raw, raw_len) from a packet; `site` is the
 * phone's side's site. */
void alg_sip(alg_t *self, const sip_msg_t *m, const uint8_t *raw, uint32_t raw_len,
        const ip_addr_t *src, const ip_addr_t *dst, int site, uint64_t ts_us);
void alg_site_stats(const alg_t *self, int site, alg_site_stats_t *out);
/* The inventory was read again (SIGHUP): kept messages and each site's
 * counters follow their site to its new index. -1: out of memory. */
int alg_remap_sites(alg_t *self, const rules_remap_t *m);
/* The kept messages' table: its counters and its limit. */
void alg_table(const alg_t *self, lrutab_stats_t *out, uint32_t *max);

#endif
