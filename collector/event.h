/* SPDX-License-Identifier: MIT */
/* event.h: one received event line, checked and read into the fields the
 * collector uses (docs/events.md, docs/collector.md "Ingest speed").
 *
 * The check is evschema's contract (a JSON object of at most
 * EVSCHEMA_MAX_EVENT bytes, a known "schema", an "event_type" and a
 * valid "timestamp"); what passes it is read once, into a flat table of
 * the members aggregation reads (top-level ones, and one level down in
 * "pinhole", "tls", "http", "nat" and "sip_alg"). Nothing else of the
 * line is kept: the line itself is stored as it came.
 *
 * Strict JSON is read by simdjson (event_json.cpp, its only home); any
 * line it refuses (invalid UTF-8, json-c's extensions, deeper nesting) is
 * read again by json-c, as before, so what is accepted and every error
 * message are json-c's. A repeated member: the last one counts, as with
 * json-c. */
#ifndef PINHOLE_EVENT_H
#define PINHOLE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The members read. EVENT_PH_* are in "pinhole" (schema 2's judgement,
 * found at the top in schema 1: event_judged). */
typedef enum {
    EVENT_TIMESTAMP, EVENT_EVENT_TYPE, EVENT_SCHEMA, EVENT_SITE, EVENT_FLOW_ID,
    EVENT_SRC_IP, EVENT_SRC_PORT, EVENT_DEST_IP, EVENT_DEST_PORT, EVENT_PROTO,
    EVENT_APP_PROTO, EVENT_APP, EVENT_SNI, EVENT_HTTP_HOST,
    EVENT_VERDICT, EVENT_RULE, EVENT_REPLY_RULE, EVENT_REASON, EVENT_DNS_NAME,
    EVENT_NEAREST_RULE, EVENT_NEAREST_DIFFERS, EVENT_VIOLATION,
    EVENT_AOR, EVENT_CALL_ID, EVENT_CSEQ, EVENT_OLD_PUBLIC, EVENT_NEW_PUBLIC, EVENT_INTERVAL,
    EVENT_SIP_TLS_FLOWS, EVENT_EVIDENCE, EVENT_MESSAGE, EVENT_HEADER, EVENT_INSIDE,
    EVENT_MISSING, EVENT_TARGET,
    EVENT_PINHOLE, EVENT_TLS, EVENT_HTTP, EVENT_NAT, EVENT_SIP_ALG, /* the objects */
    EVENT_PH_VERDICT, EVENT_PH_RULE, EVENT_PH_REPLY_RULE, EVENT_PH_REASON, EVENT_PH_DNS_NAME,
    EVENT_PH_NEAREST_RULE, EVENT_PH_NEAREST_DIFFERS, EVENT_PH_VIOLATION,
    EVENT_TLS_SNI, EVENT_HTTP_HOSTNAME,
    EVENT_NAT_COMPARISONS, EVENT_NAT_CHANGES, EVENT_NAT_COMPARISONS_INSIDE,
    EVENT_NAT_COMPARISONS_OUTSIDE, EVENT_NAT_CHANGES_INSIDE, EVENT_NAT_CHANGES_OUTSIDE,
    EVENT_NAT_REGISTERS,
    EVENT_ALG_REWRITTEN, EVENT_ALG_HEURISTIC, EVENT_ALG_COMPARED,
    EVENT_NFIELDS
} event_field_t;

typedef enum {
    EVENT_ABSENT = 0, EVENT_STRING, EVENT_INT, EVENT_DOUBLE, EVENT_BOOL, EVENT_OBJECT, EVENT_OTHER
} event_kind_t;

typedef struct {
    uint8_t kind;      /* event_kind_t */
    union {
        const char *s; /* EVENT_STRING: NUL-terminated (cut at an escaped NUL, as json-c's) */
        int64_t i;     /* EVENT_INT (beyond INT64_MAX: INT64_MAX), EVENT_BOOL */
        double d;      /* EVENT_DOUBLE */
    };
} event_val_t;

/* One event read. Its strings belong to the parser that read it and stay
 * valid until that parser's next event_parse. */
typedef struct {
    event_val_t f[EVENT_NFIELDS];
    uint64_t ts_us; /* the timestamp, checked */
    bool slow;      /* read by json-c (simdjson refused the line) */
} event_t;

typedef struct event_parser event_parser_t;

event_parser_t *event_parser_new(void);
void event_parser_destroy(event_parser_t **self_p);

/* Checks and reads one event line (len bytes, not NUL-terminated). Returns
 * 0, or PINHOLE_EINVAL with why in err. */
int event_parse(event_parser_t *self, const char *line, size_t len, event_t *ev, char *err,
        size_t errlen);

/* A member's string, or NULL (absent, or not a string). */
const char *event_str(const event_t *ev, event_field_t f);
/* A member's integer, or -1 (absent, or not an integer). */
int64_t event_int(const event_t *ev, event_field_t f);
/* A member as a number, as json_object_get_double reads it (0 if none). */
double event_double(const event_t *ev, event_field_t f);
/* A flow's judgement: in "pinhole" if the event has one (schema 2), else
 * at the top (schema 1). top is the EVENT_* of the same name. */
const char *event_judged(const event_t *ev, event_field_t in_pinhole, event_field_t top);

#endif
