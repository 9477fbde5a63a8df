/* SPDX-License-Identifier: MIT */
/* fuzz_dns.c: the DNS response parser. The first byte says UDP (the rest
 * is one message) or TCP (the rest is a segment: a 2-byte length, then the
 * message). Checks what the parser promises: names fit and end, TTLs are
 * capped, no more addresses than room. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    /* A copy of exactly the input's size, so ASan sees any read past it. */
    size_t len = size - 1;
    uint8_t *buf = malloc(len ? len : 1);
    memcpy(buf, data + 1, len);
    const uint8_t *msg = buf;
    if (data[0] & 1)
        msg = dns_tcp_message(buf, len, &len);
    if (msg) {
        dns_answer_t a;
        dns_rc_t rc = dns_parse(msg, len, &a);
        if ((unsigned)rc > DNS_INVALID || a.naddrs > DNS_MAX_ADDRS ||
                memchr(a.qname, '\0', sizeof a.qname) == NULL || strlen(a.qname) > 253)
            abort();
        if ((rc == DNS_INVALID || rc == DNS_NOT_RESPONSE) && a.naddrs)
            abort();
        for (size_t i = 0; i < a.naddrs; i++)
            if (a.ttl[i] > DNS_TTL_CAP)
                abort();
    }
    free(buf);
    return 0;
}
