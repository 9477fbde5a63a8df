/* SPDX-License-Identifier: MIT */
/* test_jsonmemo.c: a member written from the memo is the member the writer
 * writes: first in its object or not, values that need escapes, numbers as
 * identities, many identities under one key (slots taken over), and after
 * the memo is cleared. */
#include <stdio.h>
#include <string.h>

#include "jsonmemo.h"
#include "unit.h"

int test_jsonmemo(void);

/* The same object written with the memo (w) and without it (x). */
static int s_same(jsonw_t *w, jsonw_t *x)
{
    size_t n = 0, xn = 0;
    const char *t = jsonw_text(w, &n), *xt = jsonw_text(x, &xn);
    CHECK(t && xt);
    if (n != xn || memcmp(t, xt, n) != 0) {
        fprintf(stderr, "memo: %.*s\nwriter: %.*s\n", (int)n, t, (int)xn, xt);
        return 1;
    }
    return 0;
}

int test_jsonmemo(void)
{
    static const char *const words[] = {"allowed", "a \"quoted\" word", "tab\there", "", "x",
        "endpoint,phone", "a rather longer value than the short ones, past 32 bytes"};
    const size_t nwords = sizeof words / sizeof words[0];
    jsonmemo_t *m = jsonmemo_new();
    CHECK(m != NULL);
    jsonw_t w, x;
    jsonw_init(&w);
    jsonw_init(&x);
    int rc = 0;
    for (int round = 0; round < 4 && !rc; round++) {
        if (round == 2)
            jsonmemo_clear(m);
        for (size_t i = 0; i < 2000 && !rc; i++) {
            const char *v = words[i % nwords];
            char num[32];
            snprintf(num, sizeof num, "set %zu", i % 700); /* 700 numbered values */
            jsonw_reset(&w);
            jsonw_reset(&x);
            jsonw_open(&w, NULL);
            jsonw_open(&x, NULL);
            jsonmemo_str(m, &w, JSONW_K("first"), v); /* first member: no comma */
            jsonw_str_k(&x, JSONW_K("first"), v);
            jsonmemo_str(m, &w, JSONW_K("verdict"), v);
            jsonw_str_k(&x, JSONW_K("verdict"), v);
            if (!jsonmemo_write(m, &w, JSONW_K("roles"), i % 700))
                jsonmemo_add(m, &w, JSONW_K("roles"), i % 700, num);
            jsonw_str_k(&x, JSONW_K("roles"), num);
            jsonw_open_k(&w, JSONW_K("o"));
            jsonw_open_k(&x, JSONW_K("o"));
            jsonmemo_str(m, &w, JSONW_K("verdict"), v);
            jsonw_str_k(&x, JSONW_K("verdict"), v);
            jsonw_close(&w);
            jsonw_close(&x);
            jsonw_close(&w);
            jsonw_close(&x);
            rc = s_same(&w, &x);
        }
    }
    jsonw_fini(&w);
    jsonw_fini(&x);
    jsonmemo_destroy(&m);
    CHECK(m == NULL);
    return rc;
}
