/* SPDX-License-Identifier: MIT */
/* workers.h: the sensor on several cores (--workers N).
 *
 * One reader (the capture loop: live, or files) hands each frame to one of
 * N pipelines, each on a thread of its own, by a symmetric hash of its flow
 * (flow_key_worker), so both directions of a flow meet in one pipeline. What
 * ties flows together is replicated rather than shared: SIP (ports 5060 and
 * 5061, UDP and TCP), DNS answers and IP fragments go to every worker, as a
 * copy to all but one, so every worker knows every call's SDP, every
 * phone's registrations and every name's addresses, with no lock on the
 * packet path. The media flows an SDP announces go to the worker of their
 * call (by its Call-ID), so a call's streams are measured and judged in one
 * place; an ICMP error goes to the worker of the flow it quotes. Each event
 * is told by one worker: a flow's by its owner, what a SIP message tells by
 * the worker that holds it as no copy. The reader also tells every worker
 * the capture's clock, so tables expire as with one pipeline.
 *
 * Event lines of all workers go through one writer (one file, one
 * publisher); the stats and site summaries are written merged, and the
 * report is the sum of the workers' (report_merge). With N = 1 there is no
 * thread: the pipeline runs in the caller's, exactly as without workers.
 *
 * Every function but workers_packet and workers_events_lock is made with
 * the workers paused at a barrier (or stopped), so the pipelines are read
 * and changed from the caller's thread safely. */
#ifndef PINHOLE_WORKERS_H
#define PINHOLE_WORKERS_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline.h"

#define WORKERS_MAX 64

typedef struct workers workers_t;

typedef struct {
    uint64_t frames;        /* frames read */
    uint64_t copies;        /* extra copies made (replicated frames) */
    uint64_t waits;         /* times the reader waited for a full queue */
    uint64_t media_routed;  /* frames sent to their call's worker */
    uint64_t per_worker[WORKERS_MAX]; /* frames each worker was handed, copies included */
} workers_stats_t;

/* cfg as for one pipeline (events_path and sink: the one stream). */
workers_t *workers_new(const pipeline_cfg_t *cfg, uint32_t n, char *err, size_t errlen);
/* Stops the threads (without finishing: call workers_finish first). */
void workers_destroy(workers_t **self_p);
uint32_t workers_count(const workers_t *self);

void workers_packet(workers_t *self, const capture_pkt_t *hdr, const uint8_t *data);
/* As pipeline_tick: each worker's clock moves on; every summary interval
 * the merged site summaries and stats go out (true then). */
bool workers_tick(workers_t *self, uint64_t mono_us);
void workers_set_kernel_stats(workers_t *self, uint64_t received, uint64_t dropped,
        uint64_t ifdropped);
bool workers_set_rules(workers_t *self, const rules_t *rules, char *why, size_t n);
void workers_flush(workers_t *self);
bool workers_reopen(workers_t *self, char *err, size_t errlen);
/* End of input: every worker finishes; merged stats and summaries. */
void workers_finish(workers_t *self, uint64_t sources);
/* Merged counters (heartbeats), as pipeline_stats_json. */
char *workers_stats_json(workers_t *self);
uint32_t workers_chain_max(workers_t *self);
void workers_stats(workers_t *self, pipeline_stats_t *out);
/* The merged report (valid until the next call that changes the workers). */
const report_t *workers_report(workers_t *self);
void workers_report_meta(workers_t *self, report_meta_t *meta);
void workers_dispatch_stats(const workers_t *self, workers_stats_t *out);
/* The event stream's lock: held by a worker writing a line; a caller that
 * drives the publisher (its tick) takes it too. */
void workers_events_lock(workers_t *self);
void workers_events_unlock(workers_t *self);

#endif
