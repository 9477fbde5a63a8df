/* SPDX-License-Identifier: MIT */
/* capture.c: packet sources on libpcap, plus our own pcapng reader. */
#include "capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "pcapng.h"

#define CAPTURE_MAX_FILTERS 8
#define CAPTURE_WAIT_MS 200 /* live: longest wait for a packet */

typedef struct {
    int linktype;
    struct bpf_program prog;
} filter_t;

struct capture {
    pcap_t *pcap;      /* classic pcap file or live interface */
    pcapng_t *ng;      /* pcapng file */
    FILE *f;
    bool live;
    int fd;            /* live: to wait on with a timeout */
    int linktype;      /* of pcap */
    char *filter;
    filter_t filters[CAPTURE_MAX_FILTERS]; /* per link type, for files */
    int nfilters;
    uint64_t num, filtered;
    struct pcap_stat last; /* live: the kernel's counters last read */
    capture_kstats_t ks;
    char err[PCAP_ERRBUF_SIZE + 256];
};

static capture_t *s_new(const char *filter)
{
    capture_t *self = calloc(1, sizeof *self);
    if (self && filter && !(self->filter = strdup(filter))) {
        free(self);
        self = NULL;
    }
    return self;
}

void capture_destroy(capture_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    capture_t *self = *self_p;
    for (int i = 0; i < self->nfilters; i++)
        pcap_freecode(&self->filters[i].prog);
    if (self->pcap)
        pcap_close(self->pcap);
    pcapng_destroy(&self->ng);
    if (self->f)
        fclose(self->f);
    free(self->filter);
    free(self);
    *self_p = NULL;
}

/* pcapng uses LINKTYPE_ numbers; pcap_compile wants DLT_ ones. */
static int s_dlt(int linktype)
{
    return linktype == 101 ? DLT_RAW : linktype;
}

static struct bpf_program *s_filter_for(capture_t *self, int linktype, char *err, size_t errlen)
{
    for (int i = 0; i < self->nfilters; i++)
        if (self->filters[i].linktype == linktype)
            return &self->filters[i].prog;
    if (self->nfilters == CAPTURE_MAX_FILTERS) {
        snprintf(err, errlen, "too many link types for one filter");
        return NULL;
    }
    pcap_t *dead = pcap_open_dead(s_dlt(linktype), CAPTURE_SNAPLEN);
    filter_t *f = &self->filters[self->nfilters];
    if (!dead)
        return NULL;
    if (pcap_compile(dead, &f->prog, self->filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, errlen, "filter '%s': %s", self->filter, pcap_geterr(dead));
        pcap_close(dead);
        return NULL;
    }
    pcap_close(dead);
    f->linktype = linktype;
    self->nfilters++;
    return &f->prog;
}

capture_t *capture_open_file(const char *path, const char *filter, char *err, size_t errlen)
{
    if (strcmp(path, "-") == 0) {
        if (isatty(STDIN_FILENO)) {
            snprintf(err, errlen, "standard input is a terminal, not a capture (pipe one in: "
                                  "tcpdump -w - ... | pinhole-sensor ... -r -)");
            return NULL;
        }
        return capture_open_stream(stdin, "standard input", filter, err, errlen);
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        /* Most likely "-r rules" from before -r meant --read. */
        snprintf(err, errlen, "%s: a directory, not a capture (-r is --read; profiles are "
                              "given with --rules)", path);
        fclose(f);
        return NULL;
    }
    return capture_open_stream(f, path, filter, err, errlen);
}

capture_t *capture_open_stream(FILE *f, const char *name, const char *filter, char *err,
        size_t errlen)
{
    capture_t *self = s_new(filter);
    if (!self) {
        snprintf(err, errlen, "%s: out of memory", name);
        fclose(f);
        return NULL;
    }
    self->f = f;
    /* One byte tells the formats apart (a pcapng section header starts
     * 0x0A, no pcap magic does), and one byte can always be pushed back:
     * the stream is never sought, so a pipe works as well as a file. */
    int first = getc(self->f);
    if (first == EOF || ungetc(first, self->f) == EOF) {
        snprintf(err, errlen, "%s: not a pcap or pcapng file (%s)", name,
                ferror(self->f) ? strerror(errno) : "empty");
        capture_destroy(&self);
        return NULL;
    }
    char why[256];
    if (first == 0x0a) {
        self->ng = pcapng_new(self->f, why, sizeof why);
        if (!self->ng) {
            snprintf(err, errlen, "%s: %s", name, why);
            capture_destroy(&self);
            return NULL;
        }
    } else {
        char ebuf[PCAP_ERRBUF_SIZE] = "";
        self->pcap = pcap_fopen_offline_with_tstamp_precision(self->f,
                PCAP_TSTAMP_PRECISION_MICRO, ebuf);
        if (!self->pcap) {
            snprintf(err, errlen, "%s: not a pcap or pcapng file (%s)", name, ebuf);
            capture_destroy(&self);
            return NULL;
        }
        self->f = NULL; /* pcap_close closes it */
        self->linktype = pcap_datalink(self->pcap);
    }
    if (self->filter && self->pcap && !s_filter_for(self, self->linktype, why, sizeof why)) {
        snprintf(err, errlen, "%s", why);
        capture_destroy(&self);
    }
    return self;
}

capture_t *capture_open_live(const char *ifname, const char *filter, char *err, size_t errlen)
{
    capture_t *self = s_new(NULL);
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    if (!self || !(self->pcap = pcap_create(ifname, ebuf))) {
        snprintf(err, errlen, "%s: %s", ifname, self ? ebuf : "out of memory");
        capture_destroy(&self);
        return NULL;
    }
    self->live = true;
    pcap_set_snaplen(self->pcap, CAPTURE_SNAPLEN);
    pcap_set_promisc(self->pcap, 1);
    pcap_set_timeout(self->pcap, 100);
    pcap_set_immediate_mode(self->pcap, 1);
    pcap_set_buffer_size(self->pcap, 64 << 20);
    int rc = pcap_activate(self->pcap);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", ifname, pcap_geterr(self->pcap));
        capture_destroy(&self);
        return NULL;
    }
    self->linktype = pcap_datalink(self->pcap);
    /* Immediate mode never returns on a quiet port: read without blocking
     * and wait in poll() with our own timeout, so the caller's clock moves. */
    char nb[PCAP_ERRBUF_SIZE] = "";
    if (pcap_setnonblock(self->pcap, 1, nb) != 0 ||
            (self->fd = pcap_get_selectable_fd(self->pcap)) < 0) {
        snprintf(err, errlen, "%s: cannot poll the capture: %s", ifname, nb);
        capture_destroy(&self);
        return NULL;
    }
    if (filter) {
        struct bpf_program prog;
        if (pcap_compile(self->pcap, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0 ||
                pcap_setfilter(self->pcap, &prog) != 0) {
            snprintf(err, errlen, "filter '%s': %s", filter, pcap_geterr(self->pcap));
            capture_destroy(&self);
            return NULL;
        }
        pcap_freecode(&prog);
    }
    return self;
}

void capture_break(capture_t *self)
{
    if (self->pcap)
        pcap_breakloop(self->pcap);
}

const char *capture_error(const capture_t *self)
{
    return self->err;
}

uint64_t capture_filtered(const capture_t *self)
{
    return self->filtered;
}

bool capture_kernel_stats(capture_t *self, capture_kstats_t *out)
{
    struct pcap_stat st;
    if (!self->live || pcap_stats(self->pcap, &st) != 0)
        return false;
    /* pcap_stat's counters are 32 bits and wrap: carry them into 64. */
    self->ks.received += (uint32_t)(st.ps_recv - self->last.ps_recv);
    self->ks.dropped += (uint32_t)(st.ps_drop - self->last.ps_drop);
    self->ks.ifdropped += (uint32_t)(st.ps_ifdrop - self->last.ps_ifdrop);
    self->last = st;
    *out = self->ks;
    return true;
}

/* Live: nothing buffered; waits up to CAPTURE_WAIT_MS for the socket. */
static int s_wait(capture_t *self)
{
    struct pollfd pfd = {.fd = self->fd, .events = POLLIN};
    int n = poll(&pfd, 1, CAPTURE_WAIT_MS);
    return n > 0 ? 1 : 0; /* EINTR (a signal) counts as a timeout */
}

static int s_next_raw(capture_t *self, capture_pkt_t *hdr, const uint8_t **data)
{
    if (self->ng) {
        pcapng_pkt_t h;
        int rc = pcapng_next(self->ng, &h, data);
        if (rc < 0)
            snprintf(self->err, sizeof self->err, "after packet %llu: %s",
                    (unsigned long long)self->num, pcapng_error(self->ng));
        if (rc != 1)
            return rc;
        hdr->ts_us = h.ts_us;
        /* pcapng blocks go to 16 MiB; a source hands out at most
         * CAPTURE_SNAPLEN (as libpcap's reader does): the rest is cut, as
         * a snap length would (the workers' queues and the clock hold
         * count on it). */
        hdr->caplen = h.caplen > CAPTURE_SNAPLEN ? CAPTURE_SNAPLEN : h.caplen;
        hdr->wirelen = h.wirelen < h.caplen ? h.caplen : h.wirelen;
        hdr->linktype = h.linktype;
        return CAPTURE_PACKET;
    }
    struct pcap_pkthdr *ph;
    int rc = pcap_next_ex(self->pcap, &ph, data);
    if (rc == 0 && self->live && s_wait(self))
        rc = pcap_next_ex(self->pcap, &ph, data);
    if (rc == 1) {
        /* A pcap file's seconds are unsigned 32 bits (to 2106), which
         * libpcap hands over sign-extended: 3867576602 (2092) would read
         * as 1956, and as a time past the year 500000 once unsigned. */
        uint64_t sec = ph->ts.tv_sec < 0 ? (uint64_t)(uint32_t)ph->ts.tv_sec : (uint64_t)ph->ts.tv_sec;
        hdr->ts_us = sec * 1000000u + (uint64_t)ph->ts.tv_usec;
        hdr->caplen = ph->caplen;
        hdr->wirelen = ph->len < ph->caplen ? ph->caplen : ph->len;
        hdr->linktype = self->linktype;
        return CAPTURE_PACKET;
    }
    if (rc == 0)
        return CAPTURE_TIMEOUT;
    if (rc == PCAP_ERROR_BREAK)
        return CAPTURE_END;
    snprintf(self->err, sizeof self->err, "after packet %llu: %s",
            (unsigned long long)self->num, pcap_geterr(self->pcap));
    return PINHOLE_EFORMAT;
}

int capture_next(capture_t *self, capture_pkt_t *hdr, const uint8_t **data)
{
    for (;;) {
        int rc = s_next_raw(self, hdr, data);
        if (rc != CAPTURE_PACKET)
            return rc;
        hdr->num = ++self->num;
        hdr->copy = false;
        hdr->frag_owner = 0;
        hdr->frag_all = false;
        if (!self->filter || self->live)
            return rc;
        struct bpf_program *prog = s_filter_for(self, hdr->linktype, self->err, sizeof self->err);
        if (!prog)
            return PINHOLE_EINVAL;
        struct pcap_pkthdr ph = {.caplen = hdr->caplen, .len = hdr->wirelen};
        if (pcap_offline_filter(prog, &ph, *data))
            return rc;
        self->filtered++;
    }
}
