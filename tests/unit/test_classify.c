/* SPDX-License-Identifier: MIT */
/* test_classify.c: the application names classify keeps for (master, app)
 * pairs are nDPI's own, whether a pair is asked for the first time or
 * again, after pairs that share its slot; the --ndpi-protocols lists:
 * checked, covered, and the dissectors that run counted. */
#include <string.h>

#include "classify.h"
#include "unit.h"

int test_classify(void);

static int s_lists(classify_t *cls)
{
    char bad[64];
    CHECK(classify_protocols_check(cls, "SIP,rtp,TLS.Microsoft", bad, sizeof bad));
    CHECK(!classify_protocols_check(cls, "SIP,Nope,RTP", bad, sizeof bad));
    CHECK(strcmp(bad, "Nope") == 0);
    CHECK(!classify_protocols_check(cls, "SIP,,RTP", bad, sizeof bad));
    CHECK(strcmp(bad, "") == 0);
    CHECK(!classify_protocols_check(cls, ",SIP", bad, sizeof bad));
    char longname[200];
    memset(longname, 'A', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    CHECK(!classify_protocols_check(cls, longname, bad, sizeof bad));
    CHECK(strlen(bad) == 63); /* cut, still NUL-terminated */
    CHECK(classify_protocols_cover(cls, "SIP,TLS,Microsoft", "tls.microsoft,SIP", bad,
            sizeof bad));
    CHECK(classify_protocols_cover(cls, "SIP", "", bad, sizeof bad));
    CHECK(!classify_protocols_cover(cls, "SIP,TLS", "TLS.Microsoft", bad, sizeof bad));
    CHECK(strcmp(bad, "Microsoft") == 0);
    CHECK(!classify_protocols_cover(cls, "SIP", "Nope", bad, sizeof bad));
    CHECK(strcmp(bad, "Nope") == 0);
    CHECK(classify_new(4, 4, "SIP,Nope") == NULL);
    classify_t *some = classify_new(4, 4, "SIP,RTP,sip");
    CHECK(some != NULL);
    CHECK(classify_protocols(some) == 2);
    classify_destroy(&some);
    CHECK(classify_protocols(cls) > 200); /* every one nDPI 4.2 has */
    return 0;
}

int test_classify(void)
{
    classify_t *cls = classify_new(16, 8, NULL);
    CHECK(cls != NULL);
    if (s_lists(cls) != 0) {
        classify_destroy(&cls);
        return 1;
    }
    flow_t f;
    memset(&f, 0, sizeof f);
    for (int round = 0; round < 3; round++) {
        for (unsigned m = 0; m < 300; m += (m < 20 ? 1 : 37)) {
            for (unsigned a = 0; a < 400; a += (a < 200 ? 1 : 13)) {
                f.master = (uint16_t)m;
                f.app = (uint16_t)a;
                char cached[64], direct[65];
                classify_app_name(cls, &f, cached, sizeof cached);
                classify_app_name(cls, &f, direct, sizeof direct); /* not the cache's size */
                if (strcmp(cached, direct) != 0) {
                    fprintf(stderr, "app name %u.%u: %s, nDPI %s\n", m, a, cached, direct);
                    classify_destroy(&cls);
                    return 1;
                }
            }
        }
    }
    classify_destroy(&cls);
    return 0;
}
