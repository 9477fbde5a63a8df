/* SPDX-License-Identifier: MIT */
/* output.c: the events as JSON lines, written by the streaming writer
 * (sensor/jsonw.h) into one reused buffer; json-c only for the stats
 * object and the rare double it formats. */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compliance.h"
#include "conn.h"
#include "evschema.h"
#include "evtypes.h"
#include "flowid.h"
#include "jsonmemo.h"
#include "jsonw.h"
#include "log.h"

/* Events go to the file in whole lines: a line is added to this buffer
 * only whole, and the buffer is written with write(2) when the next line
 * would not fit, on output_flush() (the caller's clock: at least once a
 * second) and at the end. A kill -9 loses at most the buffer; it can stop
 * a write(2) between two pages of the file, and leave the last line cut:
 * the next run cuts that tail back to the last whole line (s_mend). */
#define OUTPUT_BUF (256u * 1024u)

#define OUTPUT_JUDGED 64 /* kept judgements, a power of two */
#define OUTPUT_SPANS 16  /* kept runs of members, a power of two */

struct output {
    int fd;            /* -1: no events file */
    bool own;
    char *path;
    char *buf;
    size_t used;
    uint64_t write_errors;
    char *sensor;
    char *common;      /* `"schema":N,"sensor":"..."`, the same in every event */
    size_t common_len;
    const rules_t *rules;
    classify_t *cls;
    void (*sink)(void *ctx, const char *line, size_t len);
    void *sink_ctx;
    jsonw_t w;         /* the event being written; its buffer is kept */
    jsonmemo_t *memo;  /* members whose values repeat, written once */
    /* The judgement's first members, `"verdict":...` to `"dest_role_by"`,
     * as text under the values they are written from (a few combinations
     * make most flows): copied whole instead of member by member. */
    struct judged {
        bool used;
        verdict_kind_t kind;
        reason_t reason;
        int rule, reply_rule;
        role_set_t roles[2];
        role_by_t by[2];
        char *txt;
        size_t len;
    } judged[OUTPUT_JUDGED];
    /* Runs of members written from two values (an event's type and site;
     * a flow's transport and nDPI pair), as text under them. */
    struct span {
        const char *what; /* which run: its first key's text names it */
        uint64_t a, b;
        char *txt;        /* without a leading comma */
        size_t len;
    } span[OUTPUT_SPANS];
};

/* Forgets the kept judgements (their rule ids and role names were the
 * rules'). */
static void s_judged_clear(output_t *self)
{
    for (size_t i = 0; i < OUTPUT_JUDGED; i++) {
        free(self->judged[i].txt);
        memset(&self->judged[i], 0, sizeof self->judged[i]);
    }
    for (size_t i = 0; i < OUTPUT_SPANS; i++) {
        free(self->span[i].txt);
        memset(&self->span[i], 0, sizeof self->span[i]);
    }
}

static struct span *s_span_slot(output_t *self, const char *what, uint64_t a, uint64_t b)
{
    uint64_t h = ((uint64_t)(uintptr_t)what ^ a * 0x9e3779b97f4a7c15ull) * 0xc2b2ae3d27d4eb4full;
    h ^= b * 0x165667b19e3779f9ull;
    return &self->span[(h ^ h >> 31) * 0x9e3779b97f4a7c15ull >> 60 & (OUTPUT_SPANS - 1)];
}

/* Writes the run (what, a, b) if it is kept and returns true; else false,
 * with *start set where the caller's writing of the run begins (for
 * s_span_keep). */
static bool s_span_write(output_t *self, const char *what, uint64_t a, uint64_t b, size_t *start)
{
    const struct span *sp = s_span_slot(self, what, a, b);
    if (sp->txt && sp->what == what && sp->a == a && sp->b == b) {
        jsonw_members(&self->w, sp->txt, sp->len);
        return true;
    }
    *start = 0;
    jsonw_text(&self->w, start);
    return false;
}

/* Keeps the run written since start as (what, a, b). */
static void s_span_keep(output_t *self, const char *what, uint64_t a, uint64_t b, size_t start)
{
    size_t end = 0;
    const char *t = jsonw_text(&self->w, &end);
    if (!t || end <= start)
        return;
    t += start;
    size_t n = end - start;
    if (*t == ',') { /* not its object's first member */
        t++;
        n--;
    }
    char *txt = n ? malloc(n) : NULL;
    if (!txt)
        return; /* written, not kept */
    memcpy(txt, t, n);
    struct span *sp = s_span_slot(self, what, a, b);
    free(sp->txt);
    sp->what = what;
    sp->a = a;
    sp->b = b;
    sp->txt = txt;
    sp->len = n;
}

void output_set_rules(output_t *self, const rules_t *rules)
{
    self->rules = rules;
    jsonmemo_clear(self->memo); /* its ids, roles and sites were the old rules' */
    s_judged_clear(self);
}

void output_set_sink(output_t *self, void (*fn)(void *ctx, const char *line, size_t len),
        void *ctx)
{
    self->sink = fn;
    self->sink_ctx = ctx;
}

/* Writes the members every event has after its type, once. */
static bool s_common(output_t *self)
{
    jsonw_t w;
    jsonw_init(&w);
    jsonw_open(&w, NULL);
    jsonw_int_k(&w, JSONW_K("schema"), EVSCHEMA_EVENT_VERSION);
    jsonw_str_k(&w, JSONW_K("sensor"), self->sensor);
    jsonw_close(&w);
    size_t n = 0;
    const char *txt = jsonw_members_of(&w, &n);
    if (txt && (self->common = malloc(n)))
        memcpy(self->common, txt, n);
    self->common_len = n;
    jsonw_fini(&w);
    return self->common != NULL;
}

output_t *output_new(const char *path, const char *sensor, const rules_t *rules,
        classify_t *cls, char *err, size_t errlen)
{
    output_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->rules = rules;
    self->cls = cls;
    self->fd = -1;
    self->sensor = strdup(sensor ? sensor : "pinhole");
    if (!self->sensor || !s_common(self) || !(self->memo = jsonmemo_new())) {
        snprintf(err, errlen, "out of memory");
        output_destroy(&self);
        return NULL;
    }
    if (path && (!(self->path = strdup(path)) || !(self->buf = malloc(OUTPUT_BUF)))) {
        snprintf(err, errlen, "out of memory");
        output_destroy(&self);
        return NULL;
    }
    if (path && strcmp(path, "-") == 0) {
        self->fd = STDOUT_FILENO;
    } else if (path && output_reopen(self, err, errlen) != 0) {
        output_destroy(&self);
    }
    return self;
}

#define OUTPUT_MEND_MAX (1u << 20) /* bytes looked back for a line's end */

/* A file whose last line a killed run left cut: back to its last whole
 * line (or, none within OUTPUT_MEND_MAX, the cut line ended there), said
 * once. Only a regular file: a pipe or a terminal has no tail to cut. */
static void s_mend(int fd, const char *path)
{
    struct stat sb;
    char buf[4096];
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0 ||
            pread(fd, buf, 1, sb.st_size - 1) != 1 || buf[0] == '\n')
        return;
    off_t limit = sb.st_size > (off_t)OUTPUT_MEND_MAX ? sb.st_size - (off_t)OUTPUT_MEND_MAX : 0;
    off_t pos = sb.st_size, cut = -1;
    while (cut < 0 && pos > limit) {
        size_t n = (size_t)(pos - limit) < sizeof buf ? (size_t)(pos - limit) : sizeof buf;
        pos -= (off_t)n;
        if (pread(fd, buf, n, pos) != (ssize_t)n)
            return;
        for (size_t i = n; cut < 0 && i-- > 0;)
            if (buf[i] == '\n')
                cut = pos + (off_t)i + 1;
    }
    if (cut < 0 && limit == 0)
        cut = 0; /* the file is one cut line */
    if (cut >= 0 && ftruncate(fd, cut) == 0) {
        log_warn("%s: the last run was stopped mid-line (kill -9?): %lld bytes of a cut line "
                 "removed", path, (long long)(sb.st_size - cut));
    } else if (write(fd, "\n", 1) == 1) {
        log_warn("%s: the last run was stopped mid-line (kill -9?): the cut line ended there",
                path);
    }
}

int output_reopen(output_t *self, char *err, size_t errlen)
{
    if (!self->path || strcmp(self->path, "-") == 0)
        return 0;
    output_flush(self);
    /* Appended to, never truncated: a restart keeps what the last run wrote. */
    int fd = open(self->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0 && errno == EACCES) /* may be written, not read: nothing to mend */
        fd = open(self->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot write: %s", self->path, strerror(errno));
        return -1;
    }
    s_mend(fd, self->path);
    if (self->own)
        close(self->fd);
    self->fd = fd;
    self->own = true;
    return 0;
}

void output_flush(output_t *self)
{
    size_t off = 0;
    /* Bounded: each pass writes something or gives up. */
    while (self->fd >= 0 && off < self->used) {
        ssize_t n = write(self->fd, self->buf + off, self->used - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            self->write_errors++; /* disk full, or the reader went away: lines lost */
            break;
        }
        off += (size_t)n;
    }
    self->used = 0;
}

uint64_t output_write_errors(const output_t *self)
{
    return self->write_errors;
}

void output_destroy(output_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    output_t *self = *self_p;
    if (self->buf)
        output_flush(self);
    if (self->own)
        close(self->fd);
    free(self->buf);
    free(self->path);
    free(self->sensor);
    free(self->common);
    jsonmemo_destroy(&self->memo);
    s_judged_clear(self);
    jsonw_fini(&self->w);
    free(self);
    *self_p = NULL;
}

static void s_write_line(output_t *self, const char *line, size_t len)
{
    if (self->used + len + 1 > OUTPUT_BUF)
        output_flush(self);
    if (len + 1 > OUTPUT_BUF) { /* longer than the buffer: written on its own */
        self->write_errors += write(self->fd, line, len) != (ssize_t)len;
        self->write_errors += write(self->fd, "\n", 1) != 1;
        return;
    }
    memcpy(self->buf + self->used, line, len);
    self->buf[self->used + len] = '\n';
    self->used += len + 1;
}

const char *output_time(uint64_t ts_us, char *buf, size_t n)
{
    char txt[JSONW_TIME_LEN];
    size_t len = jsonw_format_time(ts_us, txt);
    if (n) {
        len = len < n - 1 ? len : n - 1;
        memcpy(buf, txt, len);
        buf[len] = '\0';
    }
    return buf;
}

static const char *s_proto(uint8_t p)
{
    return p == 6 ? "TCP" : p == 17 ? "UDP" : p == 1 ? "ICMP" : p == 58 ? "IPv6-ICMP" : "other";
}

/* What an ICMP error says, in words: the distinction the firewall owner
 * needs (a filtering rule vs a host or port that is not there). */
static const char *s_icmp_meaning(uint8_t type, uint8_t code)
{
    if (type == 3) { /* ICMPv4 destination unreachable */
        switch (code) {
            case 0: return "net_unreachable";
            case 1: return "host_unreachable";
            case 3: return "port_unreachable";
            case 9: case 10: case 13: return "admin_prohibited";
            default: return "unreachable";
        }
    }
    if (type == 1) { /* ICMPv6 destination unreachable */
        switch (code) {
            case 0: return "no_route";
            case 1: case 5: case 6: return "admin_prohibited";
            case 3: return "host_unreachable";
            case 4: return "port_unreachable";
            default: return "unreachable";
        }
    }
    return type == 11 ? "time_exceeded" : "other";
}

static void s_rule(output_t *self, jsonw_key_t k, int rule)
{
    if (rule >= 0)
        jsonmemo_str(self->memo, &self->w, k, rules_rule(self->rules, (size_t)rule)->id);
}

/* Nobody reads the events: building them would be wasted. */
static bool s_off(const output_t *self)
{
    return self->fd < 0 && !self->sink;
}

/* The event's type as a prepared member (the types are plain words). */
#define S_TYPE(t) JSONW_M("event_type", "\"" t "\"")

/* Starts an event in the writer with the fields every event has. */
static void s_event(output_t *self, jsonw_key_t type, uint64_t ts_us, int site)
{
    jsonw_t *w = &self->w;
    jsonw_reset(w);
    jsonw_open(w, NULL);
    jsonw_time_k(w, JSONW_K("timestamp"), ts_us);
    size_t start;
    if (s_span_write(self, type.txt, (uint64_t)(int64_t)site, 0, &start))
        return;
    jsonw_member_k(w, type);
    jsonw_members(w, self->common, self->common_len);
    if (site >= 0)
        jsonmemo_str(self->memo, w, JSONW_K("site"), rules_site_name(self->rules, (size_t)site));
    s_span_keep(self, type.txt, (uint64_t)(int64_t)site, 0, start);
}

static void s_line(output_t *self, const char *line, size_t len)
{
    if (self->fd >= 0)
        s_write_line(self, line, len);
    if (self->sink)
        self->sink(self->sink_ctx, line, len);
}

void output_line(output_t *self, const char *line, size_t len)
{
    s_line(self, line, len);
}

/* Closes the event in the writer and writes it out. */
static void s_emit(output_t *self)
{
    jsonw_close(&self->w);
    size_t len = 0;
    const char *line = jsonw_text(&self->w, &len);
    if (!line || self->w.depth != 0) {
        self->write_errors++; /* out of memory: the event is lost, and counted */
        return;
    }
    s_line(self, line, len);
}

void output_object(output_t *self, void *jobj)
{
    if (s_off(self))
        return;
    size_t len = 0;
    const char *line = json_object_to_json_string_length(jobj,
            JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    s_line(self, line, len);
}

static void s_rtp_dir(jsonw_t *w, jsonw_key_t k, const media_dir_t *d)
{
    jsonw_open_k(w, k);
    jsonw_int_k(w, JSONW_K("packets"), d->pkts);
    jsonw_int_k(w, JSONW_K("lost"), d->lost);
    jsonw_fixed3_k(w, JSONW_K("jitter_ms"), d->jitter_ms);
    jsonw_close(w);
}

/* The flow's identity and ends, as EVE names them. */
static void s_ends(jsonw_t *w, const flow_view_t *fv)
{
    const flow_t *f = fv->f;
    char cid[FLOWID_COMMUNITY_LEN + 2];
    uint16_t sp = fv->sport, dp = fv->dport;
    if (f->key.proto == 1 || f->key.proto == 58) { /* Community ID: type and code */
        sp = f->icmp_type;
        dp = f->icmp_code;
    }
    jsonw_int_k(w, JSONW_K("flow_id"), (int64_t)flowid_stable(f));
    /* Base64 and "1:" need no escape: the id goes out between its quotes. */
    cid[0] = '"';
    flowid_community(0, fv->src, fv->dst, f->key.proto, sp, dp, cid + 1);
    size_t n = strlen(cid + 1);
    cid[n + 1] = '"';
    jsonw_raw_k(w, JSONW_K("community_id"), cid, n + 2);
    jsonw_ip_k(w, JSONW_K("src_ip"), fv->src);
    jsonw_int_k(w, JSONW_K("src_port"), fv->sport);
    jsonw_ip_k(w, JSONW_K("dest_ip"), fv->dst);
    jsonw_int_k(w, JSONW_K("dest_port"), fv->dport);
}

static void s_call_dir(jsonw_t *w, jsonw_key_t k, const media_call_t *c, int party)
{
    jsonw_open_k(w, k);
    jsonw_int_k(w, JSONW_K("packets"), c->pkts[party]);
    jsonw_int_k(w, JSONW_K("expected_ms"), (int64_t)(c->expected_us[party] / 1000u));
    jsonw_close(w);
}

void output_rtp_one_way(output_t *self, const media_call_t *c, int site, int party,
        const flow_view_t *fv)
{
    if (s_off(self))
        return;
    jsonw_t *w = &self->w;
    s_event(self, S_TYPE(EV_RTP_ONE_WAY), c->end_us, site);
    jsonw_str_k(w, JSONW_K("call_id"), c->call_id);
    jsonw_str_k(w, JSONW_K("missing"), c->missing == party ? "inbound" : "outbound");
    jsonw_str_k(w, JSONW_K("missing_toward"), c->missing == 0 ? "caller" : "callee");
    /* The call's two directions, seen from the site, over all its flows. */
    jsonw_open_k(w, JSONW_K("media"));
    s_call_dir(w, JSONW_K("inbound"), c, party);
    s_call_dir(w, JSONW_K("outbound"), c, !party);
    jsonw_close(w);
    if (fv) {
        s_ends(w, fv);
        s_rule(self, JSONW_K("rule"), fv->v.rule);
        jsonw_open_k(w, JSONW_K("rtp"));
        s_rtp_dir(w, JSONW_K("toserver"), &fv->ms->d[fv->orig]);
        s_rtp_dir(w, JSONW_K("toclient"), &fv->ms->d[fv->resp]);
        jsonw_close(w);
    }
    s_emit(self);
}

/* The flow's name, from the TLS ClientHello or the HTTP request. */
static void s_flow_host(jsonw_t *w, const flow_t *f)
{
    if (f->host[0] && (f->flags & FLOW_F_SNI) && !(f->flags & (FLOW_F_HOST_DNS | FLOW_F_HTTP))) {
        jsonw_open_k(w, JSONW_K("tls"));
        jsonw_str_k(w, JSONW_K("sni"), f->host);
        jsonw_close(w);
    } else if (f->host[0] && (f->flags & FLOW_F_HTTP) && !(f->flags & FLOW_F_HOST_DNS)) {
        jsonw_open_k(w, JSONW_K("http"));
        jsonw_str_k(w, JSONW_K("hostname"), f->host);
        jsonw_close(w);
    }
}

/* A side's roles as text: named once per role set (and rules). */
static void s_roles(output_t *self, flow_view_t *fv, jsonw_key_t k, int side)
{
    if (!jsonmemo_write(self->memo, &self->w, k, fv->v.roles[side]))
        jsonmemo_add(self->memo, &self->w, k, fv->v.roles[side], flow_view_roles(fv, self->rules, side));
}

/* The judgement's first members, the object's first: from the kept text
 * of the same values, or written and kept. */
static void s_judged(output_t *self, flow_view_t *fv)
{
    jsonw_t *w = &self->w;
    const verdict_t *v = &fv->v;
    uint64_t h = ((uint64_t)v->kind << 56 ^ (uint64_t)v->reason << 48 ^
                  (uint64_t)(uint32_t)v->rule << 24 ^ (uint64_t)(uint32_t)v->reply_rule ^
                  (uint64_t)v->by[0] << 40 ^ (uint64_t)v->by[1] << 44) * 0x9e3779b97f4a7c15ull;
    h ^= v->roles[0] * 0xc2b2ae3d27d4eb4full;
    h ^= (v->roles[1] ^ h >> 29) * 0x165667b19e3779f9ull;
    struct judged *j = &self->judged[h >> 58 & (OUTPUT_JUDGED - 1)];
    if (j->used && j->kind == v->kind && j->reason == v->reason && j->rule == v->rule &&
            j->reply_rule == v->reply_rule && j->roles[0] == v->roles[0] &&
            j->roles[1] == v->roles[1] && j->by[0] == v->by[0] && j->by[1] == v->by[1]) {
        jsonw_members(w, j->txt, j->len);
        return;
    }
    size_t start = 0, end = 0;
    jsonw_text(w, &start);
    jsonmemo_t *m = self->memo;
    jsonmemo_str(m, w, JSONW_K("verdict"), verdict_kind_str(v->kind));
    s_rule(self, JSONW_K("rule"), v->rule);
    s_rule(self, JSONW_K("reply_rule"), v->reply_rule);
    if (v->reason != REASON_NONE)
        jsonmemo_str(m, w, JSONW_K("reason"), verdict_reason_str(v->reason));
    s_roles(self, fv, JSONW_K("src_roles"), 0);
    s_roles(self, fv, JSONW_K("dest_roles"), 1);
    const char *by;
    if ((by = verdict_role_by_str(v->by[0])))
        jsonmemo_str(m, w, JSONW_K("src_role_by"), by);
    if ((by = verdict_role_by_str(v->by[1])))
        jsonmemo_str(m, w, JSONW_K("dest_role_by"), by);
    const char *t = jsonw_text(w, &end);
    char *txt;
    if (!t || end <= start || !(txt = malloc(end - start)))
        return; /* written, not kept */
    memcpy(txt, t + start, end - start);
    free(j->txt);
    j->used = true;
    j->kind = v->kind;
    j->reason = v->reason;
    j->rule = v->rule;
    j->reply_rule = v->reply_rule;
    j->roles[0] = v->roles[0];
    j->roles[1] = v->roles[1];
    j->by[0] = v->by[0];
    j->by[1] = v->by[1];
    j->txt = txt;
    j->len = end - start;
}

/* pinhole's judgement, in its own object (no clash with EVE's). */
static void s_flow_pinhole(output_t *self, flow_view_t *fv)
{
    jsonw_t *w = &self->w;
    const flow_t *f = fv->f;
    const verdict_t *v = &fv->v;
    jsonw_open_k(w, JSONW_K("pinhole"));
    jsonmemo_t *m = self->memo;
    s_judged(self, fv);
    if (f->host[0] && (f->flags & FLOW_F_HOST_DNS))
        jsonw_str_k(w, JSONW_K("dns_name"), f->host);
    if (v->remote >= 0 && v->geo.asn)
        jsonw_int_k(w, JSONW_K("asn"), v->geo.asn);
    if (v->remote >= 0 && v->geo.org[0])
        jsonw_str_k(w, JSONW_K("as_org"), v->geo.org);
    if (v->remote >= 0 && v->geo.country[0])
        jsonw_str_k(w, JSONW_K("country"), v->geo.country);
    if (f->flags & FLOW_F_ICMP) {
        jsonw_int_k(w, JSONW_K("icmp_type"), f->icmp_type);
        jsonw_int_k(w, JSONW_K("icmp_code"), f->icmp_code);
        jsonmemo_str(m, w, JSONW_K("icmp_meaning"), s_icmp_meaning(f->icmp_type, f->icmp_code));
    }
    if (v->nearest >= 0) {
        s_rule(self, JSONW_K("nearest_rule"), v->nearest);
        jsonmemo_str(m, w, JSONW_K("nearest_differs"), rules_near_str(v->near));
    }
    if (v->violation >= 0)
        jsonmemo_str(m, w, JSONW_K("violation"), rules_req(self->rules, (size_t)v->violation)->id);
    jsonw_close(w);
}

static void s_flow_counts(output_t *self, const flow_view_t *fv)
{
    jsonw_t *w = &self->w;
    const flow_t *f = fv->f;
    int o = fv->orig, r = fv->resp;
    jsonw_open_k(w, JSONW_K("flow"));
    jsonw_int_k(w, JSONW_K("pkts_toserver"), f->d[o].pkts);
    jsonw_int_k(w, JSONW_K("pkts_toclient"), f->d[r].pkts);
    jsonw_int_k(w, JSONW_K("bytes_toserver"), (int64_t)f->d[o].bytes);
    jsonw_int_k(w, JSONW_K("bytes_toclient"), (int64_t)f->d[r].bytes);
    jsonw_time_k(w, JSONW_K("start"), f->first_us);
    jsonw_time_k(w, JSONW_K("end"), f->last_us);
    if (f->key.proto == 6) {
        jsonmemo_str(self->memo, w, JSONW_K("conn_state"), conn_state(f));
        jsonw_str_k(w, JSONW_K("history"), f->history);
        jsonw_int_k(w, JSONW_K("attempts"), f->attempts);
    }
    if (f->dups)
        jsonw_int_k(w, JSONW_K("duplicates"), f->dups);
    jsonw_close(w);
}

void output_flow(output_t *self, flow_view_t *fv)
{
    if (s_off(self))
        return;
    jsonw_t *w = &self->w;
    const flow_t *f = fv->f;
    const media_stream_t *ms = fv->ms;
    s_event(self, S_TYPE(EV_FLOW), f->first_us, fv->v.site);
    /* EVE's fields first: the flow's identity, ends and application. */
    s_ends(w, fv);
    /* The name is nDPI's for the flow's (master, app) pair. */
    uint64_t pair = (uint64_t)f->master << 16 | f->app;
    const char *what = JSONW_K("proto").txt;
    size_t start;
    if (!s_span_write(self, what, f->key.proto, pair, &start)) {
        jsonmemo_str(self->memo, w, JSONW_K("proto"), s_proto(f->key.proto));
        if (!jsonmemo_write(self->memo, w, JSONW_K("app_proto"), pair))
            jsonmemo_add(self->memo, w, JSONW_K("app_proto"), pair, fv->app);
        s_span_keep(self, what, f->key.proto, pair, start);
    }
    s_flow_host(w, f);
    s_flow_pinhole(self, fv);
    s_flow_counts(self, fv);
    if (ms) {
        jsonw_open_k(w, JSONW_K("rtp"));
        jsonw_str_k(w, JSONW_K("call_id"), ms->call_id);
        s_rtp_dir(w, JSONW_K("toserver"), &ms->d[fv->orig]);
        s_rtp_dir(w, JSONW_K("toclient"), &ms->d[fv->resp]);
        jsonw_close(w);
    }
    s_emit(self);
}

/* The interval in seconds as json-c writes a double ("%.17g", trailing
 * zeros dropped, ".0" added to a whole number): json-c itself writes it,
 * as this event is rare. */
static void s_seconds(jsonw_t *w, jsonw_key_t k, double v)
{
    json_object *d = json_object_new_double(v);
    size_t n = 0;
    const char *txt = d ? json_object_to_json_string_length(d,
            JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n) : NULL;
    if (txt)
        jsonw_raw_k(w, k, txt, n);
    else
        w->failed = true;
    json_object_put(d);
}

void output_nat_change(output_t *self, const nat_change_t *c)
{
    if (s_off(self))
        return;
    jsonw_t *w = &self->w;
    s_event(self, S_TYPE(EV_NAT_PORT_CHANGE), c->new_us, c->site);
    jsonw_str_k(w, JSONW_K("vantage"), c->vantage == NAT_INSIDE ? "inside" : "outside");
    jsonw_str_k(w, JSONW_K("aor"), c->aor);
    jsonw_str_k(w, JSONW_K("call_id"), c->call_id);
    jsonw_int_k(w, JSONW_K("cseq"), (int64_t)c->cseq);
    if (c->priv[0])
        jsonw_str_k(w, JSONW_K("private"), c->priv);
    jsonw_str_k(w, JSONW_K("old_public"), c->old_public);
    jsonw_str_k(w, JSONW_K("new_public"), c->new_public);
    jsonw_time_k(w, JSONW_K("old_time"), c->old_us);
    jsonw_time_k(w, JSONW_K("new_time"), c->new_us);
    s_seconds(w, JSONW_K("interval"), (double)(c->new_us - c->old_us) / 1e6);
    s_emit(self);
}

void output_nat_binding(output_t *self, const nat_binding_t *b)
{
    if (s_off(self))
        return;
    jsonw_t *w = &self->w;
    s_event(self, S_TYPE(EV_NAT_BINDING), b->ts_us, b->site);
    jsonw_str_k(w, JSONW_K("vantage"), b->vantage == NAT_INSIDE ? "inside" : "outside");
    jsonw_str_k(w, JSONW_K("private"), b->priv);
    jsonw_str_k(w, JSONW_K("public"), b->public_);
    if (b->old_public[0])
        jsonw_str_k(w, JSONW_K("old_public"), b->old_public);
    jsonw_str_k(w, JSONW_K("method"), b->method);
    jsonw_str_k(w, JSONW_K("call_id"), b->call_id);
    s_emit(self);
}

void output_sip_alg(output_t *self, const alg_sign_t *sg)
{
    if (s_off(self))
        return;
    jsonw_t *w = &self->w;
    s_event(self, S_TYPE(EV_SIP_ALG), sg->ts_us, sg->site);
    jsonw_str_k(w, JSONW_K("evidence"), sg->how);
    jsonw_str_k(w, JSONW_K("call_id"), sg->call_id);
    jsonw_str_k(w, JSONW_K("message"), sg->message);
    jsonw_str_k(w, JSONW_K("header"), sg->header);
    jsonw_str_k(w, JSONW_K("inside"), sg->inside);
    if (sg->outside[0] || strcmp(sg->how, "compared") == 0)
        jsonw_str_k(w, JSONW_K("outside"), sg->outside);
    s_emit(self);
}

void output_missed_call(output_t *self, const nat_stale_t *st, const char *reason)
{
    if (s_off(self))
        return;
    jsonw_t *w = &self->w;
    s_event(self, S_TYPE(EV_MISSED_CALL), st->ts_us, st->site);
    jsonw_str_k(w, JSONW_K("reason"), reason);
    if (st->aor[0])
        jsonw_str_k(w, JSONW_K("aor"), st->aor);
    if (st->call_id[0])
        jsonw_str_k(w, JSONW_K("call_id"), st->call_id);
    jsonw_str_k(w, JSONW_K("target"), st->target);
    if (st->current[0])
        jsonw_str_k(w, JSONW_K("current_public"), st->current);
    s_emit(self);
}

static void s_sip_via(jsonw_t *w, const siptx_t *tx)
{
    jsonw_open_k(w, JSONW_K("via"));
    jsonw_str_k(w, JSONW_K("sent_by"), tx->via_sent_by);
    jsonw_str_k(w, JSONW_K("branch"), tx->via_branch);
    if (tx->via_rport >= 0)
        jsonw_int_k(w, JSONW_K("rport"), tx->via_rport);
    if (tx->via_received[0])
        jsonw_str_k(w, JSONW_K("received"), tx->via_received);
    jsonw_close(w);
}

void output_sip(output_t *self, const siptx_t *tx, const char *end)
{
    if (s_off(self))
        return;
    jsonw_t *w = &self->w;
    s_event(self, S_TYPE(EV_SIP), tx->req_us, tx->site);
    jsonw_ip_k(w, JSONW_K("src_ip"), &tx->src);
    jsonw_int_k(w, JSONW_K("src_port"), tx->sport);
    jsonw_ip_k(w, JSONW_K("dest_ip"), &tx->dst);
    jsonw_int_k(w, JSONW_K("dest_port"), tx->dport);
    jsonw_open_k(w, JSONW_K("sip"));
    jsonw_str_k(w, JSONW_K("method"), tx->method);
    jsonw_int_k(w, JSONW_K("cseq"), tx->cseq);
    jsonw_str_k(w, JSONW_K("call_id"), tx->call_id);
    if (tx->status)
        jsonw_int_k(w, JSONW_K("code"), tx->status);
    jsonw_str_k(w, JSONW_K("end"), end);
    if (tx->from[0])
        jsonw_str_k(w, JSONW_K("from"), tx->from);
    if (tx->to[0])
        jsonw_str_k(w, JSONW_K("to"), tx->to);
    if (tx->contact[0])
        jsonw_str_k(w, JSONW_K("contact"), tx->contact);
    if (tx->user_agent[0])
        jsonw_str_k(w, JSONW_K("user_agent"), tx->user_agent);
    if (tx->expires >= 0)
        jsonw_int_k(w, JSONW_K("expires"), tx->expires);
    s_sip_via(w, tx);
    if (tx->resp_us >= tx->req_us && tx->status)
        jsonw_fixed3_k(w, JSONW_K("response_ms"), (double)(tx->resp_us - tx->req_us) / 1000.0);
    if (tx->retransmissions)
        jsonw_int_k(w, JSONW_K("retransmissions"), tx->retransmissions);
    jsonw_close(w);
    s_emit(self);
}

static void s_summary_nat(jsonw_t *w, const nat_site_stats_t *ns, const char *nat_verdict)
{
    jsonw_open_k(w, JSONW_K("nat"));
    jsonw_int_k(w, JSONW_K("registers"), (int64_t)ns->registers);
    jsonw_int_k(w, JSONW_K("comparisons"), (int64_t)ns->comparisons);
    jsonw_int_k(w, JSONW_K("changes"), (int64_t)ns->changes);
    /* Per vantage: inside and outside copies of one REGISTER are one
     * comparison; the collector takes the larger vantage (docs/collector.md). */
    jsonw_int_k(w, JSONW_K("comparisons_inside"), (int64_t)ns->comparisons_v[NAT_INSIDE]);
    jsonw_int_k(w, JSONW_K("comparisons_outside"), (int64_t)ns->comparisons_v[NAT_OUTSIDE]);
    jsonw_int_k(w, JSONW_K("changes_inside"), (int64_t)ns->changes_v[NAT_INSIDE]);
    jsonw_int_k(w, JSONW_K("changes_outside"), (int64_t)ns->changes_v[NAT_OUTSIDE]);
    jsonw_int_k(w, JSONW_K("reboots"), (int64_t)ns->reboots);
    jsonw_int_k(w, JSONW_K("lapsed"), (int64_t)ns->silences);
    jsonw_int_k(w, JSONW_K("no_rport"), (int64_t)ns->no_rport);
    jsonw_int_k(w, JSONW_K("behind_nat"), (int64_t)ns->behind_nat);
    jsonw_int_k(w, JSONW_K("mapping_changes"), (int64_t)ns->mapping_changes);
    jsonw_str_k(w, JSONW_K("verdict"), nat_verdict);
    if (strcmp(nat_verdict, "not_checked") == 0)
        jsonw_str_k(w, JSONW_K("reason"), COMPLIANCE_REASON_SIP_TLS);
    jsonw_close(w);
}

void output_site_summary(output_t *self, int site, uint64_t ts_us, const nat_site_stats_t *ns,
        const char *nat_verdict, const alg_site_stats_t *as, uint64_t sip_tls_flows)
{
    if (s_off(self))
        return;
    jsonw_t *w = &self->w;
    s_event(self, S_TYPE(EV_SITE_SUMMARY), ts_us, site);
    s_summary_nat(w, ns, nat_verdict);
    jsonw_int_k(w, JSONW_K("sip_tls_flows"), (int64_t)sip_tls_flows);
    jsonw_open_k(w, JSONW_K("sip_alg"));
    jsonw_int_k(w, JSONW_K("compared"), (int64_t)as->compared);
    jsonw_int_k(w, JSONW_K("rewritten"), (int64_t)as->rewritten);
    jsonw_int_k(w, JSONW_K("heuristic"), (int64_t)as->heuristic);
    jsonw_close(w);
    jsonw_int_k(w, JSONW_K("sip_messages"), (int64_t)ns->sip_messages);
    s_emit(self);
}

void output_stats(output_t *self, uint64_t ts_us, void *stats)
{
    /* The stats object is json-c's (pipeline.c builds it): written as it is. */
    if (!s_off(self)) {
        size_t n = 0;
        const char *txt = json_object_to_json_string_length(stats,
                JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        s_event(self, S_TYPE(EV_STATS), ts_us, -1);
        jsonw_raw_k(&self->w, JSONW_K("stats"), txt ? txt : "null", txt ? n : 4);
        s_emit(self);
    }
    json_object_put(stats);
}
