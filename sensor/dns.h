/* SPDX-License-Identifier: MIT */
/* dns.h: the addresses a DNS response gives for the name it was asked
 * (RFC 1035), so that flows to them can be named (sensor/dnsbind.h).
 *
 * Only what binding needs is read: the header, the one question, and the
 * answer section's A, AAAA and CNAME records of class IN. The addresses kept
 * are those of the question's name, directly or through a chain of CNAMEs
 * that starts at it; each carries the least TTL along its chain, capped. */
#ifndef PINHOLE_DNS_H
#define PINHOLE_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "strutil.h"

#define DNS_NAME_LEN 256      /* a dotted name (at most 253 characters) and its NUL */
#define DNS_MAX_ADDRS 16      /* addresses kept from one response */
#define DNS_MAX_RRS 32        /* answer records read from one response */
#define DNS_MAX_JUMPS 16      /* compression pointers followed in one name */
#define DNS_MAX_CHAIN 8       /* CNAMEs followed from the question's name */
#define DNS_TTL_CAP 86400u    /* seconds: no binding outlives a day */

typedef enum {
    DNS_OK = 0,
    DNS_NOT_RESPONSE, /* a query, another opcode, an error rcode, no question */
    DNS_TRUNCATED,    /* the bytes end inside a record: what came before is kept */
    DNS_INVALID,      /* a name or record that breaks the format */
} dns_rc_t;

typedef struct {
    char qname[DNS_NAME_LEN]; /* the question's name, lower case, no final dot */
    size_t naddrs;
    ip_addr_t addr[DNS_MAX_ADDRS];
    uint32_t ttl[DNS_MAX_ADDRS]; /* seconds, at most DNS_TTL_CAP */
} dns_answer_t;

/* Parses one DNS message (UDP payload, or a TCP message without its length
 * prefix). `out` is filled as far as the message allows, also on
 * DNS_TRUNCATED; on any other failure it holds no address. */
dns_rc_t dns_parse(const uint8_t *msg, size_t len, dns_answer_t *out);

/* A TCP segment's payload that holds one whole DNS message after its 2-byte
 * length: that message, or NULL (a message over several segments is not
 * read). */
const uint8_t *dns_tcp_message(const uint8_t *payload, size_t len, size_t *msg_len);

const char *dns_rc_str(dns_rc_t rc);

#endif
