/* SPDX-License-Identifier: MIT */
/* siptx.h: SIP transactions: each request matched with its final response,
 * recorded once with its request/response time (a SIP log in the spirit of
 * Zeek's sip.log). */
#ifndef PINHOLE_SIPTX_H
#define PINHOLE_SIPTX_H

#include <stdint.h>

#include "lrutab.h"
#include "rules.h"
#include "sip.h"
#include "strutil.h"

typedef struct {
    int site;
    uint64_t req_us, resp_us;    /* resp_us 0: no final response */
    uint64_t first_prov_us;      /* first 1xx, 0 if none */
    int status;                  /* final status, 0 if none */
    uint32_t retransmissions;
    uint32_t cseq;
    int64_t expires;
    char method[24], call_id[128], from[128], to[128], contact[160], user_agent[96];
    char via_sent_by[80], via_received[48], via_branch[64];
    int32_t via_rport;           /* -1: none asked, 0: asked, >0: value */
    ip_addr_t src, dst;
    uint16_t sport, dport;
} siptx_t;

typedef void(siptx_fn)(const siptx_t *tx, const char *end, void *ctx);

typedef struct {
    uint64_t transactions, completed, unanswered, evicted;
    uint64_t timed_out;    /* ended "timeout" */
    lrutab_stats_t table;
    uint32_t max;
} siptx_stats_t;

typedef struct siptx_table siptx_table_t;

/* max (1 .. 2^27): transactions open at once. `end` passed to fn: "final"
 * (answered), "timeout" (no final response within 32 s: RFC 3261 timer B/F;
 * an INVITE with a 1xx other than 100: 3 minutes after the last, timer C;
 * reported by siptx_expire once the clock passes that time), "evicted" (the
 * table was full: the oldest goes), "capture_ended" (siptx_flush). */
siptx_table_t *siptx_new(uint32_t max, siptx_fn *fn, void *ctx);
void siptx_destroy(siptx_table_t **self_p);

void siptx_message(siptx_table_t *self, const sip_msg_t *m, const ip_addr_t *src, uint16_t sport,
        const ip_addr_t *dst, uint16_t dport, int site, uint64_t ts_us);
/* Ends, as "timeout", every transaction whose time (above) ended before
 * now_us. */
void siptx_expire(siptx_table_t *self, uint64_t now_us);
/* End of capture: every open transaction is reported "capture_ended" (call
 * siptx_expire with the capture's last time first). */
void siptx_flush(siptx_table_t *self);
void siptx_stats(const siptx_table_t *self, siptx_stats_t *out);
/* The inventory was read again (SIGHUP): open transactions follow their
 * site to its new index. */
void siptx_remap_sites(siptx_table_t *self, const rules_remap_t *m);

#endif
