/* SPDX-License-Identifier: MIT */
/* The store's rule status history on a real SQLite file: each (site, rule)
 * keeps its newest STORE_RULE_HISTORY changes, oldest first when read. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "unit.h"

int test_store(void);

/* How many changes of `rule` the JSON lists, and the ts_us of its first. */
static int s_count(json_object *hist, const char *rule, int64_t *first_ts)
{
    int n = 0;
    for (size_t i = 0; i < json_object_array_length(hist); i++) {
        json_object *c = json_object_array_get_idx(hist, i), *r, *ts;
        if (!json_object_object_get_ex(c, "rule", &r) || strcmp(json_object_get_string(r), rule))
            continue;
        if (n++ == 0 && json_object_object_get_ex(c, "ts_us", &ts))
            *first_ts = json_object_get_int64(ts);
    }
    return n;
}

int test_store(void)
{
    char path[] = "/tmp/pinhole-store-XXXXXX";
    CHECK(unit_db_name(path) == 0);
    char err[256];
    store_cfg_t cfg;
    store_cfg_defaults(&cfg);
    cfg.sync_full = false;
    store_t *db = store_open(path, &cfg, false, err, sizeof err);
    CHECK(db);
    CHECK(store_begin(db) == 0);
    for (int i = 0; i < STORE_RULE_HISTORY + 8; i++) /* 40 changes of one rule */
        store_rule_history_add(db, "s", "R1", i ? (i % 2 ? "verified" : "blocked") : "",
                i % 2 ? "blocked" : "verified", 1000 + (uint64_t)i, 5000);
    store_rule_history_add(db, "s", "R2", "", "verified", 7, 5000);
    store_rule_history_add(db, "t", "R1", "", "blocked", 9, 5000);
    CHECK(store_commit(db) == 0);
    char *text = store_json_rule_history(db, "s");
    json_object *o = json_tokener_parse(text), *hist;
    free(text);
    CHECK(o && json_object_object_get_ex(o, "history", &hist));
    int64_t first = 0;
    CHECK_EQ(s_count(hist, "R1", &first), STORE_RULE_HISTORY); /* the oldest 8 went */
    CHECK_EQ(first, 1000 + 8);
    CHECK_EQ(s_count(hist, "R2", &first), 1);
    CHECK_EQ(json_object_array_length(hist), STORE_RULE_HISTORY + 1); /* not site t's */
    json_object_put(o);
    store_close(&db);
    CHECK(db == NULL);
    unit_db_remove(path);
    return 0;
}
