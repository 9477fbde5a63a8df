/* SPDX-License-Identifier: MIT */
/* decode.h: link, IP and transport decoding of one captured frame.
 *
 * Link types: Ethernet (802.1Q / 802.1ad / QinQ tags, PPPoE session), Linux
 * cooked SLL and SLL2, raw IPv4/IPv6, BSD loopback. Network: IPv4 and IPv6
 * (extension headers). Transport: TCP, UDP, ICMP and ICMPv6 (error messages
 * carry the header of the packet that caused them). */
#ifndef PINHOLE_DECODE_H
#define PINHOLE_DECODE_H

#include <stdint.h>

#include "packet.h"

/* Decodes `caplen` captured bytes of a frame `wirelen` long on the wire into
 * *p (ts_us and num are left as the caller set them). Returns DECODE_OK or
 * the anomaly that stopped decoding; *p is then only partly filled. */
decode_err_t decode_packet(int linktype, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
        packet_t *p);

/* True if the link type is one decode_packet understands. */
int decode_linktype_supported(int linktype);

#endif
