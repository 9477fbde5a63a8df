/* SPDX-License-Identifier: MIT */
/* capture.h: packet sources: pcap and pcapng files, and live interfaces.
 *
 * The only module that includes pcap. A source hands out one frame at a time
 * with its own link type (a pcapng file may mix them). */
#ifndef PINHOLE_CAPTURE_H
#define PINHOLE_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct capture capture_t;

#define CAPTURE_SNAPLEN 262144 /* the longest frame a source hands out */

typedef struct {
    uint64_t ts_us;
    uint64_t num; /* packet number in the source, from 1 */
    uint32_t caplen, wirelen;
    int linktype;
    bool copy; /* workers: a copy for this worker's state; another counts it */
    /* workers, on an IP fragment: where the reader placed the datagram it
     * makes whole (the owning worker + 1; 0: none made whole), and whether
     * every worker takes that datagram (SIP, DNS answers). */
    uint8_t frag_owner;
    bool frag_all;
} capture_pkt_t;

enum {
    CAPTURE_PACKET = 1,
    CAPTURE_END = 0,
    CAPTURE_TIMEOUT = 2, /* live: no packet within 200 ms, or a signal came */
};

/* Opens a pcap or pcapng file ("-": standard input, not a terminal; it is
 * closed by capture_destroy); `filter` (BPF, may be NULL) is applied to
 * every frame. Files are read straight through, never sought: a pipe works.
 * NULL with a message in err on failure. */
capture_t *capture_open_file(const char *path, const char *filter, char *err, size_t errlen);
/* The same over an open stream (taken over: closed by capture_destroy, also
 * on failure); `name` is used in messages. For fuzzing through fmemopen. */
capture_t *capture_open_stream(FILE *f, const char *name, const char *filter, char *err,
        size_t errlen);
/* Opens a live interface in promiscuous mode. */
capture_t *capture_open_live(const char *ifname, const char *filter, char *err, size_t errlen);
void capture_destroy(capture_t **self_p);

/* CAPTURE_PACKET with *data valid until the next call, CAPTURE_END,
 * CAPTURE_TIMEOUT, or a negative PINHOLE_E* code (capture_error() says why;
 * packets read before it stay good). */
int capture_next(capture_t *self, capture_pkt_t *hdr, const uint8_t **data);
const char *capture_error(const capture_t *self);
/* Makes a blocked capture_next() return CAPTURE_END; safe to call from a
 * signal handler (pcap_breakloop wakes the poll). */
void capture_break(capture_t *self);
/* The kernel's counters of a live capture since it opened (pcap_stats,
 * carried into 64 bits): packets received, dropped because the capture
 * buffer was full (ps_drop), dropped by the interface (ps_ifdrop). */
typedef struct {
    uint64_t received, dropped, ifdropped;
} capture_kstats_t;

/* Frames the filter dropped (files). */
uint64_t capture_filtered(const capture_t *self);
/* Live only (false otherwise): the kernel's counters so far. */
bool capture_kernel_stats(capture_t *self, capture_kstats_t *out);

#endif
