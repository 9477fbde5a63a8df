/* SPDX-License-Identifier: MIT */
/* report.h: the per-site compliance report.
 *
 * Aggregates flow verdicts per site and rule: verified / blocked / not
 * observed with counts and one example flow, requirement violations, and the
 * unexpected flows grouped by destination, transport and port. */
#ifndef PINHOLE_REPORT_H
#define PINHOLE_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "alg.h"
#include "classify.h"
#include "flow_view.h"
#include "compliance.h"
#include "flow.h"
#include "media.h"
#include "nat.h"
#include "rules.h"
#include "verdict.h"

/* The JSON report's "schema" (docs/events.md, Report). */
#define REPORT_FORMAT_VERSION 2

#define REPORT_MAX_GROUPS 4096 /* unexpected-flow groups per run */

typedef struct report report_t;

typedef struct {
    const char *sensor;
    uint64_t packets, bytes, files;
    uint64_t first_us, last_us;
    uint64_t decode_errors, duplicates, flows, evicted;
} report_meta_t;

report_t *report_new(const rules_t *rules, classify_t *cls);
/* Reports by `rules` from now on: each site's counts, rule by rule, follow
 * it to its new place (`m`); a site, rule or requirement no longer there
 * takes its counts with it. -1: out of memory (nothing changed, or a site
 * whose counters could not be moved lost them). */
int report_set_rules(report_t *self, const rules_t *rules, const rules_remap_t *m);
void report_destroy(report_t **self_p);
/* Workers: adds the counters of src (another worker's report on the same
 * rules) to self's; examples fill what self has not yet. NAT and SIP ALG
 * state stay what report_set_nat / report_set_alg name. */
void report_merge(report_t *self, const report_t *src);

/* Adds one judged flow. */
void report_add(report_t *self, const flow_t *f, const verdict_t *v);
/* The same for a flow whose view the pipeline has (sensor/flow_view.h):
 * nothing of the flow is worked out again. */
void report_add_view(report_t *self, flow_view_t *fv);
/* The NAT analysis whose per-site counters the report reads (borrowed). */
void report_set_nat(report_t *self, const nat_t *nat);
/* Keeps a NAT port change as evidence (a few per site). */
void report_nat_change(report_t *self, const nat_change_t *c);
/* A phone seen behind NAT (nat_binding_t): kept per site, up to 8. */
void report_nat_binding(report_t *self, const nat_binding_t *b);
/* "consistent", "inconsistent", or "not_enough_data" for a site. */
const char *report_nat_verdict(const report_t *self, size_t site);
/* SIP over TLS flows (TCP port 5061, bytes both ways) seen at a site: its
 * signalling cannot be read (docs/nat.md). */
uint64_t report_sip_tls_flows(const report_t *self, size_t site);
/* The SIP ALG analysis whose per-site counters the report reads (borrowed). */
void report_set_alg(report_t *self, const alg_t *alg);
/* Keeps a sign of SIP rewriting as evidence (a few per site). */
void report_sip_alg(report_t *self, const alg_sign_t *sg);
/* Counts a likely missed call (an INVITE into the site that cannot arrive). */
void report_missed_call(report_t *self, int site, const nat_stale_t *st, const char *reason);
/* Counts a call with media at `site`, as judged at its end (sensor/media.h). */
void report_media(report_t *self, int site, const char *call_id, media_judgement_t j);
/* The run's verdict: the worst of the observed sites' (not_compliant, then
 * incomplete, then compliant), COMPLIANCE_NOT_OBSERVED if none was. */
compliance_t report_verdict(const report_t *self);
/* Number of sites with at least one flow. */
size_t report_sites_observed(const report_t *self);
/* Groups of unexpected flows dropped because the group table was full. */
uint64_t report_groups_dropped(const report_t *self);

void report_write_text(const report_t *self, const report_meta_t *meta, FILE *out);
void report_write_json(const report_t *self, const report_meta_t *meta, FILE *out);

#endif
