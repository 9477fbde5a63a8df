/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nat.h"
#include "sip.h"
#include "unit.h"

int test_nat(void);

#define SEC 1000000ull

typedef struct {
    int changes;
    nat_change_t last;
} seen_t;

static void s_cb(const nat_change_t *c, void *ctx)
{
    seen_t *s = ctx;
    s->changes++;
    s->last = *c;
}

static int s_test_site; /* the site s_reg's REGISTERs come from */

/* Feeds one REGISTER (user, Call-ID, CSeq) from the phone's private
 * 10.0.0.user:5060, seen outside the NAT from 198.51.100.1:pub_port. */
static int s_reg(nat_t *nat, int user, const char *call_id, unsigned cseq, uint16_t pub_port,
        double t, bool rport, bool inside)
{
    char msg[1024], priv[32];
    snprintf(priv, sizeof priv, "10.0.0.%d", user);
    int n = snprintf(msg, sizeof msg,
            "REGISTER sip:lab.example SIP/2.0\r\n"
            "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK-%u%s\r\n"
            "From: <sip:%d@lab.example>;tag=t\r\nTo: <sip:%d@lab.example>\r\n"
            "Call-ID: %s\r\nCSeq: %u REGISTER\r\nContact: <sip:%d@%s:5060>\r\n"
            "Expires: 60\r\nContent-Length: 0\r\n\r\n",
            priv, cseq, rport ? ";rport" : "", user, user, call_id, cseq, user, priv);
    sip_msg_t m;
    if (sip_parse((const uint8_t *)msg, (size_t)n, false, &m) != SIP_OK)
        return 1;
    ip_addr_t src, dst;
    ip_parse(inside ? priv : "198.51.100.1", &src);
    ip_parse("203.0.113.50", &dst);
    nat_sip(nat, &m, &src, inside ? 5060 : pub_port, &dst, 5065, s_test_site,
            (uint64_t)(t * SEC));
    if (!inside)
        return 0;
    /* The registrar's answer, with the mapping it saw in received/rport. */
    n = snprintf(msg, sizeof msg,
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP %s:5060;branch=z9hG4bK-%u;received=198.51.100.1%s%u\r\n"
            "Call-ID: %s\r\nCSeq: %u REGISTER\r\nContent-Length: 0\r\n\r\n",
            priv, cseq, rport ? ";rport=" : "", rport ? pub_port : 0, call_id, cseq);
    if (!rport) /* no rport asked: none in the answer */
        n = snprintf(msg, sizeof msg,
                "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP %s:5060;branch=z9hG4bK-%u;received=198.51.100.1\r\n"
                "Call-ID: %s\r\nCSeq: %u REGISTER\r\nContent-Length: 0\r\n\r\n",
                priv, cseq, call_id, cseq);
    if (sip_parse((const uint8_t *)msg, (size_t)n, false, &m) != SIP_OK)
        return 1;
    nat_sip(nat, &m, &dst, 5065, &src, 5060, s_test_site, (uint64_t)(t * SEC) + 1000);
    return 0;
}

static int s_view(bool inside)
{
    seen_t seen = {0};
    nat_t *nat = nat_new(64, 1, s_cb, &seen);
    CHECK(nat);
    CHECK(!s_reg(nat, 1, "A", 1, 40000, 0, true, inside));
    CHECK(!s_reg(nat, 1, "A", 2, 40000, 30, true, inside)); /* same mapping */
    CHECK(!s_reg(nat, 1, "A", 2, 40000, 30.5, true, inside)); /* retransmission */
    CHECK_EQ(seen.changes, 0);
    CHECK(!s_reg(nat, 1, "A", 3, 40007, 60, true, inside)); /* the NAT moved it */
    CHECK_EQ(seen.changes, 1);
    CHECK(strcmp(seen.last.old_public, "198.51.100.1:40000") == 0);
    CHECK(strcmp(seen.last.new_public, "198.51.100.1:40007") == 0);
    CHECK(strcmp(seen.last.priv, "10.0.0.1:5060") == 0);
    CHECK(strcmp(seen.last.aor, "sip:1@lab.example") == 0);
    CHECK_EQ(seen.last.vantage, inside ? NAT_INSIDE : NAT_OUTSIDE);
    CHECK_EQ(seen.last.cseq, 3); /* the new REGISTER's: the change's identity */
    CHECK_EQ(seen.last.new_us - seen.last.old_us, 30 * SEC);
    /* Not NAT changes: another phone on another port, a reboot (new
     * Call-ID), a CSeq that starts again, a registration that lapsed. */
    CHECK(!s_reg(nat, 2, "B", 5, 40100, 61, true, inside));
    CHECK(!s_reg(nat, 1, "C", 1, 41000, 70, true, inside));
    CHECK(!s_reg(nat, 1, "C", 1, 41000, 70.1, true, inside));
    CHECK(!s_reg(nat, 2, "B", 1, 40200, 80, true, inside));
    CHECK(!s_reg(nat, 2, "B", 2, 40300, 400, true, inside)); /* 320 s > 2 x 60 s */
    if (seen.changes != 1)
        fprintf(stderr, "unexpected change: %s %s -> %s\n", seen.last.aor, seen.last.old_public,
                seen.last.new_public);
    CHECK_EQ(seen.changes, 1);
    nat_site_stats_t st;
    nat_site_stats(nat, 0, &st);
    CHECK_EQ(st.changes, 1);
    CHECK_EQ(st.comparisons, 2);
    nat_vantage_t v = inside ? NAT_INSIDE : NAT_OUTSIDE;
    CHECK_EQ(st.comparisons_v[v], 2); /* all from this view */
    CHECK_EQ(st.changes_v[v], 1);
    CHECK_EQ(st.comparisons_v[!v], 0);
    CHECK_EQ(st.changes_v[!v], 0);
    CHECK_EQ(st.reboots, 2);
    CHECK_EQ(st.silences, 1);
    CHECK_EQ(st.registers, 7); /* 9 sent, 2 of them retransmissions */
    nat_destroy(&nat);
    CHECK(nat == NULL);
    return 0;
}

/* The binding table is bounded: a new phone pushes out the one refreshed
 * longest ago, whose history is then gone. */
static int s_bounded(void)
{
    seen_t seen = {0};
    nat_t *nat = nat_new(2, 1, s_cb, &seen);
    CHECK(nat);
    CHECK(!s_reg(nat, 1, "A", 1, 40000, 0, true, false));
    CHECK(!s_reg(nat, 2, "B", 1, 40100, 1, true, false));
    CHECK(!s_reg(nat, 1, "A", 2, 40000, 2, true, false)); /* 1 is now the freshest */
    CHECK(!s_reg(nat, 3, "D", 1, 40200, 3, true, false)); /* pushes out 2 */
    nat_tables_t t;
    nat_tables(nat, &t);
    CHECK_EQ(t.bindings.evicted, 1);
    CHECK_EQ(t.bindings.active, 2);
    CHECK_EQ(t.max_bindings, 2);
    /* 1 was kept: its next REGISTER is compared. 2 starts again: a new
     * binding is neither compared nor a reboot. */
    nat_site_stats_t st;
    CHECK(!s_reg(nat, 1, "A", 3, 40000, 4, true, false));
    nat_site_stats(nat, 0, &st);
    CHECK_EQ(st.comparisons, 2);
    CHECK(!s_reg(nat, 2, "B", 2, 40999, 5, true, false));
    nat_site_stats(nat, 0, &st);
    CHECK_EQ(st.comparisons, 2);
    CHECK_EQ(st.reboots, 0);
    CHECK_EQ(seen.changes, 0);
    nat_tables(nat, &t);
    CHECK_EQ(t.bindings.evicted, 2); /* 2 came back and pushed out 3 */
    CHECK(t.bindings.peak <= 2);
    nat_destroy(&nat);
    CHECK(nat == NULL);
    return 0;
}

/* The Call-ID table used to be filled for good by 2 x max_bindings distinct
 * Call-IDs, and its insert then looped for ever: 131,073 Call-IDs of one
 * phone (64 Ki bindings) must end, with the oldest Call-IDs pushed out. */
static int s_callids(void)
{
    seen_t seen = {0};
    nat_t *nat = nat_new(1u << 16, 1, s_cb, &seen);
    CHECK(nat);
    char cid[32];
    for (unsigned i = 0; i < (1u << 17) + 1; i++) {
        snprintf(cid, sizeof cid, "cid-%u", i);
        CHECK(!s_reg(nat, 1, cid, 1, 40000, 0.001 * i, true, false));
    }
    nat_tables_t t;
    nat_tables(nat, &t);
    CHECK_EQ(t.max_refs, 1u << 17);
    CHECK_EQ(t.call_ids.active, 1u << 17);
    CHECK_EQ(t.call_ids.evicted, 1);
    CHECK_EQ(t.call_ids.created, (1u << 17) + 1);
    CHECK_EQ(t.bindings.active, 1);
    nat_site_stats_t st;
    nat_site_stats(nat, 0, &st);
    CHECK_EQ(st.reboots, 1u << 17); /* every new Call-ID after the first */
    nat_destroy(&nat);
    return 0;
}

/* A binding, its Call-ID and its mapping are freed once its registration
 * has lapsed (2 x 60 s) plus the grace (60 s), not before. */
static int s_expiry(void)
{
    seen_t seen = {0};
    nat_t *nat = nat_new(8, 1, s_cb, &seen);
    CHECK(nat);
    CHECK(!s_reg(nat, 1, "A", 1, 40000, 10, true, false));
    CHECK(!s_reg(nat, 2, "B", 1, 40100, 100, true, false));
    nat_expire(nat, 190 * SEC); /* 1 lives until 10 + 120 + 60 = 190 s */
    nat_tables_t t;
    nat_tables(nat, &t);
    CHECK_EQ(t.bindings.active, 2);
    CHECK_EQ(t.bindings.expired, 0);
    nat_expire(nat, 191 * SEC);
    nat_tables(nat, &t);
    CHECK_EQ(t.bindings.active, 1);
    CHECK_EQ(t.bindings.expired, 1);
    CHECK_EQ(t.call_ids.expired, 1);
    CHECK_EQ(t.mappings.expired, 1);
    nat_expire(nat, 281 * SEC);
    nat_tables(nat, &t);
    CHECK_EQ(t.bindings.active, 0);
    CHECK_EQ(t.call_ids.active, 0);
    CHECK_EQ(t.mappings.active, 0);
    CHECK_EQ(t.bindings.expired, 2);
    nat_destroy(&nat);
    return 0;
}

/* A reload moves the sites (SIGHUP): site 0 gone, site 1 now 0, a new
 * site 1. A phone's binding follows its site: its next REGISTER is still
 * compared with the last; the same phone at the new site is another one. */
static int s_remap(void)
{
    seen_t seen = {0};
    nat_t *nat = nat_new(64, 2, s_cb, &seen);
    CHECK(nat);
    s_test_site = 1;
    CHECK(!s_reg(nat, 1, "R", 1, 40000, 0, true, false));
    int site[2] = {-1, 0};
    rules_remap_t m = {.site = site, .nsites = 2, .to_nsites = 2};
    CHECK_EQ(nat_remap_sites(nat, &m), 0);
    nat_site_stats_t st;
    nat_site_stats(nat, 0, &st);
    CHECK_EQ(st.registers, 1);
    nat_site_stats(nat, 1, &st);
    CHECK_EQ(st.registers, 0);
    s_test_site = 0;
    CHECK(!s_reg(nat, 1, "R", 2, 40009, 30, true, false)); /* the NAT moved it */
    CHECK_EQ(seen.changes, 1);
    CHECK_EQ(seen.last.site, 0);
    nat_site_stats(nat, 0, &st);
    CHECK_EQ(st.comparisons, 1);
    s_test_site = 1;
    CHECK(!s_reg(nat, 1, "R", 3, 40010, 40, true, false)); /* another site's phone */
    CHECK_EQ(seen.changes, 1);
    nat_site_stats(nat, 1, &st);
    CHECK_EQ(st.comparisons, 0);
    CHECK_EQ(st.registers, 1);
    s_test_site = 0;
    nat_destroy(&nat);
    CHECK(nat == NULL);
    return 0;
}

int test_nat(void)
{
    RUN_ARG(s_view, false);
    RUN_ARG(s_view, true);
    RUN(s_remap);
    /* Inside, without rport: nothing can be judged, and it is counted. */
    seen_t seen = {0};
    nat_t *nat = nat_new(2, 1, s_cb, &seen);
    CHECK(!s_reg(nat, 1, "A", 1, 40000, 0, false, true));
    CHECK(!s_reg(nat, 1, "A", 2, 40009, 30, false, true));
    nat_site_stats_t st;
    nat_site_stats(nat, 0, &st);
    CHECK_EQ(st.no_rport, 2);
    CHECK_EQ(st.comparisons, 0);
    nat_destroy(&nat);
    RUN(s_bounded);
    RUN(s_callids);
    RUN(s_expiry);
    return 0;
}
