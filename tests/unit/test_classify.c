/* SPDX-License-Identifier: MIT */
/* test_classify.c: the application names classify keeps for (master, app)
 * pairs are nDPI's own, whether a pair is asked for the first time or
 * again, after pairs that share its slot. */
#include <string.h>

#include "classify.h"
#include "unit.h"

int test_classify(void);

int test_classify(void)
{
    classify_t *cls = classify_new(16, 8, NULL);
    CHECK(cls != NULL);
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
