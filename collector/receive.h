/* SPDX-License-Identifier: MIT */
/* receive.h: the collector's sockets (docs/link.md): the ROUTER the sensors
 * connect to, the ZAP handler that checks their CURVE keys against the
 * allow-list, and the PUB socket alerts are re-published on. The only file
 * of the collector that speaks ZeroMQ. */
#ifndef PINHOLE_RECEIVE_H
#define PINHOLE_RECEIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evschema.h"

/* A sensor key with RECEIVE_BAD_PER_MINUTE refused messages within a
 * minute is quarantined for RECEIVE_QUARANTINE_US (docs/collector.md). */
#define RECEIVE_MINUTE_US (60ull * 1000000u)
#define RECEIVE_BAD_PER_MINUTE 200u
#define RECEIVE_QUARANTINE_US (60ull * 1000000u)

typedef struct {
    const char *bind;          /* "tcp://0.0.0.0:7701" */
    bool plain;                /* no CURVE (explicitly asked for) */
    const char *key_path;      /* the collector's key pair */
    const char *allow_path;    /* allow-list: "NAME PUBLIC-KEY" lines, or a directory of .pub */
    size_t max_message;        /* bytes; larger messages are refused and counted */
    const char *alert_bind;    /* PUB endpoint for alerts; NULL: none */
} receive_cfg_t;

/* One message from a sensor, checked: a readable header, the frames its
 * kind needs, within max_message, and (CURVE) the sensor's name matching
 * the key it authenticated with. */
typedef struct {
    evschema_header_t h;
    const char *body;          /* events: the body frame (valid until receive_msg_fini) */
    size_t body_len;
    void *frame;               /* the body's (a zmq_msg_t) */
    uint8_t peer[256];         /* ROUTER routing id, for the ack */
    size_t peer_len;
} receive_msg_t;

typedef struct receive receive_t;

receive_t *receive_new(const receive_cfg_t *cfg, char *err, size_t errlen);
/* --check: loads the key pair and the allow-list as receive_new does,
 * without a socket. 0, or -1 with why in err. */
int receive_check(const receive_cfg_t *cfg, size_t *allowed, char *err, size_t errlen);
void receive_destroy(receive_t **self_p);

/* Waits up to timeout_ms. Returns 1 with a message, 0 on timeout, or -1
 * with a refused message: reason names why (the counter to bump: "malformed",
 * "oversized", "frames", "unauthorized"); it was logged. */
int receive_next(receive_t *self, int timeout_ms, receive_msg_t *msg, const char **reason);
void receive_msg_fini(receive_msg_t *msg);

/* Acknowledges a message's events: acked, the highest number stored. */
void receive_ack(receive_t *self, const receive_msg_t *msg, uint64_t acked, bool resend);

/* Re-publishes an alert (a JSON object) on the PUB socket, if any. */
void receive_alert(receive_t *self, const char *json);

/* Makes a CURVE key pair (Z85, 41-byte buffers). */
int receive_keypair(char *public_key, char *secret_key);

/* Sensors on the allow-list. */
size_t receive_allowed(const receive_t *self);

#endif
