/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "rules.h"
#include "unit.h"
#include "verdict.h"

int test_verdict(void);

#define SEC 1000000ull

typedef struct {
    rules_t *rs;
    verdict_ctx_t *vc;
    flow_t f;
    ip_addr_t cli, srv;
    uint16_t sport, dport;
    uint8_t proto;
} lab_t;

static void s_start(lab_t *l, const char *srv, uint16_t dport, uint8_t proto)
{
    memset(&l->f, 0, sizeof l->f);
    ip_parse("192.168.50.10", &l->cli);
    ip_parse(srv, &l->srv);
    l->sport = 40000;
    l->dport = dport;
    l->proto = proto;
    flow_key_make(&l->f.key, &l->cli, l->sport, &l->srv, dport, proto);
    verdict_flow_sites(l->vc, &l->f);
}

/* A packet from the client (to_server) or the server, at time t seconds. */
static void s_pkt(lab_t *l, bool to_server, uint8_t flags, uint32_t seq, uint32_t len, double t,
        const uint8_t *payload)
{
    packet_t p;
    memset(&p, 0, sizeof p);
    p.ts_us = (uint64_t)(t * SEC);
    p.proto = l->proto;
    p.src = to_server ? l->cli : l->srv;
    p.dst = to_server ? l->srv : l->cli;
    p.sport = to_server ? l->sport : l->dport;
    p.dport = to_server ? l->dport : l->sport;
    p.tcp_flags = flags;
    p.seq = seq;
    p.ip_id = (uint16_t)(t * 1000);
    p.payload_len = len;
    p.payload_caplen = payload ? len : 0;
    p.payload = payload;
    int side = !(p.sport == l->f.key.pa && memcmp(p.src.b, l->f.key.a.b, 16) == 0);
    if (l->f.d[0].pkts + l->f.d[1].pkts == 0) {
        l->f.first_us = p.ts_us;
        conn_start(&l->f, side, &p);
    }
    conn_update(&l->f, side, &p, 0); /* no IP bytes: no fingerprint */
    l->f.last_us = p.ts_us;
    if (!to_server)
        verdict_note_inbound(l->vc, 0);
}

static int s_expect(lab_t *l, bool at_end, verdict_kind_t kind, reason_t reason, const char *rule)
{
    verdict_t v;
    verdict_judge(l->vc, &l->f, at_end, NULL, &v);
    if (v.kind != kind || v.reason != reason ||
            (rule ? v.rule < 0 || strcmp(rules_rule(l->rs, (size_t)v.rule)->id, rule) != 0
                  : v.rule >= 0)) {
        fprintf(stderr, "verdict %s/%s rule %s, expected %s/%s rule %s\n", verdict_kind_str(v.kind),
                verdict_reason_str(v.reason), v.rule >= 0 ? rules_rule(l->rs, (size_t)v.rule)->id : "-",
                verdict_kind_str(kind), verdict_reason_str(reason), rule ? rule : "-");
        return 1;
    }
    return 0;
}

static int s_cases(lab_t *l)
{
    static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x00, 0x10};
    /* SYN, retried with the same ISN: one attempt, never answered. */
    s_start(l, "203.0.113.40", 8445, 6);
    s_pkt(l, true, TCP_SYN, 7, 0, 1, NULL);
    s_pkt(l, true, TCP_SYN, 7, 0, 2, NULL);
    s_pkt(l, true, TCP_SYN, 7, 0, 4, NULL);
    CHECK_EQ(l->f.attempts, 1);
    CHECK(strcmp(conn_state(&l->f), "S0") == 0);
    CHECK(s_expect(l, false, VERDICT_BLOCKED, REASON_NO_ANSWER, "PBX-CFG") == 0);
    /* The same, when the capture ends within the window after it. */
    verdict_set_capture_end(l->vc, 100 * SEC);
    s_start(l, "203.0.113.40", 8445, 6);
    s_pkt(l, true, TCP_SYN, 7, 0, 98.5, NULL);
    CHECK(s_expect(l, true, VERDICT_CAPTURE_ENDED, REASON_NO_ANSWER, "PBX-CFG") == 0);
    /* A new ISN is a new attempt. */
    s_pkt(l, true, TCP_SYN, 9, 0, 99, NULL);
    CHECK_EQ(l->f.attempts, 2);
    /* Reset in reply to the SYN. */
    s_start(l, "203.0.113.40", 8446, 6);
    s_pkt(l, true, TCP_SYN, 7, 0, 1, NULL);
    s_pkt(l, false, TCP_RST | TCP_ACK, 0, 0, 1.001, NULL);
    CHECK(strcmp(conn_state(&l->f), "REJ") == 0);
    CHECK(s_expect(l, false, VERDICT_BLOCKED, REASON_RESET, "PBX-CFG") == 0);
    /* ICMP administratively prohibited. */
    s_start(l, "203.0.113.40", 8447, 6);
    s_pkt(l, true, TCP_SYN, 7, 0, 1, NULL);
    conn_icmp_error(&l->f, 3, 13);
    CHECK(s_expect(l, false, VERDICT_BLOCKED, REASON_ICMP_UNREACHABLE, "PBX-CFG") == 0);
    /* TLS: handshake completes at TCP level, the server never says hello. */
    s_start(l, "203.0.113.10", 443, 6);
    s_pkt(l, true, TCP_SYN, 7, 0, 1, NULL);
    s_pkt(l, false, TCP_SYN | TCP_ACK, 70, 0, 1.01, NULL);
    s_pkt(l, true, TCP_ACK, 8, 0, 1.02, NULL);
    s_pkt(l, true, TCP_ACK | TCP_PSH, 8, sizeof hello, 1.03, hello);
    CHECK(s_expect(l, false, VERDICT_BLOCKED, REASON_TLS_INCOMPLETE, "DM-EP-1") == 0);
    s_pkt(l, false, TCP_ACK | TCP_PSH, 71, sizeof hello, 1.04, hello);
    CHECK(s_expect(l, false, VERDICT_ALLOWED, REASON_NONE, "DM-EP-1") == 0);
    /* The originator acks a handshake we never saw: one-sided, not blocked. */
    s_start(l, "203.0.113.10", 443, 6);
    s_pkt(l, true, TCP_SYN, 7, 0, 1, NULL);
    s_pkt(l, true, TCP_ACK, 8, 0, 1.02, NULL);
    CHECK(s_expect(l, false, VERDICT_ONE_SIDED, REASON_NO_ANSWER, "DM-EP-1") == 0);
    /* UDP with and without a reply. */
    s_start(l, "203.0.113.50", 5065, 17);
    s_pkt(l, true, 0, 0, 300, 1, NULL);
    CHECK(s_expect(l, false, VERDICT_BLOCKED, REASON_NO_RESPONSE, "PBX-SIP-OUT") == 0);
    s_pkt(l, false, 0, 0, 250, 1.1, NULL);
    CHECK(s_expect(l, false, VERDICT_ALLOWED, REASON_NONE, "PBX-SIP-OUT") == 0);
    /* RTP of a call, known from SDP, that never comes back on this flow:
     * fine when the call's other direction came on another flow... */
    s_start(l, "203.0.113.50", 20000, 17);
    s_pkt(l, true, 0, 0, 172, 1, NULL);
    verdict_hint_t media = {"RTP", false, true, false, false};
    verdict_t mv;
    verdict_judge(l->vc, &l->f, false, &media, &mv);
    CHECK_EQ(mv.kind, VERDICT_ALLOWED);
    CHECK_EQ(mv.reason, REASON_NONE);
    CHECK(strcmp(rules_rule(l->rs, (size_t)mv.rule)->id, "PBX-RTP-OUT") == 0);
    CHECK_EQ(mv.reply_rule, -1);
    /* ...but in a one-way call the rule of the missing direction failed:
     * toward the originator (the phone), the inbound media rule... */
    media.one_way = media.missing_to_orig = true;
    verdict_judge(l->vc, &l->f, false, &media, &mv);
    CHECK_EQ(mv.kind, VERDICT_BLOCKED);
    CHECK_EQ(mv.reason, REASON_ONE_WAY_MEDIA);
    CHECK(strcmp(rules_rule(l->rs, (size_t)mv.rule)->id, "PBX-RTP-IN") == 0);
    /* ...toward the responder (the provider), the outbound one. */
    media.missing_to_orig = false;
    verdict_judge(l->vc, &l->f, false, &media, &mv);
    CHECK_EQ(mv.reason, REASON_ONE_WAY_MEDIA);
    CHECK(strcmp(rules_rule(l->rs, (size_t)mv.rule)->id, "PBX-RTP-OUT") == 0);
    /* No rule: unexpected, with the nearest rule named. */
    s_start(l, "203.0.113.10", 8080, 6);
    s_pkt(l, true, TCP_SYN, 7, 0, 1, NULL);
    verdict_t v;
    verdict_judge(l->vc, &l->f, false, NULL, &v);
    CHECK_EQ(v.kind, VERDICT_UNEXPECTED);
    CHECK(v.nearest >= 0 && v.near == NEAR_PORT);
    /* Neither end in a site. */
    s_start(l, "203.0.113.10", 443, 6);
    ip_parse("198.51.100.1", &l->cli);
    flow_key_make(&l->f.key, &l->cli, l->sport, &l->srv, 443, 6);
    verdict_flow_sites(l->vc, &l->f);
    verdict_judge(l->vc, &l->f, false, NULL, &v);
    CHECK_EQ(v.kind, VERDICT_UNMONITORED);
    return 0;
}

/* The profiles of rules/ with inventory rules/inventory/<inventory>, or NULL. */
static rules_t *s_rules(const char *srcdir, const char *inventory)
{
    char path[1024], inv[1024], err[RULES_ERRLEN];
    snprintf(path, sizeof path, "%s/rules", srcdir);
    snprintf(inv, sizeof inv, "%s/rules/inventory/%s", srcdir, inventory);
    rules_t *rs = rules_new();
    if (rs && (rules_load_profiles(rs, path, err, sizeof err) != 0 ||
                      rules_load_inventory(rs, inv, err, sizeof err) != 0)) {
        fprintf(stderr, "%s\n", err);
        rules_destroy(&rs);
    }
    return rs;
}

/* With rules/inventory/lab-dns.yaml (pbx_service only by the name
 * pbx.lab.example): the responder's role, and how it was recognised, by
 * where its name came from. */
static int s_role_by(const char *srcdir)
{
    lab_t l;
    CHECK((l.rs = s_rules(srcdir, "lab-dns.yaml")) != NULL);
    CHECK(rules_host_known(l.rs, "PBX.lab.example"));
    CHECK(!rules_host_known(l.rs, "sip.lab.example"));
    l.vc = verdict_ctx_new(l.rs, NULL, 3 * SEC);
    static const struct {
        uint16_t flags;
        const char *host;
        role_by_t by;
    } cases[] = {
            {FLOW_F_HOST_DNS, "pbx.lab.example", ROLE_BY_DNS},
            {FLOW_F_SNI, "pbx.lab.example", ROLE_BY_SNI},
            {FLOW_F_HTTP, "pbx.lab.example", ROLE_BY_HTTP_HOST},
            {FLOW_F_SNI, "other.lab.example", ROLE_BY_NONE},
            {0, "", ROLE_BY_NONE},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0] && !rc; i++) {
        s_start(&l, "203.0.113.40", 8445, 6);
        s_pkt(&l, true, TCP_SYN, 7, 0, 1, NULL);
        l.f.flags |= cases[i].flags;
        str_copy(l.f.host, cases[i].host, sizeof l.f.host);
        verdict_t v;
        verdict_judge(l.vc, &l.f, false, NULL, &v);
        if (v.by[1] != cases[i].by || v.by[0] != ROLE_BY_ADDRESS ||
                (v.roles[1] != 0) != (cases[i].by != ROLE_BY_NONE)) {
            fprintf(stderr, "role_by case %zu: by %d/%d roles %llx\n", i, (int)v.by[0],
                    (int)v.by[1], (unsigned long long)v.roles[1]);
            rc = 1;
        }
    }
    CHECK(strcmp(verdict_role_by_str(ROLE_BY_DNS), "dns") == 0);
    CHECK(verdict_role_by_str(ROLE_BY_NONE) == NULL);
    verdict_ctx_destroy(&l.vc);
    rules_destroy(&l.rs);
    return rc;
}

int test_verdict(void)
{
    lab_t l;
    CHECK((l.rs = s_rules(unit_srcdir, "lab.yaml")) != NULL);
    /* Before any packet reached the site from outside, silence proves nothing. */
    l.vc = verdict_ctx_new(l.rs, NULL, 3 * SEC);
    s_start(&l, "203.0.113.40", 8445, 6);
    packet_t p;
    memset(&p, 0, sizeof p);
    s_pkt(&l, true, TCP_SYN, 7, 0, 1, NULL);
    verdict_t v;
    verdict_judge(l.vc, &l.f, false, NULL, &v);
    CHECK_EQ(v.kind, VERDICT_ONE_SIDED);
    verdict_note_inbound(l.vc, 0);
    int rc = s_cases(&l);
    verdict_ctx_destroy(&l.vc);
    CHECK(l.vc == NULL);
    rules_destroy(&l.rs);
    if (rc)
        return rc;
    return s_role_by(unit_srcdir);
}
