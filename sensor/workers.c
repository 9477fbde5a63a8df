/* SPDX-License-Identifier: MIT */
/* workers.c: one reader, N pipelines on threads (see workers.h).
 *
 * Each worker has a queue: a ring of whole records (a frame with its
 * header, or a clock, tick or barrier), written by the reader only and read
 * by the worker only. A side that finds the ring full (reader) or empty
 * (worker) yields a few times, then sleeps on a condition variable that the
 * other side signals only when it sees the sleeper's flag: the packet path
 * takes no lock. */
#include "workers.h"

#include <json-c/json.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clockhold.h"
#include "decode.h"
#include "defrag.h"
#include "flow.h"
#include "hash.h"
#include "log.h"
#include "lrutab.h"
#include "output.h"
#include "sip.h"
#include "sipstream.h"

#define RING_BYTES (4u << 20)          /* per worker: ~3,000 full-size frames */
#define RING_ALIGN 8u
#define RING_WAKE_BYTES (64u << 10)   /* a worker asleep is woken for this much */
#define ROUTE_IDLE_US (120ull * 1000000u) /* a call's media route, unused */
/* Where the reader put UDP flows (a 24-bit fingerprint, the worker and the
 * second of the flow's last frame a slot, 8 MiB): a later SDP naming an end
 * of one does not move it while the flow lives; once it has been idle for
 * the idle timeout (its flow ended in the worker), its next frame is placed
 * again (a later call reusing the ports goes to that call's worker). Two
 * flows in one slot: the older may be placed again (and move, if an SDP
 * named it since). */
#define WORKERS_SEEN_SLOTS (1u << 20)
#define WORKERS_HASHED 254u /* placed by its hash */

enum { REC_FRAME = 1, REC_PAD, REC_CLOCK, REC_STEP, REC_TICK, REC_BARRIER, REC_STOP };

typedef struct {
    uint32_t len;  /* the whole record, aligned */
    uint32_t kind;
    capture_pkt_t hdr; /* REC_FRAME; REC_CLOCK/REC_TICK: hdr.ts_us */
} rec_t;

typedef struct {
    uint8_t *buf;
    _Atomic size_t head; /* bytes written (reader) */
    _Atomic size_t tail; /* bytes read (worker) */
    _Atomic bool sleeping[2]; /* [SIDE_WORKER] waits for data, [SIDE_READER] for room */
    pthread_mutex_t mu;
    pthread_cond_t cv;
} ring_t;

typedef struct {
    workers_t *w;
    uint32_t id;
    pipeline_cfg_t cfg;
    pipeline_t *pl;     /* made and destroyed on the worker's thread */
    char err[256];      /* why it could not be made */
    pthread_t thread;
    bool started;
    ring_t ring;
    uint64_t handed;
} worker_t;

struct workers {
    uint32_t n;
    pipeline_cfg_t cfg;
    worker_t *wk;
    /* One event stream for all: file and publisher. */
    output_t *out;
    pthread_mutex_t out_mu;
    /* The barrier: workers parked, and the generation that lets them go. */
    pthread_mutex_t bar_mu;
    pthread_cond_t bar_cv;
    uint32_t parked;
    uint32_t ready; /* workers that tried to make their pipeline */
    uint64_t generation;
    /* The reader's clock, told to the workers: frames far off it are held
     * here (sensor/clockhold.h), so the workers' clocks never doubt. */
    clockhold_t hold;
    uint64_t clock_us, told_us;
    uint64_t tick_now_us;
    uint64_t clock_jumps, clock_steps;
    /* Media routes: an SDP endpoint's hash -> the worker of its call. */
    lrutab_t *routes;
    uint8_t *route_worker;
    lrutab_t *sip_tcp; /* TCP flows seen to carry SIP (any port): replicated */
    uint64_t *seen;    /* where UDP flows went: fingerprint, worker, last second */
    /* IP fragments: the reader reassembles them too, only to place the
     * whole datagram as it would a frame (its flow's worker, its call's,
     * or every worker for SIP and DNS); the workers, which all get every
     * fragment, then agree on which of them owns it. */
    defrag_t *defrag;
    _Atomic uint8_t *inbound; /* per site: some worker saw inbound traffic */
    report_t *merged;
    workers_stats_t st;
    uint64_t last_summary_mono_us, tick_mono_us;
    uint64_t kernel[3]; /* live: the capture's counters, for worker 0 */
    bool live;
};

static clockhold_fn s_clocked;

/* --- the ring --------------------------------------------------------- */

enum { SIDE_WORKER, SIDE_READER };

static void s_ring_wake(ring_t *r, int who)
{
    if (atomic_load(&r->sleeping[who])) {
        pthread_mutex_lock(&r->mu);
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
}

/* Waits (bounded each time by a 100 ms timed wait, re-checked) until
 * ready(r) holds. */
static void s_ring_wait(ring_t *r, int who, bool (*ready)(ring_t *r, size_t arg), size_t arg)
{
    for (int i = 0; i < 64; i++) {
        if (ready(r, arg))
            return;
        sched_yield();
    }
    pthread_mutex_lock(&r->mu);
    atomic_store(&r->sleeping[who], true);
    while (!ready(r, arg)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    }
    atomic_store(&r->sleeping[who], false);
    pthread_mutex_unlock(&r->mu);
}

static bool s_has_room(ring_t *r, size_t need)
{
    return RING_BYTES - (atomic_load(&r->head) - atomic_load(&r->tail)) >= need;
}

static bool s_has_data(ring_t *r, size_t unused)
{
    (void)unused;
    return atomic_load(&r->head) != atomic_load(&r->tail);
}

/* Writes one record (header and `len` bytes of data) into a worker's ring. */
static void s_push(workers_t *self, worker_t *wk, uint32_t kind, const capture_pkt_t *hdr,
        const uint8_t *data, uint32_t len)
{
    ring_t *r = &wk->ring;
    size_t size = (sizeof(rec_t) + len + RING_ALIGN - 1) & ~(size_t)(RING_ALIGN - 1);
    /* A source hands out at most CAPTURE_SNAPLEN: a record and the padding
     * before it always fit (else the wait for room below would never end). */
    PINHOLE_ASSERT(len <= CAPTURE_SNAPLEN && 2 * size <= RING_BYTES);
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t at = head % RING_BYTES;
    size_t pad = RING_BYTES - at < size ? RING_BYTES - at : 0; /* records never wrap */
    if (!s_has_room(r, size + pad)) {
        self->st.waits++;
        s_ring_wait(r, SIDE_READER, s_has_room, size + pad);
    }
    if (pad) {
        rec_t *p = (rec_t *)(void *)(r->buf + at);
        p->len = (uint32_t)pad;
        p->kind = REC_PAD;
        at = 0;
    }
    rec_t *rec = (rec_t *)(void *)(r->buf + at);
    rec->len = (uint32_t)size;
    rec->kind = kind;
    if (hdr)
        rec->hdr = *hdr;
    if (len)
        memcpy(rec + 1, data, len);
    atomic_store(&r->head, head + pad + size);
    /* A sleeping worker is woken for a batch, not a frame (a futex call a
     * frame would cost more than the frame), or at once for an order. It
     * wakes by itself every 100 ms: a quiet port's last frames wait no
     * longer. */
    if (kind != REC_FRAME && kind != REC_CLOCK)
        s_ring_wake(r, SIDE_WORKER);
    else if (head + pad + size - atomic_load_explicit(&r->tail, memory_order_relaxed) >= RING_WAKE_BYTES)
        s_ring_wake(r, SIDE_WORKER);
}

/* --- a worker --------------------------------------------------------- */

static void s_park(workers_t *self)
{
    pthread_mutex_lock(&self->bar_mu);
    uint64_t gen = self->generation;
    self->parked++;
    pthread_cond_broadcast(&self->bar_cv);
    while (self->generation == gen) /* ends: workers_resume moves it on */
        pthread_cond_wait(&self->bar_cv, &self->bar_mu);
    pthread_mutex_unlock(&self->bar_mu);
}

static void *s_worker_main(void *arg)
{
    worker_t *wk = arg;
    ring_t *r = &wk->ring;
    /* Made here, so N workers set nDPI up side by side (~50 ms each). */
    wk->pl = pipeline_new(&wk->cfg, wk->err, sizeof wk->err);
    pthread_mutex_lock(&wk->w->bar_mu);
    wk->w->ready++;
    pthread_cond_broadcast(&wk->w->bar_cv);
    pthread_mutex_unlock(&wk->w->bar_mu);
    if (!wk->pl)
        return NULL;
    for (;;) {
        if (!s_has_data(r, 0))
            s_ring_wait(r, SIDE_WORKER, s_has_data, 0);
        size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        const rec_t *rec = (const rec_t *)(const void *)(r->buf + tail % RING_BYTES);
        uint32_t kind = rec->kind, len = rec->len;
        switch (kind) {
        case REC_FRAME:
            pipeline_packet(wk->pl, &rec->hdr, (const uint8_t *)(rec + 1));
            break;
        case REC_CLOCK:
            pipeline_clock(wk->pl, rec->hdr.ts_us);
            break;
        case REC_STEP:
            pipeline_clock_step(wk->pl, rec->hdr.ts_us);
            break;
        case REC_TICK:
            pipeline_tick(wk->pl, rec->hdr.ts_us);
            break;
        default:
            break;
        }
        atomic_store(&r->tail, tail + len);
        s_ring_wake(r, SIDE_READER);
        if (kind == REC_BARRIER) {
            s_park(wk->w);
        } else if (kind == REC_STOP) {
            pipeline_destroy(&wk->pl);
            return NULL;
        }
    }
}

/* Every worker has done all it was handed and waits: the caller may use
 * the pipelines until s_resume. */
static void s_pause(workers_t *self)
{
    if (self->n == 1)
        return;
    for (uint32_t i = 0; i < self->n; i++)
        s_push(self, &self->wk[i], REC_BARRIER, NULL, NULL, 0);
    pthread_mutex_lock(&self->bar_mu);
    while (self->parked < self->n) /* ends: each worker reaches its barrier */
        pthread_cond_wait(&self->bar_cv, &self->bar_mu);
    pthread_mutex_unlock(&self->bar_mu);
}

static void s_resume(workers_t *self)
{
    if (self->n == 1)
        return;
    pthread_mutex_lock(&self->bar_mu);
    self->parked = 0;
    self->generation++;
    pthread_cond_broadcast(&self->bar_cv);
    pthread_mutex_unlock(&self->bar_mu);
}

/* Every worker's event lines: into the one stream. */
static void s_line(void *ctx, const char *line, size_t len)
{
    workers_t *self = ctx;
    pthread_mutex_lock(&self->out_mu);
    output_line(self->out, line, len);
    pthread_mutex_unlock(&self->out_mu);
}

/* Waits until n worker threads have tried to make their pipeline. */
static void s_wait_ready(workers_t *self, uint32_t n)
{
    pthread_mutex_lock(&self->bar_mu);
    while (self->ready < n) /* ends: each thread tries once, first thing */
        pthread_cond_wait(&self->bar_cv, &self->bar_mu);
    pthread_mutex_unlock(&self->bar_mu);
}

static bool s_share_inbound(workers_t *self, const rules_t *rules)
{
    size_t ns = rules_nsites(rules);
    _Atomic uint8_t *in = calloc(ns ? ns : 1, sizeof *in);
    if (!in)
        return false;
    free((void *)(uintptr_t)self->inbound);
    self->inbound = in;
    for (uint32_t i = 0; i < self->n; i++)
        pipeline_share_inbound(self->wk[i].pl, in);
    return true;
}

workers_t *workers_new(const pipeline_cfg_t *cfg, uint32_t n, char *err, size_t errlen)
{
    if (n < 1 || n > WORKERS_MAX) {
        snprintf(err, errlen, "--workers %u: give 1 to %d", n, WORKERS_MAX);
        return NULL;
    }
    workers_t *self = calloc(1, sizeof *self);
    if (!self || !(self->wk = calloc(n, sizeof *self->wk))) {
        free(self);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->n = n;
    self->cfg = *cfg;
    clockhold_init(&self->hold, cfg->jump_us, s_clocked, self);
    pthread_mutex_init(&self->out_mu, NULL);
    pthread_mutex_init(&self->bar_mu, NULL);
    pthread_cond_init(&self->bar_cv, NULL);
    if (n == 1) { /* no thread: the pipeline as it is */
        self->wk[0].w = self;
        if (!(self->wk[0].pl = pipeline_new(cfg, err, errlen))) {
            workers_destroy(&self);
            return NULL;
        }
        return self;
    }
    /* The one stream: the file (no classifier: lines come written). */
    self->out = output_new(cfg->events_path, cfg->sensor, cfg->rules, NULL, err, errlen);
    self->routes = lrutab_new(cfg->max_calls * 4, NULL, NULL);
    self->route_worker = calloc(cfg->max_calls * 4, 1);
    self->sip_tcp = lrutab_new(cfg->max_sip_streams, NULL, NULL);
    self->seen = calloc(WORKERS_SEEN_SLOTS, sizeof *self->seen);
    self->defrag = defrag_new(cfg->max_fragmented, DEFRAG_TIMEOUT_US);
    if (!self->out || !self->routes || !self->route_worker || !self->sip_tcp || !self->seen ||
            !self->defrag) {
        if (self->out)
            snprintf(err, errlen, "out of memory");
        workers_destroy(&self);
        return NULL;
    }
    if (cfg->sink)
        output_set_sink(self->out, cfg->sink, cfg->sink_ctx);
    bool events = cfg->events_path || cfg->sink;
    for (uint32_t i = 0; i < n; i++) {
        worker_t *wk = &self->wk[i];
        wk->w = self;
        wk->id = i;
        wk->cfg = *cfg;
        wk->cfg.events_path = NULL;
        wk->cfg.sink = events ? s_line : NULL;
        wk->cfg.sink_ctx = self;
        wk->cfg.worker = i;
        wk->cfg.workers = n;
        wk->cfg.jump_us = UINT64_MAX / 4; /* the reader holds far-off frames */
        if (!(wk->ring.buf = aligned_alloc(64, RING_BYTES))) {
            snprintf(err, errlen, "out of memory");
            s_wait_ready(self, i); /* the started ones, pipelines made, can be stopped */
            workers_destroy(&self);
            return NULL;
        }
        pthread_mutex_init(&wk->ring.mu, NULL);
        pthread_cond_init(&wk->ring.cv, NULL);
        if (pthread_create(&wk->thread, NULL, s_worker_main, wk) != 0) {
            snprintf(err, errlen, "cannot start worker thread %u", i);
            s_wait_ready(self, i);
            workers_destroy(&self);
            return NULL;
        }
        wk->started = true;
    }
    s_wait_ready(self, n);
    for (uint32_t i = 0; i < n; i++)
        if (!self->wk[i].pl) {
            snprintf(err, errlen, "worker %u: %s", i, self->wk[i].err);
            workers_destroy(&self);
            return NULL;
        }
    if (!s_share_inbound(self, cfg->rules)) {
        snprintf(err, errlen, "out of memory");
        workers_destroy(&self);
        return NULL;
    }
    return self;
}

void workers_destroy(workers_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    workers_t *self = *self_p;
    for (uint32_t i = 0; self->wk && i < self->n; i++) {
        worker_t *wk = &self->wk[i];
        if (wk->started) { /* a thread with a pipeline waits for its stop */
            if (wk->pl)
                s_push(self, wk, REC_STOP, NULL, NULL, 0);
            pthread_join(wk->thread, NULL);
        }
        pipeline_destroy(&wk->pl); /* one worker: no thread */
        if (wk->ring.buf) { /* its lock made with it */
            pthread_mutex_destroy(&wk->ring.mu);
            pthread_cond_destroy(&wk->ring.cv);
        }
        free(wk->ring.buf);
    }
    free(self->wk);
    defrag_destroy(&self->defrag);
    pthread_mutex_destroy(&self->out_mu);
    pthread_mutex_destroy(&self->bar_mu);
    pthread_cond_destroy(&self->bar_cv);
    output_destroy(&self->out);
    lrutab_destroy(&self->routes);
    lrutab_destroy(&self->sip_tcp);
    free(self->seen);
    free(self->route_worker);
    free((void *)(uintptr_t)self->inbound);
    report_destroy(&self->merged);
    clockhold_fini(&self->hold);
    free(self);
    *self_p = NULL;
}

uint32_t workers_count(const workers_t *self)
{
    return self->n;
}

/* --- the reader ------------------------------------------------------- */

static bool s_sip_port(uint16_t port)
{
    return port == 5060 || port == 5061;
}

/* Whether a frame is SIP, which every worker gets: on the SIP ports; over
 * UDP, a datagram that parses as SIP (the pipeline's own test); over TCP, a
 * flow once a segment began a SIP stream or its WebSocket upgrade
 * (remembered, bounded, until idle as long as a flow). A message whole in
 * the frame is parsed into m (*parsed set). */
static bool s_is_sip(workers_t *self, const packet_t *p, const flow_key_t *k, sip_msg_t *m,
        bool *parsed)
{
    bool text = p->payload_caplen >= 12 && p->payload[0] >= 'A' && p->payload[0] <= 'Z';
    sip_rc_t rc = text ? sip_parse(p->payload, p->payload_caplen, p->proto == 6, m) : SIP_NOT_SIP;
    *parsed = rc == SIP_OK;
    if (s_sip_port(p->sport) || s_sip_port(p->dport))
        return true;
    if (p->proto == 17)
        return rc != SIP_NOT_SIP;
    uint64_t key = hash_keyed(k, sizeof *k) | 1;
    uint32_t at = lrutab_find(self->sip_tcp, key);
    if (at == LRUTAB_NONE) {
        if (!sipstream_may_begin(p->payload, p->payload_caplen))
            return false;
        at = lrutab_add(self->sip_tcp, key, 0);
    }
    lrutab_touch(self->sip_tcp, at, p->ts_us + self->cfg.idle_us);
    return true;
}

static uint64_t s_route_key(const ip_addr_t *a, uint16_t port)
{
    uint8_t b[18];
    memcpy(b, a->b, 16);
    memcpy(b + 16, &port, 2);
    return hash_keyed(b, sizeof b) | 1;
}

/* A SIP message the reader saw whole in one frame: the media endpoints its
 * SDP announces are routed to its call's worker. */
static void s_learn_routes(workers_t *self, const sip_msg_t *m, uint64_t ts_us)
{
    sdp_t sdp;
    if (!m->call_id.len || !m->body_len || sdp_parse(m->body, m->body_len, &sdp) != 0)
        return;
    uint64_t h = hash_keyed(m->call_id.p, m->call_id.len);
    uint8_t w = (uint8_t)(((h >> 32) * self->n) >> 32);
    for (uint8_t i = 0; i < sdp.nm; i++) {
        const sdp_media_t *md = &sdp.m[i];
        if (!md->port || !md->has_addr)
            continue;
        uint16_t ports[2] = {md->port, md->rtp ? md->rtcp_port : 0};
        for (int k = 0; k < 2 && ports[k]; k++) {
            uint64_t key = s_route_key(&md->addr, ports[k]);
            uint32_t at = lrutab_find(self->routes, key);
            if (at == LRUTAB_NONE)
                at = lrutab_add(self->routes, key, ts_us + ROUTE_IDLE_US);
            else
                lrutab_touch(self->routes, at, ts_us + ROUTE_IDLE_US);
            self->route_worker[at] = w;
        }
    }
}

/* The worker an SDP sent either end of a UDP flow to, or -1. The ends are
 * tried in the key's order, not the frame's: when two calls named the two
 * ends (two legs of a call through a proxy), both directions still go to
 * one worker. */
static int s_route(workers_t *self, const flow_key_t *k, uint64_t ts_us)
{
    const ip_addr_t *a[2] = {&k->a, &k->b};
    uint16_t port[2] = {k->pa, k->pb};
    for (int i = 0; i < 2; i++) {
        uint32_t at = lrutab_find(self->routes, s_route_key(a[i], port[i]));
        if (at != LRUTAB_NONE) {
            lrutab_touch(self->routes, at, ts_us + ROUTE_IDLE_US);
            return self->route_worker[at];
        }
    }
    return -1;
}

/* Where a UDP flow between unprivileged ports goes: the first frame of a
 * flow decides, and the slot of its fingerprint keeps the decision, so
 * later frames pay one fast hash. A flow whose end an SDP named goes to the
 * call's worker; one seen before any SDP named it stays where its hash put
 * it (a later SDP does not move it). An ICMP error follows the flow it
 * quotes and decides nothing. */
static uint32_t s_place_udp(workers_t *self, const flow_key_t *k, uint32_t owner, bool decide,
        uint64_t ts_us)
{
    uint64_t h = hash_fingerprint(k, sizeof *k);
    uint64_t *slot = &self->seen[h & (WORKERS_SEEN_SLOTS - 1)];
    uint64_t fp = h & ~0xffffffffffull; /* the top 24 bits; the worker in 39..32 */
    uint32_t now_s = (uint32_t)(ts_us / 1000000u), last_s = (uint32_t)*slot;
    uint32_t idle_s = (uint32_t)(self->cfg.idle_us / 1000000u) + 1;
    bool alive = now_s <= last_s || now_s - last_s <= idle_s; /* a clock gone back: alive */
    if ((*slot & ~0xffffffffffull) == fp && (*slot >> 32 & 0xff) && alive) { /* decided */
        uint32_t w = (uint32_t)(*slot >> 32 & 0xff) - 1;
        if (decide && now_s > last_s)
            *slot = (*slot & ~0xffffffffull) | now_s;
        if (w != WORKERS_HASHED)
            self->st.media_routed++;
        return w == WORKERS_HASHED ? owner : w;
    }
    int r = s_route(self, k, ts_us);
    if (decide)
        *slot = fp | (uint64_t)(r >= 0 ? (uint32_t)r + 1 : WORKERS_HASHED + 1) << 32 | now_s;
    if (r < 0)
        return owner;
    self->st.media_routed++;
    return (uint32_t)r;
}

/* The capture's clock, told to every worker each second it moves. */
static void s_clock(workers_t *self, uint64_t ts_us)
{
    if (ts_us > self->clock_us)
        self->clock_us = ts_us;
    if (self->clock_us < self->told_us + 1000000u)
        return;
    self->told_us = self->clock_us;
    defrag_expire(self->defrag, self->clock_us); /* each second, as a pipeline does */
    capture_pkt_t h = {.ts_us = self->clock_us};
    for (uint32_t i = 0; i < self->n; i++)
        s_push(self, &self->wk[i], REC_CLOCK, &h, NULL, 0);
}

static void s_dispatch(workers_t *self, const capture_pkt_t *hdr, const uint8_t *data);

/* A frame whose date the reader believes (or corrected): a step of the
 * clock goes to every worker before it. */
static void s_clocked(void *ctx, const capture_pkt_t *hdr, const uint8_t *data,
        clockhold_how_t how)
{
    workers_t *self = ctx;
    if (how == CLOCKHOLD_STEP) {
        self->clock_steps++;
        self->clock_us = self->told_us = self->tick_now_us = hdr->ts_us;
        for (uint32_t i = 0; i < self->n; i++)
            s_push(self, &self->wk[i], REC_STEP, hdr, NULL, 0);
    } else if (how == CLOCKHOLD_JUMP) {
        self->clock_jumps++;
    }
    s_dispatch(self, hdr, data);
}

void workers_packet(workers_t *self, const capture_pkt_t *hdr, const uint8_t *data)
{
    if (self->n == 1)
        pipeline_packet(self->wk[0].pl, hdr, data);
    else
        clockhold_frame(&self->hold, self->clock_us, self->tick_mono_us, hdr, data);
}

/* Where a decoded packet (a frame, or a datagram made whole) goes: *owner
 * the worker that counts it, *all when every worker gets it (SIP, DNS
 * answers). */
static void s_place(workers_t *self, const packet_t *p, uint32_t *owner, bool *all)
{
    flow_key_t k;
    if (p->icmp_err)
        flow_key_make(&k, &p->in_src, p->in_sport, &p->in_dst, p->in_dport, p->in_proto);
    else
        flow_key_make(&k, &p->src, p->sport, &p->dst, p->dport, p->proto);
    *owner = flow_key_worker(&k, self->n);
    *all = false;
    bool l4 = !p->icmp_err && (p->proto == 6 || p->proto == 17);
    sip_msg_t m;
    bool parsed = false;
    if (l4 && s_is_sip(self, p, &k, &m, &parsed)) {
        *all = true;
        if (parsed)
            s_learn_routes(self, &m, p->ts_us);
    } else if (l4 && p->sport == 53) {
        *all = true;
    } else if (k.proto == 17 && k.pa >= 1024 && k.pb >= 1024) {
        *owner = s_place_udp(self, &k, *owner, !p->icmp_err, p->ts_us);
    }
}

static void s_dispatch(workers_t *self, const capture_pkt_t *hdr, const uint8_t *data)
{
    self->st.frames++;
    packet_t p;
    p.ts_us = hdr->ts_us;
    p.num = hdr->num;
    decode_err_t e = decode_packet_cfg(&self->cfg.decode, hdr->linktype, data, hdr->caplen,
            hdr->wirelen, &p);
    capture_pkt_t h = *hdr;
    h.frag_owner = 0;
    uint32_t owner = 0;
    bool all = false, dated = e == DECODE_OK;
    if (e == DECODE_ERR_FRAGMENT) {
        all = true; /* whole only in the workers: each reassembles */
        const uint8_t *whole;
        uint32_t len;
        if (defrag_add(self->defrag, &p, &whole, &len)) {
            packet_t d; /* as the pipeline decodes it (pipeline.c) */
            d.ts_us = p.ts_us;
            d.num = p.num;
            if (decode_packet_cfg(&self->cfg.decode, LINK_RAW, whole, len, len, &d) ==
                    DECODE_OK) {
                dated = true; /* a pipeline's clock moves on a datagram made whole */
                uint32_t o;
                bool a;
                s_place(self, &d, &o, &a);
                h.frag_owner = (uint8_t)(o + 1);
                h.frag_all = a;
            }
        }
    } else if (e == DECODE_OK) {
        s_place(self, &p, &owner, &all);
    }
    if (dated) {
        s_clock(self, hdr->ts_us);
        if (!(self->st.frames & 0xffff)) {
            lrutab_expire(self->routes, self->clock_us);
            lrutab_expire(self->sip_tcp, self->clock_us);
        }
    }
    for (uint32_t i = 0; i < self->n; i++) {
        if (i != owner && !all)
            continue;
        h.copy = i != owner;
        self->st.copies += h.copy;
        self->wk[i].handed++;
        s_push(self, &self->wk[i], REC_FRAME, &h, data, hdr->caplen);
    }
}

/* --- merged views ------------------------------------------------------ */

/* The counters of what every worker holds whole (SIP, DNS answers,
 * fragments): worker 0's alone, not a sum. */
static bool s_replicated(const char *path)
{
    static const char *const whole[] = {
        "pinhole.defrag", "pinhole.sip_tcp", "pinhole.sip_ws", "pinhole.sip_transactions",
        "pinhole.media_calls", "pinhole.media_calls_ended", "pinhole.dns",
        "pinhole.tables.nat_", "pinhole.tables.media_calls", "pinhole.tables.media_endpoints",
        "pinhole.tables.sip_", "pinhole.tables.alg_messages", "pinhole.tables.defrag",
        "pinhole.tables.dns_bindings", "capture",
    };
    for (size_t i = 0; i < sizeof whole / sizeof *whole; i++)
        if (strncmp(path, whole[i], strlen(whole[i])) == 0)
            return true;
    return false;
}

/* Adds src's numbers into dst's (same shape), but for replicated counters. */
static void s_sum(json_object *dst, json_object *src, char *path, size_t at, size_t n)
{
    json_object_object_foreach(src, key, val) {
        int w = snprintf(path + at, n - at, "%s%s", at ? "." : "", key);
        if (w < 0 || (size_t)w >= n - at)
            continue;
        json_object *d = NULL;
        if (!json_object_object_get_ex(dst, key, &d) || s_replicated(path))
            continue;
        if (json_object_is_type(val, json_type_object))
            s_sum(d, val, path, at + (size_t)w, n);
        else if (json_object_is_type(val, json_type_int))
            json_object_set_int64(d, json_object_get_int64(d) + json_object_get_int64(val));
    }
    path[at] = 0;
}

static json_object *s_stats(workers_t *self)
{
    json_object *all = pipeline_stats_object(self->wk[0].pl);
    char path[256] = "";
    for (uint32_t i = 1; i < self->n; i++) {
        json_object *o = pipeline_stats_object(self->wk[i].pl);
        s_sum(all, o, path, 0, sizeof path);
        json_object_put(o);
    }
    /* Frames handed to workers as copies are not counted there: the flows
     * they made are not either. */
    json_object *pin = NULL, *fl, *cr;
    pipeline_stats_t st;
    workers_stats(self, &st);
    if (json_object_object_get_ex(all, "pinhole", &pin) &&
            json_object_object_get_ex(pin, "flows", &fl) &&
            json_object_object_get_ex(fl, "created", &cr))
        json_object_set_int64(cr, json_object_get_int64(cr) - (int64_t)st.replica_flows);
    if (pin) { /* the reader keeps the clock; the one writer's errors too */
        json_object_object_add(pin, "clock_jump", json_object_new_int64((int64_t)st.clock_jumps));
        json_object_object_add(pin, "clock_step", json_object_new_int64((int64_t)st.clock_steps));
        json_object_object_add(pin, "events_write_errors",
                json_object_new_int64((int64_t)st.events_write_errors));
    }
    return all;
}

static void s_merge_report(workers_t *self)
{
    report_destroy(&self->merged);
    pipeline_t *p0 = self->wk[0].pl;
    if (!(self->merged = report_new(self->cfg.rules, NULL)))
        return;
    for (uint32_t i = 0; i < self->n; i++)
        report_merge(self->merged, pipeline_report(self->wk[i].pl));
    report_set_nat(self->merged, pipeline_nat(p0));
    report_set_alg(self->merged, pipeline_alg(p0));
}

/* The periodic (or last) merged events: summaries from worker 0, which saw
 * all SIP, with the merged flow counters; the stats. */
static void s_write_merged(workers_t *self)
{
    s_merge_report(self);
    pipeline_t *p0 = self->wk[0].pl;
    if (self->live)
        pipeline_set_kernel_stats(p0, self->kernel[0], self->kernel[1], self->kernel[2]);
    /* Dated as one pipeline dates them: the last frame live or at the end. */
    pipeline_stats_t st;
    workers_stats(self, &st);
    if (self->merged)
        pipeline_site_summaries(p0, self->merged, st.last_us);
    pipeline_write_stats(p0, s_stats(self), st.last_us);
}

/* --- the pipeline's operations, for all ------------------------------- */

bool workers_tick(workers_t *self, uint64_t mono_us)
{
    if (self->n == 1)
        return pipeline_tick(self->wk[0].pl, mono_us);
    if (!self->tick_mono_us) { /* the first tick starts the clocks */
        self->tick_mono_us = self->last_summary_mono_us = mono_us;
        self->tick_now_us = self->clock_us;
    } else { /* as pipeline_tick: the clock moves on by the monotonic time */
        clockhold_tick(&self->hold, self->clock_us, mono_us);
        uint64_t moved = self->tick_now_us + (mono_us - self->tick_mono_us);
        if (self->clock_us && moved > self->clock_us)
            self->clock_us = moved;
        self->tick_now_us = self->clock_us;
        self->tick_mono_us = mono_us;
    }
    capture_pkt_t h = {.ts_us = mono_us};
    for (uint32_t i = 0; i < self->n; i++)
        s_push(self, &self->wk[i], REC_TICK, &h, NULL, 0);
    if (mono_us == self->last_summary_mono_us ||
            mono_us - self->last_summary_mono_us < self->cfg.summary_us)
        return false;
    self->last_summary_mono_us = mono_us;
    s_pause(self);
    s_write_merged(self);
    s_resume(self);
    return true;
}

void workers_set_kernel_stats(workers_t *self, uint64_t received, uint64_t dropped,
        uint64_t ifdropped)
{
    if (self->n == 1) {
        pipeline_set_kernel_stats(self->wk[0].pl, received, dropped, ifdropped);
        return;
    }
    /* Given to worker 0 (whose "capture" counters are the merged ones)
     * when the workers next pause. */
    self->kernel[0] = received;
    self->kernel[1] = dropped;
    self->kernel[2] = ifdropped;
    self->live = true;
}

bool workers_set_rules(workers_t *self, const rules_t *rules, char *why, size_t n)
{
    bool ok = true;
    s_pause(self);
    for (uint32_t i = 0; i < self->n && ok; i++)
        ok = pipeline_set_rules(self->wk[i].pl, rules, why, n);
    if (ok && self->n > 1) {
        self->cfg.rules = rules;
        output_set_rules(self->out, rules);
        if (!s_share_inbound(self, rules)) {
            snprintf(why, n, "out of memory");
            ok = false;
        }
    }
    s_resume(self);
    return ok;
}

void workers_flush(workers_t *self)
{
    if (self->n == 1) {
        pipeline_flush(self->wk[0].pl);
        return;
    }
    pthread_mutex_lock(&self->out_mu);
    output_flush(self->out);
    pthread_mutex_unlock(&self->out_mu);
}

bool workers_reopen(workers_t *self, char *err, size_t errlen)
{
    if (self->n == 1)
        return pipeline_reopen(self->wk[0].pl, err, errlen);
    pthread_mutex_lock(&self->out_mu);
    bool ok = output_reopen(self->out, err, errlen) == 0;
    pthread_mutex_unlock(&self->out_mu);
    return ok;
}

void workers_finish(workers_t *self, uint64_t sources)
{
    if (self->n > 1)
        clockhold_finish(&self->hold, self->clock_us);
    s_pause(self);
    uint64_t last = 0; /* the capture's last frame, whichever worker had it */
    for (uint32_t i = 0; i < self->n; i++) {
        pipeline_stats_t st;
        pipeline_stats(self->wk[i].pl, &st);
        last = st.last_us > last ? st.last_us : last;
    }
    for (uint32_t i = 0; i < self->n; i++) {
        pipeline_capture_last(self->wk[i].pl, last);
        pipeline_finish(self->wk[i].pl, sources);
    }
    if (self->n > 1) {
        s_write_merged(self);
        workers_flush(self);
    }
    s_resume(self);
}

char *workers_stats_json(workers_t *self)
{
    if (self->n == 1)
        return pipeline_stats_json(self->wk[0].pl);
    s_pause(self);
    if (self->live)
        pipeline_set_kernel_stats(self->wk[0].pl, self->kernel[0], self->kernel[1],
                self->kernel[2]);
    json_object *s = s_stats(self);
    s_resume(self);
    char *out = strdup(json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN));
    json_object_put(s);
    return out;
}

uint32_t workers_chain_max(workers_t *self)
{
    uint32_t m = 0;
    s_pause(self);
    for (uint32_t i = 0; i < self->n; i++) {
        uint32_t c = pipeline_chain_max(self->wk[i].pl);
        m = c > m ? c : m;
    }
    s_resume(self);
    return m;
}

void workers_stats(workers_t *self, pipeline_stats_t *out)
{
    pipeline_stats(self->wk[0].pl, out);
    for (uint32_t i = 1; i < self->n; i++) {
        pipeline_stats_t s;
        pipeline_stats(self->wk[i].pl, &s);
        out->packets += s.packets;
        out->bytes += s.bytes;
        for (int k = 0; k < DECODE_ERR_COUNT; k++)
            out->decode[k] += s.decode[k];
        for (int k = 0; k < TUNNEL_KINDS; k++)
            out->tunnels[k] += s.tunnels[k];
        out->duplicates += s.duplicates;
        out->icmp_matched += s.icmp_matched;
        out->icmp_unmatched += s.icmp_unmatched;
        out->sip_messages += s.sip_messages;
        out->sip_invalid += s.sip_invalid;
        out->reassembled_invalid += s.reassembled_invalid;
        if (s.first_us && (!out->first_us || s.first_us < out->first_us))
            out->first_us = s.first_us;
        if (s.last_us > out->last_us)
            out->last_us = s.last_us;
        out->replica_flows += s.replica_flows;
        out->events_write_errors += s.events_write_errors; /* lines a worker lost */
    }
    if (self->n > 1) { /* the reader keeps the clock; the one writer */
        out->events_write_errors += output_write_errors(self->out);
        out->clock_jumps = self->clock_jumps;
        out->clock_steps = self->clock_steps;
    }
}

const report_t *workers_report(workers_t *self)
{
    if (self->n == 1)
        return pipeline_report(self->wk[0].pl);
    if (!self->merged)
        s_merge_report(self);
    return self->merged;
}

void workers_report_meta(workers_t *self, report_meta_t *meta)
{
    pipeline_report_meta(self->wk[0].pl, meta);
    for (uint32_t i = 1; i < self->n; i++) {
        report_meta_t m;
        pipeline_report_meta(self->wk[i].pl, &m);
        meta->packets += m.packets;
        meta->bytes += m.bytes;
        meta->duplicates += m.duplicates;
        meta->flows += m.flows;
        meta->evicted += m.evicted;
        meta->decode_errors += m.decode_errors;
        if (m.first_us && (!meta->first_us || m.first_us < meta->first_us))
            meta->first_us = m.first_us;
        if (m.last_us > meta->last_us)
            meta->last_us = m.last_us;
    }
}

void workers_dispatch_stats(const workers_t *self, workers_stats_t *out)
{
    *out = self->st;
    for (uint32_t i = 0; i < self->n; i++)
        out->per_worker[i] = self->wk[i].handed;
}

void workers_events_lock(workers_t *self)
{
    pthread_mutex_lock(&self->out_mu);
}

void workers_events_unlock(workers_t *self)
{
    pthread_mutex_unlock(&self->out_mu);
}
