/* SPDX-License-Identifier: MIT */
/* decode_internal.h: what decode.c and decode_tunnel.c share.
 *
 * decode.c parses link, IP and transport headers; decode_tunnel.c takes a
 * tunnel header off and hands the inner frame back to decode.c through
 * these entry points. Every call works on a bounded cursor. */
#ifndef PINHOLE_DECODE_INTERNAL_H
#define PINHOLE_DECODE_INTERNAL_H

#include "cursor.h"
#include "decode.h"

/* decode.c */
/* An Ethernet frame: | dst 6 | src 6 | type 2 | ... */
decode_err_t decode_eth_frame(const decode_cfg_t *cfg, cursor_t *c, packet_t *p);
/* What follows an ethertype (VLAN tags, PPPoE, MPLS, IPv4, IPv6). */
decode_err_t decode_ethertype(const decode_cfg_t *cfg, cursor_t *c, packet_t *p, uint16_t type);
/* An IPv4 or IPv6 packet, by its version nibble; depth > 0: quoted in ICMP. */
decode_err_t decode_ip(const decode_cfg_t *cfg, cursor_t *c, packet_t *p, int depth);

/* decode_tunnel.c */
/* A GRE packet of l4_wire bytes on the wire (IP protocol 47). Returns
 * DECODE_OK with *p left as the outer GRE packet when it carries something
 * other than a mirror or an IP tunnel (PPTP's GRE version 1, keepalives). */
decode_err_t decode_gre(const decode_cfg_t *cfg, cursor_t *c, packet_t *p, uint32_t l4_wire);
/* True if UDP to this destination port is a VXLAN or Geneve tunnel. */
bool decode_udp_is_tunnel(const decode_cfg_t *cfg, uint16_t dport);
/* The UDP payload of such a packet (p->payload / p->dport set). */
decode_err_t decode_udp_tunnel(const decode_cfg_t *cfg, packet_t *p);
/* An MPLS label stack (ethertype 0x8847/0x8848) and what it carries. */
decode_err_t decode_mpls(const decode_cfg_t *cfg, cursor_t *c, packet_t *p);

#endif
