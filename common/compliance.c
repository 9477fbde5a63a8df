/* SPDX-License-Identifier: MIT */
/* compliance.c: statuses from counts. */
#include "compliance.h"

#include <string.h>

const char *compliance_rule_status(uint64_t allowed, uint64_t blocked, uint64_t unconfirmed)
{
    if (blocked && !allowed)
        return "blocked";
    if (blocked && allowed)
        return "partly_blocked";
    if (allowed)
        return "verified";
    return unconfirmed ? "unconfirmed" : "not_observed";
}

const char *compliance_rule_status_at(uint64_t allowed, uint64_t blocked, uint64_t unconfirmed,
        uint64_t last_allowed_us, uint64_t last_blocked_us, uint64_t window_us)
{
    if (!allowed || !blocked)
        return compliance_rule_status(allowed, blocked, unconfirmed);
    if (last_blocked_us > last_allowed_us + window_us)
        return "blocked";
    if (last_allowed_us > last_blocked_us + window_us)
        return "verified";
    return "partly_blocked";
}

bool compliance_status_is_bad(const char *status)
{
    return strcmp(status, "blocked") == 0 || strcmp(status, "partly_blocked") == 0;
}

const char *compliance_nat_verdict(uint64_t comparisons, uint64_t changes)
{
    if (changes)
        return "inconsistent";
    return comparisons ? "consistent" : "not_enough_data";
}

const char *compliance_sip_verdict(const char *verdict, uint64_t sip_tls_flows, uint64_t clear_registers,
        const char **reason)
{
    *reason = NULL;
    if (!sip_tls_flows || clear_registers || strcmp(verdict, "not_enough_data") != 0)
        return verdict;
    *reason = COMPLIANCE_REASON_SIP_TLS;
    return "not_checked";
}
