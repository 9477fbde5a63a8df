/* SPDX-License-Identifier: MIT */
/* alert.h: alerts out of the outbox, with repeats held back (docs/collector.md).
 *
 * An alert is about one thing: (kind, site, rule, device, new state). The
 * first one goes out at once; the same thing again within `suppress_us` is
 * held back and counted; when the interval ends, one summary says how many
 * it stands for ("repeats"). Outputs: syslog, a JSON-lines file, and the
 * collector's PUB socket (through a callback). */
#ifndef PINHOLE_ALERT_H
#define PINHOLE_ALERT_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

#define ALERT_KEYS 4096 /* things whose repeats are being held back */

typedef struct {
    const char *file;          /* JSON lines; NULL: none */
    bool syslog;
    uint64_t suppress_us;
    void (*publish)(void *ctx, const char *json);
    void *ctx;
} alert_cfg_t;

typedef struct alert alert_t;

alert_t *alert_new(const alert_cfg_t *cfg, char *err, size_t errlen);
void alert_destroy(alert_t **self_p);

/* Sends or holds back every alert the outbox has (own transaction). */
void alert_flush(alert_t *self, store_t *store, uint64_t now_us);
/* An alert about the collector itself, sent at once (not through the
 * outbox: it is about the store, which may be what fails). */
void alert_direct(alert_t *self, const char *kind, const char *from, const char *to,
        const char *message, uint64_t now_us);
/* Summaries of held-back repeats whose interval has ended. */
void alert_tick(alert_t *self, uint64_t now_us);

/* Closes and opens again the --alerts file (SIGHUP, after logrotate moved
 * it). On failure the old file stays in use and err says why. Returns 0 or
 * PINHOLE_EIO. */
int alert_reopen(alert_t *self, char *err, size_t errlen);

/* Keys evicted from the suppression table (it was full). */
uint64_t alert_evicted(const alert_t *self);

#endif
