/* SPDX-License-Identifier: MIT */
/* evschema.h: the sensor-to-collector link protocol (docs/link.md) and the
 * collector's check of every received event (docs/events.md).
 *
 * Every message from a sensor is one header frame, a JSON object with
 * "link": EVSCHEMA_LINK_VERSION and a "kind":
 *
 *   events     + a body frame: `count` event lines (JSON), '\n'-separated;
 *                line i has sequence number first + i
 *   heartbeat  the sensor's capture and link statistics ("stats")
 *   bye        the sensor ends its run cleanly (also carries "stats")
 *
 * The collector answers each header it could read with an "ack" header:
 * the highest sequence number it has stored durably for that epoch. Events
 * are numbered per (sensor, epoch); an epoch is one run of a sensor (or one
 * spool). `base` is the oldest sequence number the sensor still holds: a
 * collector whose next expected number is below it knows the events in
 * between were discarded (a gap), not lost in transit.
 *
 * Nothing here does I/O; the parsers take untrusted bytes. */
#ifndef PINHOLE_EVSCHEMA_H
#define PINHOLE_EVSCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVSCHEMA_LINK_VERSION 1
#define EVSCHEMA_EVENT_VERSION 2      /* docs/events.schema.json: what sensors write */
#define EVSCHEMA_EVENT_VERSION_MIN 1  /* the oldest a collector still reads */
#define EVSCHEMA_MAX_HEADER 65536     /* header frame bytes (heartbeat stats included) */
#define EVSCHEMA_MAX_EVENT 65536      /* one event line */
#define EVSCHEMA_MAX_BATCH 4096       /* events in one message */
#define EVSCHEMA_NAME_LEN 64          /* sensor names */
#define EVSCHEMA_EPOCH_LEN 32

/* Dead-link detection, the same on both ends: ZMTP heartbeats every
 * EVSCHEMA_HEARTBEAT_MS, a link silent for EVSCHEMA_HEARTBEAT_TIMEOUT_MS is
 * closed; TCP keepalive probes after EVSCHEMA_KEEPALIVE_IDLE_S idle. */
#define EVSCHEMA_HEARTBEAT_MS 2000
#define EVSCHEMA_HEARTBEAT_TIMEOUT_MS 10000
#define EVSCHEMA_KEEPALIVE_IDLE_S 30

typedef enum {
    EVSCHEMA_EVENTS = 0,
    EVSCHEMA_HEARTBEAT,
    EVSCHEMA_BYE,
    EVSCHEMA_ACK,
} evschema_kind_t;

typedef struct {
    evschema_kind_t kind;
    char sensor[EVSCHEMA_NAME_LEN];
    char epoch[EVSCHEMA_EPOCH_LEN];
    uint64_t first, count, base; /* events */
    uint64_t acked;              /* ack: highest seq stored (0: none) */
    bool resend;                 /* ack: go back to acked + 1 */
    char *stats;                 /* heartbeat/bye: the "stats" object as JSON, owned */
} evschema_header_t;

/* A sensor name: 1-63 of [A-Za-z0-9._-]. An epoch: 1-31 of [a-z0-9-]. */
bool evschema_is_name(const char *s);
bool evschema_is_epoch(const char *s);

/* Reads a header frame (len bytes, not NUL-terminated). Returns 0, or
 * PINHOLE_EINVAL with why in err. The caller frees h->stats with
 * evschema_header_fini(). */
int evschema_header_parse(const void *buf, size_t len, evschema_header_t *h, char *err,
        size_t errlen);
void evschema_header_fini(evschema_header_t *h);

/* Writes a header frame into buf (NUL-terminated); returns its length, or
 * -1 if it does not fit. stats: a JSON object text or NULL. */
int evschema_header_encode(const evschema_header_t *h, char *buf, size_t n);

/* Checks one event line of a body, as the collector does before anything
 * else reads it: a JSON object of at most EVSCHEMA_MAX_EVENT bytes, with a
 * known "schema", an "event_type" and a "timestamp" string. Returns the
 * parsed object (a json_object *, the caller puts it) or NULL with why. */
void *evschema_event_parse(const char *line, size_t len, char *err, size_t errlen);

/* Splits a body into lines: calls fn for each of exactly `count` lines.
 * Returns 0, or PINHOLE_EINVAL if the body holds another number of lines. */
int evschema_body_split(const char *body, size_t len, uint64_t count,
        void (*fn)(const char *line, size_t len, uint64_t index, void *ctx), void *ctx);

/* Packet-clock timestamp ("2026-11-22T03:57:37.123456+0000") to
 * microseconds since the epoch; 0 if it is not one. */
uint64_t evschema_time_parse(const char *s);

#endif
