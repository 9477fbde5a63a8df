/* SPDX-License-Identifier: MIT */
/* output.c: flow events as JSON lines (json-c). */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compliance.h"
#include "conn.h"
#include "evschema.h"
#include "evtypes.h"
#include "flowid.h"

/* Events go to the file in whole lines: a line is added to this buffer
 * only whole, and the buffer is written with write(2) when the next line
 * would not fit, on output_flush() (the caller's clock: at least once a
 * second) and at the end. A kill -9 loses at most the buffer, never leaves
 * half a line. */
#define OUTPUT_BUF (256u * 1024u)

struct output {
    int fd;            /* -1: no events file */
    bool own;
    char *path;
    char *buf;
    size_t used;
    uint64_t write_errors;
    char *sensor;
    const rules_t *rules;
    classify_t *cls;
    void (*sink)(void *ctx, const char *line, size_t len);
    void *sink_ctx;
};

void output_set_rules(output_t *self, const rules_t *rules)
{
    self->rules = rules;
}

void output_set_sink(output_t *self, void (*fn)(void *ctx, const char *line, size_t len),
        void *ctx)
{
    self->sink = fn;
    self->sink_ctx = ctx;
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

int output_reopen(output_t *self, char *err, size_t errlen)
{
    if (!self->path || strcmp(self->path, "-") == 0)
        return 0;
    output_flush(self);
    /* Appended to, never truncated: a restart keeps what the last run wrote. */
    int fd = open(self->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot write: %s", self->path, strerror(errno));
        return -1;
    }
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
    time_t sec = (time_t)(ts_us / 1000000u);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, n, "%s.%06u+0000", base, (unsigned)(ts_us % 1000000u));
    return buf;
}

static void s_str(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, json_object_new_string(v));
}

static void s_int(json_object *o, const char *k, int64_t v)
{
    json_object_object_add(o, k, json_object_new_int64(v));
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

static void s_rule(output_t *self, json_object *o, const char *k, int rule)
{
    if (rule >= 0)
        s_str(o, k, rules_rule(self->rules, (size_t)rule)->id);
}

/* A new event object with the fields every event has. */
/* Nobody reads the events: building them would be wasted. */
static bool s_off(const output_t *self)
{
    return self->fd < 0 && !self->sink;
}

static json_object *s_event(output_t *self, const char *type, uint64_t ts_us, int site)
{
    char buf[64];
    json_object *e = json_object_new_object();
    s_str(e, "timestamp", output_time(ts_us, buf, sizeof buf));
    s_str(e, "event_type", type);
    s_int(e, "schema", EVSCHEMA_EVENT_VERSION);
    s_str(e, "sensor", self->sensor);
    if (site >= 0)
        s_str(e, "site", rules_site_name(self->rules, (size_t)site));
    return e;
}

void output_object(output_t *self, void *jobj)
{
    if (s_off(self))
        return;
    size_t len = 0;
    const char *line = json_object_to_json_string_length(jobj,
            JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    if (self->fd >= 0)
        s_write_line(self, line, len);
    if (self->sink)
        self->sink(self->sink_ctx, line, len);
}

static json_object *s_rtp_dir(const media_dir_t *d)
{
    json_object *o = json_object_new_object();
    s_int(o, "packets", d->pkts);
    s_int(o, "lost", d->lost);
    char txt[32];
    snprintf(txt, sizeof txt, "%.3f", d->jitter_ms);
    json_object_object_add(o, "jitter_ms", json_object_new_double_s(d->jitter_ms, txt));
    return o;
}

static void s_ends(json_object *e, const flow_t *f)
{
    char buf[64];
    int o = f->orig;
    s_str(e, "src_ip", ip_to_str(o ? &f->key.b : &f->key.a, buf, sizeof buf));
    s_int(e, "src_port", o ? f->key.pb : f->key.pa);
    s_str(e, "dest_ip", ip_to_str(o ? &f->key.a : &f->key.b, buf, sizeof buf));
    s_int(e, "dest_port", o ? f->key.pa : f->key.pb);
}

static json_object *s_call_dir(const media_call_t *c, int party)
{
    json_object *o = json_object_new_object();
    s_int(o, "packets", c->pkts[party]);
    s_int(o, "expected_ms", (int64_t)(c->expected_us[party] / 1000u));
    return o;
}

void output_rtp_one_way(output_t *self, const media_call_t *c, int site, int party,
        const flow_t *f, const verdict_t *v, const media_stream_t *ms)
{
    if (s_off(self))
        return;
    json_object *e = s_event(self, EV_RTP_ONE_WAY, c->end_us, site);
    s_str(e, "call_id", c->call_id);
    s_str(e, "missing", c->missing == party ? "inbound" : "outbound");
    s_str(e, "missing_toward", c->missing == 0 ? "caller" : "callee");
    /* The call's two directions, seen from the site, over all its flows. */
    json_object *m = json_object_new_object();
    json_object_object_add(m, "inbound", s_call_dir(c, party));
    json_object_object_add(m, "outbound", s_call_dir(c, !party));
    json_object_object_add(e, "media", m);
    if (f) {
        char cid[FLOWID_COMMUNITY_LEN];
        s_int(e, "flow_id", (int64_t)flowid_stable(f));
        s_str(e, "community_id", flowid_community_flow(f, cid));
        s_ends(e, f);
    }
    if (v)
        s_rule(self, e, "rule", v->rule);
    if (f && ms) {
        int o = f->orig;
        json_object *r = json_object_new_object();
        json_object_object_add(r, "toserver", s_rtp_dir(&ms->d[o]));
        json_object_object_add(r, "toclient", s_rtp_dir(&ms->d[!o]));
        json_object_object_add(e, "rtp", r);
    }
    output_object(self, e);
    json_object_put(e);
}

void output_flow(output_t *self, const flow_t *f, const verdict_t *v, const media_stream_t *ms)
{
    if (s_off(self))
        return;
    int o = f->orig, r = !f->orig;
    const ip_addr_t *src = o ? &f->key.b : &f->key.a, *dst = o ? &f->key.a : &f->key.b;
    char buf[128];
    json_object *e = s_event(self, EV_FLOW, f->first_us, v->site);
    /* EVE's fields first: the flow's identity, ends and application. */
    s_int(e, "flow_id", (int64_t)flowid_stable(f));
    s_str(e, "community_id", flowid_community_flow(f, buf));
    s_str(e, "src_ip", ip_to_str(src, buf, sizeof buf));
    s_int(e, "src_port", o ? f->key.pb : f->key.pa);
    s_str(e, "dest_ip", ip_to_str(dst, buf, sizeof buf));
    s_int(e, "dest_port", o ? f->key.pa : f->key.pb);
    s_str(e, "proto", s_proto(f->key.proto));
    s_str(e, "app_proto", classify_app_name(self->cls, f, buf, sizeof buf));
    if (f->host[0] && (f->flags & FLOW_F_SNI) && !(f->flags & (FLOW_F_HOST_DNS | FLOW_F_HTTP))) {
        json_object *tls = json_object_new_object();
        s_str(tls, "sni", f->host);
        json_object_object_add(e, "tls", tls);
    } else if (f->host[0] && (f->flags & FLOW_F_HTTP) && !(f->flags & FLOW_F_HOST_DNS)) {
        json_object *http = json_object_new_object();
        s_str(http, "hostname", f->host);
        json_object_object_add(e, "http", http);
    }
    /* pinhole's judgement, in its own object (no clash with EVE's). */
    json_object *ph = json_object_new_object();
    s_str(ph, "verdict", verdict_kind_str(v->kind));
    s_rule(self, ph, "rule", v->rule);
    s_rule(self, ph, "reply_rule", v->reply_rule);
    if (v->reason != REASON_NONE)
        s_str(ph, "reason", verdict_reason_str(v->reason));
    s_str(ph, "src_roles", rules_roles_str(self->rules, v->roles[0], buf, sizeof buf));
    s_str(ph, "dest_roles", rules_roles_str(self->rules, v->roles[1], buf, sizeof buf));
    const char *by;
    if ((by = verdict_role_by_str(v->by[0])))
        s_str(ph, "src_role_by", by);
    if ((by = verdict_role_by_str(v->by[1])))
        s_str(ph, "dest_role_by", by);
    if (f->host[0] && (f->flags & FLOW_F_HOST_DNS))
        s_str(ph, "dns_name", f->host);
    if (v->remote >= 0 && v->geo.asn)
        s_int(ph, "asn", v->geo.asn);
    if (v->remote >= 0 && v->geo.org[0])
        s_str(ph, "as_org", v->geo.org);
    if (v->remote >= 0 && v->geo.country[0])
        s_str(ph, "country", v->geo.country);
    if (f->flags & FLOW_F_ICMP) {
        s_int(ph, "icmp_type", f->icmp_type);
        s_int(ph, "icmp_code", f->icmp_code);
        s_str(ph, "icmp_meaning", s_icmp_meaning(f->icmp_type, f->icmp_code));
    }
    if (v->nearest >= 0) {
        s_rule(self, ph, "nearest_rule", v->nearest);
        s_str(ph, "nearest_differs", rules_near_str(v->near));
    }
    if (v->violation >= 0)
        s_str(ph, "violation", rules_req(self->rules, (size_t)v->violation)->id);
    json_object_object_add(e, "pinhole", ph);
    json_object *fl = json_object_new_object();
    s_int(fl, "pkts_toserver", f->d[o].pkts);
    s_int(fl, "pkts_toclient", f->d[r].pkts);
    s_int(fl, "bytes_toserver", (int64_t)f->d[o].bytes);
    s_int(fl, "bytes_toclient", (int64_t)f->d[r].bytes);
    s_str(fl, "start", output_time(f->first_us, buf, sizeof buf));
    s_str(fl, "end", output_time(f->last_us, buf, sizeof buf));
    if (f->key.proto == 6) {
        s_str(fl, "conn_state", conn_state(f));
        s_str(fl, "history", f->history);
        s_int(fl, "attempts", f->attempts);
    }
    if (f->dups)
        s_int(fl, "duplicates", f->dups);
    json_object_object_add(e, "flow", fl);
    if (ms) {
        json_object *rtp = json_object_new_object();
        s_str(rtp, "call_id", ms->call_id);
        json_object_object_add(rtp, "toserver", s_rtp_dir(&ms->d[o]));
        json_object_object_add(rtp, "toclient", s_rtp_dir(&ms->d[r]));
        json_object_object_add(e, "rtp", rtp);
    }
    output_object(self, e);
    json_object_put(e);
}

void output_nat_change(output_t *self, const nat_change_t *c)
{
    if (s_off(self))
        return;
    char buf[64];
    json_object *e = s_event(self, EV_NAT_PORT_CHANGE, c->new_us, c->site);
    s_str(e, "vantage", c->vantage == NAT_INSIDE ? "inside" : "outside");
    s_str(e, "aor", c->aor);
    s_str(e, "call_id", c->call_id);
    s_int(e, "cseq", (int64_t)c->cseq);
    if (c->priv[0])
        s_str(e, "private", c->priv);
    s_str(e, "old_public", c->old_public);
    s_str(e, "new_public", c->new_public);
    s_str(e, "old_time", output_time(c->old_us, buf, sizeof buf));
    s_str(e, "new_time", output_time(c->new_us, buf, sizeof buf));
    json_object_object_add(e, "interval", json_object_new_double((double)(c->new_us - c->old_us) / 1e6));
    output_object(self, e);
    json_object_put(e);
}

void output_nat_binding(output_t *self, const nat_binding_t *b)
{
    if (s_off(self))
        return;
    json_object *e = s_event(self, EV_NAT_BINDING, b->ts_us, b->site);
    s_str(e, "vantage", b->vantage == NAT_INSIDE ? "inside" : "outside");
    s_str(e, "private", b->priv);
    s_str(e, "public", b->public_);
    if (b->old_public[0])
        s_str(e, "old_public", b->old_public);
    s_str(e, "method", b->method);
    s_str(e, "call_id", b->call_id);
    output_object(self, e);
    json_object_put(e);
}

void output_sip_alg(output_t *self, const alg_sign_t *sg)
{
    if (s_off(self))
        return;
    json_object *e = s_event(self, EV_SIP_ALG, sg->ts_us, sg->site);
    s_str(e, "evidence", sg->how);
    s_str(e, "call_id", sg->call_id);
    s_str(e, "message", sg->message);
    s_str(e, "header", sg->header);
    s_str(e, "inside", sg->inside);
    if (sg->outside[0] || strcmp(sg->how, "compared") == 0)
        s_str(e, "outside", sg->outside);
    output_object(self, e);
    json_object_put(e);
}

void output_missed_call(output_t *self, const nat_stale_t *st, const char *reason)
{
    if (s_off(self))
        return;
    json_object *e = s_event(self, EV_MISSED_CALL, st->ts_us, st->site);
    s_str(e, "reason", reason);
    if (st->aor[0])
        s_str(e, "aor", st->aor);
    if (st->call_id[0])
        s_str(e, "call_id", st->call_id);
    s_str(e, "target", st->target);
    if (st->current[0])
        s_str(e, "current_public", st->current);
    output_object(self, e);
    json_object_put(e);
}

void output_sip(output_t *self, const siptx_t *tx, const char *end)
{
    if (s_off(self))
        return;
    char buf[64];
    json_object *e = s_event(self, EV_SIP, tx->req_us, tx->site);
    s_str(e, "src_ip", ip_to_str(&tx->src, buf, sizeof buf));
    s_int(e, "src_port", tx->sport);
    s_str(e, "dest_ip", ip_to_str(&tx->dst, buf, sizeof buf));
    s_int(e, "dest_port", tx->dport);
    json_object *sip = json_object_new_object();
    s_str(sip, "method", tx->method);
    s_int(sip, "cseq", tx->cseq);
    s_str(sip, "call_id", tx->call_id);
    if (tx->status)
        s_int(sip, "code", tx->status);
    s_str(sip, "end", end);
    if (tx->from[0])
        s_str(sip, "from", tx->from);
    if (tx->to[0])
        s_str(sip, "to", tx->to);
    if (tx->contact[0])
        s_str(sip, "contact", tx->contact);
    if (tx->user_agent[0])
        s_str(sip, "user_agent", tx->user_agent);
    if (tx->expires >= 0)
        s_int(sip, "expires", tx->expires);
    json_object *via = json_object_new_object();
    s_str(via, "sent_by", tx->via_sent_by);
    s_str(via, "branch", tx->via_branch);
    if (tx->via_rport >= 0)
        s_int(via, "rport", tx->via_rport);
    if (tx->via_received[0])
        s_str(via, "received", tx->via_received);
    json_object_object_add(sip, "via", via);
    if (tx->resp_us >= tx->req_us && tx->status) {
        double ms = (double)(tx->resp_us - tx->req_us) / 1000.0;
        char txt[32];
        snprintf(txt, sizeof txt, "%.3f", ms);
        json_object_object_add(sip, "response_ms", json_object_new_double_s(ms, txt));
    }
    if (tx->retransmissions)
        s_int(sip, "retransmissions", tx->retransmissions);
    json_object_object_add(e, "sip", sip);
    output_object(self, e);
    json_object_put(e);
}

void output_site_summary(output_t *self, int site, uint64_t ts_us, const nat_site_stats_t *ns,
        const char *nat_verdict, const alg_site_stats_t *as, uint64_t sip_tls_flows)
{
    if (s_off(self))
        return;
    json_object *e = s_event(self, EV_SITE_SUMMARY, ts_us, site);
    json_object *n = json_object_new_object();
    s_int(n, "registers", (int64_t)ns->registers);
    s_int(n, "comparisons", (int64_t)ns->comparisons);
    s_int(n, "changes", (int64_t)ns->changes);
    /* Per vantage: inside and outside copies of one REGISTER are one
     * comparison; the collector takes the larger vantage (docs/collector.md). */
    s_int(n, "comparisons_inside", (int64_t)ns->comparisons_v[NAT_INSIDE]);
    s_int(n, "comparisons_outside", (int64_t)ns->comparisons_v[NAT_OUTSIDE]);
    s_int(n, "changes_inside", (int64_t)ns->changes_v[NAT_INSIDE]);
    s_int(n, "changes_outside", (int64_t)ns->changes_v[NAT_OUTSIDE]);
    s_int(n, "reboots", (int64_t)ns->reboots);
    s_int(n, "lapsed", (int64_t)ns->silences);
    s_int(n, "no_rport", (int64_t)ns->no_rport);
    s_int(n, "behind_nat", (int64_t)ns->behind_nat);
    s_int(n, "mapping_changes", (int64_t)ns->mapping_changes);
    s_str(n, "verdict", nat_verdict);
    if (strcmp(nat_verdict, "not_checked") == 0)
        s_str(n, "reason", COMPLIANCE_REASON_SIP_TLS);
    json_object_object_add(e, "nat", n);
    s_int(e, "sip_tls_flows", (int64_t)sip_tls_flows);
    json_object *g = json_object_new_object();
    s_int(g, "compared", (int64_t)as->compared);
    s_int(g, "rewritten", (int64_t)as->rewritten);
    s_int(g, "heuristic", (int64_t)as->heuristic);
    json_object_object_add(e, "sip_alg", g);
    s_int(e, "sip_messages", (int64_t)ns->sip_messages);
    output_object(self, e);
    json_object_put(e);
}

void output_stats(output_t *self, uint64_t ts_us, void *stats)
{
    json_object *e = s_event(self, EV_STATS, ts_us, -1);
    json_object_object_add(e, "stats", stats);
    output_object(self, e);
    json_object_put(e);
}
