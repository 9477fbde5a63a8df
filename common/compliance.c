/* SPDX-License-Identifier: MIT */
/* compliance.c: statuses from counts. */
#include "compliance.h"

#include <json-c/json.h>
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

/* ------------------------------------------------------------------ */
/* A site                                                              */

const char *compliance_str(compliance_t c)
{
    static const char *const names[] = {"not_observed", "compliant", "incomplete", "not_compliant"};
    return (unsigned)c <= COMPLIANCE_NOT_COMPLIANT ? names[c] : "unknown";
}

const char *compliance_site_rule(const rules_t *rs, size_t site, size_t rule,
        const compliance_site_t *s)
{
    return rules_waived(rs, site, rule) ? "not_checked" : s->rule_status(s->ctx, rule);
}

bool compliance_req_applies(const rules_t *rs, size_t site, size_t req)
{
    const requirement_t *q = rules_req(rs, req);
    for (size_t i = 0; i < rules_nrules(rs); i++)
        if (strcmp(rules_rule(rs, i)->profile, q->profile) == 0 && rules_applies_to_site(rs, site, i))
            return true;
    return false;
}

/* ports_open: every rule it lists verified, and none blocked; a waived
 * rule among them makes it not_checked. */
static const char *s_ports_status(const rules_t *rs, size_t site, const requirement_t *q,
        const compliance_site_t *s)
{
    bool all = true, waived = false;
    for (size_t i = 0; i < q->nrules; i++) {
        int r = rules_rule_index(rs, q->rules[i]);
        if (r < 0)
            continue;
        const char *st = compliance_site_rule(rs, site, (size_t)rules_rule(rs, (size_t)r)->primary, s);
        if (compliance_status_is_bad(st))
            return "violated";
        waived = waived || strcmp(st, "not_checked") == 0;
        all = all && (strcmp(st, "verified") == 0 || strcmp(st, "not_checked") == 0);
    }
    /* A waived rule is never verified: the requirement is not checked. */
    return !all ? "not_observed" : waived ? "not_checked" : "verified";
}

/* A NAT or ALG verdict as a requirement's status. */
static const char *s_verdict_req(const char *v, const char *bad, const char *good)
{
    return strcmp(v, bad) == 0           ? "violated"
           : strcmp(v, good) == 0        ? "verified"
           : strcmp(v, "not_checked") == 0 ? "not_checked"
                                         : "not_enough_data";
}

const char *compliance_site_req(const rules_t *rs, size_t site, size_t req,
        const compliance_site_t *s)
{
    const requirement_t *q = rules_req(rs, req);
    if (s->req_violations(s->ctx, req))
        return "violated";
    switch (q->kind) {
        case REQ_HTTPS_ONLY:
            return "no_violation_seen";
        case REQ_PORTS_OPEN:
            return s_ports_status(rs, site, q, s);
        case REQ_NO_SIP_ALG:
            return s_verdict_req(s->alg, "rewritten", "not_rewritten");
        case REQ_CONSISTENT_NAT:
            return s_verdict_req(s->nat, "inconsistent", "consistent");
        default:
            return "not_checked";
    }
}

compliance_t compliance_site(const rules_t *rs, size_t site, const compliance_site_t *s,
        compliance_counts_t *counts)
{
    compliance_counts_t c;
    memset(&c, 0, sizeof c);
    for (size_t r = 0; r < rules_nrules(rs); r++) {
        if (rules_rule(rs, r)->primary != (int)r || !rules_applies_to_site(rs, site, r))
            continue;
        c.rules++;
        const char *st = compliance_site_rule(rs, site, r, s);
        if (strcmp(st, "verified") == 0)
            c.verified++;
        else if (strcmp(st, "not_checked") == 0)
            c.waived++;
        else if (compliance_status_is_bad(st))
            c.bad++;
        else
            c.unverified++;
    }
    for (size_t q = 0; q < rules_nreqs(rs); q++) {
        if (!compliance_req_applies(rs, site, q))
            continue;
        c.reqs++;
        c.violated += strcmp(compliance_site_req(rs, site, q, s), "violated") == 0;
    }
    /* A NAT or SIP ALG finding counts even where no profile asks for it. */
    bool sip_bad = strcmp(s->nat, "inconsistent") == 0 || strcmp(s->alg, "rewritten") == 0;
    if (counts)
        *counts = c;
    if (!s->observed)
        return COMPLIANCE_NOT_OBSERVED;
    if (c.bad || c.violated || sip_bad)
        return COMPLIANCE_NOT_COMPLIANT;
    return c.unverified ? COMPLIANCE_INCOMPLETE : COMPLIANCE_COMPLIANT;
}

void *compliance_counts_json(const compliance_counts_t *c)
{
    json_object *o = json_object_new_object();
    const char *keys[] = {"rules", "verified", "waived", "failing", "unverified",
            "requirements_violated"};
    const size_t vals[] = {c->rules, c->verified, c->waived, c->bad, c->unverified, c->violated};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
        json_object_object_add(o, keys[i], json_object_new_int64((int64_t)vals[i]));
    return o;
}
