/* SPDX-License-Identifier: MIT */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "report.h"
#include "rules.h"
#include "unit.h"

int test_report(void);

/* The report in `json` (true) or text form, in a malloc'd string. */
static char *s_write(const report_t *rep, bool json)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *mf = open_memstream(&buf, &n);
    if (!mf)
        return NULL;
    report_meta_t meta;
    memset(&meta, 0, sizeof meta);
    meta.sensor = "unit";
    if (json)
        report_write_json(rep, &meta, mf);
    else
        report_write_text(rep, &meta, mf);
    fclose(mf);
    return buf;
}

/* Operators act on a failing rule by its purpose and the document row it
 * encodes: both are in the text and JSON reports, for the rule and for the
 * nearest rule of an unexpected flow. */
static int s_test_purpose(const rules_t *rs, classify_t *cls)
{
    report_t *rep = report_new(rs, cls);
    CHECK(rep);
    int cfg = rules_rule_index(rs, "PBX-CFG");
    CHECK(cfg >= 0);
    const rule_t *r = rules_rule(rs, (size_t)cfg);
    CHECK(r->purpose && r->source && r->document);
    CHECK(strcmp(r->document, "001_f12f45b19d67c350.txt") == 0);
    ip_addr_t cli, srv;
    ip_parse("192.168.50.10", &cli);
    ip_parse("203.0.113.40", &srv);
    flow_t f;
    memset(&f, 0, sizeof f);
    flow_key_make(&f.key, &cli, 40000, &srv, 8445, 6);
    f.orig = memcmp(&f.key.a, &cli, sizeof cli) != 0;
    verdict_t v;
    memset(&v, 0, sizeof v);
    v.site = 0;
    v.kind = VERDICT_BLOCKED;
    v.reason = REASON_NO_ANSWER;
    v.rule = cfg;
    v.reply_rule = v.nearest = v.violation = -1;
    report_add(rep, &f, &v); /* PBX-CFG blocked */
    memset(&f, 0, sizeof f);
    flow_key_make(&f.key, &cli, 40001, &srv, 9999, 6);
    f.orig = memcmp(&f.key.a, &cli, sizeof cli) != 0;
    v.kind = VERDICT_UNEXPECTED;
    v.rule = -1;
    v.nearest = cfg;
    v.near = NEAR_PORT;
    report_add(rep, &f, &v); /* TCP 9999: PBX-CFG but for the port */
    char *text = s_write(rep, false), *json = s_write(rep, true);
    CHECK(text && json);
    char want[1024];
    snprintf(want, sizeof want, "purpose: %s\n", r->purpose);
    CHECK(strstr(text, want));
    snprintf(want, sizeof want, "source: %s: %s\n", r->document, r->source);
    CHECK(strstr(text, want));
    snprintf(want, sizeof want, "(nearest rule PBX-CFG: port differs)\n      PBX-CFG is for: %s\n",
            r->purpose);
    CHECK(strstr(text, want));
    json_object *o = json_tokener_parse(json);
    CHECK(o);
    json_object *site = json_object_array_get_idx(json_object_object_get(o, "sites"), 0);
    json_object *rules = json_object_object_get(site, "rules");
    json_object *ro = NULL;
    for (size_t i = 0; i < json_object_array_length(rules); i++) {
        json_object *x = json_object_array_get_idx(rules, i);
        if (strcmp(json_object_get_string(json_object_object_get(x, "rule")), "PBX-CFG") == 0)
            ro = x;
    }
    CHECK(ro);
    CHECK(strcmp(json_object_get_string(json_object_object_get(ro, "status")), "blocked") == 0);
    CHECK(strcmp(json_object_get_string(json_object_object_get(ro, "purpose")), r->purpose) == 0);
    CHECK(strcmp(json_object_get_string(json_object_object_get(ro, "source")), r->source) == 0);
    CHECK(strcmp(json_object_get_string(json_object_object_get(ro, "document")), r->document) == 0);
    json_object *req = json_object_array_get_idx(json_object_object_get(site, "requirements"), 0);
    CHECK(req && json_object_object_get(req, "text") && json_object_object_get(req, "source"));
    json_object *g = json_object_array_get_idx(json_object_object_get(site, "unexpected"), 0);
    CHECK(g);
    CHECK(strcmp(json_object_get_string(json_object_object_get(g, "nearest_rule")), "PBX-CFG") ==
            0);
    CHECK(strcmp(json_object_get_string(json_object_object_get(g, "nearest_purpose")),
                  r->purpose) == 0);
    json_object_put(o);
    free(text);
    free(json);
    report_destroy(&rep);
    CHECK(rep == NULL);
    return 0;
}

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
    classify_t *cls = classify_new(16, 8, NULL);
    CHECK(cls);
    CHECK(s_test_purpose(rs, cls) == 0);
    report_t *rep = report_new(rs, cls);
    CHECK(rep);
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
    /* Unexpected traffic alone is listed, not a failure; no rule verified
     * yet: incomplete, not compliant. */
    CHECK_EQ(report_verdict(rep), COMPLIANCE_INCOMPLETE);
    v.kind = VERDICT_BLOCKED;
    v.rule = 0;
    report_add(rep, &f, &v);
    CHECK_EQ(report_verdict(rep), COMPLIANCE_NOT_COMPLIANT);
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
