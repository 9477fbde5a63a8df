/* SPDX-License-Identifier: MIT */
/* evschema.c: link headers and event checks (docs/link.md). */
#include "evschema.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "strutil.h"

static const char *const s_kinds[] = {"events", "heartbeat", "bye", "ack"};

static bool s_charset(const char *s, size_t max, const char *extra, bool upper)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (upper && c >= 'A' && c <= 'Z') || strchr(extra, c);
        if (!ok || n + 1 >= max)
            return false;
    }
    return n > 0;
}

bool evschema_is_name(const char *s)
{
    return s && s_charset(s, EVSCHEMA_NAME_LEN, "._-", true);
}

bool evschema_is_epoch(const char *s)
{
    return s && s_charset(s, EVSCHEMA_EPOCH_LEN, "-", false);
}

static bool s_get_u64(json_object *o, const char *k, uint64_t *out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int))
        return false;
    int64_t x = json_object_get_int64(v);
    if (x < 0)
        return false;
    *out = (uint64_t)x;
    return true;
}

static const char *s_get_str(json_object *o, const char *k)
{
    json_object *v;
    if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Parses at most len bytes as one JSON value, refusing trailing bytes. */
static json_object *s_parse(const char *buf, size_t len, int depth, char *err, size_t errlen)
{
    if (len > (size_t)INT32_MAX) {
        snprintf(err, errlen, "too large");
        return NULL;
    }
    json_tokener *tok = json_tokener_new_ex(depth);
    if (!tok) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    json_object *o = json_tokener_parse_ex(tok, buf, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    if (!o) {
        snprintf(err, errlen, "not JSON: %s",
                je == json_tokener_continue ? "ends early" : json_tokener_error_desc(je));
    } else if (json_tokener_get_parse_end(tok) < len) {
        snprintf(err, errlen, "bytes after the JSON value");
        json_object_put(o);
        o = NULL;
    } else if (!json_object_is_type(o, json_type_object)) {
        snprintf(err, errlen, "not a JSON object");
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static int s_header_fields(json_object *o, evschema_header_t *h, char *err, size_t errlen)
{
    uint64_t v = 0;
    if (!s_get_u64(o, "link", &v) || v != EVSCHEMA_LINK_VERSION) {
        snprintf(err, errlen, "\"link\" is not %d", EVSCHEMA_LINK_VERSION);
        return PINHOLE_EINVAL;
    }
    const char *kind = s_get_str(o, "kind");
    size_t k = 0;
    while (kind && k < sizeof s_kinds / sizeof *s_kinds && strcmp(kind, s_kinds[k]))
        k++;
    if (!kind || k == sizeof s_kinds / sizeof *s_kinds) {
        snprintf(err, errlen, "unknown \"kind\"");
        return PINHOLE_EINVAL;
    }
    h->kind = (evschema_kind_t)k;
    const char *epoch = s_get_str(o, "epoch");
    if (!evschema_is_epoch(epoch)) {
        snprintf(err, errlen, "\"epoch\" missing or not [a-z0-9-]{1,31}");
        return PINHOLE_EINVAL;
    }
    str_copy(h->epoch, epoch, sizeof h->epoch);
    if (h->kind == EVSCHEMA_ACK) {
        json_object *r;
        if (!s_get_u64(o, "acked", &h->acked)) {
            snprintf(err, errlen, "ack without \"acked\"");
            return PINHOLE_EINVAL;
        }
        h->resend = json_object_object_get_ex(o, "resend", &r) && json_object_get_boolean(r);
        return 0;
    }
    const char *sensor = s_get_str(o, "sensor");
    if (!evschema_is_name(sensor)) {
        snprintf(err, errlen, "\"sensor\" missing or not [A-Za-z0-9._-]{1,63}");
        return PINHOLE_EINVAL;
    }
    str_copy(h->sensor, sensor, sizeof h->sensor);
    if (h->kind == EVSCHEMA_EVENTS) {
        if (!s_get_u64(o, "first", &h->first) || !s_get_u64(o, "count", &h->count) ||
                !s_get_u64(o, "base", &h->base) || h->first == 0 || h->count == 0 ||
                h->count > EVSCHEMA_MAX_BATCH || h->base == 0 || h->base > h->first ||
                h->first > UINT64_MAX / 2) {
            snprintf(err, errlen, "events header needs first >= base >= 1 and count 1-%d",
                    EVSCHEMA_MAX_BATCH);
            return PINHOLE_EINVAL;
        }
        return 0;
    }
    json_object *st;
    if (json_object_object_get_ex(o, "stats", &st)) {
        if (!json_object_is_type(st, json_type_object)) {
            snprintf(err, errlen, "\"stats\" is not an object");
            return PINHOLE_EINVAL;
        }
        h->stats = strdup(json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN));
        if (!h->stats) {
            snprintf(err, errlen, "out of memory");
            return PINHOLE_ENOMEM;
        }
    }
    return 0;
}

int evschema_header_parse(const void *buf, size_t len, evschema_header_t *h, char *err,
        size_t errlen)
{
    memset(h, 0, sizeof *h);
    if (len > EVSCHEMA_MAX_HEADER) {
        snprintf(err, errlen, "header of %zu bytes (at most %d)", len, EVSCHEMA_MAX_HEADER);
        return PINHOLE_EINVAL;
    }
    json_object *o = s_parse(buf, len, 8, err, errlen);
    if (!o)
        return PINHOLE_EINVAL;
    int rc = s_header_fields(o, h, err, errlen);
    json_object_put(o);
    if (rc)
        evschema_header_fini(h);
    return rc ? PINHOLE_EINVAL : 0;
}

void evschema_header_fini(evschema_header_t *h)
{
    free(h->stats);
    h->stats = NULL;
}

int evschema_header_encode(const evschema_header_t *h, char *buf, size_t n)
{
    int w;
    const char *kind = s_kinds[h->kind];
    switch (h->kind) {
        case EVSCHEMA_EVENTS:
            w = snprintf(buf, n,
                    "{\"link\":%d,\"kind\":\"%s\",\"sensor\":\"%s\",\"epoch\":\"%s\","
                    "\"first\":%llu,\"count\":%llu,\"base\":%llu}",
                    EVSCHEMA_LINK_VERSION, kind, h->sensor, h->epoch,
                    (unsigned long long)h->first, (unsigned long long)h->count,
                    (unsigned long long)h->base);
            break;
        case EVSCHEMA_ACK:
            w = snprintf(buf, n, "{\"link\":%d,\"kind\":\"ack\",\"epoch\":\"%s\",\"acked\":%llu%s}",
                    EVSCHEMA_LINK_VERSION, h->epoch, (unsigned long long)h->acked,
                    h->resend ? ",\"resend\":true" : "");
            break;
        default:
            w = snprintf(buf, n, "{\"link\":%d,\"kind\":\"%s\",\"sensor\":\"%s\",\"epoch\":\"%s\"%s%s}",
                    EVSCHEMA_LINK_VERSION, kind, h->sensor, h->epoch,
                    h->stats ? ",\"stats\":" : "", h->stats ? h->stats : "");
            break;
    }
    return w < 0 || (size_t)w >= n ? -1 : w;
}

void *evschema_event_parse(const char *line, size_t len, char *err, size_t errlen)
{
    if (len > EVSCHEMA_MAX_EVENT) {
        snprintf(err, errlen, "event of %zu bytes (at most %d)", len, EVSCHEMA_MAX_EVENT);
        return NULL;
    }
    json_object *o = s_parse(line, len, 16, err, errlen);
    if (!o)
        return NULL;
    uint64_t v = 0;
    const char *type = s_get_str(o, "event_type");
    const char *ts = s_get_str(o, "timestamp");
    if (!s_get_u64(o, "schema", &v) || v < EVSCHEMA_EVENT_VERSION_MIN || v > EVSCHEMA_EVENT_VERSION) {
        snprintf(err, errlen, "\"schema\" is not %d to %d", EVSCHEMA_EVENT_VERSION_MIN,
                EVSCHEMA_EVENT_VERSION);
    } else if (!type || !*type || strlen(type) > 32) {
        snprintf(err, errlen, "no \"event_type\"");
    } else if (!ts || !evschema_time_parse(ts)) {
        snprintf(err, errlen, "no valid \"timestamp\"");
    } else {
        return o;
    }
    json_object_put(o);
    return NULL;
}

int evschema_body_split(const char *body, size_t len, uint64_t count,
        void (*fn)(const char *line, size_t len, uint64_t index, void *ctx), void *ctx)
{
    /* Count first, so that a body with the wrong number of lines touches
     * nothing. A trailing '\n' after the last line is allowed. */
    uint64_t lines = 0;
    size_t end = len && body[len - 1] == '\n' ? len - 1 : len;
    if (end == 0)
        return PINHOLE_EINVAL;
    /* memchr: a line's bytes are looked at once, not one at a time. */
    for (const char *p = body, *stop = body + end; (p = memchr(p, '\n', (size_t)(stop - p))); p++)
        if (++lines >= count)
            return PINHOLE_EINVAL;
    if (lines + 1 != count)
        return PINHOLE_EINVAL;
    size_t start = 0;
    for (uint64_t index = 0; index < count; index++) {
        const char *nl = memchr(body + start, '\n', end - start);
        size_t stop = nl ? (size_t)(nl - body) : end;
        fn(body + start, stop - start, index, ctx);
        start = stop + 1;
    }
    return 0;
}

/* n decimal digits at p, or -1. */
static int64_t s_digits(const char *p, int n)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant's
 * days_from_civil). */
static int64_t s_days(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

uint64_t evschema_time_parse(const char *s)
{
    /* "YYYY-MM-DDTHH:MM:SS.uuuuuu+0000", as output_time() writes it: read
     * by position (each event has one, so no sscanf or timegm). */
    if (!s || strlen(s) != 31 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
            s[16] != ':' || s[19] != '.' || strcmp(s + 26, "+0000") != 0)
        return 0;
    int64_t y = s_digits(s, 4), mo = s_digits(s + 5, 2), d = s_digits(s + 8, 2),
            h = s_digits(s + 11, 2), mi = s_digits(s + 14, 2), se = s_digits(s + 17, 2),
            us = s_digits(s + 20, 6);
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h < 0 || h > 23 || mi < 0 ||
            mi > 59 || se < 0 || se > 60 || us < 0)
        return 0;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return 0;
    int64_t t = s_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return (uint64_t)t * 1000000u + (uint64_t)us;
}
