/* SPDX-License-Identifier: MIT */
/* pipeline.h: the sensor's stages wired together.
 *
 *   frame -> decode -> flow table -> connection state -> classify (nDPI)
 *         -> (flow ends) -> verdict -> events + report
 *
 * Data flows one way; each flow is judged once, when it leaves the table. */
#ifndef PINHOLE_PIPELINE_H
#define PINHOLE_PIPELINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "decode.h"
#include "alg.h"
#include "geo.h"
#include "nat.h"
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
    const char *ndpi_protocols; /* dissectors that run (classify_new): NULL, all */
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
    /* One of several workers (sensor/workers.h), or workers = 0: alone.
     * A worker judges and reports only the flows it owns (flow_key_worker);
     * frames marked `copy` feed its state and count nowhere; it writes no
     * site summaries or stats of its own (pipeline_site_summaries and
     * pipeline_write_stats write the merged ones). */
    uint32_t worker, workers;
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
    uint64_t replica_flows; /* workers: flows made by copies, owned by another worker */
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
/* Workers: the packet clock of the whole capture has reached ts_us (the
 * reader's, which sees every packet): tables expire as they would alone. */
void pipeline_clock(pipeline_t *self, uint64_t ts_us);
/* Workers: the capture's last frame was dated ts_us (another worker's,
 * maybe): attempts near it are capture_ended, not blocked. */
void pipeline_capture_last(pipeline_t *self, uint64_t ts_us);
/* The clock stepped to ts_us, forward or back (a frame far off it that the
 * next one confirmed: sensor/clockhold.h); counted in clock_steps. */
void pipeline_clock_step(pipeline_t *self, uint64_t ts_us);
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
/* The same as a json-c object (the caller puts it). */
void *pipeline_stats_object(const pipeline_t *self);
/* Workers: writes a `stats` event of `stats` (taken over; see
 * pipeline_stats_object) and one `site_summary` per site, from this
 * pipeline's NAT and SIP ALG state (every worker's: each sees all SIP) and
 * `rep`'s flow counters (merged, see report_merge), dated ts_us. */
void pipeline_write_stats(pipeline_t *self, void *stats, uint64_t ts_us);
void pipeline_site_summaries(pipeline_t *self, const report_t *rep, uint64_t ts_us);
/* The longest flow-table chain a lookup walked: it depends on the run's
 * random hash key, so it is logged, never put in the (reproducible) events. */
uint32_t pipeline_chain_max(const pipeline_t *self);
/* Totals, for the report and the tests. */
void pipeline_stats(const pipeline_t *self, pipeline_stats_t *out);
const report_t *pipeline_report(const pipeline_t *self);
/* Workers: the per-site flags of inbound traffic seen by any worker
 * (verdict_share_inbound); the NAT and SIP ALG state (each worker's is
 * whole: it sees all SIP), for the merged report. */
void pipeline_share_inbound(pipeline_t *self, _Atomic uint8_t *flags);
const nat_t *pipeline_nat(const pipeline_t *self);
const alg_t *pipeline_alg(const pipeline_t *self);
void pipeline_report_meta(const pipeline_t *self, report_meta_t *meta);

#endif
