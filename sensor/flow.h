/* SPDX-License-Identifier: MIT */
/* flow.h: the bidirectional flow record.
 *
 * Both directions of a connection are one flow. The key is canonical (the
 * lower address/port pair first), so a packet finds its flow whichever way it
 * travels; `orig` says which side opened the flow. After classification a
 * flow holds no pointer to other memory: its size is the whole cost. */
#ifndef PINHOLE_FLOW_H
#define PINHOLE_FLOW_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "packet.h"
#include "strutil.h"

#define FLOW_NONE UINT32_MAX
#define FLOW_HOST_LEN 64
#define FLOW_HISTORY_LEN 12

typedef struct {
    ip_addr_t a, b;
    uint16_t pa, pb;
    uint8_t proto;
    uint8_t pad[3]; /* always zero: keys are hashed and compared as bytes */
} flow_key_t;

typedef struct {
    uint64_t bytes;      /* IP bytes on the wire */
    uint64_t dup_ts;     /* time of the last packet, for duplicate checks */
    uint64_t dup_fp;     /* fingerprint of the last packet (conn_fingerprint) */
    uint32_t pkts;
    uint32_t payload;    /* payload bytes (TCP/UDP) */
    uint32_t isn;        /* TCP: sequence number of the last SYN */
    uint8_t flags;       /* TCP flags seen, OR-ed */
} flow_dir_t;

enum {
    FLOW_F_SYN_SEEN = 0x01,    /* the opening SYN was captured */
    FLOW_F_MIDSTREAM = 0x02,   /* TCP picked up without its SYN */
    FLOW_F_ONE_SIDED = 0x04,   /* the originator acks what we never saw */
    FLOW_F_ICMP = 0x08,        /* an ICMP error about this flow was seen */
    FLOW_F_CLASSIFIED = 0x10,  /* nDPI is done with it */
    FLOW_F_HTTP = 0x20,        /* plaintext HTTP was seen */
    FLOW_F_TLS_SERVER = 0x40,  /* the responder sent a TLS handshake record */
    FLOW_F_MEDIA = 0x80,       /* RTP of a call, known from its SDP */
    FLOW_F_INVITE_IN = 0x100,  /* carried an INVITE towards a site */
    FLOW_F_MISSED = 0x200,     /* a missed call was already reported for it */
    FLOW_F_NOT_SIP = 0x400,    /* its first payload was not SIP: never parsed again */
    FLOW_F_SNI = 0x800,        /* TLS, DTLS or QUIC: `host` is the ClientHello's SNI */
    FLOW_F_HOST_DNS = 0x1000,  /* `host` is the name a DNS answer gave the responder */
    FLOW_F_OWNED = 0x2000,     /* workers: a frame no other worker counts reached it */
};

typedef struct flow {
    flow_key_t key;
    uint32_t hnext;          /* hash chain (flow index) */
    uint32_t prev, next;     /* LRU list, oldest first */
    uint32_t ndpi;           /* classify slot while nDPI looks at it */
    uint32_t media;          /* media stream slot (RTP known from SDP) */
    uint32_t sipstream;      /* SIP-over-TCP buffer slot */
    uint64_t id;             /* flow number, unique in a run */
    uint64_t first_us, last_us;
    flow_dir_t d[2];         /* [0]: key side a sends, [1]: side b sends */
    uint8_t orig;            /* side that opened the flow */
    uint16_t flags;          /* FLOW_F_* */
    uint8_t icmp_type, icmp_code;
    uint16_t attempts;       /* TCP: distinct SYNs (ISNs) from the originator */
    uint16_t app, master;    /* nDPI protocol ids */
    int16_t site[2];         /* site of each side, -1 outside every site */
    uint32_t dups;           /* duplicate copies dropped */
    char history[FLOW_HISTORY_LEN];
    /* The responder's name: TLS SNI (FLOW_F_SNI), HTTP Host (FLOW_F_HTTP),
     * or, until either is seen, a DNS answer's name (FLOW_F_HOST_DNS). */
    char host[FLOW_HOST_LEN];
} flow_t;

/* Side (0: key.a, 1: key.b) that sent the packet. */
static inline int flow_side(const flow_t *f, const packet_t *p)
{
    return !(p->sport == f->key.pa && memcmp(p->src.b, f->key.a.b, 16) == 0);
}

/* The canonical key of a packet's flow. */
void flow_key_make(flow_key_t *k, const ip_addr_t *src, uint16_t sport, const ip_addr_t *dst,
        uint16_t dport, uint8_t proto);
/* Which of n workers a flow belongs to (sensor/workers.h): the same for both
 * directions, for every run and thread (a fixed hash, not the table's keyed
 * one), and leaving the protocol out, so a SIP transaction is placed by its
 * addresses and ports alone. */
uint32_t flow_key_worker(const flow_key_t *k, uint32_t n);

#endif
