/* SPDX-License-Identifier: MIT */
/* main.c: the unit test runner: a table of modules, `--test NAME` runs one,
 * no argument runs all. CMake registers each module as its own CTest test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

int test_cursor(void);
int test_strutil(void);
int test_decode(void);
int test_pcapng(void);
int test_flow_table(void);
int test_rules(void);
int test_verdict(void);
int test_report(void);
int test_sip(void);
int test_nat(void);
int test_defrag(void);
int test_sipstream(void);
int test_websocket(void);
int test_media(void);
int test_flowid(void);
int test_ingest(void);
int test_store(void);
int test_compliance(void);
int test_db(void);
int test_lrutab(void);
int test_siptx(void);
int test_alg(void);
int test_evschema(void);
int test_event(void);
int test_hash(void);
int test_conn(void);
int test_dns(void);
int test_jsonw(void);
int test_batch(void);
int test_classify(void);
int test_jsonmemo(void);

const char *unit_srcdir = PINHOLE_SRCDIR;

static const struct {
    const char *name;
    int (*fn)(void);
} s_tests[] = {
        {"cursor", test_cursor},
        {"strutil", test_strutil},
        {"decode", test_decode},
        {"pcapng", test_pcapng},
        {"flow_table", test_flow_table},
        {"rules", test_rules},
        {"verdict", test_verdict},
        {"report", test_report},
        {"sip", test_sip},
        {"nat", test_nat},
        {"defrag", test_defrag},
        {"sipstream", test_sipstream},
        {"websocket", test_websocket},
        {"media", test_media},
        {"flowid", test_flowid},
        {"ingest", test_ingest},
        {"store", test_store},
        {"compliance", test_compliance},
        {"db", test_db},
        {"alg", test_alg},
        {"evschema", test_evschema},
        {"event", test_event},
        {"hash", test_hash},
        {"conn", test_conn},
        {"lrutab", test_lrutab},
        {"siptx", test_siptx},
        {"dns", test_dns},
        {"jsonw", test_jsonw},
        {"batch", test_batch},
        {"classify", test_classify},
        {"jsonmemo", test_jsonmemo},
};

int main(int argc, char **argv)
{
    const char *only = NULL;
    if (argc == 3 && strcmp(argv[1], "--test") == 0)
        only = argv[2];
    else if (argc != 1) {
        fprintf(stderr, "usage: pinhole-unit [--test NAME]\n");
        return 2;
    }
    int failed = 0, passed = 0, ran = 0;
    for (size_t i = 0; i < sizeof s_tests / sizeof s_tests[0]; i++) {
        if (only && strcmp(only, s_tests[i].name) != 0)
            continue;
        ran++;
        int rc = s_tests[i].fn();
        printf("%s: %s\n", s_tests[i].name, rc ? "FAIL" : "ok");
        rc ? failed++ : passed++;
    }
    if (!ran) {
        fprintf(stderr, "no test named '%s'\n", only);
        return 2;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
