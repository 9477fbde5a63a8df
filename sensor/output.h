/* SPDX-License-Identifier: MIT */
/* output.h: the event stream, as JSON lines (docs/events.schema.json).
 *
 * One object per line with `event_type`; field names follow Suricata's EVE
 * where one exists, and pinhole's own judgement of a flow is in its
 * `pinhole` object. Event schema version: EVSCHEMA_EVENT_VERSION. */
#ifndef PINHOLE_OUTPUT_H
#define PINHOLE_OUTPUT_H

#include <stdio.h>

#include "alg.h"
#include "classify.h"
#include "flow.h"
#include "flow_view.h"
#include "media.h"
#include "nat.h"
#include "siptx.h"
#include "rules.h"
#include "verdict.h"


typedef struct output output_t;

/* Writes to path ("-": stdout); NULL path: no events. */
output_t *output_new(const char *path, const char *sensor, const rules_t *rules,
        classify_t *cls, char *err, size_t errlen);
void output_destroy(output_t **self_p);
/* Names rules and sites from `rules` from now on (same shape as before). */
void output_set_rules(output_t *self, const rules_t *rules);
/* Writes the lines still buffered (whole lines only). Call at least once a
 * second: a kill then loses at most that second, never part of a line. */
void output_flush(output_t *self);
/* Opens the events file again (logrotate: after SIGHUP), for append; the
 * old one is kept on failure (-1, err says why). */
int output_reopen(output_t *self, char *err, size_t errlen);
/* Lines that could not be written (disk full...). */
uint64_t output_write_errors(const output_t *self);
/* Every event line also goes to fn (a publisher), without its newline. */
void output_set_sink(output_t *self, void (*fn)(void *ctx, const char *line, size_t len),
        void *ctx);

/* A line written elsewhere (workers: another output's), without its
 * newline: to the file and the sink. */
void output_line(output_t *self, const char *line, size_t len);

/* One `flow` event for a finished flow: its view, judged (its RTP stream
 * in fv->ms, or NULL). */
void output_flow(output_t *self, flow_view_t *fv);
/* One `rtp_one_way` event: an answered call's media reached one party
 * only (sensor/media.h). `party`: the site's party; `fv`: the judged view
 * of the flow that shows it (with its stream), or NULL if none is left. */
void output_rtp_one_way(output_t *self, const media_call_t *c, int site, int party,
        const flow_view_t *fv);
/* One `missed_call` event: an INVITE into a site that cannot arrive
 * (reason: stale_mapping, no_response, icmp_unreachable). */
void output_missed_call(output_t *self, const nat_stale_t *st, const char *reason);
/* One `sip` event: a transaction, ended as `end` says. */
void output_sip(output_t *self, const siptx_t *tx, const char *end);
/* One `sip_alg` event. */
void output_sip_alg(output_t *self, const alg_sign_t *sg);
/* One `site_summary` event: a site's NAT and SIP ALG counters so far, and
 * its SIP over TLS flows (a "not_checked" NAT verdict gets its reason). */
void output_site_summary(output_t *self, int site, uint64_t ts_us, const nat_site_stats_t *ns,
        const char *nat_verdict, const alg_site_stats_t *as, uint64_t sip_tls_flows);
/* The `stats` event; takes the stats object (a json_object *). */
void output_stats(output_t *self, uint64_t ts_us, void *stats);
/* One `nat_port_change` event. */
void output_nat_change(output_t *self, const nat_change_t *c);
/* A phone seen behind NAT: first learned, or its mapping changed. */
void output_nat_binding(output_t *self, const nat_binding_t *b);
/* Any prepared JSON object as one event line (takes a json_object *; the
 * caller keeps ownership). */
void output_object(output_t *self, void *jobj);
/* Formats a packet-clock timestamp as Suricata does
 * ("2026-11-22T03:57:37.123456+0000"). buf: 40 bytes. */
const char *output_time(uint64_t ts_us, char *buf, size_t n);

#endif
