/* SPDX-License-Identifier: MIT */
/* sip.c: SIP message parser (RFC 3261 section 7, 20) and SDP (RFC 4566).
 *
 *   start line:  METHOD SP Request-URI SP SIP/2.0  |  SIP/2.0 SP code SP reason
 *   headers:     name ":" value CRLF ... CRLF      (compact names: v f t i m l c)
 *   Via:         SIP/2.0/UDP host[:port];branch=..;received=..;rport[=n] [, ...]
 *
 * Lines are found with an index kept below the length; every slice points
 * into the caller's buffer. Bare LF line ends are accepted (RFC 3261 7.5
 * asks for CRLF, real phones sometimes send LF). */
#include "sip.h"

#include <string.h>
#include <strings.h>

typedef struct {
    const char *b;
    size_t len, off;
} lines_t;

/* The next line (without its CR LF); false if no line end is left. */
static bool s_line(lines_t *l, sip_str_t *out)
{
    size_t start = l->off;
    const char *nl = l->off < l->len ? memchr(l->b + l->off, '\n', l->len - l->off) : NULL;
    if (!nl)
        return false;
    size_t end = (size_t)(nl - l->b);
    l->off = end + 1;
    if (end > start && l->b[end - 1] == '\r')
        end--;
    out->p = l->b + start;
    out->len = (uint32_t)(end - start);
    return true;
}

static sip_str_t s_trim(sip_str_t s)
{
    while (s.len && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.len--;
    }
    while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
        s.len--;
    return s;
}

bool sip_str_eq(sip_str_t a, const char *s)
{
    size_t n = strlen(s);
    return a.len == n && strncasecmp(a.p, s, n) == 0;
}

const char *sip_str_copy(sip_str_t a, char *buf, size_t n)
{
    size_t len = a.len < n - 1 ? a.len : n - 1;
    if (len)
        memcpy(buf, a.p, len);
    buf[len] = '\0';
    return buf;
}

/* A decimal number of at most `max`; false if not one. */
static bool s_num(sip_str_t s, uint64_t max, uint64_t *out)
{
    s = s_trim(s);
    uint64_t v = 0;
    if (!s.len)
        return false;
    for (uint32_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s.p[i] - '0');
        if (v > max)
            return false;
    }
    *out = v;
    return true;
}

/* Position of c in s at or after `from`, or s.len. */
static uint32_t s_find(sip_str_t s, uint32_t from, char c)
{
    for (uint32_t i = from; i < s.len; i++)
        if (s.p[i] == c)
            return i;
    return s.len;
}

static sip_str_t s_sub(sip_str_t s, uint32_t from, uint32_t to)
{
    sip_str_t r = {s.p + from, to > from ? to - from : 0};
    return r;
}

/* The value of parameter `name` in ";a=b;name=value;c" (empty if a flag). */
static bool s_param(sip_str_t params, const char *name, sip_str_t *val)
{
    size_t nl = strlen(name);
    uint32_t i = 0;
    while (i < params.len) {
        uint32_t semi = s_find(params, i, ';');
        sip_str_t p = s_trim(s_sub(params, i, semi));
        uint32_t eq = s_find(p, 0, '=');
        sip_str_t key = s_trim(s_sub(p, 0, eq));
        if (key.len == nl && strncasecmp(key.p, name, nl) == 0) {
            *val = eq < p.len ? s_trim(s_sub(p, eq + 1, p.len)) : s_sub(p, 0, 0);
            if (val->len >= 2 && val->p[0] == '"' && val->p[val->len - 1] == '"')
                *val = s_sub(*val, 1, val->len - 1);
            return true;
        }
        i = semi + 1;
    }
    return false;
}

/* host[:port] or [v6]:port */
static void s_hostport(sip_str_t hp, sip_str_t *host, uint16_t *port)
{
    uint64_t v;
    *port = 0;
    if (hp.len && hp.p[0] == '[') {
        uint32_t close = s_find(hp, 1, ']');
        *host = s_sub(hp, 1, close);
        if (close + 1 < hp.len && hp.p[close + 1] == ':' &&
                s_num(s_sub(hp, close + 2, hp.len), 65535, &v))
            *port = (uint16_t)v;
        return;
    }
    uint32_t colon = s_find(hp, 0, ':');
    /* A bare IPv6 address has several colons: no port then. */
    if (colon < hp.len && s_find(hp, colon + 1, ':') == hp.len) {
        *host = s_sub(hp, 0, colon);
        if (s_num(s_sub(hp, colon + 1, hp.len), 65535, &v))
            *port = (uint16_t)v;
    } else {
        *host = hp;
    }
}

static void s_via_one(sip_str_t v, sip_msg_t *m)
{
    if (m->nvia >= SIP_MAX_VIA) {
        if (m->via_dropped < 255)
            m->via_dropped++;
        return;
    }
    sip_via_t *via = &m->via[m->nvia++];
    memset(via, 0, sizeof *via);
    v = s_trim(v);
    /* "SIP/2.0/UDP" then white space then sent-by */
    uint32_t sp = 0;
    while (sp < v.len && v.p[sp] != ' ' && v.p[sp] != '\t')
        sp++;
    sip_str_t proto = s_sub(v, 0, sp);
    uint32_t slash = proto.len;
    while (slash > 0 && proto.p[slash - 1] != '/')
        slash--;
    via->transport = s_sub(proto, slash, proto.len);
    sip_str_t rest = s_trim(s_sub(v, sp, v.len));
    uint32_t semi = s_find(rest, 0, ';');
    s_hostport(s_trim(s_sub(rest, 0, semi)), &via->host, &via->port);
    sip_str_t params = s_sub(rest, semi, rest.len), val;
    if (s_param(params, "received", &val))
        via->received = val;
    if (s_param(params, "branch", &val))
        via->branch = val;
    if (s_param(params, "rport", &val)) {
        uint64_t n;
        via->rport = true;
        if (val.len && s_num(val, 65535, &n))
            via->rport_value = (uint16_t)n;
    }
}

/* Via values may hold several entries separated by commas. */
static void s_via(sip_str_t v, sip_msg_t *m)
{
    uint32_t i = 0;
    while (i < v.len) {
        uint32_t comma = s_find(v, i, ',');
        s_via_one(s_sub(v, i, comma), m);
        i = comma + 1;
    }
}

/* name-addr or addr-spec: the URI, and what follows it (header params). */
static void s_addr(sip_str_t v, sip_str_t *uri, sip_str_t *params)
{
    v = s_trim(v);
    uint32_t lt = s_find(v, 0, '<');
    if (lt < v.len) {
        uint32_t gt = s_find(v, lt + 1, '>');
        *uri = s_sub(v, lt + 1, gt);
        *params = gt < v.len ? s_sub(v, gt + 1, v.len) : s_sub(v, 0, 0);
        return;
    }
    uint32_t semi = s_find(v, 0, ';');
    *uri = s_trim(s_sub(v, 0, semi));
    *params = s_sub(v, semi, v.len);
}

/* The address-of-record part of a URI: scheme:user@host, no params/port. */
static sip_str_t s_aor(sip_str_t uri)
{
    uint32_t semi = s_find(uri, 0, ';');
    uri = s_sub(uri, 0, semi);
    uint32_t q = s_find(uri, 0, '?');
    return s_sub(uri, 0, q);
}

static void s_header(sip_str_t name, sip_str_t v, sip_msg_t *m)
{
    sip_str_t params, val;
    uint64_t n;
    if (sip_str_eq(name, "Via") || sip_str_eq(name, "v")) {
        s_via(v, m);
    } else if (sip_str_eq(name, "Call-ID") || sip_str_eq(name, "i")) {
        m->call_id = v;
    } else if (sip_str_eq(name, "From") || sip_str_eq(name, "f")) {
        s_addr(v, &m->from_uri, &params);
        m->from_uri = s_aor(m->from_uri);
        if (s_param(params, "tag", &val))
            m->from_tag = val;
    } else if (sip_str_eq(name, "To") || sip_str_eq(name, "t")) {
        s_addr(v, &m->to_uri, &params);
        m->to_uri = s_aor(m->to_uri);
        if (s_param(params, "tag", &val))
            m->to_tag = val;
    } else if ((sip_str_eq(name, "Contact") || sip_str_eq(name, "m")) && !m->contact_uri.len) {
        sip_str_t first = s_sub(v, 0, s_find(v, 0, ','));
        s_addr(first, &m->contact_uri, &params);
        if (s_param(params, "expires", &val) && s_num(val, 0xffffffffu, &n))
            m->contact_expires = (int64_t)n;
        if (s_param(params, "+sip.instance", &val))
            m->instance = val;
    } else if (sip_str_eq(name, "CSeq")) {
        uint32_t sp = s_find(v, 0, ' ');
        if (s_num(s_sub(v, 0, sp), 0xffffffffu, &n))
            m->cseq = (uint32_t)n;
        m->cseq_method = s_trim(s_sub(v, sp, v.len));
    } else if (sip_str_eq(name, "Expires")) {
        if (s_num(v, 0xffffffffu, &n))
            m->expires = (int64_t)n;
    } else if (sip_str_eq(name, "User-Agent") || sip_str_eq(name, "Server")) {
        if (!m->user_agent.len)
            m->user_agent = v;
    } else if (sip_str_eq(name, "Content-Type") || sip_str_eq(name, "c")) {
        m->content_type = v;
    } else if (sip_str_eq(name, "Content-Length") || sip_str_eq(name, "l")) {
        if (s_num(v, 1u << 24, &n)) {
            m->has_content_length = true;
            m->content_length = (uint32_t)n;
        } else {
            m->bad_content_length = true;
        }
    }
}

static sip_rc_t s_start_line(sip_str_t l, sip_msg_t *m)
{
    if (l.len >= 8 && strncmp(l.p, "SIP/2.0 ", 8) == 0) {
        uint64_t code;
        if (l.len < 11 || !s_num(s_sub(l, 8, 11), 699, &code) || code < 100)
            return SIP_INVALID;
        m->status = (int)code;
        return SIP_OK;
    }
    uint32_t sp1 = s_find(l, 0, ' ');
    uint32_t sp2 = s_find(l, sp1 + 1, ' ');
    if (sp1 == 0 || sp1 >= l.len || sp2 >= l.len || !sip_str_eq(s_sub(l, sp2 + 1, l.len), "SIP/2.0"))
        return SIP_NOT_SIP;
    for (uint32_t i = 0; i < sp1; i++)
        if (l.p[i] < 'A' || l.p[i] > 'Z')
            return SIP_NOT_SIP;
    m->is_request = true;
    m->method = s_sub(l, 0, sp1);
    m->uri = s_sub(l, sp1 + 1, sp2);
    return SIP_OK;
}

sip_rc_t sip_parse(const uint8_t *buf, size_t len, bool stream, sip_msg_t *out)
{
    memset(out, 0, sizeof *out);
    out->expires = out->contact_expires = -1;
    lines_t l = {(const char *)buf, len, 0};
    /* Keep-alives (CRLF) before a message on a stream are skipped by the caller. */
    sip_str_t line;
    if (!s_line(&l, &line))
        return stream && len < SIP_MAX_LINE ? SIP_INCOMPLETE : SIP_NOT_SIP;
    if (line.len > SIP_MAX_LINE)
        return SIP_INVALID;
    sip_rc_t rc = s_start_line(line, out);
    if (rc != SIP_OK)
        return rc;
    int nh = 0;
    for (;;) {
        if (!s_line(&l, &line))
            return stream ? SIP_INCOMPLETE : SIP_INVALID;
        if (line.len == 0)
            break;
        if (line.len > SIP_MAX_LINE || ++nh > SIP_MAX_HEADERS)
            return SIP_INVALID;
        if (line.p[0] == ' ' || line.p[0] == '\t')
            continue; /* folded continuation: not needed for what we keep */
        uint32_t colon = s_find(line, 0, ':');
        if (colon >= line.len)
            return SIP_INVALID;
        s_header(s_trim(s_sub(line, 0, colon)), s_trim(s_sub(line, colon + 1, line.len)), out);
    }
    if (!out->is_request)
        out->method = out->cseq_method;
    size_t body = l.off, left = len - body;
    if (out->bad_content_length)
        return SIP_INVALID; /* not "absent": the end of the message is unknown */
    if (stream) {
        if (!out->has_content_length)
            return SIP_INVALID; /* RFC 3261 18.3: mandatory on streams */
        if (left < out->content_length)
            return SIP_INCOMPLETE;
        left = out->content_length;
    } else if (out->has_content_length) {
        if (out->content_length > left)
            return SIP_INVALID; /* cut by the snap length, or lying */
        left = out->content_length;
    }
    out->raw = buf;
    out->body = buf + body;
    out->body_len = (uint32_t)left;
    out->msg_len = (uint32_t)(body + left);
    return SIP_OK;
}

/* ------------------------------------------------------------------ */
/* SDP                                                                 */

static bool s_conn_addr(sip_str_t v, ip_addr_t *out)
{
    /* c=IN IP4 192.0.2.1  |  c=IN IP6 2001:db8::1  (a /ttl suffix is dropped) */
    uint32_t sp1 = s_find(v, 0, ' '), sp2 = s_find(v, sp1 + 1, ' ');
    if (sp2 >= v.len)
        return false;
    sip_str_t a = s_sub(v, sp2 + 1, v.len);
    a = s_sub(a, 0, s_find(a, 0, '/'));
    char buf[64];
    return a.len < sizeof buf && ip_parse(sip_str_copy(s_trim(a), buf, sizeof buf), out);
}

/* a=rtpmap:96 opus/48000/2: payload type 96 counts at 48 kHz. */
static void s_rtpmap(sip_str_t v, sdp_media_t *m)
{
    uint64_t pt, clock;
    uint32_t sp = s_find(v, 0, ' ');
    sip_str_t enc = s_sub(v, sp + 1, v.len);
    uint32_t sl = s_find(enc, 0, '/');
    sip_str_t rate = s_sub(enc, sl + 1, enc.len);
    rate = s_sub(rate, 0, s_find(rate, 0, '/'));
    if (m->nmap >= SDP_MAX_RTPMAP || !s_num(s_sub(v, 0, sp), 127, &pt) ||
            !s_num(s_trim(rate), 10000000, &clock) || clock == 0)
        return;
    m->map[m->nmap].pt = (uint8_t)pt;
    m->map[m->nmap].clock = (uint32_t)clock;
    m->nmap++;
}

int sdp_parse(const uint8_t *buf, size_t len, sdp_t *out)
{
    memset(out, 0, sizeof *out);
    lines_t l = {(const char *)buf, len, 0};
    sip_str_t line;
    ip_addr_t session;
    bool has_session = false, seen_v = false;
    uint8_t session_dir = SDP_SENDRECV;
    sdp_media_t *cur = NULL;
    int nlines = 0;
    while (nlines++ < 512) {
        if (!s_line(&l, &line)) {
            if (l.off >= len)
                break;
            line.p = l.b + l.off; /* a last line without its line end */
            line.len = (uint32_t)(len - l.off);
            l.off = len;
        }
        if (line.len < 2 || line.p[1] != '=')
            continue;
        sip_str_t v = s_sub(line, 2, line.len);
        uint64_t n;
        switch (line.p[0]) {
            case 'v':
                seen_v = true;
                break;
            case 'c':
                if (cur)
                    cur->has_addr = s_conn_addr(v, &cur->addr);
                else
                    has_session = s_conn_addr(v, &session);
                break;
            case 'm': {
                if (out->nm >= SDP_MAX_MEDIA) {
                    cur = NULL;
                    break;
                }
                cur = &out->m[out->nm++];
                uint32_t sp1 = s_find(v, 0, ' '), sp2 = s_find(v, sp1 + 1, ' ');
                uint32_t sp3 = s_find(v, sp2 + 1, ' ');
                sip_str_t port = s_sub(v, sp1 + 1, sp2);
                port = s_sub(port, 0, s_find(port, 0, '/'));
                cur->media = s_sub(v, 0, sp1);
                cur->proto = s_sub(v, sp2 + 1, sp3);
                if (s_num(port, 65535, &n))
                    cur->port = (uint16_t)n;
                cur->dir = session_dir;
                cur->rtp = cur->proto.len >= 3 && strncasecmp(cur->proto.p, "RTP", 3) == 0;
                break;
            }
            case 'a': {
                uint8_t *dir = cur ? &cur->dir : &session_dir;
                if (sip_str_eq(v, "sendrecv"))
                    *dir = SDP_SENDRECV;
                else if (sip_str_eq(v, "sendonly"))
                    *dir = SDP_SENDONLY;
                else if (sip_str_eq(v, "recvonly"))
                    *dir = SDP_RECVONLY;
                else if (sip_str_eq(v, "inactive"))
                    *dir = SDP_INACTIVE;
                else if (cur && v.len > 5 && strncasecmp(v.p, "rtcp:", 5) == 0) {
                    sip_str_t p = s_sub(v, 5, v.len);
                    if (s_num(s_sub(p, 0, s_find(p, 0, ' ')), 65535, &n))
                        cur->rtcp_port = (uint16_t)n;
                } else if (cur && v.len > 7 && strncasecmp(v.p, "rtpmap:", 7) == 0) {
                    s_rtpmap(s_sub(v, 7, v.len), cur);
                }
                break;
            }
            default:
                break;
        }
    }
    for (uint8_t i = 0; i < out->nm; i++) {
        if (!out->m[i].has_addr && has_session) {
            out->m[i].addr = session;
            out->m[i].has_addr = true;
        }
        if (!out->m[i].rtcp_port && out->m[i].port)
            out->m[i].rtcp_port = (uint16_t)(out->m[i].port + 1);
    }
    return seen_v ? 0 : -1;
}
