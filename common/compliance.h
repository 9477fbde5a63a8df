/* SPDX-License-Identifier: MIT */
/* compliance.h: how counts become statuses, for the sensor's report and the
 * collector alike (docs/verdicts.md, docs/collector.md). */
#ifndef PINHOLE_COMPLIANCE_H
#define PINHOLE_COMPLIANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules.h"

/* An expected rule from its flow counts over one capture: "blocked" (only
 * blocked flows), "partly_blocked" (both), "verified", "unconfirmed" (only
 * one-sided or cut-short flows) or "not_observed". */
const char *compliance_rule_status(uint64_t allowed, uint64_t blocked, uint64_t unconfirmed);

/* The same over time (the collector): when both outcomes were seen, the
 * later one decides unless the two are less than `window_us` apart (then
 * "partly_blocked": some servers or attempts pass, others not). A rule that
 * was blocked and has since passed for longer than the window is verified
 * again. Times are packet-clock microseconds of the last flow of each. */
const char *compliance_rule_status_at(uint64_t allowed, uint64_t blocked, uint64_t unconfirmed,
        uint64_t last_allowed_us, uint64_t last_blocked_us, uint64_t window_us);

/* True if a rule status counts against compliance. */
bool compliance_status_is_bad(const char *status);

/* NAT from REGISTER comparisons: "inconsistent", "consistent" or
 * "not_enough_data". */
const char *compliance_nat_verdict(uint64_t comparisons, uint64_t changes);

/* The reason given with "not_checked" when a site's SIP was seen only
 * encrypted. */
#define COMPLIANCE_REASON_SIP_TLS "signalling encrypted (SIP over TLS)"

/* A NAT or SIP ALG verdict for a site that had `sip_tls_flows` SIP over
 * TLS flows and `clear_registers` REGISTERs in clear: with SIP seen only
 * encrypted (no REGISTER in clear, and the verdict "not_enough_data"), the
 * checks could not be made: "not_checked", and *reason is
 * COMPLIANCE_REASON_SIP_TLS. Otherwise the verdict as it is and *reason
 * NULL (cleartext SIP decides, or there is none of either). */
const char *compliance_sip_verdict(const char *verdict, uint64_t sip_tls_flows, uint64_t clear_registers,
        const char **reason);

/* ------------------------------------------------------------------ */
/* A site, as the sensor's report and the collector both judge it       */

typedef enum {
    COMPLIANCE_NOT_OBSERVED = 0, /* no flow of the site seen */
    COMPLIANCE_COMPLIANT,        /* every applicable rule verified or waived, no requirement violated */
    COMPLIANCE_INCOMPLETE,       /* nothing failed, but some rule is not verified yet */
    COMPLIANCE_NOT_COMPLIANT,    /* a rule blocked (or partly), or a requirement violated */
} compliance_t;

/* "not_observed", "compliant", "incomplete", "not_compliant". */
const char *compliance_str(compliance_t c);

/* What is known of one site, from the sensor's counts over a capture or
 * the collector's store over time. */
typedef struct {
    bool observed;
    /* The status of rule `rule` (a primary id's index) from its counts:
     * compliance_rule_status or compliance_rule_status_at. */
    const char *(*rule_status)(void *ctx, size_t rule);
    /* Flows that broke requirement `req` (https_only). */
    uint64_t (*req_violations)(void *ctx, size_t req);
    const char *nat; /* compliance_nat_verdict, then compliance_sip_verdict */
    const char *alg; /* "rewritten", "not_rewritten", "not_enough_data", "not_checked" */
    void *ctx;
} compliance_site_t;

/* A rule's status at a site: "not_checked" when the site waives it, else
 * its status from the counts. */
const char *compliance_site_rule(const rules_t *rs, size_t site, size_t rule,
        const compliance_site_t *s);
/* True if a requirement applies to a site: a rule of its profile does. */
bool compliance_req_applies(const rules_t *rs, size_t site, size_t req);
/* A requirement's status at a site: "violated", "verified",
 * "no_violation_seen" (https_only), "not_observed" (ports_open not all
 * verified yet), "not_enough_data" or "not_checked" (NAT, SIP ALG). */
const char *compliance_site_req(const rules_t *rs, size_t site, size_t req,
        const compliance_site_t *s);

typedef struct {
    size_t rules, verified, waived, bad, unverified; /* applicable primary rules */
    size_t reqs, violated;                           /* applicable requirements */
} compliance_counts_t;

/* The counts as the report and the collector's API show them (a
 * json_object *: rules, verified, waived, failing, unverified,
 * requirements_violated; the caller puts it). */
void *compliance_counts_json(const compliance_counts_t *c);

/* The site's verdict (docs/verdicts.md); counts filled if not NULL. */
compliance_t compliance_site(const rules_t *rs, size_t site, const compliance_site_t *s,
        compliance_counts_t *counts);

#endif
