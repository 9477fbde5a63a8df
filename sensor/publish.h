/* SPDX-License-Identifier: MIT */
/* publish.h: events to the collector over ZeroMQ, acknowledged (docs/link.md).
 *
 * An actor: one thread owns the DEALER socket; the capture thread hands it
 * sealed batches and never waits on the network. Every event is numbered
 * (per sensor run, the "epoch") and kept until the collector acknowledges
 * it. With a spool, each sealed batch is written to it before it is sent
 * (a kill -9 loses at most the batch still open); memory (`mem_max` bytes)
 * caches it. The spool holds at most `spool_max` bytes; without one,
 * memory is the bound. What a full spool (or memory) must discard is
 * counted, and the collector sees the hole as a gap. */
#ifndef PINHOLE_PUBLISH_H
#define PINHOLE_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *endpoint;    /* "tcp://collector:7701" (the sensor connects) */
    const char *sensor;      /* name; must match its key on the collector's allow-list */
    bool plain;              /* no CURVE: only when asked for */
    char server_key[41];     /* CURVE: the collector's public key (Z85) */
    char public_key[41];     /* CURVE: this sensor's key pair (Z85) */
    char secret_key[41];
    const char *spool_dir;   /* NULL: memory only */
    uint64_t spool_max;      /* bytes on disk */
    uint64_t mem_max;        /* bytes of unacknowledged events in memory */
    uint32_t batch_events;   /* events per message */
    uint32_t batch_ms;       /* a partial batch leaves after this long */
    uint32_t window;         /* messages in flight, at most */
    uint32_t resend_ms;      /* the first retransmission timeout, before any round
                                trip is measured (RFC 6298: then SRTT + 4 RTTVAR,
                                1 s to 60 s, doubled on each timeout) */
    uint32_t heartbeat_ms;   /* application heartbeat with the capture statistics */
    bool block_when_full;    /* offline reads: with memory full and the collector
                                connected, the capture thread waits rather than
                                discarding (a live capture cannot wait) */
} publish_cfg_t;

typedef struct {
    uint64_t events;         /* handed to the publisher */
    uint64_t acked;          /* acknowledged by the collector */
    uint64_t messages, heartbeats;
    uint64_t resent;         /* messages sent again (a go-back, or a probe) */
    uint64_t probes;         /* one-event probes: after a timeout or a reconnect */
    uint32_t srtt_ms, rto_ms;   /* smoothed round trip, retransmission timeout */
    uint64_t spooled;        /* events written to the spool */
    uint64_t discarded;      /* events dropped: the spool (or memory) was full */
    uint64_t discarded_spool;   /* of which, the spool was full */
    uint64_t unwritten;      /* events lost: the spool could not be written or read */
    uint64_t torn_bytes;     /* spool tails cut at start (a partial batch: the run
                                that wrote it ended mid-write) */
    uint32_t torn_files;
    char torn_path[256];     /* the last file cut */
    uint32_t killed_runs;    /* earlier runs that ended without closing (their
                                marker was in the spool): what they had not
                                sealed is lost */
    char killed_epoch[32];   /* the newest of them */
    uint64_t pending;        /* events not yet acknowledged */
    uint64_t spool_bytes;
    uint64_t auth_failures;  /* handshakes the collector refused */
    bool connected;
    /* Set by publish_close: */
    uint64_t spool_left;     /* events left in the spool for the next run */
    char cause[192];         /* why events are left unacknowledged ("connection
                                refused", "CURVE handshake refused ..."); empty
                                when every event was acknowledged */
} publish_stats_t;

typedef struct publish publish_t;

void publish_cfg_defaults(publish_cfg_t *cfg);

/* Starts the actor, and loads what earlier runs left in the spool (which
 * it locks for the run): a file with a torn tail is cut back to its last
 * whole batch; a run that ended without closing is noted. Returns NULL
 * with why in err. */
publish_t *publish_new(const publish_cfg_t *cfg, char *err, size_t errlen);

/* One event (a JSON object, no newline); the bytes are copied. Capture
 * thread only. */
void publish_event(publish_t *self, const char *line, size_t len);

/* Seals a batch older than batch_ms, and gives the actor the capture
 * statistics (a JSON object, copied; NULL: keep the last) for its next
 * heartbeat. Capture thread only; call it now and then (each second). */
void publish_tick(publish_t *self, const char *stats);

/* Ends the run: sends what is left, waits up to timeout_ms for the
 * acknowledgements, says "bye" with the final statistics, leaves what is
 * still unacknowledged in the spool (within its bound; without a spool, it
 * is lost) and removes the run's marker. If some is left, out->cause says
 * why, from what the link went through: the connection refused (or another
 * connect error), the handshake refused (CURVE: the sensor's key not
 * allowed, or the wrong collector key), or no answer within the timeout;
 * out->spool_left counts what the spool keeps. */
void publish_close(publish_t **self_p, uint32_t timeout_ms, const char *stats,
        publish_stats_t *out);

void publish_stats(publish_t *self, publish_stats_t *out);

/* Whether a run's statistics (publish_close's) say that events were lost,
 * and why, as clauses for its summary: discarded (spool full, memory full),
 * not written to the spool, a torn spool tail cut, an earlier run killed.
 * What is left unacknowledged at close is not in it: out->cause and
 * spool_left say that. */
bool publish_lost(const publish_stats_t *st, char *why, size_t n);

#endif
