/* SPDX-License-Identifier: MIT */
/* decode.c: link, IP and transport decoding (RFC 791, 8200, 793, 768,
 * 792, 4443; IEEE 802.1Q; RFC 2516 PPPoE; Linux cooked capture v1/v2).
 *
 *   Ethernet: | dst 6 | src 6 | type 2 | (tag: | TCI 2 | type 2 |)* payload
 *   SLL:      | pkttype 2 | hatype 2 | halen 2 | addr 8 | proto 2 |
 *   SLL2:     | proto 2 | rsv 2 | ifindex 4 | hatype 2 | pkttype 1 | halen 1 | addr 8 |
 *
 * Every read goes through a cursor. The IP length bounds what the
 * transport parser sees, so Ethernet padding is never taken as payload.
 * GRE, VXLAN, Geneve and MPLS go to decode_tunnel.c, which comes back here
 * with the inner frame. */
#include "decode.h"
#include "decode_internal.h"

#include <string.h>

#define MAX_VLAN_TAGS 4
#define MAX_IPV6_EXT 8

static const char *const s_err_names[DECODE_ERR_COUNT] = {
        "ok", "linktype", "l2_truncated", "vlan_depth", "not_ip", "ipv4_header",
        "ipv6_header", "l3_truncated", "l4_truncated", "l4_header", "fragment",
        "tunnel_truncated", "tunnel_header", "tunnel_depth"};

const char *decode_err_str(decode_err_t e)
{
    return (unsigned)e < DECODE_ERR_COUNT ? s_err_names[e] : "unknown";
}

int decode_linktype_supported(int linktype)
{
    switch (linktype) {
        case LINK_NULL: case LINK_ETHERNET: case LINK_RAW_DLT: case LINK_RAW_DLT_OBSD:
        case LINK_RAW: case LINK_LOOP: case LINK_SLL: case LINK_IPV4: case LINK_IPV6:
        case LINK_SLL2:
            return 1;
        default:
            return 0;
    }
}

/* ------------------------------------------------------------------ */
/* Transport                                                           */

static decode_err_t s_tcp(cursor_t *c, packet_t *p, uint32_t l4_wire)
{
    uint8_t off_byte, flags;
    uint16_t win;
    cursor_t h = *c;
    if (!cur_be16(&h, &p->sport) || !cur_be16(&h, &p->dport) || !cur_be32(&h, &p->seq) ||
            !cur_be32(&h, &p->ack) || !cur_u8(&h, &off_byte) || !cur_u8(&h, &flags) ||
            !cur_be16(&h, &win) || !cur_be16(&h, &p->l4_csum))
        return DECODE_ERR_L4_TRUNC;
    uint32_t hlen = (uint32_t)(off_byte >> 4) * 4;
    if (hlen < 20 || hlen > l4_wire)
        return DECODE_ERR_L4_HDR;
    p->tcp_flags = flags;
    p->payload_len = l4_wire - hlen;
    if (!cur_skip(c, hlen)) { /* options cut by the snap length */
        p->payload_caplen = 0;
        return DECODE_OK;
    }
    p->payload = c->p;
    p->payload_caplen = (uint32_t)c->left;
    return DECODE_OK;
}

/* A big-endian 16-bit field of a header read whole. */
static inline uint16_t s_be16(const uint8_t *b)
{
    return (uint16_t)(b[0] << 8 | b[1]);
}

static decode_err_t s_udp(cursor_t *c, packet_t *p, uint32_t l4_wire)
{
    uint16_t len;
    uint8_t h[8];
    if (cur_has(c, sizeof h)) { /* the whole header: one check */
        cur_bytes(c, h, sizeof h);
        p->sport = s_be16(h);
        p->dport = s_be16(h + 2);
        len = s_be16(h + 4);
        p->l4_csum = s_be16(h + 6);
    } else if (!cur_be16(c, &p->sport) || !cur_be16(c, &p->dport) || !cur_be16(c, &len) ||
            !cur_be16(c, &p->l4_csum)) { /* cut short (an ICMP quote): what is there */
        return DECODE_ERR_L4_TRUNC;
    }
    /* A first fragment carries less than the UDP length says. */
    if (len < 8 || (len > l4_wire && !p->first_frag))
        return DECODE_ERR_L4_HDR;
    p->payload_len = (p->first_frag ? len : l4_wire) - 8u;
    p->payload = c->p;
    p->payload_caplen = (uint32_t)c->left < p->payload_len ? (uint32_t)c->left : p->payload_len;
    return DECODE_OK;
}


/* The header of the packet an ICMP error is about. */
static void s_icmp_inner(cursor_t *c, packet_t *p)
{
    packet_t in;
    memset(&in, 0, sizeof in);
    /* The quoted packet is cut short by design: take what is there. */
    decode_ip(NULL, c, &in, 1);
    if (in.ipver == 0 || (in.proto != 6 && in.proto != 17) || (in.sport == 0 && in.dport == 0))
        return;
    p->icmp_err = true;
    p->in_src = in.src;
    p->in_dst = in.dst;
    p->in_proto = in.proto;
    p->in_sport = in.sport;
    p->in_dport = in.dport;
}

static decode_err_t s_icmp(cursor_t *c, packet_t *p, bool v6)
{
    uint8_t type, code;
    uint16_t id = 0;
    if (!cur_u8(c, &type) || !cur_u8(c, &code) || !cur_be16(c, &p->l4_csum))
        return DECODE_ERR_L4_TRUNC;
    p->icmp_type = type;
    p->icmp_code = code;
    bool err = v6 ? (type >= 1 && type <= 4) : (type == 3 || type == 11 || type == 12);
    if (err) {
        if (cur_skip(c, 4))
            s_icmp_inner(c, p);
        return DECODE_OK;
    }
    /* Echo and the like: the identifier stands in for a port. */
    if (cur_be16(c, &id)) {
        p->sport = id;
        p->dport = id;
    }
    return DECODE_OK;
}

/* ------------------------------------------------------------------ */
/* Network                                                             */

static decode_err_t s_l4(const decode_cfg_t *cfg, cursor_t *c, packet_t *p, uint32_t l4_wire,
        int depth)
{
    decode_err_t e;
    switch (p->proto) {
        case 6:
            return s_tcp(c, p, l4_wire);
        case 17:
            e = s_udp(c, p, l4_wire);
            /* A tunnel inside an ICMP quote or a first fragment stays as it is. */
            if (e != DECODE_OK || depth || p->first_frag || !decode_udp_is_tunnel(cfg, p->dport))
                return e;
            return decode_udp_tunnel(cfg, p);
        case 47:
            return depth ? DECODE_OK : decode_gre(cfg, c, p, l4_wire);
        case 1:
            return depth ? DECODE_OK : s_icmp(c, p, false);
        case 58:
            return depth ? DECODE_OK : s_icmp(c, p, true);
        default:
            return DECODE_OK;
    }
}

/* ip_from_v4, inlined: twice a packet. */
static inline void s_from_v4(ip_addr_t *a, const uint8_t v4[4])
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memcpy(a->b, prefix, sizeof prefix);
    memcpy(a->b + 12, v4, 4);
}

static decode_err_t s_ipv4(const decode_cfg_t *cfg, cursor_t *c, packet_t *p, int depth)
{
    const uint8_t *start = c->p;
    size_t avail = c->left;
    uint8_t h[20]; /* the fixed header, read whole */
    if (!cur_bytes(c, h, sizeof h))
        return DECODE_ERR_L3_TRUNC;
    uint8_t vihl = h[0], ttl = h[8], proto = h[9];
    uint16_t total = s_be16(h + 2), id = s_be16(h + 4), frag = s_be16(h + 6);
    uint32_t hlen = (uint32_t)(vihl & 0x0f) * 4;
    if ((vihl >> 4) != 4 || hlen < 20 || total < hlen)
        return DECODE_ERR_IPV4_HDR;
    p->ipver = 4;
    s_from_v4(&p->src, h + 12);
    s_from_v4(&p->dst, h + 16);
    p->proto = proto;
    p->ttl = ttl;
    p->ip_id = id;
    if (!depth) {
        p->l3 = start;
        p->l3_len = (uint32_t)(avail < total ? avail : total);
    }
    if (!cur_skip(c, hlen - 20))
        return DECODE_ERR_L3_TRUNC;
    uint16_t offset = frag & 0x1fff;
    if (!depth && (offset != 0 || (frag & 0x2000))) {
        /* A fragment: hand its bytes to reassembly. */
        p->frag_id = id;
        p->frag_off = (uint16_t)(offset * 8);
        p->frag_more = (frag & 0x2000) != 0;
        p->frag_hdr = start;
        p->frag_hdr_len = hlen;
        p->frag_data = c->p;
        p->frag_len = total - hlen;
        if (c->left < p->frag_len)
            return DECODE_ERR_L3_TRUNC; /* cut by the snap length: cannot be rebuilt */
        return DECODE_ERR_FRAGMENT;
    }
    if (offset != 0)
        return DECODE_ERR_FRAGMENT;
    p->first_frag = (frag & 0x2000) != 0;
    /* Narrow the view to the IP payload: trailing padding is not ours. */
    size_t inner = total - hlen;
    cursor_t l4 = *c;
    if (l4.left > inner)
        l4.left = inner;
    return s_l4(cfg, &l4, p, (uint32_t)inner, depth);
}

static decode_err_t s_ipv6(const decode_cfg_t *cfg, cursor_t *c, packet_t *p, int depth)
{
    const uint8_t *start = c->p;
    size_t avail = c->left;
    uint32_t vtf;
    uint16_t plen;
    uint8_t nh, hlim;
    if (!cur_be32(c, &vtf) || !cur_be16(c, &plen) || !cur_u8(c, &nh) || !cur_u8(c, &hlim) ||
            !cur_bytes(c, p->src.b, 16) || !cur_bytes(c, p->dst.b, 16))
        return DECODE_ERR_L3_TRUNC;
    if ((vtf >> 28) != 6)
        return DECODE_ERR_IPV6_HDR;
    p->ipver = 6;
    p->ttl = hlim;
    if (!depth) {
        p->l3 = start;
        p->l3_len = (uint32_t)(avail < 40u + plen ? avail : 40u + plen);
    }
    uint32_t left = plen;
    cursor_t body = *c;
    if (body.left > left)
        body.left = left;
    for (int i = 0; i < MAX_IPV6_EXT; i++) {
        uint8_t next, len8;
        switch (nh) {
            case 0: case 43: case 60: case 51: /* hop-by-hop, routing, dest opts, AH */
                if (!cur_u8(&body, &next) || !cur_u8(&body, &len8))
                    return DECODE_ERR_L3_TRUNC;
                {
                    uint32_t hl = nh == 51 ? ((uint32_t)len8 + 2) * 4 : ((uint32_t)len8 + 1) * 8;
                    if (hl > left)
                        return DECODE_ERR_IPV6_HDR;
                    if (!cur_skip(&body, hl - 2))
                        return DECODE_ERR_L3_TRUNC;
                    left -= hl;
                }
                nh = next;
                continue;
            case 44: { /* fragment */
                uint16_t off;
                uint32_t ident;
                uint8_t rsv;
                if (!cur_u8(&body, &next) || !cur_u8(&body, &rsv) || !cur_be16(&body, &off) ||
                        !cur_be32(&body, &ident))
                    return DECODE_ERR_L3_TRUNC;
                if (left < 8)
                    return DECODE_ERR_IPV6_HDR;
                left -= 8;
                p->proto = next;
                if (!depth) {
                    p->frag_id = ident;
                    p->frag_off = (uint16_t)(off & 0xfff8);
                    p->frag_more = (off & 1) != 0;
                    p->frag_data = body.p;
                    p->frag_len = left;
                    if (body.left < left)
                        return DECODE_ERR_L3_TRUNC;
                    return DECODE_ERR_FRAGMENT;
                }
                if ((off >> 3) != 0)
                    return DECODE_ERR_FRAGMENT;
                p->first_frag = (off & 1) != 0;
                nh = next;
                continue;
            }
            default:
                p->proto = nh;
                return s_l4(cfg, &body, p, left, depth);
        }
    }
    return DECODE_ERR_IPV6_HDR;
}

decode_err_t decode_ip(const decode_cfg_t *cfg, cursor_t *c, packet_t *p, int depth)
{
    if (!cur_has(c, 1))
        return DECODE_ERR_L3_TRUNC;
    switch (c->p[0] >> 4) {
        case 4:
            return s_ipv4(cfg, c, p, depth);
        case 6:
            return s_ipv6(cfg, c, p, depth);
        default:
            return DECODE_ERR_NOT_IP;
    }
}

/* ------------------------------------------------------------------ */
/* Link                                                                */

decode_err_t decode_ethertype(const decode_cfg_t *cfg, cursor_t *c, packet_t *p, uint16_t type)
{
    for (int tags = 0;; tags++) {
        if (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
            uint16_t tci;
            if (tags >= MAX_VLAN_TAGS)
                return DECODE_ERR_VLAN_DEPTH;
            if (!cur_be16(c, &tci) || !cur_be16(c, &type))
                return DECODE_ERR_L2_TRUNC;
            if (tags == 0)
                p->vlan = tci & 0x0fff;
            continue;
        }
        if (type == 0x8864) { /* PPPoE session: ver/type, code, session, length, PPP proto */
            uint16_t sess, len, ppp;
            uint8_t vt, code;
            if (!cur_u8(c, &vt) || !cur_u8(c, &code) || !cur_be16(c, &sess) ||
                    !cur_be16(c, &len) || !cur_be16(c, &ppp))
                return DECODE_ERR_L2_TRUNC;
            type = ppp == 0x0021 ? 0x0800 : ppp == 0x0057 ? 0x86dd : 0;
            if (!type)
                return DECODE_ERR_NOT_IP;
            continue;
        }
        break;
    }
    if (type == 0x8847 || type == 0x8848)
        return decode_mpls(cfg, c, p);
    if (type != 0x0800 && type != 0x86dd)
        return DECODE_ERR_NOT_IP;
    return decode_ip(cfg, c, p, 0);
}

decode_err_t decode_eth_frame(const decode_cfg_t *cfg, cursor_t *c, packet_t *p)
{
    uint16_t type;
    if (!cur_skip(c, 12) || !cur_be16(c, &type))
        return DECODE_ERR_L2_TRUNC;
    return decode_ethertype(cfg, c, p, type);
}

void decode_cfg_defaults(decode_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->vxlan_ports[0] = 4789;
    cfg->nvxlan = 1;
    cfg->geneve_port = 6081;
}

bool decode_cfg_add_vxlan_port(decode_cfg_t *cfg, uint16_t port)
{
    for (int i = 0; i < cfg->nvxlan; i++)
        if (cfg->vxlan_ports[i] == port)
            return true;
    if (cfg->nvxlan >= DECODE_MAX_VXLAN_PORTS)
        return false;
    cfg->vxlan_ports[cfg->nvxlan++] = port;
    return true;
}

/* The common frame, decoded in one go: Ethernet without tags, an IPv4
 * header without options, not a fragment, carrying TCP or UDP (not to a
 * tunnel port), whole enough and well formed. Fills p as the general path
 * (decode_eth_frame) would and returns true; false, having written
 * nothing, for anything else, which the general path then decodes. */
static bool s_fast_eth_ipv4(const decode_cfg_t *cfg, const uint8_t *d, uint32_t caplen,
        packet_t *p)
{
    if (caplen < 14 + 20 + 8 || d[12] != 0x08 || d[13] != 0x00 || d[14] != 0x45)
        return false;
    const uint8_t *ip = d + 14;
    uint16_t total = s_be16(ip + 2), frag = s_be16(ip + 6);
    uint8_t proto = ip[9];
    if (total < 20 || (frag & 0x3fff) != 0 || (proto != 6 && proto != 17))
        return false;
    uint32_t avail = caplen - 14;
    uint32_t inner = (uint32_t)total - 20;
    uint32_t l4_left = avail - 20 < inner ? avail - 20 : inner; /* the transport's view */
    const uint8_t *t = ip + 20;
    if (proto == 17) {
        uint16_t len = s_be16(t + 4), dport = s_be16(t + 2);
        if (l4_left < 8 || len < 8 || len > inner || decode_udp_is_tunnel(cfg, dport))
            return false;
        p->sport = s_be16(t);
        p->dport = dport;
        p->l4_csum = s_be16(t + 6);
        p->payload_len = inner - 8u;
        p->payload = t + 8;
        p->payload_caplen = l4_left - 8 < p->payload_len ? l4_left - 8 : p->payload_len;
    } else {
        if (l4_left < 18)
            return false;
        uint32_t hlen = (uint32_t)(t[12] >> 4) * 4;
        if (hlen < 20 || hlen > inner)
            return false;
        p->sport = s_be16(t);
        p->dport = s_be16(t + 2);
        p->seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
        p->ack = (uint32_t)t[8] << 24 | (uint32_t)t[9] << 16 | (uint32_t)t[10] << 8 | t[11];
        p->tcp_flags = t[13];
        p->l4_csum = s_be16(t + 16);
        p->payload_len = inner - hlen;
        if (l4_left >= hlen) {
            p->payload = t + hlen;
            p->payload_caplen = l4_left - hlen;
        } /* options cut by the snap length: no payload (zero, as set) */
    }
    p->ipver = 4;
    s_from_v4(&p->src, ip + 12);
    s_from_v4(&p->dst, ip + 16);
    p->proto = proto;
    p->ttl = ip[8];
    p->ip_id = s_be16(ip + 4);
    p->l3 = ip;
    p->l3_len = avail < total ? avail : total;
    return true;
}

decode_err_t decode_packet(int linktype, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
        packet_t *p)
{
    return decode_packet_cfg(NULL, linktype, data, caplen, wirelen, p);
}

decode_err_t decode_packet_cfg(const decode_cfg_t *cfg, int linktype, const uint8_t *data,
        uint32_t caplen, uint32_t wirelen, packet_t *p)
{
    decode_cfg_t defaults;
    if (!cfg) {
        decode_cfg_defaults(&defaults);
        cfg = &defaults;
    }
    uint64_t ts = p->ts_us, num = p->num;
    memset(p, 0, sizeof *p);
    p->ts_us = ts;
    p->num = num;
    p->caplen = caplen;
    p->wirelen = wirelen;
    cursor_t c = cur_make(data, caplen);
    uint16_t type;
    uint32_t af;
    switch (linktype) {
        case LINK_ETHERNET:
            if (s_fast_eth_ipv4(cfg, data, caplen, p))
                return DECODE_OK;
            return decode_eth_frame(cfg, &c, p);
        case LINK_SLL:
            if (!cur_skip(&c, 14) || !cur_be16(&c, &type))
                return DECODE_ERR_L2_TRUNC;
            return decode_ethertype(cfg, &c, p, type);
        case LINK_SLL2:
            if (!cur_be16(&c, &type) || !cur_skip(&c, 18))
                return DECODE_ERR_L2_TRUNC;
            return decode_ethertype(cfg, &c, p, type);
        case LINK_NULL:
        case LINK_LOOP:
            /* The address family, in the byte order of the capturing host
             * (NULL) or network order (LOOP): the IP version nibble decides. */
            if (!cur_le32(&c, &af))
                return DECODE_ERR_L2_TRUNC;
            return decode_ip(cfg, &c, p, 0);
        case LINK_RAW_DLT:
        case LINK_RAW_DLT_OBSD:
        case LINK_RAW:
        case LINK_IPV4:
        case LINK_IPV6:
            return decode_ip(cfg, &c, p, 0);
        default:
            return DECODE_ERR_LINKTYPE;
    }
}
