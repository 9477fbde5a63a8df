/* SPDX-License-Identifier: MIT */
/* websocket.h: SIP over WebSocket (RFC 7118): the HTTP Upgrade that asks
 * for the "sip" subprotocol, then the frames (RFC 6455) of each direction
 * of a TCP stream, read as the bytes arrive (a frame may span segments),
 * unmasked and gathered into whole messages. Control frames are skipped.
 * The state of a direction is a few bytes, embedded by its owner
 * (sipstream.c, which also owns the message buffer); its fields are
 * private to websocket.c. */
#ifndef PINHOLE_WEBSOCKET_H
#define PINHOLE_WEBSOCKET_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t streams;  /* upgrades to the sip subprotocol followed */
    uint64_t messages; /* SIP messages read out of data messages */
    uint64_t frames;   /* frame headers read (data and control) */
    uint64_t invalid;  /* frames or messages that could not be read */
} ws_stats_t;

typedef struct {
    uint8_t phase;   /* websocket.c's WS_* */
    uint8_t hlen;    /* frame header bytes gathered so far */
    uint8_t hdr[14]; /* a frame header: 2 + 8 (length) + 4 (key) at most */
    uint8_t crlf;    /* HTTP phase: bytes of CRLF CRLF matched */
    uint8_t key[4];
    bool masked, fin, control, in_msg, skip;
    uint64_t left;   /* payload bytes left in the current frame */
    uint64_t moff;   /* payload bytes of the current frame unmasked so far */
} ws_dir_t;

/* Called for each whole data message; msg is valid during the call. */
typedef void(ws_msg_fn)(const uint8_t *msg, uint32_t len, void *ctx);

/* True if p..n begins an HTTP GET with "Upgrade: websocket" and "sip"
 * among its Sec-WebSocket-Protocol values (the headers in this segment). */
bool ws_is_sip_upgrade(const uint8_t *p, uint32_t n);

/* A direction starts with the client's request or the server's response. */
void ws_dir_init(ws_dir_t *w, bool client);
/* False once the direction can no longer be read (a lost segment: see
 * ws_dir_lost, a refused upgrade, an unbelievable length). */
bool ws_dir_is_alive(const ws_dir_t *w);
void ws_dir_lost(ws_dir_t *w);

/* Reads n in-order bytes of a direction. A data message is gathered in
 * msg (cap bytes, *len used; a longer message is counted invalid and
 * skipped) and fn is called when its last frame ends. */
void ws_feed(ws_dir_t *w, const uint8_t *data, uint32_t n, uint8_t *msg, uint32_t *len,
        uint32_t cap, ws_stats_t *st, ws_msg_fn *fn, void *ctx);

#endif
