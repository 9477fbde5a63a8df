/* SPDX-License-Identifier: MIT */
/* aggregate.h: events into per-site compliance (docs/collector.md).
 *
 * Runs inside the store's transaction for one sensor message: each event
 * updates the site's rules, NAT, unexpected traffic and requirements; at
 * the end of the message the sites it touched are judged again, and every
 * change of state is queued as an alert in the same transaction (the
 * alert outbox), so a crash can neither lose nor invent one. */
#ifndef PINHOLE_AGGREGATE_H
#define PINHOLE_AGGREGATE_H

#include <stdint.h>

#include "event.h"
#include "rules.h"
#include "store.h"

typedef struct aggregate aggregate_t;

/* window_us: how far apart an allowed and a blocked flow of one rule may
 * be for the rule to count as partly blocked (compliance_rule_status_at). */
aggregate_t *aggregate_new(store_t *store, const rules_t *rules, uint64_t window_us);
void aggregate_destroy(aggregate_t **self_p);

/* One checked event (event_parse), its line as received: the line is
 * stored at the next aggregate_settle, so it must stay valid until then
 * (or until aggregate_discard). */
void aggregate_event(aggregate_t *self, const char *sensor, const char *epoch, uint64_t seq,
        const event_t *event, const char *line, size_t len);
/* The end of a message: judges the touched sites, queues alerts. */
void aggregate_settle(aggregate_t *self);
/* The transaction was rolled back: what was counted since the last settle
 * is forgotten (the events come again). */
void aggregate_discard(aggregate_t *self);
/* At start: sites now in the inventory whose events were kept while it did
 * not know them are counted from those events (in the caller's
 * transaction). Returns how many events were counted. */
uint64_t aggregate_adopt(aggregate_t *self);

/* Queues an alert (inside a transaction). Any string may be NULL. */
void aggregate_alert(aggregate_t *self, const char *kind, const char *site, const char *rule,
        const char *device, const char *from, const char *to, const char *message);

/* Events about sites or rules the collector's inventory does not know. */
uint64_t aggregate_unknown(const aggregate_t *self);

#endif
