/* SPDX-License-Identifier: MIT */
/* packet.h: one decoded packet, and the decode anomaly codes.
 *
 * The decoder fills a packet_t from captured bytes; every pointer in it is
 * borrowed from the capture buffer and valid until the next capture read. */
#ifndef PINHOLE_PACKET_H
#define PINHOLE_PACKET_H

#include <stdbool.h>
#include <stdint.h>

#include "strutil.h"

/* Link types, by their LINKTYPE_ / DLT_ numbers. */
enum {
    LINK_NULL = 0,
    LINK_ETHERNET = 1,
    LINK_RAW_DLT = 12,
    LINK_RAW_DLT_OBSD = 14,
    LINK_RAW = 101,
    LINK_LOOP = 108,
    LINK_SLL = 113,
    LINK_IPV4 = 228,
    LINK_IPV6 = 229,
    LINK_SLL2 = 276,
};

typedef enum {
    DECODE_OK = 0,
    DECODE_ERR_LINKTYPE,      /* link type not supported */
    DECODE_ERR_L2_TRUNC,      /* link header cut short */
    DECODE_ERR_VLAN_DEPTH,    /* more stacked tags than we follow */
    DECODE_ERR_NOT_IP,        /* ARP, LLDP...: not an error, not decoded */
    DECODE_ERR_IPV4_HDR,      /* bad version, header length or total length */
    DECODE_ERR_IPV6_HDR,      /* bad IPv6 header or extension chain */
    DECODE_ERR_L3_TRUNC,      /* IP header cut by the snap length */
    DECODE_ERR_L4_TRUNC,      /* TCP/UDP/ICMP header cut by the snap length */
    DECODE_ERR_L4_HDR,        /* bad TCP offset or UDP length */
    DECODE_ERR_FRAGMENT,      /* an IP fragment: held for reassembly (defrag.c) */
    DECODE_ERR_TUNNEL_TRUNC,  /* GRE, ERSPAN, VXLAN, Geneve or MPLS header cut short */
    DECODE_ERR_TUNNEL_HDR,    /* malformed tunnel header (version, flags, lengths) */
    DECODE_ERR_TUNNEL_DEPTH,  /* more nested tunnels than we take off */
    DECODE_ERR_COUNT
} decode_err_t;

const char *decode_err_str(decode_err_t e);

/* Tunnels taken off a packet (packet_t.tunnels), one bit per kind; the
 * order is that of stats.tunnels (decode_tunnel_str). */
enum {
    TUNNEL_GRE = 1 << 0,     /* GRE (RFC 2784/2890), incl. Ethernet bridging 0x6558 */
    TUNNEL_ERSPAN1 = 1 << 1, /* GRE 0x88BE, no sequence number, no ERSPAN header */
    TUNNEL_ERSPAN2 = 1 << 2, /* GRE 0x88BE + ERSPAN version 1 header */
    TUNNEL_ERSPAN3 = 1 << 3, /* GRE 0x22EB + ERSPAN version 2 header */
    TUNNEL_VXLAN = 1 << 4,   /* RFC 7348 */
    TUNNEL_GENEVE = 1 << 5,  /* RFC 8926 */
    TUNNEL_MPLS = 1 << 6,    /* RFC 3032 label stack */
};
#define TUNNEL_KINDS 7

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

typedef struct {
    uint64_t ts_us;       /* packet clock, microseconds since the epoch */
    uint64_t num;         /* packet number in its file, from 1 */
    uint32_t caplen, wirelen;
    const uint8_t *l3;    /* IP header, for nDPI */
    uint32_t l3_len;      /* captured bytes from l3 (trimmed to the IP length) */
    ip_addr_t src, dst;
    uint8_t ipver, proto, ttl;
    uint16_t sport, dport;
    uint16_t ip_id;
    uint16_t l4_csum;
    uint16_t vlan;        /* outermost VLAN id (of the innermost frame), 0 if none */
    uint8_t tunnels;      /* TUNNEL_* bits of the encapsulations taken off */
    uint8_t tun_depth;    /* how many were taken off (at most DECODE_MAX_TUNNELS) */
    uint8_t tcp_flags;
    uint32_t seq, ack;
    const uint8_t *payload; /* captured payload bytes */
    uint32_t payload_caplen;
    uint32_t payload_len;   /* payload length on the wire (from IP lengths) */
    bool first_frag;        /* a first fragment: more data follows */
    /* IP fragments (DECODE_ERR_FRAGMENT): what reassembly needs */
    uint32_t frag_id;
    uint16_t frag_off;      /* bytes */
    bool frag_more;
    const uint8_t *frag_data; /* the fragment's payload, captured */
    uint32_t frag_len;        /* its length on the wire */
    const uint8_t *frag_hdr;  /* IPv4 header (with options) */
    uint32_t frag_hdr_len;
    /* ICMP errors: the header of the packet that caused them */
    bool icmp_err;
    uint8_t icmp_type, icmp_code;
    ip_addr_t in_src, in_dst;
    uint8_t in_proto;
    uint16_t in_sport, in_dport;
} packet_t;

#endif
