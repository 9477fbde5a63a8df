/* SPDX-License-Identifier: MIT */
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
    return 0;
}
