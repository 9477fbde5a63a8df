/* SPDX-License-Identifier: MIT */
/* fuzz_websocket.c: SIP over WebSocket through sipstream. The input is a
 * TCP conversation: records of [side byte][2-byte big-endian length][bytes],
 * each one segment in order on its side; the first client record should be
 * the HTTP Upgrade (the seeds start with one). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sipstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_on_msg(const sip_msg_t *m, flow_t *f, int side, const packet_t *p, void *ctx)
{
    (void)f;
    (void)side;
    (void)p;
    (void)ctx;
    if (m->msg_len == 0 || !m->raw)
        abort(); /* a whole message is never empty */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sipstream_t *s = sipstream_new(1, s_on_msg, NULL);
    if (!s)
        return 0;
    flow_t f;
    memset(&f, 0, sizeof f);
    f.sipstream = FLOW_NONE;
    f.id = 1;
    uint32_t seq[2] = {1000, 5000};
    size_t off = 0;
    for (int n = 0; n < 256 && size - off >= 3; n++) {
        int side = data[off] & 1;
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if (len > size - off)
            len = size - off;
        if (len == 0)
            continue;
        /* A private copy: ASan sees any read past the segment. */
        uint8_t *seg = malloc(len);
        memcpy(seg, data + off, len);
        packet_t p;
        memset(&p, 0, sizeof p);
        p.proto = 6;
        p.seq = seq[side];
        p.payload = seg;
        p.payload_len = p.payload_caplen = (uint32_t)len;
        sipstream_segment(s, &f, side, &p);
        seq[side] += (uint32_t)len;
        free(seg);
        off += len;
    }
    sipstream_release(s, &f);
    sipstream_destroy(&s);
    return 0;
}
