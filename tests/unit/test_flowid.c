/* SPDX-License-Identifier: MIT */
#include <openssl/evp.h>
#include <string.h>

#include "flowid.h"
#include "unit.h"

int test_flowid(void);

/* A Community ID of src:sport -> dst:dport, compared with want. */
static int s_cid(uint16_t seed, const char *src, const char *dst, uint8_t proto, uint16_t sp,
        uint16_t dp, const char *want)
{
    ip_addr_t a, b;
    CHECK(ip_parse(src, &a) && ip_parse(dst, &b));
    char out[FLOWID_COMMUNITY_LEN];
    flowid_community(seed, &a, &b, proto, sp, dp, out);
    if (strcmp(out, want) != 0) {
        fprintf(stderr, "community id %s -> %s proto %u: %s, expected %s\n", src, dst, proto, out, want);
        return 1;
    }
    return 0;
}

/* The Community ID as the spec computes it, with OpenSSL's one-shot
 * SHA-1 and base64 (the writer pads its one block itself). */
static void s_reference(uint16_t seed, const ip_addr_t *src, const ip_addr_t *dst, uint8_t proto,
        uint16_t sp, uint16_t dp, char *out)
{
    bool v4 = ip_is_v4(src) && ip_is_v4(dst);
    size_t n = v4 ? 4 : 16;
    const uint8_t *sa = src->b + (v4 ? 12 : 0), *da = dst->b + (v4 ? 12 : 0);
    int c = memcmp(sa, da, n);
    if (c > 0 || (c == 0 && sp > dp)) {
        const uint8_t *t = sa;
        sa = da;
        da = t;
        uint16_t tp = sp;
        sp = dp;
        dp = tp;
    }
    uint8_t buf[40], *w = buf;
    *w++ = (uint8_t)(seed >> 8);
    *w++ = (uint8_t)seed;
    memcpy(w, sa, n);
    w += n;
    memcpy(w, da, n);
    w += n;
    *w++ = proto;
    *w++ = 0;
    if (proto == 6 || proto == 17 || proto == 132) {
        *w++ = (uint8_t)(sp >> 8);
        *w++ = (uint8_t)sp;
        *w++ = (uint8_t)(dp >> 8);
        *w++ = (uint8_t)dp;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdn = 0;
    EVP_Digest(buf, (size_t)(w - buf), md, &mdn, EVP_sha1(), NULL);
    memcpy(out, "1:", 2);
    EVP_EncodeBlock((unsigned char *)out + 2, md, (int)mdn);
}

/* Random tuples, IPv4 and IPv6, TCP, UDP, SCTP and others: the same ids. */
static int s_random(void)
{
    uint64_t seed = 11;
    for (int i = 0; i < 20000; i++) {
        ip_addr_t a, b;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        for (int k = 0; k < 16; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            a.b[k] = (uint8_t)(seed >> 33);
            b.b[k] = (uint8_t)(seed >> 41);
        }
        if (i % 2) { /* IPv4-mapped */
            memset(a.b, 0, 10);
            memset(b.b, 0, 10);
            a.b[10] = a.b[11] = b.b[10] = b.b[11] = 0xff;
        }
        if (i % 7 == 0)
            b = a; /* the same address: the ports order the ends */
        static const uint8_t protos[] = {6, 17, 132, 47, 50};
        uint8_t proto = protos[i % 5];
        uint16_t sp = (uint16_t)(seed >> 17), dp = (uint16_t)(seed >> 3), s16 = (uint16_t)(i % 3);
        char got[FLOWID_COMMUNITY_LEN], want[FLOWID_COMMUNITY_LEN];
        flowid_community(s16, &a, &b, proto, sp, dp, got);
        s_reference(s16, &a, &b, proto, sp, dp, want);
        if (strcmp(got, want) != 0) {
            fprintf(stderr, "community id %d: %s, expected %s\n", i, got, want);
            return 1;
        }
    }
    return 0;
}

int test_flowid(void)
{
    /* The spec's published vectors (community-id-spec baseline, as Zeek's
     * and Suricata's tests use them), each direction. */
    CHECK(!s_cid(0, "1.2.3.4", "5.6.7.8", 6, 1122, 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM="));
    CHECK(!s_cid(0, "5.6.7.8", "1.2.3.4", 6, 3344, 1122, "1:wCb3OG7yAFWelaUydu0D+125CLM="));
    CHECK(!s_cid(0, "1.2.3.4", "5.6.7.8", 17, 1122, 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="));
    CHECK(!s_cid(0, "5.6.7.8", "1.2.3.4", 17, 3344, 1122, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="));
    CHECK(!s_cid(0, "1.2.3.4", "5.6.7.8", 1, 8, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="));
    CHECK(!s_cid(0, "5.6.7.8", "1.2.3.4", 1, 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="));
    CHECK(!s_cid(0, "fe80:1:203:405:607:809:a0b:c0d", "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 58,
            128, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo="));
    CHECK(!s_cid(0, "1.2.3.4", "5.6.7.8", 46, 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768="));
    CHECK(!s_cid(1, "1.2.3.4", "5.6.7.8", 6, 1122, 3344, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="));
    CHECK(!s_cid(1, "1.2.3.4", "5.6.7.8", 17, 1122, 3344, "1:OShq+iKDAMVouh/4bMxB9Sz4amw="));
    CHECK(!s_cid(1, "1.2.3.4", "5.6.7.8", 1, 8, 0, "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="));
    /* The stable id: the same flow, the same id; another start, another. */
    flow_t f;
    memset(&f, 0, sizeof f);
    ip_addr_t a, b;
    ip_parse("192.168.60.10", &a);
    ip_parse("203.0.113.50", &b);
    flow_key_make(&f.key, &a, 5060, &b, 5065, 17);
    f.first_us = 1764000000123456ull;
    uint64_t id = flowid_stable(&f);
    CHECK(id != 0 && id < (1ull << 53));
    CHECK_EQ(flowid_stable(&f), id);
    f.first_us++;
    CHECK(flowid_stable(&f) != id);
    return s_random();
}
