/* SPDX-License-Identifier: MIT */
/* test_dns.c: the DNS response parser (sensor/dns.c) and the bindings
 * (sensor/dnsbind.c). */
#include <string.h>

#include "dns.h"
#include "dnsbind.h"
#include "hash.h"
#include "unit.h"

int test_dns(void);

/* Response to "pbx.lab.example A": header, question, one CNAME
 * (pbx.lab.example -> sip.lab.example, TTL 600) and one A for the target
 * (203.0.113.40, TTL 300). */
static const uint8_t s_cname[] = {
        0x12, 0x34, 0x81, 0x80,             /* id; QR RD RA, rcode 0 */
        0x00, 0x01, 0x00, 0x02,             /* 1 question, 2 answers */
        0x00, 0x00, 0x00, 0x00,             /* no authority, no additional */
        /* 12: question: 3 "pbx" 3 "lab" 7 "example" 0, type A, class IN */
        3, 'p', 'b', 'x', 3, 'l', 'a', 'b', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
        0x00, 0x01, 0x00, 0x01,
        /* 33: answer 1: name -> 12, CNAME IN, TTL 600, rdlength 6:
         * 3 "sip" then a pointer to 16 ("lab.example") */
        0xc0, 12, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x02, 0x58, 0x00, 0x06,
        3, 's', 'i', 'p', 0xc0, 16,
        /* 51: answer 2: name -> 45 ("sip.lab.example"), A IN, TTL 300, 4 bytes */
        0xc0, 45, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x04,
        203, 0, 113, 40,
};

static int s_test_cname(void)
{
    dns_answer_t a;
    CHECK_EQ(dns_parse(s_cname, sizeof s_cname, &a), DNS_OK);
    CHECK(strcmp(a.qname, "pbx.lab.example") == 0);
    CHECK_EQ(a.naddrs, 1);
    CHECK_EQ(a.addr[0].b[12], 203);
    CHECK_EQ(a.addr[0].b[15], 40);
    CHECK_EQ(a.ttl[0], 300); /* the least along the chain */
    return 0;
}

/* Cut inside the A record: the CNAME alone names no address, and the
 * result says truncated, not invalid. */
static int s_test_truncated(void)
{
    dns_answer_t a;
    CHECK_EQ(dns_parse(s_cname, sizeof s_cname - 2, &a), DNS_TRUNCATED);
    CHECK_EQ(a.naddrs, 0);
    CHECK_EQ(dns_parse(s_cname, 20, &a), DNS_TRUNCATED); /* inside the question */
    CHECK_EQ(dns_parse(s_cname, 5, &a), DNS_TRUNCATED);  /* inside the header */
    /* Cut inside a compression pointer of the second answer's name. */
    CHECK_EQ(dns_parse(s_cname, 52, &a), DNS_TRUNCATED);
    /* An rdlength running past the end. */
    uint8_t m[sizeof s_cname];
    memcpy(m, s_cname, sizeof m);
    m[62] = 0x08; /* the A's rdlength: 8, 4 bytes left */
    CHECK_EQ(dns_parse(m, sizeof m, &a), DNS_TRUNCATED);
    CHECK_EQ(a.naddrs, 0);
    return 0;
}

/* A chain of n compression pointers, each to the one before, inside the
 * RDATA of a TXT record; the next record (an A) is named by the chain's
 * last pointer. More than DNS_MAX_JUMPS is refused. */
static int s_test_jumps(int n)
{
    uint8_t m[12 + 7 + 12 + 2 * 40 + 16];
    size_t k = 0;
    static const uint8_t hdr[] = {0x00, 0x01, 0x81, 0x80, 0x00, 0x01, 0x00, 0x02, 0, 0, 0, 0};
    memcpy(m, hdr, sizeof hdr);
    k = sizeof hdr;
    static const uint8_t q[] = {1, 'a', 0, 0x00, 0x01, 0x00, 0x01}; /* 12: "a" A IN */
    memcpy(m + k, q, sizeof q);
    k += sizeof q;
    /* 19: TXT IN TTL 1, rdlength 2n, named by a pointer to 12 */
    static const uint8_t txt[] = {0xc0, 12, 0x00, 0x10, 0x00, 0x01, 0, 0, 0, 1, 0x00};
    memcpy(m + k, txt, sizeof txt);
    k += sizeof txt;
    m[k++] = (uint8_t)(2 * n);
    size_t first = k;
    for (int i = 0; i < n; i++) { /* each pointer to the one before, the first to 12 */
        m[k++] = 0xc0;
        m[k++] = (uint8_t)(i == 0 ? 12 : first + 2 * (size_t)(i - 1));
    }
    /* the A: named by a pointer to the last pointer, TTL 1, 10.0.0.1 */
    const uint8_t rr[] = {0xc0, (uint8_t)(first + 2 * (size_t)(n - 1)), 0x00, 0x01, 0x00, 0x01,
            0, 0, 0, 1, 0x00, 0x04, 10, 0, 0, 1};
    memcpy(m + k, rr, sizeof rr);
    k += sizeof rr;
    dns_answer_t a;
    dns_rc_t rc = dns_parse(m, k, &a);
    if (n + 1 <= DNS_MAX_JUMPS) {
        CHECK_EQ(rc, DNS_OK);
        CHECK_EQ(a.naddrs, 1);
    } else {
        CHECK_EQ(rc, DNS_INVALID);
        CHECK_EQ(a.naddrs, 0);
    }
    return 0;
}

/* Response with one A whose name is a pointer; the pointer byte at `ptr`
 * is the test's variable. */
static int s_test_loops(void)
{
    uint8_t m[] = {
            0x00, 0x01, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
            /* 12: question "a" A IN */
            1, 'a', 0, 0x00, 0x01, 0x00, 0x01,
            /* 19: answer: name is a pointer (to itself below), A IN, TTL 1 */
            0xc0, 19, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x04,
            10, 0, 0, 1,
    };
    dns_answer_t a;
    CHECK_EQ(dns_parse(m, sizeof m, &a), DNS_INVALID); /* points at itself */
    CHECK_EQ(a.naddrs, 0);
    m[20] = 40; /* forwards, past the end */
    CHECK_EQ(dns_parse(m, sizeof m, &a), DNS_INVALID);
    m[20] = 12; /* backwards, to "a": fine */
    CHECK_EQ(dns_parse(m, sizeof m, &a), DNS_OK);
    CHECK_EQ(a.naddrs, 1);
    /* Two labels pointing at each other: "x" -> ptr to 21, at 21 a label
     * and a pointer back to 19. Backward-only pointers refuse the second. */
    uint8_t l[] = {
            0x00, 0x01, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
            /* 12: question: 1 "a", pointer to 19 */
            1, 'a', 0xc0, 19, 0x00, 0x01, 0x00,
            /* 19: 1 "b", pointer to 12 (which points back to 19) */
            1, 'b', 0xc0, 12,
    };
    CHECK_EQ(dns_parse(l, sizeof l, &a), DNS_INVALID);
    RUN_ARG(s_test_jumps, 10);
    RUN_ARG(s_test_jumps, 40);
    return 0;
}

static int s_test_ttl_cap(void)
{
    uint8_t m[sizeof s_cname];
    memcpy(m, s_cname, sizeof m);
    dns_answer_t a;
    /* Both TTLs a week: capped at a day. */
    m[39] = 0x00, m[40] = 0x09, m[41] = 0x3a, m[42] = 0x80; /* CNAME: 604800 */
    m[57] = 0x00, m[58] = 0x09, m[59] = 0x3a, m[60] = 0x80; /* A: 604800 */
    CHECK_EQ(dns_parse(m, sizeof m, &a), DNS_OK);
    CHECK_EQ(a.ttl[0], DNS_TTL_CAP);
    /* The top bit set: zero (RFC 2181 8). */
    m[57] = 0x80;
    CHECK_EQ(dns_parse(m, sizeof m, &a), DNS_OK);
    CHECK_EQ(a.ttl[0], 0);
    return 0;
}

static int s_test_not_response(void)
{
    uint8_t m[sizeof s_cname];
    memcpy(m, s_cname, sizeof m);
    dns_answer_t a;
    m[2] = 0x01; /* QR 0: a query */
    CHECK_EQ(dns_parse(m, sizeof m, &a), DNS_NOT_RESPONSE);
    m[2] = 0x81, m[3] = 0x83; /* NXDOMAIN */
    CHECK_EQ(dns_parse(m, sizeof m, &a), DNS_NOT_RESPONSE);
    /* Over TCP: a 2-byte length, then the message; a longer announced
     * length (a message over several segments) is not read. */
    uint8_t t[2 + sizeof s_cname];
    t[0] = 0, t[1] = (uint8_t)sizeof s_cname;
    memcpy(t + 2, s_cname, sizeof s_cname);
    size_t len = 0;
    CHECK(dns_tcp_message(t, sizeof t, &len) == t + 2);
    CHECK_EQ(len, sizeof s_cname);
    CHECK(dns_tcp_message(t, sizeof t - 1, &len) == NULL);
    return 0;
}

static int s_test_bindings(void)
{
    dnsbind_t *b = dnsbind_new(2);
    CHECK(b);
    ip_addr_t x, y, z;
    CHECK(ip_parse("203.0.113.40", &x));
    CHECK(ip_parse("203.0.113.41", &y));
    CHECK(ip_parse("2001:db8::1", &z));
    dnsbind_add(b, 0, &x, "pbx.lab.example", 300, 1000000u);
    CHECK(strcmp(dnsbind_lookup(b, 0, &x, 2000000u), "pbx.lab.example") == 0);
    CHECK(dnsbind_lookup(b, 1, &x, 2000000u) == NULL);          /* another site */
    CHECK(dnsbind_lookup(b, 0, &x, 302000000u) == NULL);        /* past its TTL */
    dnsbind_add(b, 0, &y, "a.lab.example", 10, 1000000u);
    dnsbind_add(b, 0, &z, "b.lab.example", 10, 1000000u);      /* full: x goes */
    CHECK(dnsbind_lookup(b, 0, &x, 2000000u) == NULL);
    dnsbind_expire(b, 20000000u);
    dnsbind_stats_t st;
    dnsbind_stats(b, &st);
    CHECK_EQ(st.table.evicted, 1);
    CHECK_EQ(st.table.expired, 2);
    CHECK_EQ(st.table.active, 0);
    CHECK_EQ(st.bound, 3);
    dnsbind_destroy(&b);
    CHECK(b == NULL);
    return 0;
}

int test_dns(void)
{
    hash_init();
    RUN(s_test_cname);
    RUN(s_test_truncated);
    RUN(s_test_loops);
    RUN(s_test_ttl_cap);
    RUN(s_test_not_response);
    RUN(s_test_bindings);
    return 0;
}
