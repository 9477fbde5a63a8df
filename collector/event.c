/* SPDX-License-Identifier: MIT */
/* event.c: a received event line checked and read into its fields. */
#include "event.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "event_json.h"
#include "evschema.h"

typedef struct {
    const char *name;
    int field;
} event_name_t;

/* The members read at the top (sorted by name for bsearch at start). */
static const event_name_t s_top[] = {
        {"timestamp", EVENT_TIMESTAMP}, {"event_type", EVENT_EVENT_TYPE},
        {"schema", EVENT_SCHEMA}, {"site", EVENT_SITE}, {"flow_id", EVENT_FLOW_ID},
        {"src_ip", EVENT_SRC_IP}, {"src_port", EVENT_SRC_PORT}, {"dest_ip", EVENT_DEST_IP},
        {"dest_port", EVENT_DEST_PORT}, {"proto", EVENT_PROTO}, {"app_proto", EVENT_APP_PROTO},
        {"app", EVENT_APP}, {"sni", EVENT_SNI}, {"http_host", EVENT_HTTP_HOST},
        {"verdict", EVENT_VERDICT}, {"rule", EVENT_RULE}, {"reply_rule", EVENT_REPLY_RULE},
        {"reason", EVENT_REASON}, {"dns_name", EVENT_DNS_NAME},
        {"nearest_rule", EVENT_NEAREST_RULE}, {"nearest_differs", EVENT_NEAREST_DIFFERS},
        {"violation", EVENT_VIOLATION}, {"aor", EVENT_AOR}, {"call_id", EVENT_CALL_ID},
        {"cseq", EVENT_CSEQ}, {"old_public", EVENT_OLD_PUBLIC}, {"new_public", EVENT_NEW_PUBLIC},
        {"interval", EVENT_INTERVAL}, {"sip_tls_flows", EVENT_SIP_TLS_FLOWS},
        {"evidence", EVENT_EVIDENCE}, {"message", EVENT_MESSAGE}, {"header", EVENT_HEADER},
        {"inside", EVENT_INSIDE}, {"missing", EVENT_MISSING}, {"target", EVENT_TARGET},
        {"pinhole", EVENT_PINHOLE}, {"tls", EVENT_TLS}, {"http", EVENT_HTTP},
        {"nat", EVENT_NAT}, {"sip_alg", EVENT_SIP_ALG},
};
#define EVENT_NTOP (sizeof s_top / sizeof *s_top)

/* The members read one level down: {object, member name, field}. */
static const struct {
    int parent;
    const char *name;
    int field;
} s_sub[] = {
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
#define EVENT_NSUB (sizeof s_sub / sizeof *s_sub)

struct event_parser {
    event_json_t *fast;
    json_object *slow;           /* the last line json-c read (its strings are the event's) */
    event_name_t top[EVENT_NTOP]; /* s_top, sorted */
};

static int s_name_cmp(const void *a, const void *b)
{
    return strcmp(((const event_name_t *)a)->name, ((const event_name_t *)b)->name);
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
    memcpy(self->top, s_top, sizeof s_top);
    qsort(self->top, EVENT_NTOP, sizeof *self->top, s_name_cmp);
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
    (void)klen;
    walk_t *w = ctx;
    if (parent >= 0) {
        for (size_t i = 0; i < EVENT_NSUB; i++)
            if (s_sub[i].parent == parent && strcmp(s_sub[i].name, key) == 0)
                w->ev->f[s_sub[i].field] = *v;
        return -1;
    }
    event_name_t k = {key, 0};
    const event_name_t *hit = bsearch(&k, w->p->top, EVENT_NTOP, sizeof k, s_name_cmp);
    if (!hit || hit->field < 0)
        return -1;
    w->ev->f[hit->field] = *v;
    if (hit->field < EVENT_PINHOLE || hit->field > EVENT_SIP_ALG)
        return -1;
    for (size_t i = 0; i < EVENT_NSUB; i++) /* a repeated object: the last one counts */
        if (s_sub[i].parent == hit->field)
            w->ev->f[s_sub[i].field] = (event_val_t){0};
    return hit->field;
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
