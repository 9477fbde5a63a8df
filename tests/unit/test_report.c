/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "report.h"
#include "rules.h"
#include "unit.h"

int test_report(void);

/* Unexpected flows to 5000 distinct ports: the group table keeps its bound
 * and counts what it could not hold; the same destination groups into one. */
int test_report(void)
{
    char path[1024], inv[1024], err[RULES_ERRLEN];
    snprintf(path, sizeof path, "%s/rules", unit_srcdir);
    snprintf(inv, sizeof inv, "%s/rules/inventory/lab.yaml", unit_srcdir);
    rules_t *rs = rules_new();
    CHECK(rules_load_profiles(rs, path, err, sizeof err) == 0);
    CHECK(rules_load_inventory(rs, inv, err, sizeof err) == 0);
    classify_t *cls = classify_new(16, 8);
    report_t *rep = report_new(rs, cls);
    CHECK(cls && rep);
    flow_t f;
    verdict_t v;
    memset(&v, 0, sizeof v);
    v.kind = VERDICT_UNEXPECTED;
    v.rule = v.reply_rule = v.nearest = v.violation = -1;
    v.site = 0;
    ip_addr_t cli, srv;
    ip_parse("192.168.50.10", &cli);
    ip_parse("198.51.100.9", &srv);
    for (int i = 0; i < REPORT_MAX_GROUPS + 904; i++) {
        memset(&f, 0, sizeof f);
        flow_key_make(&f.key, &cli, 40000, &srv, (uint16_t)(1000 + i), 6);
        f.orig = memcmp(&f.key.a, &cli, sizeof cli) != 0;
        report_add(rep, &f, &v);
        report_add(rep, &f, &v); /* the same destination again: same group */
    }
    CHECK_EQ(report_groups_dropped(rep), 2 * 904);
    CHECK_EQ(report_sites_observed(rep), 1);
    CHECK(report_compliant(rep)); /* unexpected traffic alone is listed, not a failure */
    v.kind = VERDICT_BLOCKED;
    v.rule = 0;
    report_add(rep, &f, &v);
    CHECK(!report_compliant(rep));
    report_destroy(&rep);
    CHECK(rep == NULL);
    classify_destroy(&cls);
    rules_destroy(&rs);
    return 0;
}
