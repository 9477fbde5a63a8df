/* SPDX-License-Identifier: MIT */
/* test_evschema.c: link headers, event checks, body framing, statuses and
 * key files (common/evschema, common/compliance, common/keys). */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compliance.h"
#include "evschema.h"
#include "keys.h"
#include "unit.h"

static int s_header(const char *text, evschema_header_t *h)
{
    char err[160];
    return evschema_header_parse(text, strlen(text), h, err, sizeof err);
}

static int s_headers(void)
{
    evschema_header_t h, back;
    memset(&h, 0, sizeof h);
    h.kind = EVSCHEMA_EVENTS;
    strcpy(h.sensor, "branch-inside");
    strcpy(h.epoch, "0660d735df6366");
    h.first = 513;
    h.count = 512;
    h.base = 1;
    char buf[512];
    CHECK(evschema_header_encode(&h, buf, sizeof buf) > 0);
    CHECK_EQ(s_header(buf, &back), 0);
    CHECK_EQ(back.kind, EVSCHEMA_EVENTS);
    CHECK(strcmp(back.sensor, "branch-inside") == 0);
    CHECK_EQ(back.first, 513);
    CHECK_EQ(back.count, 512);
    CHECK_EQ(back.base, 1);
    evschema_header_fini(&back);
    CHECK_EQ(evschema_header_encode(&h, buf, 20), -1); /* does not fit */

    /* An ack, with and without resend. */
    memset(&h, 0, sizeof h);
    h.kind = EVSCHEMA_ACK;
    strcpy(h.epoch, "e1");
    h.acked = 77;
    h.resend = true;
    CHECK(evschema_header_encode(&h, buf, sizeof buf) > 0);
    CHECK_EQ(s_header(buf, &back), 0);
    CHECK(back.kind == EVSCHEMA_ACK && back.acked == 77 && back.resend);

    /* A heartbeat keeps its stats object. */
    CHECK_EQ(s_header("{\"link\":1,\"kind\":\"heartbeat\",\"sensor\":\"s\",\"epoch\":\"e\","
                      "\"stats\":{\"capture\":{\"packets\":5}}}", &back), 0);
    CHECK(back.stats && strstr(back.stats, "\"packets\":5"));
    evschema_header_fini(&back);
    CHECK(back.stats == NULL);

    /* Refused: each line is one thing wrong. */
    const char *bad[] = {
            "",
            "not json",
            "[1,2]",
            "{\"link\":2,\"kind\":\"bye\",\"sensor\":\"s\",\"epoch\":\"e\"}",    /* version */
            "{\"link\":1,\"kind\":\"hello\",\"sensor\":\"s\",\"epoch\":\"e\"}",  /* kind */
            "{\"link\":1,\"kind\":\"bye\",\"sensor\":\"a b\",\"epoch\":\"e\"}",  /* name */
            "{\"link\":1,\"kind\":\"bye\",\"sensor\":\"s\",\"epoch\":\"E!\"}",   /* epoch */
            "{\"link\":1,\"kind\":\"bye\",\"sensor\":\"s\"}",                    /* no epoch */
            "{\"link\":1,\"kind\":\"events\",\"sensor\":\"s\",\"epoch\":\"e\",\"first\":0,\"count\":1,\"base\":0}",
            "{\"link\":1,\"kind\":\"events\",\"sensor\":\"s\",\"epoch\":\"e\",\"first\":1,\"count\":4097,\"base\":1}",
            "{\"link\":1,\"kind\":\"events\",\"sensor\":\"s\",\"epoch\":\"e\",\"first\":3,\"count\":1,\"base\":4}",
            "{\"link\":1,\"kind\":\"events\",\"sensor\":\"s\",\"epoch\":\"e\",\"first\":-1,\"count\":1,\"base\":1}",
            "{\"link\":1,\"kind\":\"bye\",\"sensor\":\"s\",\"epoch\":\"e\",\"stats\":3}",
            "{\"link\":1,\"kind\":\"bye\",\"sensor\":\"s\",\"epoch\":\"e\"} trailing",
            "{\"link\":1,\"kind\":\"ack\",\"epoch\":\"e\"}",                       /* no acked */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (s_header(bad[i], &back) == 0) {
            fprintf(stderr, "accepted: %s\n", bad[i]);
            return 1;
        }
    }
    /* Too deep: the tokener's depth bound. */
    char deep[400] = "{\"link\":1,\"kind\":\"bye\",\"sensor\":\"s\",\"epoch\":\"e\",\"stats\":";
    for (int i = 0; i < 20; i++)
        strcat(deep, "{\"a\":");
    strcat(deep, "1");
    for (int i = 0; i < 21; i++)
        strcat(deep, "}");
    CHECK(s_header(deep, &back) != 0);
    return 0;
}

static int s_events(void)
{
    char err[160];
    const char *good = "{\"timestamp\":\"2026-11-22T04:11:29.354881+0000\",\"event_type\":\"flow\",\"schema\":1}";
    json_object *o = evschema_event_parse(good, strlen(good), err, sizeof err);
    CHECK(o != NULL);
    json_object_put(o);
    const char *bad[] = {
            "{\"timestamp\":\"2026-11-22T04:11:29.354881+0000\",\"event_type\":\"flow\",\"schema\":3}",
            "{\"timestamp\":\"2026-11-22 04:11:29\",\"event_type\":\"flow\",\"schema\":1}",
            "{\"timestamp\":\"2026-13-22T04:11:29.354881+0000\",\"event_type\":\"flow\",\"schema\":1}",
            "{\"timestamp\":\"2026-11-22T04:11:29.354881+0000\",\"schema\":1}",
            "{\"timestamp\":\"2026-11-22T04:11:29.354881+0000\",\"event_type\":\"flow\",\"schema\":1",
            "\"just a string\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(evschema_event_parse(bad[i], strlen(bad[i]), err, sizeof err) == NULL);
    CHECK_EQ(evschema_time_parse("1970-01-01T00:00:01.000002+0000"), 1000002);
    CHECK_EQ(evschema_time_parse("2026-11-22T04:11:29.354881+0100"), 0);
    /* Against Python's datetime; leap days; days a month does not have. */
    CHECK_EQ(evschema_time_parse("2026-11-22T04:11:29.354881+0000"), 1795320689354881ll);
    CHECK_EQ(evschema_time_parse("2024-02-29T23:59:59.000000+0000"), 1709251199000000ll);
    CHECK_EQ(evschema_time_parse("2000-02-29T00:00:00.000000+0000"), 951782400000000ll);
    CHECK_EQ(evschema_time_parse("9999-12-31T23:59:59.999999+0000"), 253402300799999999ll);
    CHECK_EQ(evschema_time_parse("2100-02-29T00:00:00.000000+0000"), 0);
    CHECK_EQ(evschema_time_parse("2025-02-29T00:00:00.000000+0000"), 0);
    CHECK_EQ(evschema_time_parse("2026-04-31T00:00:00.000000+0000"), 0);
    CHECK_EQ(evschema_time_parse("2026-11-22T24:00:00.000000+0000"), 0);
    CHECK_EQ(evschema_time_parse("2026-11-22T04:11:29.35488a+0000"), 0);
    return 0;
}

static void s_count(const char *line, size_t len, uint64_t index, void *ctx)
{
    (void)line;
    size_t *lens = ctx;
    lens[index] = len;
}

static int s_body(void)
{
    size_t lens[4] = {0};
    CHECK_EQ(evschema_body_split("ab\ncde\nf", 8, 3, s_count, lens), 0);
    CHECK(lens[0] == 2 && lens[1] == 3 && lens[2] == 1);
    CHECK_EQ(evschema_body_split("ab\ncde\n", 7, 2, s_count, lens), 0); /* trailing newline */
    CHECK(evschema_body_split("ab\ncde", 6, 3, s_count, lens) != 0);   /* fewer lines */
    CHECK(evschema_body_split("a\nb\nc", 5, 2, s_count, lens) != 0);   /* more lines */
    CHECK(evschema_body_split("", 0, 1, s_count, lens) != 0);
    return 0;
}

static int s_statuses(void)
{
    CHECK(strcmp(compliance_rule_status(0, 2, 0), "blocked") == 0);
    CHECK(strcmp(compliance_rule_status(1, 2, 0), "partly_blocked") == 0);
    CHECK(strcmp(compliance_rule_status(1, 0, 0), "verified") == 0);
    CHECK(strcmp(compliance_rule_status(0, 0, 1), "unconfirmed") == 0);
    CHECK(strcmp(compliance_rule_status(0, 0, 0), "not_observed") == 0);
    uint64_t w = 300000000; /* 5 min */
    /* Blocked after working (a firewall change): blocked. */
    CHECK(strcmp(compliance_rule_status_at(5, 1, 0, 1000, 1000 + w + 1, w), "blocked") == 0);
    /* Fixed: passing long after the last block: verified again. */
    CHECK(strcmp(compliance_rule_status_at(5, 1, 0, 1000 + w + 1, 1000, w), "verified") == 0);
    /* Both within the window: some servers pass, some not. */
    CHECK(strcmp(compliance_rule_status_at(5, 1, 0, 1000, 2000, w), "partly_blocked") == 0);
    CHECK(strcmp(compliance_nat_verdict(0, 0), "not_enough_data") == 0);
    CHECK(strcmp(compliance_nat_verdict(4, 0), "consistent") == 0);
    CHECK(strcmp(compliance_nat_verdict(4, 1), "inconsistent") == 0);
    const char *why;
    CHECK(strcmp(compliance_sip_verdict("not_enough_data", 2, 0, &why), "not_checked") == 0);
    CHECK(why && strcmp(why, COMPLIANCE_REASON_SIP_TLS) == 0);
    CHECK(strcmp(compliance_sip_verdict("not_enough_data", 0, 0, &why), "not_enough_data") == 0 && !why);
    /* SIP seen in clear too (a REGISTER): the cleartext decides. */
    CHECK(strcmp(compliance_sip_verdict("not_enough_data", 2, 1, &why), "not_enough_data") == 0 && !why);
    CHECK(strcmp(compliance_sip_verdict("inconsistent", 2, 0, &why), "inconsistent") == 0 && !why);
    CHECK(compliance_status_is_bad("partly_blocked") && !compliance_status_is_bad("verified"));
    return 0;
}

static int s_keys(void)
{
    char dir[] = "/tmp/pinhole-keys-XXXXXX", err[300], pub[41], sec[41], name[64];
    CHECK(mkdtemp(dir) != NULL);
    const char *p = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", *s = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
    CHECK(keys_is_z85(p) && keys_is_z85(s) && !keys_is_z85("short") && !keys_is_z85(
            "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\""));
    CHECK_EQ(keys_write(dir, "branch", p, s, err, sizeof err), 0);
    CHECK(keys_write(dir, "branch", p, s, err, sizeof err) != 0); /* never overwrites */
    char path[128];
    snprintf(path, sizeof path, "%s/branch.key", dir);
    CHECK_EQ(keys_load(path, pub, sec, name, err, sizeof err), 0);
    CHECK(strcmp(pub, p) == 0 && strcmp(sec, s) == 0 && strcmp(name, "branch") == 0);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
    CHECK(chmod(path, 0640) == 0); /* readable by the group: refused, as ssh does */
    CHECK(keys_load(path, pub, sec, name, err, sizeof err) != 0);
    CHECK(strstr(err, "branch.key") && strstr(err, "0640") && strstr(err, "chmod 600"));
    /* its public half is no secret */
    CHECK_EQ(keys_load(path, pub, NULL, NULL, err, sizeof err), 0);
    CHECK(chmod(path, 0604) == 0);
    CHECK(keys_load(path, pub, sec, name, err, sizeof err) != 0);
    snprintf(path, sizeof path, "%s/branch.pub", dir);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644);
    CHECK_EQ(keys_load(path, pub, NULL, NULL, err, sizeof err), 0);
    CHECK(keys_load(path, pub, sec, NULL, err, sizeof err) != 0); /* no secret in a .pub */
    CHECK(strstr(err, "branch.pub:") && strstr(err, "secret-key"));
    FILE *f = fopen(path, "w");
    fputs("curve\n    public-key = \"tooshort\"\n", f);
    fclose(f);
    CHECK(keys_load(path, pub, NULL, NULL, err, sizeof err) != 0);
    CHECK(strstr(err, "branch.pub:2:") != NULL);
    unlink(path);
    snprintf(path, sizeof path, "%s/branch.key", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}

int test_evschema(void);

int test_evschema(void)
{
    RUN(s_headers);
    RUN(s_events);
    RUN(s_body);
    RUN(s_statuses);
    RUN(s_keys);
    return 0;
}
