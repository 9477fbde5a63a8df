/* SPDX-License-Identifier: MIT */
/* http.h: the collector's HTTP API, Prometheus /metrics and /health
 * (docs/collector.md), served by libmicrohttpd on a small pool of threads,
 * each reading the store through its own read-only connection (WAL: they
 * never block the writer). Bound to localhost unless told otherwise.
 *
 * Slow or idle clients cannot take the API away: connections are limited
 * in all and per client address, a request must arrive whole within a
 * timeout and a response be read within a minute, and /api/events answers
 * a bounded page at a time, streamed as it is read. */
#ifndef PINHOLE_HTTP_H
#define PINHOLE_HTTP_H

#include <stdint.h>

#include "rules.h"
#include "store.h"

/* What the server lets its clients hold (docs/collector.md). */
typedef struct {
    unsigned threads;     /* threads serving connections (4) */
    unsigned connections; /* connections open at once, in all (256) */
    unsigned per_ip;      /* ... from one client address (16) */
    unsigned timeout_s;   /* a request must arrive whole within this (5) */
} http_limits_t;

void http_limits_defaults(http_limits_t *lim);

typedef struct {
    const char *addr;          /* "127.0.0.1" */
    uint16_t port;
    const char *db_path;
    const rules_t *rules;
    store_cfg_t store;
    http_limits_t lim;
    const char *token; /* bearer token for /api/ and /metrics; NULL: none */
} http_cfg_t;

typedef struct http http_t;

/* Starts serving; NULL (err says why) if it cannot listen. */
http_t *http_new(const http_cfg_t *cfg, char *err, size_t errlen);
/* Stops serving: waits for the threads, closes every connection. */
void http_destroy(http_t **self_p);
/* The port bound (when asked for port 0). */
uint16_t http_port(const http_t *self);

#endif
