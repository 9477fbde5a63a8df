/* SPDX-License-Identifier: MIT */
/* pipeline.h: the sensor's stages wired together.
 *
 *   frame -> decode -> flow table -> connection state -> classify (nDPI)
 *         -> (flow ends) -> verdict -> events + report
 *
 * Data flows one way; each flow is judged once, when it leaves the table. */
#ifndef PINHOLE_PIPELINE_H
#define PINHOLE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "decode.h"
#include "geo.h"
#include "report.h"
#include "rules.h"

typedef struct {
    const rules_t *rules;
    geo_t *geo;                /* may be NULL */
    const char *sensor;
    const char *events_path;   /* NULL: no events; "-": stdout */
    uint32_t max_flows;
    uint64_t idle_us;
    uint64_t end_window_us;
    uint64_t dup_window_us;
    bool dedup;                /* drop true copies within dup_window_us (default) */
    uint32_t ndpi_slots;
    uint32_t ndpi_packets;
    uint32_t max_bindings;     /* SIP registrations tracked */
    uint32_t max_calls;        /* calls whose SDP is tracked (media streams: 4x) */
    uint32_t max_fragmented;   /* IP datagrams in reassembly at once */
    uint32_t max_sip_streams;  /* SIP-over-TCP flows followed at once */
    uint32_t max_dns_bindings; /* addresses named by DNS answers, all sites */
    uint64_t summary_us;       /* live: site_summary + stats events this often */
    uint64_t jump_us;          /* a packet this far off the clock is doubted */
    decode_cfg_t decode;       /* tunnel ports (VXLAN, Geneve) */
    /* Optional: every event line also goes here (the publisher). */
    void (*sink)(void *ctx, const char *line, size_t len);
    void *sink_ctx;
    struct classify *classify; /* optional: a classifier to share (not owned);
                                  nDPI takes ~50 ms to set up (fuzzing) */
} pipeline_cfg_t;

typedef struct {
    uint64_t packets, bytes;
    uint64_t decode[DECODE_ERR_COUNT];
    uint64_t tunnels[TUNNEL_KINDS]; /* packets that came through each kind */
    uint64_t duplicates;
    uint64_t icmp_matched, icmp_unmatched;
    uint64_t sip_messages, sip_invalid;
    uint64_t reassembled_invalid;
    uint64_t clock_jumps;  /* packets dated far off the clock, alone: not believed */
    uint64_t clock_steps;  /* the clock moved far, confirmed by the next packet */
    uint64_t first_us, last_us;
    uint64_t events_write_errors; /* event lines the events file could not take */
} pipeline_stats_t;

typedef struct pipeline pipeline_t;

/* Sets the defaults every option starts from. */
void pipeline_cfg_defaults(pipeline_cfg_t *cfg);
pipeline_t *pipeline_new(const pipeline_cfg_t *cfg, char *err, size_t errlen);
void pipeline_destroy(pipeline_t **self_p);

/* One captured frame. A frame dated more than jump_us off the packet clock
 * is held until the next one says whether the clock really moved (then both
 * are taken as dated) or the frame was odd (then it is taken as dated now,
 * counted in clock_jumps): one odd timestamp never moves the clock. */
void pipeline_packet(pipeline_t *self, const capture_pkt_t *hdr, const uint8_t *data);
/* Live capture: call at least once a second with CLOCK_MONOTONIC (us),
 * whatever the traffic. The packet clock moves on by the time elapsed since
 * the last call (so a quiet port still expires flows, transactions and
 * fragments), and every summary_us the site summaries and a stats event go
 * out. Returns true when it wrote those periodic events. */
bool pipeline_tick(pipeline_t *self, uint64_t mono_us);
/* The kernel's capture counters, for the stats events (live). */
void pipeline_set_kernel_stats(pipeline_t *self, uint64_t received, uint64_t dropped,
        uint64_t ifdropped);
/* Takes `rules` in place of the running ones (SIGHUP), keeping every flow:
 * flows in the table take their sites from the new inventory; counters
 * follow their site, rule and requirement (by name) to their new place, and
 * go with those no longer there. False, with why, when memory ran out. The
 * caller keeps both sets alive until this returns. */
bool pipeline_set_rules(pipeline_t *self, const rules_t *rules, char *why, size_t n);
/* Writes buffered events (see output_flush). */
void pipeline_flush(pipeline_t *self);
/* Reopens the events file (SIGHUP); false with err on failure. */
bool pipeline_reopen(pipeline_t *self, char *err, size_t errlen);
/* End of input: every flow is judged; emits the stats event. */
void pipeline_finish(pipeline_t *self, uint64_t sources);
/* The run's counters as a JSON object (for heartbeats); the caller frees. */
char *pipeline_stats_json(const pipeline_t *self);
/* The longest flow-table chain a lookup walked: it depends on the run's
 * random hash key, so it is logged, never put in the (reproducible) events. */
uint32_t pipeline_chain_max(const pipeline_t *self);
/* Totals, for the report and the tests. */
void pipeline_stats(const pipeline_t *self, pipeline_stats_t *out);
const report_t *pipeline_report(const pipeline_t *self);
void pipeline_report_meta(const pipeline_t *self, report_meta_t *meta);

#endif
