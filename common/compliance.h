/* SPDX-License-Identifier: MIT */
/* compliance.h: how counts become statuses, for the sensor's report and the
 * collector alike (docs/verdicts.md, docs/collector.md). */
#ifndef PINHOLE_COMPLIANCE_H
#define PINHOLE_COMPLIANCE_H

#include <stdbool.h>
#include <stdint.h>

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

#endif
