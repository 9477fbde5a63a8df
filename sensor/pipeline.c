/* SPDX-License-Identifier: MIT */
/* pipeline.c: the sensor's stages wired together. */
#include "pipeline.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "alg.h"
#include "clockhold.h"
#include "conn.h"
#include "defrag.h"
#include "dns.h"
#include "dnsbind.h"
#include "flow_table.h"
#include "flow_view.h"
#include "media.h"
#include "nat.h"
#include "sip.h"
#include "sipstream.h"
#include "siptx.h"
#include "output.h"
#include "verdict.h"

struct pipeline {
    pipeline_cfg_t cfg;
    /* The packet clock: only moves forward, on believable packets and (live)
     * on the monotonic clock between them. */
    uint64_t now_us;
    uint64_t tick_now_us, tick_mono_us; /* at the last tick */
    uint64_t last_summary_mono_us;
    clockhold_t hold; /* a frame whose date is in doubt (see pipeline_packet) */
    uint64_t kernel[3];   /* received, dropped, ifdropped */
    bool live;
    flow_table_t *flows;
    classify_t *cls;
    verdict_ctx_t *verdict;
    output_t *out;
    report_t *report;
    nat_t *nat;
    media_t *media;
    defrag_t *defrag;
    sipstream_t *sipstream;
    alg_t *alg;
    siptx_table_t *siptx;
    dnsbind_t *dns;
    pipeline_stats_t st;
    flow_names_t names;  /* role sets as text, for the flows' views */
    uint64_t next_expire_us;
    uint64_t sources;
    bool flushing;
    bool copy; /* the frame in hand is a copy (workers: another one counts it) */
};

static clockhold_fn s_clocked;

/* Workers: whether this pipeline judges and reports the flow of `k`. */
static bool s_owns(const pipeline_t *self, const flow_key_t *k)
{
    return !self->cfg.workers || flow_key_worker(k, self->cfg.workers) == self->cfg.worker;
}

void pipeline_cfg_defaults(pipeline_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->sensor = "pinhole";
    cfg->max_flows = 1u << 20;
    cfg->idle_us = 120ull * 1000000u;
    cfg->end_window_us = 3ull * 1000000u;
    cfg->dup_window_us = 5000u; /* SPAN copies arrive microseconds apart */
    cfg->dedup = true;
    cfg->ndpi_slots = 1u << 16;
    cfg->ndpi_packets = 32;
    cfg->max_bindings = 1u << 16;
    cfg->max_calls = 1u << 14;
    cfg->max_fragmented = 256;
    cfg->max_sip_streams = 1024;
    cfg->max_dns_bindings = 1u << 14;
    cfg->summary_us = 60ull * 1000000u;
    cfg->jump_us = 60ull * 1000000u;
    decode_cfg_defaults(&cfg->decode);
}

/* One whole SIP message, from UDP or TCP. */
static void s_sip_message(const sip_msg_t *m, flow_t *f, int side, const packet_t *p, void *ctx)
{
    pipeline_t *self = ctx;
    if (!self->copy)
        self->st.sip_messages++;
    /* The phone's side: the source of a request, the destination of a response. */
    int site = m->is_request ? f->site[side] : f->site[!side];
    nat_sip(self->nat, m, &p->src, p->sport, &p->dst, p->dport, site, p->ts_us);
    media_sip(self->media, m, p->ts_us);
    alg_sip(self->alg, m, m->raw, m->msg_len, &p->src, &p->dst, site, p->ts_us);
    siptx_message(self->siptx, m, &p->src, p->sport, &p->dst, p->dport,
            f->site[side] >= 0 ? f->site[side] : f->site[!side], p->ts_us);
    /* An INVITE coming into a site: a call that may be lost. */
    if (m->is_request && sip_str_eq(m->method, "INVITE") && f->site[!side] >= 0 &&
            f->site[side] != f->site[!side]) {
        f->flags |= FLOW_F_INVITE_IN;
        nat_stale_t st;
        if (!(f->flags & FLOW_F_MISSED) && nat_invite(self->nat, m, &p->dst, p->dport, p->ts_us, &st)) {
            f->flags |= FLOW_F_MISSED;
            if (self->copy)
                return;
            output_missed_call(self->out, &st, "stale_mapping");
            report_missed_call(self->report, st.site, &st, "stale_mapping");
        }
    }
}

/* SIP over UDP: a start line begins with an upper-case letter (a method, or
 * "SIP/2.0"), which also keeps RTP (first byte 0x80) off the parser. Over
 * TCP the stream reassembler decides. */
static void s_sip(pipeline_t *self, flow_t *f, int side, const packet_t *p)
{
    if (f->flags & FLOW_F_NOT_SIP)
        return;
    if (p->proto == 6) {
        sipstream_segment(self->sipstream, f, side, p);
        /* The opener speaks first on SIP over TCP: if its first bytes are not
         * SIP, the flow is decided once (a flow picked up midstream is not). */
        if (f->sipstream == FLOW_NONE && p->payload_len && side == f->orig &&
                f->d[side].payload == p->payload_len && !(f->flags & FLOW_F_MIDSTREAM))
            f->flags |= FLOW_F_NOT_SIP;
        return;
    }
    if (p->proto != 17 || p->payload_caplen < 12 || p->payload[0] < 'A' || p->payload[0] > 'Z')
        return;
    sip_msg_t m;
    sip_rc_t rc = sip_parse(p->payload, p->payload_caplen, false, &m);
    if (rc == SIP_NOT_SIP) {
        f->flags |= FLOW_F_NOT_SIP; /* a text protocol that is not SIP */
        return;
    }
    if (rc != SIP_OK) {
        self->st.sip_invalid += !self->copy;
        return;
    }
    s_sip_message(&m, f, side, p, self);
}

/* What the verdict needs to know of a flow's application and media. */
static void s_hint(const flow_view_t *fv, verdict_hint_t *h)
{
    const flow_t *f = fv->f;
    const media_stream_t *ms = fv->ms;
    memset(h, 0, sizeof *h);
    h->app = fv->app;
    h->is_http = classify_is_http(f);
    /* A media flow whose stream a full table took is media all the same
     * (never a one-way finding then: nothing was measured). */
    h->is_media = ms != NULL || (f->flags & FLOW_F_MEDIA);
    /* In a one-way call, a flow that carried media shows the failure. */
    if (ms && ms->judgement == MEDIA_ONE_WAY && (ms->d[0].pkts || ms->d[1].pkts)) {
        h->one_way = true;
        h->missing_to_orig = ms->party[f->orig] == ms->missing;
    }
}

/* The view of a flow, judged: its application name and orientation worked
 * out once, for the verdict, the report and the events alike. */
static void s_view(pipeline_t *self, flow_t *f, const media_stream_t *ms, bool cut,
        flow_view_t *fv)
{
    flow_view_init(fv, self->cls, &self->names, f, ms);
    verdict_hint_t hint;
    s_hint(fv, &hint);
    verdict_judge(self->verdict, f, cut, &hint, &fv->v);
}

/* A call with media is over (sensor/media.h): counted per site, and an
 * `rtp_one_way` event if its media reached one party only. */
static void s_media_call(const media_call_t *c, flow_t *f, void *ctx)
{
    pipeline_t *self = ctx;
    flow_view_t fv;
    const media_stream_t *ms = f ? media_stream(self->media, f) : NULL;
    int site = c->site[0] >= 0 ? c->site[0] : c->site[1];
    bool judged = c->judgement == MEDIA_ONE_WAY && ms;
    if (judged) {
        s_view(self, f, ms, false, &fv);
        if (fv.v.site >= 0)
            site = fv.v.site;
    }
    report_media(self->report, site, c->call_id, c->judgement);
    if (c->judgement != MEDIA_ONE_WAY || site < 0)
        return;
    /* The site's party: the one whose media end is at the site. */
    int party = c->site[c->missing] == site ? c->missing : !c->missing;
    output_rtp_one_way(self->out, c, site, party, judged ? &fv : NULL);
}

static void s_flow_end(flow_t *f, flow_end_t why, void *ctx)
{
    pipeline_t *self = ctx;
    classify_finish(self->cls, f);
    /* A flow pushed out of a full table is cut short like one at the end of
     * the capture: a young unanswered attempt is capture_ended, not blocked. */
    bool cut = why != FLOW_END_IDLE;
    if (why == FLOW_END_EVICTED)
        verdict_set_capture_end(self->verdict, self->st.last_us);
    flow_view_t fv;
    s_view(self, f, media_stream(self->media, f), cut, &fv);
    const verdict_t *v = &fv.v;
    /* Workers: the flow is told by the one worker that had its frames as
     * no copies (sensor/workers.h). */
    bool own = !self->cfg.workers || (f->flags & FLOW_F_OWNED);
    if (own) {
        output_flow(self->out, &fv);
        report_add_view(self->report, &fv);
    }
    media_release(self->media, f);
    sipstream_release(self->sipstream, f);
    if (!own)
        return;
    /* An INVITE into a site that got no answer, or an ICMP error. */
    if ((f->flags & FLOW_F_INVITE_IN) && !(f->flags & FLOW_F_MISSED) && v->kind == VERDICT_BLOCKED) {
        nat_stale_t st;
        memset(&st, 0, sizeof st);
        st.site = v->site;
        char ip[46];
        ip_to_str(fv.dst, ip, sizeof ip);
        snprintf(st.target, sizeof st.target, "%s:%u", ip, (unsigned)fv.dport);
        st.ts_us = f->first_us;
        output_missed_call(self->out, &st, verdict_reason_str(v->reason));
        report_missed_call(self->report, v->site, &st, verdict_reason_str(v->reason));
    }
}

/* What SIP messages tell (NAT, SIP ALG, transactions) is learnt by every
 * worker (each sees all SIP) and told by one: the one the message's flow
 * belongs to, which does not hold it as a copy. */
static void s_nat_change(const nat_change_t *c, void *ctx)
{
    pipeline_t *self = ctx;
    if (self->copy)
        return;
    output_nat_change(self->out, c);
    report_nat_change(self->report, c);
}

static void s_nat_binding(const nat_binding_t *b, void *ctx)
{
    pipeline_t *self = ctx;
    if (self->copy)
        return;
    output_nat_binding(self->out, b);
    report_nat_binding(self->report, b);
}

/* A transaction ends on a response, or later on the clock: told by the
 * worker its request's addresses and ports belong to. */
static void s_siptx(const siptx_t *tx, const char *end, void *ctx)
{
    pipeline_t *self = ctx;
    flow_key_t k;
    flow_key_make(&k, &tx->src, tx->sport, &tx->dst, tx->dport, 0);
    if (!s_owns(self, &k))
        return;
    output_sip(self->out, tx, end);
}

static void s_alg_sign(const alg_sign_t *sg, void *ctx)
{
    pipeline_t *self = ctx;
    if (self->copy)
        return;
    output_sip_alg(self->out, sg);
    report_sip_alg(self->report, sg);
}

pipeline_t *pipeline_new(const pipeline_cfg_t *cfg, char *err, size_t errlen)
{
    pipeline_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->cfg = *cfg;
    clockhold_init(&self->hold, cfg->jump_us, s_clocked, self);
    flow_names_init(&self->names, cfg->rules);
    self->flows = flow_table_new(cfg->max_flows, cfg->idle_us, s_flow_end, self);
    self->cls = cfg->classify ? cfg->classify : classify_new(cfg->ndpi_slots, cfg->ndpi_packets,
            cfg->ndpi_protocols);
    self->verdict = verdict_ctx_new(cfg->rules, cfg->geo, cfg->end_window_us);
    self->report = self->cls ? report_new(cfg->rules, self->cls) : NULL;
    self->nat = nat_new(cfg->max_bindings, (int)rules_nsites(cfg->rules), s_nat_change, self);
    self->media = media_new(cfg->max_calls, cfg->max_calls * 4, s_media_call, self);
    self->defrag = defrag_new(cfg->max_fragmented, DEFRAG_TIMEOUT_US);
    self->sipstream = sipstream_new(cfg->max_sip_streams, s_sip_message, self);
    self->alg = alg_new(1024, (int)rules_nsites(cfg->rules), s_alg_sign, self);
    self->siptx = siptx_new(cfg->max_calls, s_siptx, self);
    self->dns = dnsbind_new(cfg->max_dns_bindings);
    if (!self->flows || !self->cls || !self->verdict || !self->report || !self->nat ||
            !self->media || !self->defrag || !self->sipstream || !self->alg || !self->siptx ||
            !self->dns) {
        snprintf(err, errlen, "cannot allocate the flow table (%u flows) or nDPI state",
                cfg->max_flows);
        pipeline_destroy(&self);
        return NULL;
    }
    report_set_nat(self->report, self->nat);
    nat_set_binding_cb(self->nat, s_nat_binding, self);
    report_set_alg(self->report, self->alg);
    self->out = output_new(cfg->events_path, cfg->sensor, cfg->rules, self->cls, err, errlen);
    if (!self->out)
        pipeline_destroy(&self);
    else if (cfg->sink)
        output_set_sink(self->out, cfg->sink, cfg->sink_ctx);
    return self;
}

void pipeline_destroy(pipeline_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pipeline_t *self = *self_p;
    flow_table_destroy(&self->flows);
    nat_destroy(&self->nat);
    media_destroy(&self->media);
    defrag_destroy(&self->defrag);
    sipstream_destroy(&self->sipstream);
    alg_destroy(&self->alg);
    siptx_destroy(&self->siptx);
    dnsbind_destroy(&self->dns);
    output_destroy(&self->out);
    report_destroy(&self->report);
    verdict_ctx_destroy(&self->verdict);
    if (!self->cfg.classify)
        classify_destroy(&self->cls);
    clockhold_fini(&self->hold);
    free(self);
    *self_p = NULL;
}

/* Ends what outlived its time in every table traffic fills. */
static void s_expire_tables(pipeline_t *self, uint64_t now_us)
{
    flow_table_expire(self->flows, now_us);
    nat_expire(self->nat, now_us);
    media_expire(self->media, now_us);
    siptx_expire(self->siptx, now_us);
    defrag_expire(self->defrag, now_us);
    dnsbind_expire(self->dns, now_us);
}

/* A DNS response from a server (UDP or TCP port 53) to a client of a site:
 * the answered addresses of a name some role is bound to by `hosts` are
 * named so for the site's flows (sensor/dnsbind.h). mDNS (5353) and LLMNR
 * (5355) are not read: any host may claim any name there. */
static void s_dns(pipeline_t *self, const flow_t *f, int side, const packet_t *p)
{
    int site = f->site[!side]; /* the client's */
    if (p->sport != 53 || site < 0 || !p->payload_caplen)
        return;
    const uint8_t *msg = p->payload;
    size_t len = p->payload_caplen;
    if (p->proto == 6 && !(msg = dns_tcp_message(p->payload, p->payload_caplen, &len)))
        return;
    if (p->proto != 6 && p->proto != 17)
        return;
    dns_answer_t a;
    dns_rc_t rc = dns_parse(msg, len, &a);
    if (rc == DNS_NOT_RESPONSE)
        return;
    dnsbind_count(self->dns, rc != DNS_INVALID);
    /* A name longer than a flow can hold is not matched half. */
    if (!a.naddrs || strlen(a.qname) >= FLOW_HOST_LEN ||
            !rules_host_known(self->cfg.rules, a.qname))
        return;
    for (size_t i = 0; i < a.naddrs; i++)
        dnsbind_add(self->dns, site, &a.addr[i], a.qname, a.ttl[i], p->ts_us);
}

/* A new flow to an address a DNS answer named for the opener's site. */
static void s_dns_name(pipeline_t *self, flow_t *f)
{
    int o = f->orig;
    const ip_addr_t *resp = o ? &f->key.a : &f->key.b;
    const char *name = dnsbind_lookup(self->dns, f->site[o], resp, f->first_us);
    if (name && str_copy(f->host, name, sizeof f->host))
        f->flags |= FLOW_F_HOST_DNS;
}

/* An ICMP error is about another flow: it marks that flow, makes none. */
static void s_icmp_error(pipeline_t *self, const packet_t *p)
{
    flow_key_t k;
    flow_key_make(&k, &p->in_src, p->in_sport, &p->in_dst, p->in_dport, p->in_proto);
    flow_t *f = flow_table_find(self->flows, &k);
    if (!f) {
        self->st.icmp_unmatched++;
        return;
    }
    self->st.icmp_matched++;
    conn_icmp_error(f, p->icmp_type, p->icmp_code);
    int to = rules_site_of(self->cfg.rules, &p->dst);
    if (to >= 0 && rules_site_of(self->cfg.rules, &p->src) != to)
        verdict_note_inbound(self->verdict, to);
}

/* Counts the tunnels taken off a packet, each kind once (`seen`: already counted). */
static void s_count_tunnels(pipeline_t *self, uint8_t tunnels, uint8_t seen)
{
    if (!(tunnels & ~seen)) /* most packets: no tunnel */
        return;
    for (int i = 0; i < TUNNEL_KINDS; i++)
        if ((tunnels & ~seen) & (1u << i))
            self->st.tunnels[i]++;
}

/* One frame whose date is believed (or corrected). */
static void s_process(pipeline_t *self, const capture_pkt_t *hdr, const uint8_t *data)
{
    packet_t p;
    p.ts_us = hdr->ts_us;
    p.num = hdr->num;
    self->copy = hdr->copy;
    self->st.packets += !hdr->copy;
    bool reassembled = false;
    self->st.bytes += hdr->copy ? 0 : hdr->wirelen;
    if (!self->st.first_us || hdr->ts_us < self->st.first_us)
        self->st.first_us = hdr->ts_us;
    if (hdr->ts_us > self->st.last_us)
        self->st.last_us = hdr->ts_us;
    decode_err_t e = decode_packet_cfg(&self->cfg.decode, hdr->linktype, data, hdr->caplen,
            hdr->wirelen, &p);
    if (!hdr->copy) {
        self->st.decode[e]++;
        s_count_tunnels(self, p.tunnels, 0);
    }
    if (e == DECODE_ERR_FRAGMENT) {
        /* A fragment (outer, or inside a tunnel): the datagram is processed
         * once it is whole, and a tunnel in it is taken off then. */
        const uint8_t *whole;
        uint32_t len;
        uint8_t seen = p.tunnels;
        if (!defrag_add(self->defrag, &p, &whole, &len))
            return;
        reassembled = true;
        /* keeps ts_us and num */
        e = decode_packet_cfg(&self->cfg.decode, LINK_RAW, whole, len, len, &p);
        if (hdr->copy) {
            if (e != DECODE_OK)
                return;
        } else {
            s_count_tunnels(self, p.tunnels, seen);
            if (e != DECODE_OK) {
                if (p.tunnels) /* what came through the tunnel: ARP, an anomaly */
                    self->st.decode[e]++;
                else
                    self->st.reassembled_invalid++;
                return;
            }
        }
    } else if (e != DECODE_OK) {
        return;
    }
    if (hdr->ts_us > self->now_us)
        self->now_us = hdr->ts_us;
    if (self->now_us >= self->next_expire_us) {
        s_expire_tables(self, self->now_us);
        self->next_expire_us = self->now_us + 1000000u;
    }
    if (p.icmp_err) {
        if (!hdr->copy)
            s_icmp_error(self, &p);
        return;
    }
    flow_key_t k;
    flow_key_make(&k, &p.src, p.sport, &p.dst, p.dport, p.proto);
    /* Workers: every worker has a fragmented datagram's fragments; the
     * worker the reader placed the whole datagram with takes it as no copy
     * (its flow's, or its call's for media), the others only what every
     * worker keeps (SIP, DNS answers), as copies: a replica of a media
     * flow would judge the call again from its part. */
    if (reassembled && self->cfg.workers) {
        bool owns = hdr->frag_owner ? hdr->frag_owner - 1u == self->cfg.worker : s_owns(self, &k);
        if (!owns && hdr->frag_owner && !hdr->frag_all)
            return;
        self->copy = !owns;
    }
    bool created;
    flow_t *f = flow_table_get(self->flows, &k, p.ts_us, &created);
    if (!self->copy)
        f->flags |= FLOW_F_OWNED;
    int side = flow_side(f, &p);
    uint64_t fp = self->cfg.dedup ? conn_fingerprint(&p) : 0;
    if (created) {
        if (self->copy)
            self->st.replica_flows++;
        verdict_flow_sites(self->verdict, f);
        conn_start(f, side, &p);
        if (f->site[f->orig] >= 0)
            s_dns_name(self, f);
        if (p.proto == 17 && media_match(self->media, f))
            classify_mark_rtp(self->cls, f); /* known from SDP: no DPI */
    } else if (conn_is_duplicate(f, side, &p, fp, self->cfg.dup_window_us)) {
        f->dups++;
        self->st.duplicates += !self->copy;
        return;
    }
    conn_update(f, side, &p, fp);
    int to = f->site[!side];
    if (to >= 0 && f->site[side] != to && !self->copy)
        verdict_note_inbound(self->verdict, to);
    if (f->flags & FLOW_F_MEDIA) {
        media_packet(self->media, f, side, &p);
        return;
    }
    classify_packet(self->cls, f, &p);
    s_sip(self, f, side, &p);
    s_dns(self, f, side, &p);
}

/* A frame, its date believed or corrected (sensor/clockhold.h). */
static void s_clocked(void *ctx, const capture_pkt_t *hdr, const uint8_t *data,
        clockhold_how_t how)
{
    pipeline_t *self = ctx;
    if (how == CLOCKHOLD_STEP)
        pipeline_clock_step(self, hdr->ts_us);
    else if (how == CLOCKHOLD_JUMP)
        self->st.clock_jumps += !hdr->copy;
    s_process(self, hdr, data);
}

void pipeline_capture_last(pipeline_t *self, uint64_t ts_us)
{
    if (ts_us > self->st.last_us)
        self->st.last_us = ts_us;
}

void pipeline_clock_step(pipeline_t *self, uint64_t ts_us)
{
    self->st.clock_steps++;
    self->now_us = ts_us; /* forward or back */
    self->next_expire_us = self->now_us;
    self->tick_now_us = self->now_us;
}

void pipeline_packet(pipeline_t *self, const capture_pkt_t *hdr, const uint8_t *data)
{
    clockhold_frame(&self->hold, self->now_us, self->tick_mono_us, hdr, data);
}

/* One bounded table's counters: {max, active, peak, created, expired,
 * evicted, released}. */
static json_object *s_table(const lrutab_stats_t *t, uint32_t max)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "max", json_object_new_int64(max));
    json_object_object_add(o, "created", json_object_new_int64((int64_t)t->created));
    json_object_object_add(o, "active", json_object_new_int64((int64_t)t->active));
    json_object_object_add(o, "peak", json_object_new_int64((int64_t)t->peak));
    json_object_object_add(o, "expired", json_object_new_int64((int64_t)t->expired));
    json_object_object_add(o, "evicted", json_object_new_int64((int64_t)t->evicted));
    json_object_object_add(o, "released", json_object_new_int64((int64_t)t->released));
    return o;
}

/* `stats.tables`: every table traffic fills, in one shape (docs/design.md). */
static json_object *s_tables_object(const pipeline_t *self, const flow_table_stats_t *fs,
        const defrag_stats_t *ds, const siptx_stats_t *ts, const media_stats_t *ms,
        const sipstream_stats_t *ss)
{
    json_object *t = json_object_new_object();
    nat_tables_t nt;
    nat_tables(self->nat, &nt);
    lrutab_stats_t x = {fs->active, fs->peak, fs->created, fs->expired, fs->evicted, fs->flushed};
    json_object_object_add(t, "flows", s_table(&x, self->cfg.max_flows));
    json_object_object_add(t, "nat_bindings", s_table(&nt.bindings, nt.max_bindings));
    json_object_object_add(t, "nat_call_ids", s_table(&nt.call_ids, nt.max_refs));
    json_object_object_add(t, "nat_mappings", s_table(&nt.mappings, nt.max_refs));
    json_object_object_add(t, "nat_phones", s_table(&nt.phones, nt.max_bindings));
    json_object_object_add(t, "media_calls", s_table(&ms->call_table, ms->max_calls));
    json_object_object_add(t, "media_endpoints", s_table(&ms->endpoint_table, ms->max_endpoints));
    json_object_object_add(t, "media_streams", s_table(&ms->stream_table, ms->max_streams));
    json_object_object_add(t, "sip_transactions", s_table(&ts->table, ts->max));
    json_object_object_add(t, "sip_tcp_streams", s_table(&ss->table, ss->max));
    uint32_t max;
    alg_table(self->alg, &x, &max);
    json_object_object_add(t, "alg_messages", s_table(&x, max));
    x = (lrutab_stats_t){ds->active, ds->peak, 0, ds->timed_out, ds->evicted, 0};
    json_object_object_add(t, "defrag", s_table(&x, ds->max));
    dnsbind_stats_t bs;
    dnsbind_stats(self->dns, &bs);
    json_object_object_add(t, "dns_bindings", s_table(&bs.table, bs.max));
    return t;
}

/* The run's counters (the `stats` event, and the heartbeat's "capture"). */
static json_object *s_stats_object(const pipeline_t *self)
{
    flow_table_stats_t fs;
    flow_table_stats(self->flows, &fs);
    classify_stats_t cs;
    classify_stats(self->cls, &cs);
    /* EVE's groups where they exist (decoder, capture), pinhole's own
     * counters in "pinhole". */
    json_object *top = json_object_new_object();
    json_object *s = json_object_new_object();
    #define ADD(o, k, v) json_object_object_add((o), (k), json_object_new_int64((int64_t)(v)))
    json_object *dec = json_object_new_object();
    ADD(dec, "pkts", self->st.packets);
    ADD(dec, "bytes", self->st.bytes);
    uint64_t invalid = 0;
    for (int i = 1; i < DECODE_ERR_COUNT; i++)
        invalid += self->st.decode[i];
    ADD(dec, "invalid", invalid);
    json_object_object_add(top, "decoder", dec);
    ADD(s, "duplicates", self->st.duplicates);
    ADD(s, "icmp_errors_matched", self->st.icmp_matched);
    ADD(s, "icmp_errors_unmatched", self->st.icmp_unmatched);
    ADD(s, "clock_jump", self->st.clock_jumps);
    ADD(s, "clock_step", self->st.clock_steps);
    ADD(s, "events_write_errors", output_write_errors(self->out));
    if (self->live) { /* Suricata EVE's names for the kernel's counters */
        json_object *k = json_object_new_object();
        ADD(k, "kernel_packets", self->kernel[0]);
        ADD(k, "kernel_drops", self->kernel[1]);
        ADD(k, "kernel_ifdrops", self->kernel[2]);
        json_object_object_add(top, "capture", k);
    }
    defrag_stats_t ds;
    defrag_stats(self->defrag, &ds);
    json_object *fr = json_object_new_object();
    ADD(fr, "fragments", ds.fragments);
    ADD(fr, "reassembled", ds.reassembled);
    ADD(fr, "timed_out", ds.timed_out);
    ADD(fr, "evicted", ds.evicted);
    ADD(fr, "invalid", ds.invalid + self->st.reassembled_invalid);
    json_object_object_add(s, "defrag", fr);
    sipstream_stats_t ss;
    sipstream_stats(self->sipstream, &ss);
    json_object *tcp = json_object_new_object();
    ADD(tcp, "streams", ss.streams);
    ADD(tcp, "messages", ss.messages);
    ADD(tcp, "gaps", ss.gaps);
    ADD(tcp, "bytes_dropped", ss.dropped);
    ADD(tcp, "invalid", ss.invalid);
    json_object_object_add(s, "sip_tcp", tcp);
    json_object *ws = json_object_new_object();
    ADD(ws, "streams", ss.ws.streams);
    ADD(ws, "messages", ss.ws.messages);
    ADD(ws, "frames", ss.ws.frames);
    ADD(ws, "invalid", ss.ws.invalid);
    json_object_object_add(s, "sip_ws", ws);
    siptx_stats_t ts;
    siptx_stats(self->siptx, &ts);
    json_object *tx = json_object_new_object();
    ADD(tx, "transactions", ts.transactions);
    ADD(tx, "completed", ts.completed);
    ADD(tx, "unanswered", ts.unanswered);
    ADD(tx, "evicted", ts.evicted);
    ADD(tx, "timed_out", ts.timed_out);
    json_object_object_add(s, "sip_transactions", tx);
    ADD(s, "sip_messages", self->st.sip_messages);
    ADD(s, "sip_invalid", self->st.sip_invalid);
    media_stats_t ms;
    media_stats(self->media, &ms);
    ADD(s, "media_calls", ms.calls);
    ADD(s, "media_calls_ended", ms.calls_ended);
    ADD(s, "media_streams", ms.streams);
    ADD(s, "media_one_way", ms.one_way);
    dnsbind_stats_t bs;
    dnsbind_stats(self->dns, &bs);
    json_object *dn = json_object_new_object();
    ADD(dn, "answers", bs.answers);
    ADD(dn, "invalid", bs.invalid);
    ADD(dn, "bound", bs.bound);
    json_object_object_add(s, "dns", dn);
    json_object_object_add(s, "tables", s_tables_object(self, &fs, &ds, &ts, &ms, &ss));
    json_object *d = json_object_new_object();
    for (int i = 1; i < DECODE_ERR_COUNT; i++)
        ADD(d, decode_err_str((decode_err_t)i), self->st.decode[i]);
    json_object_object_add(s, "decode", d);
    json_object *tu = json_object_new_object();
    for (int i = 0; i < TUNNEL_KINDS; i++)
        ADD(tu, decode_tunnel_str(i), self->st.tunnels[i]);
    json_object_object_add(s, "tunnels", tu);
    json_object *fl = json_object_new_object();
    ADD(fl, "created", fs.created);
    ADD(fl, "expired", fs.expired);
    ADD(fl, "evicted", fs.evicted);
    ADD(fl, "flushed", fs.flushed);
    ADD(fl, "peak", fs.peak);
    json_object_object_add(s, "flows", fl);
    json_object *c = json_object_new_object();
    ADD(c, "packets", cs.packets);
    ADD(c, "classified", cs.classified);
    ADD(c, "given_up", cs.given_up);
    ADD(c, "pool_full", cs.pool_full);
    ADD(c, "slots_peak", cs.slots_peak);
    json_object_object_add(s, "ndpi", c);
#undef ADD
    json_object_object_add(top, "pinhole", s);
    return top;
}

/* One `site_summary` event per observed site: the NAT and SIP ALG counters
 * the collector needs to call a site consistent (docs/events.md); the flow
 * counters from `rep`. */
static void s_site_summaries_of(pipeline_t *self, const report_t *rep, uint64_t ts_us)
{
    for (size_t i = 0; i < rules_nsites(self->cfg.rules); i++) {
        nat_site_stats_t ns;
        alg_site_stats_t as;
        nat_site_stats(self->nat, (int)i, &ns);
        alg_site_stats(self->alg, (int)i, &as);
        uint64_t tls = report_sip_tls_flows(rep, i);
        if (ns.sip_messages || as.compared || as.heuristic || tls)
            output_site_summary(self->out, (int)i, ts_us, &ns,
                    report_nat_verdict(rep, i), &as, tls);
    }
}

static void s_site_summaries(pipeline_t *self)
{
    if (!self->cfg.workers)
        s_site_summaries_of(self, self->report, self->st.last_us);
}

void pipeline_site_summaries(pipeline_t *self, const report_t *rep, uint64_t ts_us)
{
    s_site_summaries_of(self, rep, ts_us);
}

void pipeline_write_stats(pipeline_t *self, void *stats, uint64_t ts_us)
{
    output_stats(self->out, ts_us, stats);
}

void pipeline_clock(pipeline_t *self, uint64_t ts_us)
{
    if (ts_us <= self->now_us)
        return;
    self->now_us = ts_us;
    if (self->now_us >= self->next_expire_us) {
        s_expire_tables(self, self->now_us);
        self->next_expire_us = self->now_us + 1000000u;
    }
}

bool pipeline_tick(pipeline_t *self, uint64_t mono_us)
{
    self->live = true;
    if (!self->tick_mono_us) { /* the first tick starts the clocks */
        self->tick_mono_us = self->last_summary_mono_us = mono_us;
        self->tick_now_us = self->now_us;
        return false;
    }
    clockhold_tick(&self->hold, self->now_us, mono_us);
    /* The packet clock moves on by the monotonic time since the last tick
     * (not the wall clock: that one can be stepped). */
    uint64_t moved = self->tick_now_us + (mono_us - self->tick_mono_us);
    if (self->now_us && moved > self->now_us)
        self->now_us = moved;
    self->tick_now_us = self->now_us;
    self->tick_mono_us = mono_us;
    if (self->now_us) {
        s_expire_tables(self, self->now_us);
        self->next_expire_us = self->now_us + 1000000u;
    }
    /* A live run never finishes: its summaries and counters go out now and
     * then (a worker's: merged, by sensor/workers.c). */
    if (self->cfg.workers || mono_us - self->last_summary_mono_us < self->cfg.summary_us)
        return false;
    self->last_summary_mono_us = mono_us;
    if (self->now_us)
        s_site_summaries(self);
    output_stats(self->out, self->now_us, s_stats_object(self));
    return true;
}

void pipeline_set_kernel_stats(pipeline_t *self, uint64_t received, uint64_t dropped,
        uint64_t ifdropped)
{
    self->live = true;
    self->kernel[0] = received;
    self->kernel[1] = dropped;
    self->kernel[2] = ifdropped;
}

static void s_flow_resite(flow_t *f, void *ctx)
{
    verdict_flow_sites(ctx, f);
}

bool pipeline_set_rules(pipeline_t *self, const rules_t *rules, char *why, size_t n)
{
    rules_remap_t *m = rules_remap_new(self->cfg.rules, rules);
    if (!m || verdict_set_rules(self->verdict, rules, m) != 0 ||
            report_set_rules(self->report, rules, m) != 0 || nat_remap_sites(self->nat, m) != 0 ||
            alg_remap_sites(self->alg, m) != 0) {
        rules_remap_destroy(&m);
        snprintf(why, n, "out of memory");
        return false;
    }
    self->cfg.rules = rules;
    flow_names_init(&self->names, rules);
    output_set_rules(self->out, rules);
    siptx_remap_sites(self->siptx, m);
    media_remap_sites(self->media, m);
    dnsbind_flush(self->dns); /* learnt for the old sites, and names the old roles matched */
    flow_table_foreach(self->flows, s_flow_resite, self->verdict);
    rules_remap_destroy(&m);
    return true;
}

void pipeline_flush(pipeline_t *self)
{
    output_flush(self->out);
}

bool pipeline_reopen(pipeline_t *self, char *err, size_t errlen)
{
    return output_reopen(self->out, err, errlen) == 0;
}

void *pipeline_stats_object(const pipeline_t *self)
{
    return s_stats_object(self);
}

char *pipeline_stats_json(const pipeline_t *self)
{
    json_object *s = s_stats_object(self);
    char *out = strdup(json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN));
    json_object_put(s);
    return out;
}

void pipeline_finish(pipeline_t *self, uint64_t sources)
{
    clockhold_finish(&self->hold, self->now_us);
    self->sources = sources;
    verdict_set_capture_end(self->verdict, self->st.last_us);
    media_flush(self->media); /* calls judged before their flows end */
    flow_table_flush(self->flows);
    siptx_expire(self->siptx, self->now_us); /* timed out before the end */
    siptx_flush(self->siptx);
    s_site_summaries(self);
    if (!self->cfg.workers)
        output_stats(self->out, self->st.last_us, s_stats_object(self));
    output_flush(self->out);
}

uint32_t pipeline_chain_max(const pipeline_t *self)
{
    flow_table_stats_t fs;
    flow_table_stats(self->flows, &fs);
    return (uint32_t)fs.chain_max;
}

void pipeline_stats(const pipeline_t *self, pipeline_stats_t *out)
{
    *out = self->st;
    out->events_write_errors = output_write_errors(self->out);
}

void pipeline_share_inbound(pipeline_t *self, _Atomic uint8_t *flags)
{
    verdict_share_inbound(self->verdict, flags);
}

const nat_t *pipeline_nat(const pipeline_t *self)
{
    return self->nat;
}

const alg_t *pipeline_alg(const pipeline_t *self)
{
    return self->alg;
}

const report_t *pipeline_report(const pipeline_t *self)
{
    return self->report;
}

void pipeline_report_meta(const pipeline_t *self, report_meta_t *meta)
{
    flow_table_stats_t fs;
    flow_table_stats(self->flows, &fs);
    memset(meta, 0, sizeof *meta);
    meta->sensor = self->cfg.sensor;
    meta->packets = self->st.packets;
    meta->bytes = self->st.bytes;
    meta->files = self->sources;
    meta->first_us = self->st.first_us;
    meta->last_us = self->st.last_us;
    meta->duplicates = self->st.duplicates;
    meta->flows = fs.created - self->st.replica_flows;
    meta->evicted = fs.evicted;
    for (int i = 1; i < DECODE_ERR_COUNT; i++)
        if (i != DECODE_ERR_NOT_IP && i != DECODE_ERR_FRAGMENT)
            meta->decode_errors += self->st.decode[i];
}
