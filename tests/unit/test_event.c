/* SPDX-License-Identifier: MIT */
/* The collector's event reader: simdjson's fast path and json-c's slow one
 * accept the same lines and read the same fields. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "evschema.h"
#include "unit.h"

int test_event(void);

#define EV_HEAD "{\"timestamp\":\"2026-11-22T04:11:29.354881+0000\",\"event_type\":\"flow\",\"schema\":2"

/* event_parse accepts what evschema_event_parse (json-c) accepts, no more. */
static int s_same_verdict(event_parser_t *p, const char *line, size_t len)
{
    char err[160];
    event_t ev;
    json_object *o = evschema_event_parse(line, len, err, sizeof err);
    int rc = event_parse(p, line, len, &ev, err, sizeof err);
    CHECK((o != NULL) == (rc == 0));
    json_object_put(o);
    return 0;
}

static int s_fields(event_parser_t *p)
{
    /* A schema 2 flow; the same with a byte that is not UTF-8 in a string
     * (json-c reads it, simdjson does not: the slow path). */
    const char *lines[] = {
            EV_HEAD ",\"site\":\"lab\",\"flow_id\":18446744073709551615,\"src_port\":5060,"
            "\"pinhole\":{\"verdict\":\"allowed\",\"rule\":\"R1\"},\"tls\":{\"sni\":\"a.example\"},"
            "\"nat\":{\"comparisons\":3},\"interval\":2.5,\"app\":\"x\xff\"}",
            EV_HEAD ",\"site\":\"lab\",\"flow_id\":18446744073709551615,\"src_port\":5060,"
            "\"pinhole\":{\"verdict\":\"allowed\",\"rule\":\"R1\"},\"tls\":{\"sni\":\"a.example\"},"
            "\"nat\":{\"comparisons\":3},\"interval\":2.5,\"app\":\"x\"}",
    };
    for (size_t i = 0; i < 2; i++) {
        event_t ev;
        char err[160];
        CHECK(event_parse(p, lines[i], strlen(lines[i]), &ev, err, sizeof err) == 0);
        CHECK(ev.slow == (i == 0));
        CHECK(strcmp(event_str(&ev, EVENT_SITE), "lab") == 0);
        CHECK(event_int(&ev, EVENT_FLOW_ID) == INT64_MAX); /* json-c's clamp */
        CHECK_EQ(event_int(&ev, EVENT_SRC_PORT), 5060);
        CHECK_EQ(event_int(&ev, EVENT_SITE), -1);
        CHECK(strcmp(event_judged(&ev, EVENT_PH_VERDICT, EVENT_VERDICT), "allowed") == 0);
        CHECK(strcmp(event_str(&ev, EVENT_TLS_SNI), "a.example") == 0);
        CHECK_EQ(event_int(&ev, EVENT_NAT_COMPARISONS), 3);
        CHECK(event_double(&ev, EVENT_INTERVAL) == 2.5);
        CHECK(event_str(&ev, EVENT_HTTP_HOSTNAME) == NULL);
        CHECK_EQ(ev.ts_us, 1795320689354881ll);
    }
    /* Schema 1: the judgement at the top; a repeated member: the last. */
    const char *s1 = "{\"timestamp\":\"2026-11-22T04:11:29.354881+0000\",\"event_type\":\"flow\","
                     "\"schema\":1,\"site\":\"a\",\"site\":\"b\",\"verdict\":\"blocked\","
                     "\"nat\":{\"changes\":1},\"nat\":{}}";
    event_t ev;
    char err[160];
    CHECK(event_parse(p, s1, strlen(s1), &ev, err, sizeof err) == 0);
    CHECK(strcmp(event_str(&ev, EVENT_SITE), "b") == 0);
    CHECK(strcmp(event_judged(&ev, EVENT_PH_VERDICT, EVENT_VERDICT), "blocked") == 0);
    CHECK_EQ(event_int(&ev, EVENT_NAT_CHANGES), -1);
    /* Refused, with json-c's words. */
    const char *bad = EV_HEAD ",\"site\":";
    CHECK(event_parse(p, bad, strlen(bad), &ev, err, sizeof err) != 0);
    CHECK(strncmp(err, "not JSON", 8) == 0);
    return 0;
}

int test_event(void)
{
    event_parser_t *p = event_parser_new();
    CHECK(p != NULL);
    RUN_ARG(s_fields, p);
    /* Nesting around json-c's bound of 16, and json-c's extensions. */
    char line[512];
    for (int depth = 12; depth <= 20; depth++) {
        int n = snprintf(line, sizeof line, EV_HEAD ",\"x\":");
        for (int i = 0; i < depth; i++)
            n += snprintf(line + n, sizeof line - (size_t)n, "[");
        for (int i = 0; i < depth; i++)
            n += snprintf(line + n, sizeof line - (size_t)n, "]");
        n += snprintf(line + n, sizeof line - (size_t)n, "}");
        if (s_same_verdict(p, line, (size_t)n))
            return 1;
    }
    const char *odd[] = {
            EV_HEAD ",}", EV_HEAD ",\"x\":NaN}", EV_HEAD ",'x':1}", EV_HEAD "} ",
            EV_HEAD ",\"x\":1e999}", EV_HEAD ",\"x\":-99999999999999999999}", EV_HEAD "}x",
            EV_HEAD ",\"x\":\"\\u0000\"}", EV_HEAD ",\"x\":\"\\ud800\"}", "[" EV_HEAD "}]",
            EV_HEAD ",\"x\":\"\x01\"}", EV_HEAD ", /* c */ \"x\":1}",
    };
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++)
        if (s_same_verdict(p, odd[i], strlen(odd[i]))) {
            fprintf(stderr, "line %zu: %s\n", i, odd[i]);
            return 1;
        }
    event_parser_destroy(&p);
    CHECK(p == NULL);
    return 0;
}
