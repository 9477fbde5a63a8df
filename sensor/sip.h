/* SPDX-License-Identifier: MIT */
/* sip.h: a bounded SIP message parser (RFC 3261) and SDP parser (RFC 4566).
 *
 * The parser never copies: every string is a slice of the message bytes,
 * valid as long as they are. It treats the message as hostile: lines are
 * split with an index kept below the length, counts are bounded (Via
 * entries, headers, media lines), and nothing depends on a NUL byte. */
#ifndef PINHOLE_SIP_H
#define PINHOLE_SIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strutil.h"

#define SIP_MAX_VIA 8
#define SIP_MAX_HEADERS 128
#define SIP_MAX_LINE 4096
#define SDP_MAX_MEDIA 8
#define SDP_MAX_RTPMAP 8

typedef struct {
    const char *p;
    uint32_t len;
} sip_str_t;

typedef struct {
    sip_str_t transport;  /* "UDP", "TCP", "TLS", "WS" ... */
    sip_str_t host;       /* sent-by host (IPv6 without brackets) */
    uint16_t port;        /* 0 if not given */
    sip_str_t received;   /* received= parameter */
    bool rport;           /* rport parameter present */
    uint16_t rport_value; /* 0: present without a value (a request asking) */
    sip_str_t branch;
} sip_via_t;

typedef struct {
    bool is_request;
    sip_str_t method;     /* request method, or the CSeq method of a response */
    sip_str_t uri;        /* request URI */
    int status;           /* response status code */
    sip_str_t call_id;
    uint32_t cseq;
    sip_str_t cseq_method;
    sip_str_t from_uri, from_tag, to_uri, to_tag;
    sip_str_t contact_uri;
    sip_str_t instance;   /* +sip.instance of the Contact */
    int64_t expires;      /* Expires header, -1 if absent */
    int64_t contact_expires; /* expires= of the Contact, -1 if absent */
    sip_str_t user_agent;
    sip_str_t content_type;
    sip_via_t via[SIP_MAX_VIA];
    uint8_t nvia;
    uint8_t via_dropped;  /* Via entries past SIP_MAX_VIA */
    bool has_content_length;
    bool bad_content_length; /* present but not a number: SIP_INVALID */
    uint32_t content_length;
    const uint8_t *body;
    uint32_t body_len;
    const uint8_t *raw;   /* the message's first byte */
    uint32_t msg_len;     /* bytes of this message (headers + body) */
} sip_msg_t;

typedef enum {
    SIP_OK = 0,
    SIP_INCOMPLETE,  /* stream: more bytes needed */
    SIP_NOT_SIP,     /* the first line is not a SIP start line */
    SIP_INVALID,     /* malformed: a bound or a length is wrong */
} sip_rc_t;

/* Parses one message at buf. `stream` (TCP): the message ends where
 * Content-Length says, SIP_INCOMPLETE until it is all there. Datagram (UDP):
 * the body is the rest of the buffer, cut to Content-Length if given. A
 * Content-Length that is not a number (or past 16 MiB) is SIP_INVALID in
 * both modes: the message's end is unknown. */
sip_rc_t sip_parse(const uint8_t *buf, size_t len, bool stream, sip_msg_t *out);

/* True if the slice equals s (case-insensitive). */
bool sip_str_eq(sip_str_t a, const char *s);
/* Copies a slice into buf as a C string (cut to n-1). */
const char *sip_str_copy(sip_str_t a, char *buf, size_t n);

typedef struct {
    sip_str_t media;      /* audio, video, image (T.38) */
    uint16_t port;
    sip_str_t proto;      /* RTP/AVP, udptl ... */
    ip_addr_t addr;       /* c= of the media, else of the session */
    bool has_addr;
    uint16_t rtcp_port;   /* a=rtcp, else port + 1 */
    uint8_t dir;          /* SDP_SENDRECV ... */
    bool rtp;             /* proto is RTP (RTP/AVP, RTP/SAVPF ...), not udptl */
    uint8_t nmap;
    struct {
        uint8_t pt;
        uint32_t clock;   /* Hz */
    } map[SDP_MAX_RTPMAP]; /* a=rtpmap:PT name/clock lines */
} sdp_media_t;

enum { SDP_SENDRECV = 0, SDP_SENDONLY, SDP_RECVONLY, SDP_INACTIVE };

typedef struct {
    sdp_media_t m[SDP_MAX_MEDIA];
    uint8_t nm;
} sdp_t;

/* Parses an SDP body. Returns 0, or -1 if it is not SDP (no v= line). */
int sdp_parse(const uint8_t *buf, size_t len, sdp_t *out);

#endif
