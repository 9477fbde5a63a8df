/* SPDX-License-Identifier: MIT */
/* fuzz_decode.c: the raw frame decode chain. The first byte picks the link
 * type; the rest is the frame, copied to a buffer of exactly its size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int links[] = {LINK_ETHERNET, LINK_SLL, LINK_SLL2, LINK_RAW, LINK_NULL, LINK_IPV6};
    if (size < 1 || size > 65536)
        return 0;
    int lt = links[data[0] % (sizeof links / sizeof links[0])];
    uint8_t *frame = malloc(size - 1 ? size - 1 : 1);
    memcpy(frame, data + 1, size - 1);
    packet_t p;
    memset(&p, 0, sizeof p);
    decode_packet(lt, frame, (uint32_t)(size - 1), (uint32_t)(size - 1), &p);
    /* Whatever decoded must point inside the frame. */
    if (p.payload_caplen && (p.payload < frame || p.payload + p.payload_caplen > frame + size - 1))
        abort();
    if (p.l3_len && (p.l3 < frame || p.l3 + p.l3_len > frame + size - 1))
        abort();
    free(frame);
    return 0;
}
