/* SPDX-License-Identifier: MIT */
/* A message's lines read into a batch of its own (batch.c), and batches
 * read on parse_ahead's thread in hand-over order. */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "evschema.h"
#include "parse_ahead.h"
#include "unit.h"

int test_batch(void);

#define EV_HEAD "{\"timestamp\":\"2026-11-22T04:11:29.354881+0000\",\"event_type\":\"flow\",\"schema\":2"

/* A body of n flow lines, line i with site "s<tag>-<i>" and an "app" of
 * pad bytes (strings that fill more than a block of the batch's). */
static char *s_body(int tag, size_t n, size_t pad, size_t *len)
{
    size_t cap = n * (pad + 200) + 1;
    char *body = malloc(cap), *p = body;
    char *fill = malloc(pad + 1);
    memset(fill, 'a' + tag % 26, pad);
    fill[pad] = '\0';
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s" EV_HEAD ",\"site\":\"s%d-%zu\",\"app\":\"%s\"}", i ? "\n" : "", tag, i,
                fill);
    free(fill);
    *len = (size_t)(p - body);
    return body;
}

/* Every line of b read, with the strings of s_body(tag, n, pad). */
static int s_check(const batch_t *b, int tag, size_t n, size_t pad)
{
    size_t got;
    const batch_line_t *l = batch_lines(b, &got);
    CHECK_EQ(got, n);
    for (size_t i = 0; i < n; i++) {
        char site[32];
        snprintf(site, sizeof site, "s%d-%zu", tag, i);
        CHECK(l[i].err == NULL);
        CHECK(strcmp(event_str(&l[i].ev, EVENT_SITE), site) == 0);
        const char *app = event_str(&l[i].ev, EVENT_APP);
        CHECK_EQ(strlen(app), pad);
        CHECK(pad == 0 || (app[0] == 'a' + tag % 26 && app[pad - 1] == 'a' + tag % 26));
        CHECK_EQ(l[i].ev.ts_us, 1795320689354881ll);
    }
    return 0;
}

static int s_lines(void)
{
    batch_t *a = batch_new(), *b = batch_new();
    CHECK(a && b);
    /* Read, refused, made UTF-8, read: each with its own result. */
    const char body[] = EV_HEAD ",\"site\":\"one\"}\n"
                        "not json\n" EV_HEAD ",\"site\":\"x\xff\"}\n" EV_HEAD ",\"site\":\"four\"}";
    CHECK(batch_parse(a, body, sizeof body - 1, 4) == BATCH_READ);
    size_t n;
    const batch_line_t *l = batch_lines(a, &n);
    CHECK_EQ(n, 4);
    CHECK(!l[0].err && !l[0].fixed && strcmp(event_str(&l[0].ev, EVENT_SITE), "one") == 0);
    CHECK(l[0].line == body);
    CHECK(l[1].err && l[1].err[0] != '\0');
    CHECK(!l[2].err && l[2].fixed);
    CHECK(strcmp(event_str(&l[2].ev, EVENT_SITE), "x\xef\xbf\xbd") == 0); /* U+FFFD */
    CHECK(l[2].line != body && memmem(l[2].line, l[2].len, "x\xef\xbf\xbd", 4) != NULL);
    CHECK(strcmp(event_str(&l[3].ev, EVENT_SITE), "four") == 0);
    /* Another batch's reading leaves a's strings as they were. */
    size_t len;
    char *other = s_body(7, 10, 100, &len);
    CHECK_EQ(batch_parse(b, other, len, 10), 0);
    CHECK(strcmp(event_str(&l[0].ev, EVENT_SITE), "one") == 0);
    CHECK(strcmp(event_str(&l[3].ev, EVENT_SITE), "four") == 0);
    CHECK(!s_check(b, 7, 10, 100));
    /* A body of another number of lines: nothing read. */
    CHECK(batch_parse(b, other, len, 11) == BATCH_MALFORMED);
    CHECK(batch_status(b) == BATCH_MALFORMED);
    batch_lines(b, &n);
    CHECK_EQ(n, 0);
    CHECK(batch_parse(b, other, len, EVSCHEMA_MAX_BATCH + 1) == BATCH_MALFORMED);
    free(other);
    /* Strings of more than a block, several times over: the blocks are
     * taken again at the next reading, and a smaller message after a
     * larger one reads right. */
    for (int round = 0; round < 3; round++) {
        size_t sizes[] = {40000, 10, 60000};
        char *big = s_body(round, 20, sizes[round], &len);
        CHECK_EQ(batch_parse(a, big, len, 20), 0);
        CHECK(!s_check(a, round, 20, sizes[round]));
        free(big);
    }
    batch_destroy(&a);
    batch_destroy(&b);
    CHECK(a == NULL);
    return 0;
}

static int s_ahead(void)
{
    parse_ahead_t *pa = parse_ahead_new(2);
    CHECK(pa);
    enum { N = 40 };
    char *bodies[N];
    size_t lens[N];
    for (int i = 0; i < N; i++)
        bodies[i] = s_body(i, 1 + (size_t)i * 13 % 50, (size_t)i * 37 % 300, &lens[i]);
    /* As the collector does: message k + 1 handed over before k is taken. */
    batch_t *held[2];
    held[0] = parse_ahead_free(pa);
    parse_ahead_submit(pa, held[0], bodies[0], lens[0], 1);
    for (int k = 0; k < N; k++) {
        if (k + 1 < N) {
            held[(k + 1) % 2] = parse_ahead_free(pa);
            CHECK(held[(k + 1) % 2] != NULL && held[(k + 1) % 2] != held[k % 2]);
            CHECK(parse_ahead_free(pa) == NULL); /* both handed over or held */
            parse_ahead_submit(pa, held[(k + 1) % 2], bodies[k + 1], lens[k + 1],
                    1 + (uint64_t)(k + 1) * 13 % 50);
        }
        CHECK_EQ(parse_ahead_wait(pa, held[k % 2]), 0);
        CHECK(!s_check(held[k % 2], k, 1 + (size_t)k * 13 % 50, (size_t)k * 37 % 300));
        parse_ahead_release(pa, held[k % 2]);
    }
    /* One with the wrong line count: its result says so. */
    batch_t *b = parse_ahead_free(pa);
    parse_ahead_submit(pa, b, bodies[3], lens[3], 2);
    CHECK(parse_ahead_wait(pa, b) != 0);
    parse_ahead_release(pa, b);
    /* Ended with a batch handed over and never taken: it is read first. */
    b = parse_ahead_free(pa);
    parse_ahead_submit(pa, b, bodies[5], lens[5], 1 + 5 * 13 % 50);
    parse_ahead_destroy(&pa);
    CHECK(pa == NULL);
    for (int i = 0; i < N; i++)
        free(bodies[i]);
    return 0;
}

int test_batch(void)
{
    RUN(s_lines);
    RUN(s_ahead);
    return 0;
}
