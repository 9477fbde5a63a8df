/* SPDX-License-Identifier: MIT */
/* http.h: the collector's HTTP API, Prometheus /metrics and /health
 * (docs/collector.md), served by libmicrohttpd on its own thread, which
 * reads the store through its own connection (WAL: it never blocks the
 * writer). Bound to localhost unless told otherwise. */
#ifndef PINHOLE_HTTP_H
#define PINHOLE_HTTP_H

#include <stdint.h>

#include "rules.h"
#include "store.h"

typedef struct {
    const char *addr;          /* "127.0.0.1" */
    uint16_t port;
    const char *db_path;
    const rules_t *rules;
    store_cfg_t store;
} http_cfg_t;

typedef struct http http_t;

http_t *http_new(const http_cfg_t *cfg, char *err, size_t errlen);
void http_destroy(http_t **self_p);
/* The port bound (when asked for port 0). */
uint16_t http_port(const http_t *self);

#endif
