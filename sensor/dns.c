/* SPDX-License-Identifier: MIT */
/* dns.c: the addresses of a DNS response (RFC 1035 4.1; names 4.1.4;
 * AAAA RFC 3596; TTLs RFC 2181 8).
 *
 *                                 1  1  1  1  1  1
 *   0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * |                      ID                       |
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * |QR|   Opcode  |AA|TC|RD|RA|   Z    |   RCODE   |
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * |            QDCOUNT / ANCOUNT / NSCOUNT / ARCOUNT (16 bits each)
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * | question: QNAME, QTYPE (16), QCLASS (16)      |
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * | answer RRs: NAME, TYPE (16), CLASS (16),      |
 * |             TTL (32), RDLENGTH (16), RDATA    |
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *
 * A name is a list of labels (a length byte 1..63, then the bytes) ended by
 * a zero byte or by a compression pointer (two bytes 11xxxxxx xxxxxxxx: the
 * offset in the message where the rest of the name is). Pointers are where
 * parsers loop forever or read out of bounds, so: a pointer must point
 * strictly before the label that holds it (no loop can form), at most
 * DNS_MAX_JUMPS are followed, and the dotted name may not pass 253
 * characters. */
#include "dns.h"

#include <string.h>

#include "cursor.h"

#define DNS_HEADER_LEN 12
#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_AAAA 28
#define DNS_CLASS_IN 1

typedef struct {
    char owner[DNS_NAME_LEN];
    char target[DNS_NAME_LEN]; /* CNAME */
    uint16_t type;
    uint32_t ttl;
    ip_addr_t addr;
} dns_rr_t;

/* Reads the name starting at `off` in msg[0..len) into out (lower case,
 * dotted). *next is the offset after the name where it starts (after its
 * first pointer, if any). 1: read; 0: malformed; -1: the bytes end first. */
static int s_name(const uint8_t *msg, size_t len, size_t off, char *out, size_t *next)
{
    size_t n = 0, pos = off, lowest = off;
    unsigned jumps = 0;
    bool jumped = false;
    for (;;) {
        if (pos >= len)
            return -1;
        uint8_t l = msg[pos];
        if ((l & 0xc0) == 0xc0) {
            if (pos + 1 >= len)
                return -1;
            if (++jumps > DNS_MAX_JUMPS)
                return 0;
            size_t to = ((size_t)(l & 0x3f) << 8) | msg[pos + 1];
            if (to >= lowest) /* only backwards, before every label read so far */
                return 0;
            if (!jumped)
                *next = pos + 2;
            jumped = true;
            pos = lowest = to;
            continue;
        }
        if (l & 0xc0) /* 01 and 10: extended label types (RFC 6891), not names */
            return 0;
        if (l == 0)
            break;
        if (len - pos - 1 < l)
            return -1;
        if (n + (n ? 1u : 0u) + l > 253)
            return 0;
        if (n)
            out[n++] = '.';
        for (size_t i = 0; i < l; i++) {
            uint8_t ch = msg[pos + 1 + i];
            if (ch <= ' ' || ch > '~' || ch == '.') /* nothing a pattern could match */
                return 0;
            out[n++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch);
        }
        pos += 1u + l;
    }
    out[n] = '\0';
    if (!jumped)
        *next = pos + 1;
    return 1;
}

/* Reads a name at the cursor's place and moves the cursor past it; a name
 * the bytes end in marks the cursor bad (truncated), a malformed one does
 * not. */
static bool s_cur_name(const uint8_t *msg, size_t len, cursor_t *c, char *out)
{
    if (c->bad)
        return false;
    size_t off = (size_t)(c->p - msg), next = 0;
    int rc = s_name(msg, len, off, out, &next);
    if (rc < 0)
        c->bad = true;
    if (rc <= 0)
        return false;
    return cur_skip(c, next - off);
}

/* One answer record; false with c->bad set when the bytes ran out, false
 * with it clear when the record is malformed. */
static bool s_rr(const uint8_t *msg, size_t len, cursor_t *c, dns_rr_t *rr)
{
    uint16_t cls, rdlen;
    cursor_t rd;
    if (!s_cur_name(msg, len, c, rr->owner))
        return false;
    cur_be16(c, &rr->type);
    cur_be16(c, &cls);
    cur_be32(c, &rr->ttl);
    cur_be16(c, &rdlen);
    if (!cur_sub(c, rdlen, &rd))
        return false;
    if (rr->ttl > 0x7fffffffu) /* RFC 2181 8: a TTL with the top bit set is zero */
        rr->ttl = 0;
    if (rr->ttl > DNS_TTL_CAP)
        rr->ttl = DNS_TTL_CAP;
    if (cls != DNS_CLASS_IN)
        rr->type = 0; /* kept as a record that names nothing */
    if (rr->type == DNS_TYPE_A) {
        if (rdlen != 4)
            return false;
        static const uint8_t v4map[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        memcpy(rr->addr.b, v4map, sizeof v4map);
        cur_bytes(&rd, rr->addr.b + 12, 4);
    } else if (rr->type == DNS_TYPE_AAAA) {
        if (rdlen != 16)
            return false;
        cur_bytes(&rd, rr->addr.b, 16);
    } else if (rr->type == DNS_TYPE_CNAME) {
        /* The target's labels lie inside RDATA; its pointers may go anywhere
         * before it in the message. */
        size_t off = (size_t)(rd.p - msg), next = 0;
        if (s_name(msg, off + rdlen, off, rr->target, &next) != 1 || next != off + rdlen)
            return false;
    }
    return true;
}

/* Adds the addresses of `name` and of the CNAME chain from it. */
static void s_resolve(const dns_rr_t *rrs, size_t nrr, dns_answer_t *out)
{
    const char *name = out->qname;
    uint32_t chain_ttl = UINT32_MAX; /* each TTL is capped where it is read */
    for (unsigned hop = 0; hop <= DNS_MAX_CHAIN && name; hop++) {
        const char *next = NULL;
        for (size_t i = 0; i < nrr; i++) {
            const dns_rr_t *rr = &rrs[i];
            if (strcmp(rr->owner, name) != 0)
                continue;
            if (rr->type == DNS_TYPE_CNAME && !next) {
                next = rr->target;
                chain_ttl = rr->ttl < chain_ttl ? rr->ttl : chain_ttl;
            } else if ((rr->type == DNS_TYPE_A || rr->type == DNS_TYPE_AAAA) &&
                       out->naddrs < DNS_MAX_ADDRS) {
                out->addr[out->naddrs] = rr->addr;
                out->ttl[out->naddrs++] = rr->ttl < chain_ttl ? rr->ttl : chain_ttl;
            }
        }
        name = next;
    }
}

dns_rc_t dns_parse(const uint8_t *msg, size_t len, dns_answer_t *out)
{
    dns_rr_t rrs[DNS_MAX_RRS]; /* about 17 KiB of stack */
    memset(out, 0, sizeof *out);
    cursor_t c = cur_make(msg, len);
    uint16_t id, flags, qd, an, ns, ar, qtype, qclass;
    cur_be16(&c, &id);
    cur_be16(&c, &flags);
    cur_be16(&c, &qd);
    cur_be16(&c, &an);
    cur_be16(&c, &ns);
    cur_be16(&c, &ar);
    if (c.bad)
        return DNS_TRUNCATED;
    /* A standard query's response (QR 1, opcode 0), no error, one question. */
    if (!(flags & 0x8000) || (flags & 0x7800) || (flags & 0x000f) || qd != 1)
        return DNS_NOT_RESPONSE;
    if (!s_cur_name(msg, len, &c, out->qname))
        return c.bad ? DNS_TRUNCATED : DNS_INVALID;
    cur_be16(&c, &qtype);
    cur_be16(&c, &qclass);
    if (c.bad)
        return DNS_TRUNCATED;
    size_t nrr = 0;
    dns_rc_t rc = DNS_OK;
    for (unsigned i = 0; i < an && nrr < DNS_MAX_RRS; i++) {
        if (!s_rr(msg, len, &c, &rrs[nrr])) {
            rc = c.bad ? DNS_TRUNCATED : DNS_INVALID;
            break;
        }
        nrr++;
    }
    if (rc == DNS_INVALID)
        return rc; /* nothing of a malformed message is believed */
    s_resolve(rrs, nrr, out);
    return rc;
}

const uint8_t *dns_tcp_message(const uint8_t *payload, size_t len, size_t *msg_len)
{
    cursor_t c = cur_make(payload, len);
    uint16_t n;
    if (!cur_be16(&c, &n) || n < DNS_HEADER_LEN || c.left < n)
        return NULL;
    *msg_len = n;
    return c.p;
}

const char *dns_rc_str(dns_rc_t rc)
{
    static const char *const names[] = {"ok", "not_response", "truncated", "invalid"};
    return (unsigned)rc < sizeof names / sizeof names[0] ? names[rc] : "unknown";
}
