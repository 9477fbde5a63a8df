/* SPDX-License-Identifier: MIT */
/* alert.c: alert delivery and repeat suppression. */
#include "alert.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "err.h"
#include "log.h"
#include "strutil.h"

typedef struct {
    uint64_t hash;      /* 0: free */
    uint64_t since_us;  /* when the last alert of this key went out */
    uint64_t held;      /* repeats held back since */
    char kind[32];
    char *last;         /* the last held-back alert (JSON) */
} key_t_;

struct alert {
    alert_cfg_t cfg;
    FILE *file;
    key_t_ keys[ALERT_KEYS];
    uint64_t evicted;
};

alert_t *alert_new(const alert_cfg_t *cfg, char *err, size_t errlen)
{
    alert_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    if (cfg->file && !(self->file = fopen(cfg->file, "a"))) {
        snprintf(err, errlen, "--alerts %s: %s", cfg->file, strerror(errno));
        free(self);
        return NULL;
    }
    if (cfg->syslog)
        openlog("pinhole-collector", LOG_PID, LOG_DAEMON);
    return self;
}

int alert_reopen(alert_t *self, char *err, size_t errlen)
{
    if (!self->file)
        return 0;
    FILE *f = fopen(self->cfg.file, "a");
    if (!f) {
        snprintf(err, errlen, "--alerts %s: %s; still writing to the file open before",
                self->cfg.file, strerror(errno));
        return PINHOLE_EIO;
    }
    fclose(self->file);
    self->file = f;
    return 0;
}

void alert_destroy(alert_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    alert_t *self = *self_p;
    if (self->file)
        fclose(self->file);
    if (self->cfg.syslog)
        closelog();
    for (size_t i = 0; i < ALERT_KEYS; i++)
        free(self->keys[i].last);
    free(self);
    *self_p = NULL;
}

uint64_t alert_evicted(const alert_t *self)
{
    return self->evicted;
}

static const char *s_get(json_object *o, const char *k)
{
    json_object *v;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static void s_out(alert_t *self, json_object *a)
{
    const char *json = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (self->file) {
        fprintf(self->file, "%s\n", json);
        fflush(self->file);
    }
    if (self->cfg.syslog) {
        json_object *r;
        int64_t repeats = json_object_object_get_ex(a, "repeats", &r) ? json_object_get_int64(r) : 0;
        /* A rule's alert: what the rule is for, and which row of which document. */
        const char *purpose = s_get(a, "purpose"), *doc = s_get(a, "document");
        syslog(LOG_WARNING, "%s site=%s rule=%s device=%s: %s%s%s%s%s%s%s%s", s_get(a, "alert"),
                s_get(a, "site"), s_get(a, "rule"), s_get(a, "device"), s_get(a, "message"),
                repeats ? " (and repeats held back)" : "", *purpose ? "; rule for: " : "", purpose,
                *purpose ? "; source: " : "", doc, *doc ? ": " : "", s_get(a, "source"));
    }
    if (self->cfg.publish)
        self->cfg.publish(self->cfg.ctx, json);
}

static key_t_ *s_slot(alert_t *self, uint64_t h, uint64_t now_us)
{
    size_t i = (size_t)(h % ALERT_KEYS), oldest = i;
    for (size_t n = 0; n < 16; n++, i = (i + 1) % ALERT_KEYS) {
        key_t_ *k = &self->keys[i];
        if (k->hash == h)
            return k;
        if (!k->hash || now_us - k->since_us >= self->cfg.suppress_us) {
            if (k->held) /* nothing is lost: its summary goes out first */
                continue;
            k->hash = 0;
            return k;
        }
        if (k->since_us < self->keys[oldest].since_us)
            oldest = i;
    }
    self->evicted++;
    key_t_ *k = &self->keys[oldest];
    free(k->last);
    memset(k, 0, sizeof *k);
    return k;
}

typedef struct {
    alert_t *self;
    store_t *store;
    uint64_t now_us;
} flush_ctx_t;

static void s_one(int64_t id, const char *kind, const char *body, void *arg)
{
    flush_ctx_t *c = arg;
    alert_t *self = c->self;
    json_object *a = json_tokener_parse(body);
    if (!a) {
        store_alert_mark(c->store, id, 1);
        return;
    }
    uint64_t h = HASH_FNV_INIT;
    const char *parts[] = {"alert", "site", "rule", "device", "to"};
    for (size_t i = 0; i < 5; i++) {
        const char *p = s_get(a, parts[i]);
        h = hash_fnv(h, p, strlen(p) + 1);
    }
    h |= 1; /* never 0 */
    key_t_ *k = s_slot(self, h, c->now_us);
    char counter[64];
    if (k->hash == h && c->now_us - k->since_us < self->cfg.suppress_us) {
        k->held++;
        free(k->last);
        k->last = strdup(body);
        store_alert_mark(c->store, id, 2);
        snprintf(counter, sizeof counter, "suppressed.%s", kind);
    } else {
        k->hash = h;
        k->since_us = c->now_us;
        str_copy(k->kind, kind, sizeof k->kind);
        s_out(self, a);
        store_alert_mark(c->store, id, 1);
        snprintf(counter, sizeof counter, "alerts.%s", kind);
    }
    store_counter_add(c->store, counter, 1);
    json_object_put(a);
}

void alert_direct(alert_t *self, const char *kind, const char *from, const char *to,
        const char *message, uint64_t now_us)
{
    json_object *a = json_object_new_object();
    json_object_object_add(a, "alert", json_object_new_string(kind));
    json_object_object_add(a, "raised_us", json_object_new_int64((int64_t)now_us));
    if (from)
        json_object_object_add(a, "from", json_object_new_string(from));
    if (to)
        json_object_object_add(a, "to", json_object_new_string(to));
    json_object_object_add(a, "message", json_object_new_string(message));
    s_out(self, a);
    json_object_put(a);
}

void alert_flush(alert_t *self, store_t *store, uint64_t now_us)
{
    flush_ctx_t c = {self, store, now_us};
    if (store_begin(store) != 0)
        return;
    store_alerts_pending(store, s_one, &c);
    store_commit(store);
}

void alert_tick(alert_t *self, uint64_t now_us)
{
    for (size_t i = 0; i < ALERT_KEYS; i++) {
        key_t_ *k = &self->keys[i];
        if (!k->hash || !k->held || now_us - k->since_us < self->cfg.suppress_us)
            continue;
        json_object *a = k->last ? json_tokener_parse(k->last) : NULL;
        if (a) {
            json_object_object_add(a, "repeats", json_object_new_int64((int64_t)k->held));
            json_object_object_add(a, "summary", json_object_new_boolean(1));
            s_out(self, a);
            json_object_put(a);
        }
        k->held = 0;
        k->since_us = now_us; /* the summary opens a new interval */
        free(k->last);
        k->last = NULL;
    }
}
