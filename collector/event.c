/* SPDX-License-Identifier: MIT */
/* event.c: a received event line checked and read into its fields. */
#include "event.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "event_json.h"
#include "evschema.h"
#include "log.h"

/* The members read: at the top (parent -1) and one level down. */
static const struct {
    int parent;
    const char *name;
    int field;
} s_names[] = {
        {-1, "timestamp", EVENT_TIMESTAMP}, {-1, "event_type", EVENT_EVENT_TYPE},
        {-1, "schema", EVENT_SCHEMA}, {-1, "site", EVENT_SITE}, {-1, "flow_id", EVENT_FLOW_ID},
        {-1, "src_ip", EVENT_SRC_IP}, {-1, "src_port", EVENT_SRC_PORT},
        {-1, "dest_ip", EVENT_DEST_IP}, {-1, "dest_port", EVENT_DEST_PORT},
        {-1, "proto", EVENT_PROTO}, {-1, "app_proto", EVENT_APP_PROTO}, {-1, "app", EVENT_APP},
        {-1, "sni", EVENT_SNI}, {-1, "http_host", EVENT_HTTP_HOST},
        {-1, "verdict", EVENT_VERDICT}, {-1, "rule", EVENT_RULE},
        {-1, "reply_rule", EVENT_REPLY_RULE}, {-1, "reason", EVENT_REASON},
        {-1, "dns_name", EVENT_DNS_NAME}, {-1, "nearest_rule", EVENT_NEAREST_RULE},
        {-1, "nearest_differs", EVENT_NEAREST_DIFFERS}, {-1, "violation", EVENT_VIOLATION},
        {-1, "aor", EVENT_AOR}, {-1, "call_id", EVENT_CALL_ID}, {-1, "cseq", EVENT_CSEQ},
        {-1, "old_public", EVENT_OLD_PUBLIC}, {-1, "new_public", EVENT_NEW_PUBLIC},
        {-1, "interval", EVENT_INTERVAL}, {-1, "sip_tls_flows", EVENT_SIP_TLS_FLOWS},
        {-1, "evidence", EVENT_EVIDENCE}, {-1, "message", EVENT_MESSAGE},
        {-1, "header", EVENT_HEADER}, {-1, "inside", EVENT_INSIDE},
        {-1, "missing", EVENT_MISSING}, {-1, "target", EVENT_TARGET},
        {-1, "pinhole", EVENT_PINHOLE}, {-1, "tls", EVENT_TLS}, {-1, "http", EVENT_HTTP},
        {-1, "nat", EVENT_NAT}, {-1, "sip_alg", EVENT_SIP_ALG},
        {EVENT_PINHOLE, "verdict", EVENT_PH_VERDICT}, {EVENT_PINHOLE, "rule", EVENT_PH_RULE},
        {EVENT_PINHOLE, "reply_rule", EVENT_PH_REPLY_RULE},
        {EVENT_PINHOLE, "reason", EVENT_PH_REASON}, {EVENT_PINHOLE, "dns_name", EVENT_PH_DNS_NAME},
        {EVENT_PINHOLE, "nearest_rule", EVENT_PH_NEAREST_RULE},
        {EVENT_PINHOLE, "nearest_differs", EVENT_PH_NEAREST_DIFFERS},
        {EVENT_PINHOLE, "violation", EVENT_PH_VIOLATION}, {EVENT_TLS, "sni", EVENT_TLS_SNI},
        {EVENT_HTTP, "hostname", EVENT_HTTP_HOSTNAME},
        {EVENT_NAT, "comparisons", EVENT_NAT_COMPARISONS}, {EVENT_NAT, "changes", EVENT_NAT_CHANGES},
        {EVENT_NAT, "comparisons_inside", EVENT_NAT_COMPARISONS_INSIDE},
        {EVENT_NAT, "comparisons_outside", EVENT_NAT_COMPARISONS_OUTSIDE},
        {EVENT_NAT, "changes_inside", EVENT_NAT_CHANGES_INSIDE},
        {EVENT_NAT, "changes_outside", EVENT_NAT_CHANGES_OUTSIDE},
        {EVENT_NAT, "registers", EVENT_NAT_REGISTERS},
        {EVENT_SIP_ALG, "rewritten", EVENT_ALG_REWRITTEN},
        {EVENT_SIP_ALG, "heuristic", EVENT_ALG_HEURISTIC},
        {EVENT_SIP_ALG, "compared", EVENT_ALG_COMPARED},
};
#define EVENT_NNAMES (sizeof s_names / sizeof *s_names)
#define EVENT_NOBJ (EVENT_SIP_ALG - EVENT_PINHOLE + 2) /* the top, then each object */
#define EVENT_KEYLEN 24                                /* names are shorter */

/* A name's entries by (object, length): a key is compared with the few
 * names of its length only. */
typedef struct {
    uint8_t n;
    uint8_t ix[11];
} event_bucket_t;

struct event_parser {
    event_json_t *fast;
    json_object *slow; /* the last line json-c read (its strings are the event's) */
    event_bucket_t by_len[EVENT_NOBJ][EVENT_KEYLEN];
};

static int s_obj(int parent)
{
    return parent < 0 ? 0 : parent - EVENT_PINHOLE + 1;
}

event_parser_t *event_parser_new(void)
{
    event_parser_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    /* json-c's depth (evschema.c) bounds simdjson's too: deeper goes to json-c. */
    self->fast = event_json_new(EVSCHEMA_MAX_EVENT, 16);
    if (!self->fast) {
        event_parser_destroy(&self);
        return NULL;
    }
    for (size_t i = 0; i < EVENT_NNAMES; i++) {
        size_t len = strlen(s_names[i].name);
        event_bucket_t *b = &self->by_len[s_obj(s_names[i].parent)][len];
        PINHOLE_ASSERT(len < EVENT_KEYLEN && b->n < sizeof b->ix);
        b->ix[b->n++] = (uint8_t)i;
    }
    return self;
}

void event_parser_destroy(event_parser_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    event_json_destroy(&(*self_p)->fast);
    json_object_put((*self_p)->slow);
    free(*self_p);
    *self_p = NULL;
}

typedef struct {
    event_parser_t *p;
    event_t *ev;
} walk_t;

/* One member: kept if read. Keys compare as C strings, as json-c's do. */
static int s_member(void *ctx, int parent, const char *key, size_t klen, const event_val_t *v)
{
    walk_t *w = ctx;
    if (memchr(key, '\0', klen)) /* an escaped NUL: json-c's key ends there */
        klen = strlen(key);
    if (klen >= EVENT_KEYLEN)
        return -1;
    const event_bucket_t *b = &w->p->by_len[s_obj(parent)][klen];
    int field = -1;
    for (size_t i = 0; i < b->n && field < 0; i++)
        if (memcmp(s_names[b->ix[i]].name, key, klen) == 0)
            field = s_names[b->ix[i]].field;
    if (field < 0)
        return -1;
    bool again = w->ev->f[field].kind != EVENT_ABSENT;
    w->ev->f[field] = *v;
    if (parent >= 0 || field < EVENT_PINHOLE || field > EVENT_SIP_ALG)
        return -1;
    for (size_t i = 0; again && i < EVENT_NNAMES; i++) /* repeated: the last one counts */
        if (s_names[i].parent == field)
            w->ev->f[s_names[i].field] = (event_val_t){0};
    return field;
}

static void s_jval(json_object *o, event_val_t *v)
{
    *v = (event_val_t){0};
    switch (json_object_get_type(o)) {
        case json_type_string:
            v->kind = EVENT_STRING;
            v->s = json_object_get_string(o);
            break;
        case json_type_int:
            v->kind = EVENT_INT;
            v->i = json_object_get_int64(o);
            break;
        case json_type_double:
            v->kind = EVENT_DOUBLE;
            v->d = json_object_get_double(o);
            break;
        case json_type_boolean:
            v->kind = EVENT_BOOL;
            v->i = json_object_get_boolean(o);
            break;
        case json_type_object:
            v->kind = EVENT_OBJECT;
            break;
        default:
            v->kind = EVENT_OTHER;
            break;
    }
}

static void s_walk_sub(walk_t *w, int parent, json_object *o)
{
    json_object_object_foreach(o, key, val) {
        event_val_t v;
        s_jval(val, &v);
        s_member(w, parent, key, strlen(key), &v);
    }
}

/* The slow path: json-c reads and checks the line (evschema_event_parse),
 * its tree is walked like simdjson's. */
static int s_slow(event_parser_t *self, const char *line, size_t len, walk_t *w, char *err,
        size_t errlen)
{
    json_object_put(self->slow);
    self->slow = evschema_event_parse(line, len, err, errlen);
    if (!self->slow)
        return PINHOLE_EINVAL;
    memset(w->ev, 0, sizeof *w->ev);
    w->ev->slow = true;
    json_object_object_foreach(self->slow, key, val) {
        event_val_t v;
        s_jval(val, &v);
        int id = s_member(w, -1, key, strlen(key), &v);
        if (id >= 0 && v.kind == EVENT_OBJECT)
            s_walk_sub(w, id, val);
    }
    w->ev->ts_us = evschema_time_parse(event_str(w->ev, EVENT_TIMESTAMP));
    return 0;
}

int event_parse(event_parser_t *self, const char *line, size_t len, event_t *ev, char *err,
        size_t errlen)
{
    walk_t w = {self, ev};
    memset(ev, 0, sizeof *ev);
    if (len > EVSCHEMA_MAX_EVENT || event_json_walk(self->fast, line, len, s_member, &w) != 0)
        return s_slow(self, line, len, &w, err, errlen);
    /* evschema_event_parse's checks; a line failing one is read again by
     * it, for its words. */
    int64_t schema = event_int(ev, EVENT_SCHEMA);
    const char *type = event_str(ev, EVENT_EVENT_TYPE);
    ev->ts_us = evschema_time_parse(event_str(ev, EVENT_TIMESTAMP));
    if (schema < EVSCHEMA_EVENT_VERSION_MIN || schema > EVSCHEMA_EVENT_VERSION || !type ||
            !*type || strlen(type) > 32 || !ev->ts_us)
        return s_slow(self, line, len, &w, err, errlen);
    return 0;
}

const char *event_str(const event_t *ev, event_field_t f)
{
    return ev->f[f].kind == EVENT_STRING ? ev->f[f].s : NULL;
}

int64_t event_int(const event_t *ev, event_field_t f)
{
    return ev->f[f].kind == EVENT_INT ? ev->f[f].i : -1;
}

double event_double(const event_t *ev, event_field_t f)
{
    const event_val_t *v = &ev->f[f];
    switch (v->kind) {
        case EVENT_DOUBLE:
            return v->d;
        case EVENT_INT:
        case EVENT_BOOL:
            return (double)v->i;
        case EVENT_STRING: { /* json-c: the whole string a number, else 0 */
            char *end;
            double d = strtod(v->s, &end);
            return end != v->s && !*end ? d : 0;
        }
        default:
            return 0;
    }
}

const char *event_judged(const event_t *ev, event_field_t in_pinhole, event_field_t top)
{
    return ev->f[EVENT_PINHOLE].kind != EVENT_ABSENT ? event_str(ev, in_pinhole)
                                                     : event_str(ev, top);
}
