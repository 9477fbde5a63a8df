/* SPDX-License-Identifier: MIT */
/* decode.h: link, IP and transport decoding of one captured frame.
 *
 * Link types: Ethernet (802.1Q / 802.1ad / QinQ tags, PPPoE session), Linux
 * cooked SLL and SLL2, raw IPv4/IPv6, BSD loopback. Network: IPv4 and IPv6
 * (extension headers). Transport: TCP, UDP, ICMP and ICMPv6 (error messages
 * carry the header of the packet that caused them). Tunnels (decode_tunnel.c):
 * GRE (IP, transparent Ethernet bridging), ERSPAN types I, II and III, VXLAN,
 * Geneve and MPLS label stacks are taken off, at most DECODE_MAX_TUNNELS deep,
 * and the packet returned is the innermost one, as if mirrored locally. */
#ifndef PINHOLE_DECODE_H
#define PINHOLE_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "packet.h"

#define DECODE_MAX_TUNNELS 4
#define DECODE_MAX_VXLAN_PORTS 8

/* What the decoder takes for a tunnel: the UDP destination ports. */
typedef struct {
    uint16_t vxlan_ports[DECODE_MAX_VXLAN_PORTS];
    uint8_t nvxlan;       /* 0: no VXLAN decapsulation */
    uint16_t geneve_port; /* 0: none */
} decode_cfg_t;

/* VXLAN on 4789, Geneve on 6081. */
void decode_cfg_defaults(decode_cfg_t *cfg);
/* Adds a VXLAN port (once). Returns false if the list is full. */
bool decode_cfg_add_vxlan_port(decode_cfg_t *cfg, uint16_t port);

/* The name of a TUNNEL_* bit's counter in stats.tunnels ("gre", "erspan1"...),
 * by bit index 0 .. TUNNEL_KINDS-1. */
const char *decode_tunnel_str(int index);

/* Decodes `caplen` captured bytes of a frame `wirelen` long on the wire into
 * *p (ts_us and num are left as the caller set them). Returns DECODE_OK or
 * the anomaly that stopped decoding; *p is then only partly filled. */
decode_err_t decode_packet(int linktype, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
        packet_t *p);
/* The same with the tunnel ports of `cfg` (NULL: the defaults). When a
 * tunnel is taken off, *p describes the inner packet only: addresses,
 * ports, l3, caplen and wirelen are the inner frame's; `tunnels` and
 * `tun_depth` say what was taken off. */
decode_err_t decode_packet_cfg(const decode_cfg_t *cfg, int linktype, const uint8_t *data,
        uint32_t caplen, uint32_t wirelen, packet_t *p);

/* True if the link type is one decode_packet understands. */
int decode_linktype_supported(int linktype);

#endif
