/* SPDX-License-Identifier: MIT */
/* decode_tunnel.c: taking a remote mirror's tunnel off (RFC 2784 and 2890
 * GRE, ERSPAN types I/II/III per draft-foschiano-erspan-03, RFC 7348 VXLAN,
 * RFC 8926 Geneve, RFC 3032 MPLS with the RFC 4385 pseudowire control word).
 *
 * GRE (IP protocol 47):
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |C|R|K|S|s|Recur|  Flags  | Ver |         Protocol Type         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |      Checksum (if C)          |       Reserved1 (if C)        |
 *   |                         Key (if K)                            |
 *   |                 Sequence Number (if S)                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   Protocol: 0x0800/0x86DD IP, 0x6558 Ethernet (transparent bridging),
 *   0x8847/0x8848 MPLS, 0x88BE ERSPAN I (no S) or II (S), 0x22EB ERSPAN III.
 *
 * ERSPAN type II header (8 bytes, then the mirrored Ethernet frame):
 *   |  Ver=1|          VLAN         | COS | En|T|    Session ID     |
 *   |      Reserved         |                  Index                |
 * ERSPAN type III header (12 bytes, + 8 if O; then Ethernet, or IP if FT=2):
 *   |  Ver=2|          VLAN         | COS |BSO|T|     Session ID    |
 *   |                          Timestamp                            |
 *   |             SGT               |P|    FT   |   Hw ID   |D|Gra|O|
 *   |            Platform Specific SubHeader (8 octets, if O)       |
 *
 * VXLAN (UDP 4789 or --vxlan-port), then Ethernet:
 *   |R|R|R|R|I|R|R|R|            Reserved                           |
 *   |                VXLAN Network Identifier (VNI) |   Reserved    |
 * Geneve (UDP 6081), then Ethernet (0x6558) or IP:
 *   |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
 *   |        Virtual Network Identifier (VNI)       |    Reserved   |
 *   |                 Options (Opt Len x 4 bytes)                   |
 * MPLS label stack entry, repeated until S (bottom of stack):
 *   |                Label                  | TC  |S|       TTL     |
 *   then IPv4 or IPv6 by the first nibble, or 0000: a pseudowire control
 *   word (4 bytes) and an Ethernet frame. Nothing else is guessed.
 *
 * Each layer taken off resets the packet to the inner frame (the outer
 * addresses never reach the flow key) and counts one level of depth; past
 * DECODE_MAX_TUNNELS the packet is an anomaly (tunnel_depth). Recursion is
 * therefore bounded: each level consumes a tunnel header. */
#include "decode_internal.h"

#include <string.h>

#define MAX_MPLS_LABELS 8

static const char *const s_tunnel_names[TUNNEL_KINDS] = {
        "gre", "erspan1", "erspan2", "erspan3", "vxlan", "geneve", "mpls"};

const char *decode_tunnel_str(int index)
{
    return index >= 0 && index < TUNNEL_KINDS ? s_tunnel_names[index] : "unknown";
}

/* One layer off: *p starts again as the inner frame at c (wire bytes long). */
static decode_err_t s_enter(packet_t *p, int kind, const cursor_t *c, uint32_t wire)
{
    if (p->tun_depth >= DECODE_MAX_TUNNELS)
        return DECODE_ERR_TUNNEL_DEPTH;
    uint64_t ts = p->ts_us, num = p->num;
    uint8_t tunnels = (uint8_t)(p->tunnels | kind), depth = (uint8_t)(p->tun_depth + 1);
    memset(p, 0, sizeof *p);
    p->ts_us = ts;
    p->num = num;
    p->tunnels = tunnels;
    p->tun_depth = depth;
    p->caplen = (uint32_t)c->left;
    p->wirelen = wire > c->left ? wire : (uint32_t)c->left;
    return DECODE_OK;
}

/* The bytes left on the wire once `hdr` bytes of `wire` are taken. */
static uint32_t s_rest(uint32_t wire, uint32_t hdr)
{
    return wire > hdr ? wire - hdr : 0;
}

/* ERSPAN II/III after the GRE header: `wire` bytes on the wire from here. */
static decode_err_t s_erspan(const decode_cfg_t *cfg, cursor_t *c, packet_t *p, int kind,
        uint32_t wire)
{
    uint16_t ver_vlan, sess, sgt, ft_hw;
    uint32_t word;
    uint32_t hdr = kind == TUNNEL_ERSPAN2 ? 8 : 12;
    bool ip = false;
    if (!cur_be16(c, &ver_vlan) || !cur_be16(c, &sess) || !cur_be32(c, &word))
        return DECODE_ERR_TUNNEL_TRUNC;
    if ((ver_vlan >> 12) != (kind == TUNNEL_ERSPAN2 ? 1 : 2))
        return DECODE_ERR_TUNNEL_HDR;
    if (kind == TUNNEL_ERSPAN3) {
        if (!cur_be16(c, &sgt) || !cur_be16(c, &ft_hw))
            return DECODE_ERR_TUNNEL_TRUNC;
        unsigned ft = (ft_hw >> 10) & 0x1f;
        if (ft != 0 && ft != 2)
            return DECODE_ERR_TUNNEL_HDR;
        ip = ft == 2;
        if (ft_hw & 1) { /* O: a platform-specific subheader */
            if (!cur_skip(c, 8))
                return DECODE_ERR_TUNNEL_TRUNC;
            hdr += 8;
        }
    }
    if (hdr > wire)
        return DECODE_ERR_TUNNEL_HDR;
    decode_err_t e = s_enter(p, kind, c, s_rest(wire, hdr));
    if (e != DECODE_OK)
        return e;
    return ip ? decode_ip(cfg, c, p, 0) : decode_eth_frame(cfg, c, p);
}

decode_err_t decode_gre(const decode_cfg_t *cfg, cursor_t *c, packet_t *p, uint32_t l4_wire)
{
    cursor_t g = *c; /* the outer packet keeps its view if the GRE is not ours */
    uint16_t flags, proto;
    if (!cur_be16(&g, &flags) || !cur_be16(&g, &proto))
        return DECODE_ERR_TUNNEL_TRUNC;
    unsigned ver = flags & 7;
    if (ver == 1)
        return DECODE_OK; /* PPTP's enhanced GRE: a VPN, a flow of its own */
    if (ver != 0 || (flags & 0x4f00)) /* R, s, Recur set: RFC 1701 routing */
        return DECODE_ERR_TUNNEL_HDR;
    bool seq = (flags & 0x1000) != 0;
    uint32_t hdr = 4 + ((flags & 0x8000) ? 4u : 0u) + ((flags & 0x2000) ? 4u : 0u) + (seq ? 4u : 0u);
    int kind;
    switch (proto) {
        case 0x0800: case 0x86dd: case 0x6558: case 0x8847: case 0x8848:
            kind = TUNNEL_GRE;
            break;
        case 0x88be:
            kind = seq ? TUNNEL_ERSPAN2 : TUNNEL_ERSPAN1;
            break;
        case 0x22eb:
            kind = TUNNEL_ERSPAN3;
            break;
        default:
            return DECODE_OK; /* keepalives and the like: the GRE flow itself */
    }
    if (!cur_skip(&g, hdr - 4))
        return DECODE_ERR_TUNNEL_TRUNC;
    if (hdr > l4_wire)
        return DECODE_ERR_TUNNEL_HDR;
    uint32_t wire = l4_wire - hdr;
    if (kind == TUNNEL_ERSPAN2 || kind == TUNNEL_ERSPAN3)
        return s_erspan(cfg, &g, p, kind, wire);
    decode_err_t e = s_enter(p, kind, &g, wire);
    if (e != DECODE_OK)
        return e;
    if (kind == TUNNEL_ERSPAN1 || proto == 0x6558)
        return decode_eth_frame(cfg, &g, p);
    return decode_ethertype(cfg, &g, p, proto);
}

bool decode_udp_is_tunnel(const decode_cfg_t *cfg, uint16_t dport)
{
    if (cfg->geneve_port && dport == cfg->geneve_port)
        return true;
    for (int i = 0; i < cfg->nvxlan; i++)
        if (cfg->vxlan_ports[i] == dport)
            return true;
    return false;
}

static decode_err_t s_vxlan(const decode_cfg_t *cfg, cursor_t *c, packet_t *p, uint32_t wire)
{
    uint32_t w0, w1;
    if (!cur_be32(c, &w0) || !cur_be32(c, &w1))
        return DECODE_ERR_TUNNEL_TRUNC;
    if (!(w0 & 0x08000000u) || wire < 8) /* I: the VNI is valid */
        return DECODE_ERR_TUNNEL_HDR;
    decode_err_t e = s_enter(p, TUNNEL_VXLAN, c, wire - 8);
    return e != DECODE_OK ? e : decode_eth_frame(cfg, c, p);
}

static decode_err_t s_geneve(const decode_cfg_t *cfg, cursor_t *c, packet_t *p, uint32_t wire)
{
    uint8_t ver_opt, oc;
    uint16_t proto;
    uint32_t vni;
    if (!cur_u8(c, &ver_opt) || !cur_u8(c, &oc) || !cur_be16(c, &proto) || !cur_be32(c, &vni))
        return DECODE_ERR_TUNNEL_TRUNC;
    uint32_t hdr = 8 + (uint32_t)(ver_opt & 0x3f) * 4;
    if ((ver_opt >> 6) != 0 || hdr > wire)
        return DECODE_ERR_TUNNEL_HDR;
    if (!cur_skip(c, hdr - 8))
        return DECODE_ERR_TUNNEL_TRUNC;
    if (proto != 0x6558 && proto != 0x0800 && proto != 0x86dd)
        return DECODE_ERR_NOT_IP;
    decode_err_t e = s_enter(p, TUNNEL_GENEVE, c, wire - hdr);
    if (e != DECODE_OK)
        return e;
    return proto == 0x6558 ? decode_eth_frame(cfg, c, p) : decode_ethertype(cfg, c, p, proto);
}

decode_err_t decode_udp_tunnel(const decode_cfg_t *cfg, packet_t *p)
{
    cursor_t c = cur_make(p->payload, p->payload_caplen);
    uint32_t wire = p->payload_len;
    if (cfg->geneve_port && p->dport == cfg->geneve_port)
        return s_geneve(cfg, &c, p, wire);
    return s_vxlan(cfg, &c, p, wire);
}

decode_err_t decode_mpls(const decode_cfg_t *cfg, cursor_t *c, packet_t *p)
{
    uint32_t entry = 0;
    int n = 0;
    do {
        if (n++ == MAX_MPLS_LABELS)
            return DECODE_ERR_TUNNEL_HDR;
        if (!cur_be32(c, &entry))
            return DECODE_ERR_TUNNEL_TRUNC;
    } while (!(entry & 0x100));
    if (!cur_has(c, 1))
        return DECODE_ERR_TUNNEL_TRUNC;
    unsigned nibble = c->p[0] >> 4;
    if (nibble != 4 && nibble != 6 && nibble != 0)
        return DECODE_ERR_NOT_IP;
    /* The frame's wire length less what was read of it so far (the cursor
     * runs to the end of the frame's captured bytes). */
    uint32_t used = p->caplen >= c->left ? p->caplen - (uint32_t)c->left : 0;
    decode_err_t e = s_enter(p, TUNNEL_MPLS, c, s_rest(p->wirelen, used));
    if (e != DECODE_OK)
        return e;
    if (nibble != 0)
        return decode_ip(cfg, c, p, 0);
    if (!cur_skip(c, 4)) /* the control word: | 0000 | flags | frg | len | seq | */
        return DECODE_ERR_TUNNEL_TRUNC;
    return decode_eth_frame(cfg, c, p);
}
