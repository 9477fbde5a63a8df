/* SPDX-License-Identifier: MIT */
/* pcapng.h: a reader for pcapng files whose interfaces may have different
 * link types (libpcap 1.10 refuses those: every packet after the first
 * interface of another type is lost). Each packet carries its own link type. */
#ifndef PINHOLE_PCAPNG_H
#define PINHOLE_PCAPNG_H

#include <stdint.h>
#include <stdio.h>

typedef struct pcapng pcapng_t;

typedef struct {
    uint64_t ts_us;
    uint32_t caplen, wirelen;
    int linktype;
} pcapng_pkt_t;

/* Reads from f (not closed by pcapng_destroy). Returns NULL with a message
 * in err if f does not start with a valid section header block. */
pcapng_t *pcapng_new(FILE *f, char *err, size_t errlen);
void pcapng_destroy(pcapng_t **self_p);

/* Next packet: 1 and *data (valid until the next call), 0 at the clean end
 * of the file, or a negative PINHOLE_E* code with pcapng_error() set. */
int pcapng_next(pcapng_t *self, pcapng_pkt_t *hdr, const uint8_t **data);
const char *pcapng_error(const pcapng_t *self);
/* Number of interfaces seen, and blocks skipped (types we do not use). */
uint32_t pcapng_interfaces(const pcapng_t *self);

#endif
