/* SPDX-License-Identifier: MIT */
/* jsonw.h: a streaming JSON writer into one reusable buffer (the events).
 *
 * An event is written front to back, member by member, into a buffer that
 * is kept from one event to the next: no object tree, no allocation once the
 * buffer has grown to the longest event. The text is byte for byte what
 * json-c 0.16 writes with JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE
 * for the same members in the same order (tests/unit/test_jsonw.c compares
 * the two): no spaces; in strings `"` `\` and the control characters below
 * 0x20 are escaped (\b \f \n \r \t, the others as \u00xx in lower case),
 * while '/', DEL and bytes of 0x80 and above go through unchanged (json-c
 * does not check UTF-8 either); integers in decimal.
 *
 * Usage: jsonw_reset, jsonw_open(w, NULL) for the event's object, members
 * (a NULL key only for the outermost object), jsonw_close for each open
 * object, then jsonw_text. Nesting is bounded by JSONW_DEPTH.
 *
 * The members whose key is fixed when the program is built (every key of
 * the events) have _k forms: JSONW_K("src_port") is the text `,"src_port":`
 * prepared by the compiler, copied whole (without its comma for an object's
 * first member) instead of measured and checked for escapes each time. */
#ifndef PINHOLE_JSONW_H
#define PINHOLE_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strutil.h"

#define JSONW_DEPTH 16

typedef struct jsonw {
    char *buf;
    size_t len, cap;
    unsigned depth;
    uint32_t more;  /* bit d: the object at depth d has a member already */
    bool failed;    /* out of memory, or nesting too deep: the text is unusable */
    bool time_ok;   /* time_txt holds the date and time of time_sec */
    uint64_t time_sec;
    size_t time_len;
    char time_txt[24]; /* "YYYY-MM-DDTHH:MM:SS" (longer past year 9999) */
} jsonw_t;

/* A key known when the program is built, with its comma and colon. Only
 * for keys that need no escape (letters, digits, '_'). */
typedef struct {
    const char *txt;
    size_t len;
} jsonw_key_t;
#define JSONW_K(k) ((jsonw_key_t){",\"" k "\":", sizeof("\"" k "\":")})
/* A whole member known when the program is built: JSONW_M("event_type",
 * "\"flow\"") is `,"event_type":"flow"` (the value JSON text already). */
#define JSONW_M(k, v) ((jsonw_key_t){",\"" k "\":" v, sizeof("\"" k "\":" v)})

void jsonw_init(jsonw_t *w);
void jsonw_fini(jsonw_t *w);
/* Starts a new text; the buffer is kept. */
void jsonw_reset(jsonw_t *w);
/* Opens an object: the outermost one (key NULL) or a member's. */
void jsonw_open(jsonw_t *w, const char *key);
void jsonw_close(jsonw_t *w);
/* A string member (NUL-terminated value; NULL is written as ""). */
void jsonw_str(jsonw_t *w, const char *key, const char *v);
/* A string member of n bytes (NUL bytes among them are escaped as \u0000). */
void jsonw_strn(jsonw_t *w, const char *key, const char *v, size_t n);
void jsonw_int(jsonw_t *w, const char *key, int64_t v);
/* A member whose value is JSON text already (a number formatted by the
 * caller, an object json-c wrote): copied as it is. */
void jsonw_raw(jsonw_t *w, const char *key, const char *json, size_t n);
/* An address as a string member, as inet_ntop writes it. */
void jsonw_ip(jsonw_t *w, const char *key, const ip_addr_t *a);
/* A packet-clock time as a string member, as output_time writes it. */
void jsonw_time(jsonw_t *w, const char *key, uint64_t ts_us);
/* The same members under a prepared key. */
void jsonw_open_k(jsonw_t *w, jsonw_key_t k);
void jsonw_str_k(jsonw_t *w, jsonw_key_t k, const char *v);
void jsonw_strn_k(jsonw_t *w, jsonw_key_t k, const char *v, size_t n);
void jsonw_int_k(jsonw_t *w, jsonw_key_t k, int64_t v);
void jsonw_raw_k(jsonw_t *w, jsonw_key_t k, const char *json, size_t n);
void jsonw_ip_k(jsonw_t *w, jsonw_key_t k, const ip_addr_t *a);
void jsonw_time_k(jsonw_t *w, jsonw_key_t k, uint64_t ts_us);
/* A number with three decimals, as snprintf's "%.3f" writes it. */
void jsonw_fixed3_k(jsonw_t *w, jsonw_key_t k, double v);
/* A prepared member (JSONW_M). */
void jsonw_member_k(jsonw_t *w, jsonw_key_t m);
/* Members written already as text (`"a":1,"b":"x"`, what jsonw_members_of
 * returns), added to the object being written as they are. */
void jsonw_members(jsonw_t *w, const char *txt, size_t n);
/* The members of a text jsonw wrote for one object: the text between its
 * outer braces (NULL if it failed). */
const char *jsonw_members_of(const jsonw_t *w, size_t *len);
/* The text so far (NUL-terminated), or NULL if it failed. */
const char *jsonw_text(const jsonw_t *w, size_t *len);
/* Writes "YYYY-MM-DDTHH:MM:SS.uuuuuu+0000" (UTC) to out, which holds at
 * least JSONW_TIME_LEN bytes; returns the length (no NUL written). */
#define JSONW_TIME_LEN 40
size_t jsonw_format_time(uint64_t ts_us, char *out);
/* Writes v as snprintf(out, JSONW_FIXED3_LEN, "%.3f", v) does, rounding
 * the same way (the double's exact value, halves to even), and returns the
 * length (no NUL written); 0 if the text would not fit (|v| of 1e27 and
 * more), as the events have always left such a number out. */
#define JSONW_FIXED3_LEN 32
size_t jsonw_format_fixed3(double v, char *out);

#endif
