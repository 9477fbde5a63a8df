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
    /* SIP over TLS: a session on TCP 5061 (bytes both ways) at a site with
     * no SIP in clear: its NAT and SIP ALG verdicts are not_checked, with
     * the reason, instead of not_enough_data. An attempt that carried no
     * bytes back is not counted. */
    CHECK(strcmp(report_nat_verdict(rep, 0), "not_enough_data") == 0);
    memset(&f, 0, sizeof f);
    flow_key_make(&f.key, &cli, 40001, &srv, 5061, 6);
    f.orig = memcmp(&f.key.a, &cli, sizeof cli) != 0;
    f.d[f.orig].payload = 517; /* a ClientHello, nothing back */
    v.kind = VERDICT_UNEXPECTED;
    v.rule = -1;
    report_add(rep, &f, &v);
    CHECK_EQ(report_sip_tls_flows(rep, 0), 0);
    f.d[!f.orig].payload = 4096; /* the server's TLS records */
    report_add(rep, &f, &v);
    CHECK_EQ(report_sip_tls_flows(rep, 0), 1);
    CHECK(strcmp(report_nat_verdict(rep, 0), "not_checked") == 0);
    char *json = NULL;
    size_t jn = 0;
    FILE *mf = open_memstream(&json, &jn);
    CHECK(mf);
    report_meta_t meta;
    memset(&meta, 0, sizeof meta);
    meta.sensor = "unit";
    report_write_json(rep, &meta, mf);
    fclose(mf);
    CHECK(strstr(json, "\"sip_tls_flows\":1") || strstr(json, "\"sip_tls_flows\": 1"));
    CHECK(strstr(json, "signalling encrypted (SIP over TLS)"));
    CHECK(!strstr(json, "not_enough_data")); /* both verdicts say not_checked */
    free(json);
    report_destroy(&rep);
    CHECK(rep == NULL);
    classify_destroy(&cls);
    rules_destroy(&rs);
    return 0;
}
