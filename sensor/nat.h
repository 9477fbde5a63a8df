/* SPDX-License-Identifier: MIT */
/* nat.h: NAT consistency between a phone's SIP REGISTERs. See nat.c for the
 * rules (docs/nat.md for users). */
#ifndef PINHOLE_NAT_H
#define PINHOLE_NAT_H

#include <stdbool.h>
#include <stdint.h>

#include "lrutab.h"
#include "rules.h"
#include "sip.h"
#include "strutil.h"

typedef enum {
    NAT_INSIDE = 0,  /* the sensor sees the phone's private address */
    NAT_OUTSIDE = 1, /* the sensor sees the public mapping */
} nat_vantage_t;

typedef struct {
    int site;
    nat_vantage_t vantage;
    char aor[128];
    char call_id[128];
    uint32_t cseq;        /* the new REGISTER's CSeq: with aor and call_id, the change's
                           * identity, the same from either vantage */
    char priv[64];        /* the phone's private ip:port, "" if not seen */
    char old_public[64];  /* "ip:port" */
    char new_public[64];
    uint64_t old_us, new_us;
} nat_change_t;

typedef struct {
    uint64_t registers;   /* REGISTER requests seen */
    uint64_t comparisons; /* consecutive REGISTERs of one binding compared */
    uint64_t changes;     /* ... whose public mapping differed */
    uint64_t comparisons_v[2], changes_v[2]; /* the same per vantage (nat_vantage_t) */
    uint64_t reboots;     /* new Call-ID or CSeq restart: not compared */
    uint64_t silences;    /* gap longer than the registration: not compared */
    uint64_t no_rport;    /* inside view: REGISTERs that did not ask for rport */
    uint64_t sip_messages;   /* SIP messages of the site's phones, any method */
    uint64_t behind_nat;     /* phones (private ip:port) seen behind a NAT */
    uint64_t mapping_changes; /* ... whose public mapping then changed */
} nat_site_stats_t;

typedef void(nat_change_fn)(const nat_change_t *c, void *ctx);

/* An INVITE sent to a public mapping a binding has since left. */
typedef struct {
    int site;
    char aor[128];
    char call_id[128];
    char target[64];      /* where the INVITE went: the old mapping */
    char current[64];     /* the binding's mapping now */
    uint64_t ts_us;
} nat_stale_t;

/* A phone seen behind a NAT in any SIP request (outside: the packet's
 * source is not the top Via's sent-by) or in the answer to one (inside: the
 * Via's received=/rport= differ from its sent-by): when first learned, or
 * when its public mapping changed (old_public then set). */
typedef struct {
    int site;
    nat_vantage_t vantage;
    char priv[64];        /* the phone's ip:port (Via sent-by) */
    char public_[64];     /* its mapping: "ip:port" */
    char old_public[64];  /* "" when first learned */
    char method[24];      /* the request that showed it (a response: its CSeq method) */
    char call_id[128];
    uint64_t ts_us;
} nat_binding_t;

typedef void(nat_binding_fn)(const nat_binding_t *b, void *ctx);

typedef struct nat nat_t;

/* The bounded tables and their counters. */
typedef struct {
    lrutab_stats_t bindings, call_ids, mappings, phones;
    uint32_t max_bindings, max_refs; /* max_refs: Call-IDs, and mappings */
} nat_tables_t;

/* max_bindings (1 .. 2^29) bounds the registrations tracked; Call-IDs and
 * public mappings get twice as many entries. When a table is full the entry
 * refreshed longest ago makes room. nsites sizes the per-site counters. */
nat_t *nat_new(uint32_t max_bindings, int nsites, nat_change_fn *cb, void *ctx);
void nat_destroy(nat_t **self_p);
/* Where nat_binding_t observations go (none by default). */
void nat_set_binding_cb(nat_t *self, nat_binding_fn *cb, void *ctx);

/* One SIP message from a packet src:sport -> dst:dport at ts_us. `site` is
 * the site of the phone's side: the source of a request, the destination of
 * a response. */
void nat_sip(nat_t *self, const sip_msg_t *m, const ip_addr_t *src, uint16_t sport,
        const ip_addr_t *dst, uint16_t dport, int site, uint64_t ts_us);

/* An INVITE from outside to dst:dport (outside view). Returns true and fills
 * *out when dst:dport is a mapping some binding used before but no longer
 * does: the call goes to a port the NAT has forgotten. */
bool nat_invite(nat_t *self, const sip_msg_t *m, const ip_addr_t *dst, uint16_t dport,
        uint64_t ts_us, nat_stale_t *out);

void nat_site_stats(const nat_t *self, int site, nat_site_stats_t *out);
/* The inventory was read again (SIGHUP): each binding and each site's
 * counters follow their site to its new index (m); a binding whose site is
 * gone is no site's any more. Bindings keep their identity, so the next
 * REGISTER is still compared with the last. -1: out of memory (unchanged). */
int nat_remap_sites(nat_t *self, const rules_remap_t *m);
/* Frees the bindings whose registration lapsed (2 x Expires, at least 60 s,
 * plus 60 s of grace after their last REGISTER), and their Call-IDs and
 * mappings; and phones seen behind NAT not heard of for an hour. */
void nat_expire(nat_t *self, uint64_t now_us);
void nat_tables(const nat_t *self, nat_tables_t *out);

#endif
