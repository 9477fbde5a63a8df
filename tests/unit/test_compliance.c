/* SPDX-License-Identifier: MIT */
/* common/compliance.c, the one home of a site's verdict, on the lab's
 * rules: each rule's and requirement's status from a site's facts, and
 * the site's verdict (docs/verdicts.md). */
#include <stdio.h>
#include <string.h>

#include "compliance.h"
#include "rules.h"
#include "unit.h"

extern const char *unit_srcdir;
int test_compliance(void);

typedef struct {
    const rules_t *rs;
    const char *status[64];   /* by rule index; NULL: not_observed */
    uint64_t viol[16];        /* by requirement index */
} facts_t;

static const char *s_rule(void *ctx, size_t r)
{
    facts_t *f = ctx;
    return r < 64 && f->status[r] ? f->status[r] : "not_observed";
}

static uint64_t s_req(void *ctx, size_t q)
{
    facts_t *f = ctx;
    return q < 16 ? f->viol[q] : 0;
}

static const char *s_req_status(const rules_t *rs, size_t site, const compliance_site_t *s,
        const char *id)
{
    for (size_t q = 0; q < rules_nreqs(rs); q++)
        if (strcmp(rules_req(rs, q)->id, id) == 0)
            return compliance_site_req(rs, site, q, s);
    return "?";
}

int test_compliance(void)
{
    char prof[1024], inv[1024], err[512];
    snprintf(prof, sizeof prof, "%s/rules", unit_srcdir);
    snprintf(inv, sizeof inv, "%s/rules/inventory/lab.yaml", unit_srcdir);
    const char *profs[] = {prof};
    rules_t *rs = rules_load_all(profs, 1, inv, err, sizeof err);
    CHECK(rs);
    CHECK(rules_nrules(rs) < 64 && rules_nreqs(rs) < 16);
    size_t site = 1; /* lab-voip */
    CHECK(strcmp(rules_site_name(rs, site), "lab-voip") == 0);
    facts_t f;
    memset(&f, 0, sizeof f);
    compliance_site_t s = {true, s_rule, s_req, "not_enough_data", "not_enough_data", &f};
    compliance_counts_t c;
    /* Nothing verified: incomplete, never compliant. */
    CHECK_EQ(compliance_site(rs, site, &s, &c), COMPLIANCE_INCOMPLETE);
    CHECK(c.rules > 0 && c.unverified == c.rules && c.bad == 0);
    /* Every applicable rule verified: compliant. */
    for (size_t r = 0; r < rules_nrules(rs); r++)
        f.status[r] = "verified";
    CHECK_EQ(compliance_site(rs, site, &s, &c), COMPLIANCE_COMPLIANT);
    CHECK(strcmp(s_req_status(rs, site, &s, "PBX-REQ-CFG-PORTS"), "verified") == 0);
    /* One partly blocked: not compliant; ports_open violated by PBX-CFG. */
    int cfg = rules_rule_index(rs, "PBX-CFG");
    CHECK(cfg >= 0);
    f.status[cfg] = "partly_blocked";
    CHECK_EQ(compliance_site(rs, site, &s, &c), COMPLIANCE_NOT_COMPLIANT);
    CHECK(strcmp(s_req_status(rs, site, &s, "PBX-REQ-CFG-PORTS"), "violated") == 0);
    f.status[cfg] = "unconfirmed"; /* one-sided only: not verified */
    CHECK_EQ(compliance_site(rs, site, &s, &c), COMPLIANCE_INCOMPLETE);
    CHECK(strcmp(s_req_status(rs, site, &s, "PBX-REQ-CFG-PORTS"), "not_observed") == 0);
    f.status[cfg] = "verified";
    /* NAT and SIP ALG: their requirements, and the site, follow. */
    s.nat = "inconsistent";
    CHECK(strcmp(s_req_status(rs, site, &s, "PBX-REQ-CONSISTENT-NAT"), "violated") == 0);
    CHECK_EQ(compliance_site(rs, site, &s, &c), COMPLIANCE_NOT_COMPLIANT);
    CHECK(c.violated >= 1);
    s.nat = "not_checked"; /* SIP in TLS only: not checked, not a failure */
    CHECK(strcmp(s_req_status(rs, site, &s, "PBX-REQ-CONSISTENT-NAT"), "not_checked") == 0);
    CHECK_EQ(compliance_site(rs, site, &s, &c), COMPLIANCE_COMPLIANT);
    s.alg = "rewritten";
    CHECK(strcmp(s_req_status(rs, site, &s, "PBX-REQ-NO-SIP-ALG"), "violated") == 0);
    CHECK_EQ(compliance_site(rs, site, &s, &c), COMPLIANCE_NOT_COMPLIANT);
    s.alg = "not_rewritten";
    CHECK(strcmp(s_req_status(rs, site, &s, "PBX-REQ-NO-SIP-ALG"), "verified") == 0);
    /* An https_only violation by flows. */
    for (size_t q = 0; q < rules_nreqs(rs); q++)
        if (rules_req(rs, q)->kind == REQ_HTTPS_ONLY && compliance_req_applies(rs, site, q))
            f.viol[q] = 1;
    compliance_t with_https = compliance_site(rs, site, &s, &c);
    memset(f.viol, 0, sizeof f.viol);
    /* Not observed beats everything else. */
    s.observed = false;
    CHECK_EQ(compliance_site(rs, site, &s, &c), COMPLIANCE_NOT_OBSERVED);
    CHECK(strcmp(compliance_str(COMPLIANCE_INCOMPLETE), "incomplete") == 0);
    /* lab-voip uses the hosted PBX only, whose requirements are no https_only:
     * flows breaking one elsewhere do not count here. */
    CHECK_EQ(with_https, COMPLIANCE_COMPLIANT);
    /* lab-branch uses the device manager too: there it is a failure. */
    s.observed = true;
    int found = 0;
    for (size_t q = 0; q < rules_nreqs(rs); q++)
        if (rules_req(rs, q)->kind == REQ_HTTPS_ONLY && compliance_req_applies(rs, 0, q)) {
            f.viol[q] = 1;
            found++;
        }
    CHECK(found > 0);
    CHECK_EQ(compliance_site(rs, 0, &s, &c), COMPLIANCE_NOT_COMPLIANT);
    rules_destroy(&rs);
    return 0;
}
