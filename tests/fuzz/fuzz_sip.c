/* SPDX-License-Identifier: MIT */
/* fuzz_sip.c: the SIP and SDP parsers. The first byte says datagram or
 * stream; a stream is parsed message after message as the sensor will. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    bool stream = data[0] & 1;
    uint8_t *buf = malloc(size - 1 ? size - 1 : 1);
    memcpy(buf, data + 1, size - 1);
    size_t off = 0, len = size - 1;
    for (int n = 0; n < 64 && off < len; n++) {
        sip_msg_t m;
        if (sip_parse(buf + off, len - off, stream, &m) != SIP_OK)
            break;
        if (m.msg_len == 0 || m.msg_len > len - off)
            abort(); /* the parser must consume something inside the buffer */
        if (m.body_len) {
            sdp_t sdp;
            sdp_parse(m.body, m.body_len, &sdp);
        }
        if (!stream)
            break;
        off += m.msg_len;
    }
    sdp_t sdp;
    sdp_parse(buf, len, &sdp);
    free(buf);
    return 0;
}
