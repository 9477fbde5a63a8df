/* SPDX-License-Identifier: MIT */
/* publish.c: acknowledged event delivery to the collector (docs/link.md).
 *
 * Design
 * ------
 * The capture thread appends events to an open batch (a "segment": up to
 * batch_events lines in one buffer) and seals it when it is full or older
 * than batch_ms. Sealed segments go to the actor through a short
 * mutex-guarded hand-off list; the capture thread never touches the socket.
 *
 * The actor keeps every segment in one queue, oldest first, until the
 * collector acknowledges it (an "ack" names the highest sequence number it
 * has stored durably). It sends up to `window` segments ahead (go-back-N):
 * when no acknowledgement comes for resend_ms, or the collector asks for a
 * resend (it saw a hole), it starts again from the oldest unacknowledged
 * segment. The collector drops what it already has, so a resend is safe.
 *
 * Memory is bounded: past mem_max bytes the newest unsent segments are
 * written to the spool directory (one file each, read back when their turn
 * comes); past spool_max bytes the oldest spooled segments are discarded,
 * and counted. Without a spool, the oldest unsent segments are discarded.
 * The discarded numbers are never sent, so the collector counts a gap.
 *
 * On close, what is unacknowledged after the timeout stays in the spool for
 * the next run, which sends it first, under its own epoch.
 *
 * The socket: DEALER, connecting (so sensors behind a site's NAT reach the
 * collector), ZMQ_IMMEDIATE (no queueing towards a peer that is not there:
 * our own queue holds the events), TCP keepalive and ZMTP heartbeats (a dead
 * link is noticed in seconds), CURVE unless plain was asked for. */
#include "publish.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "evschema.h"
#include "log.h"
#include "strutil.h"

typedef struct seg {
    struct seg *next;
    char epoch[EVSCHEMA_EPOCH_LEN];
    uint64_t first, count;
    char *buf;            /* the lines, '\n'-separated; NULL while spooled */
    size_t len, cap;
    size_t disk;          /* bytes of its spool file; 0: none */
    uint64_t opened_ms;   /* open segment: when its first event came */
    uint64_t base;        /* the oldest number held with none missing up to first */
    bool sent;            /* in flight */
} seg_t;

struct publish {
    publish_cfg_t cfg;
    char *endpoint, *sensor, *spool_dir;
    char epoch[EVSCHEMA_EPOCH_LEN];
    uint64_t next_seq;

    /* capture thread */
    seg_t *open;

    /* hand-off, under lock */
    pthread_mutex_t lock;
    pthread_cond_t room;  /* memory was freed (a blocked capture thread waits) */
    uint64_t mem_bytes;   /* segment buffers in memory, sealed ones included */
    seg_t *handoff, *handoff_tail;
    char *stats;          /* latest capture statistics */
    bool closing;
    uint64_t deadline_ms;
    publish_stats_t st;
    struct {              /* what the link went through (monitor events) */
        uint64_t tcp;       /* TCP connections made */
        uint64_t retried;   /* connects that failed before any succeeded */
        uint64_t handshakes;   /* handshakes that succeeded */
        uint64_t hs_failed; /* handshakes failed other than by ZAP (wrong key) */
    } link;

    /* actor */
    pthread_t thread;
    void *ctx, *sock, *mon;
    seg_t *head, *tail;   /* unacknowledged, oldest first */
    seg_t *next_send;     /* first segment not sent since the last go-back */
    uint32_t inflight;
    uint64_t last_progress_ms, last_heartbeat_ms;
    bool done;
};

/* Memory accounting, shared with the capture thread (it may wait for room). */
static void s_mem(publish_t *self, int64_t delta)
{
    pthread_mutex_lock(&self->lock);
    self->mem_bytes = (uint64_t)((int64_t)self->mem_bytes + delta);
    if (delta < 0)
        pthread_cond_broadcast(&self->room);
    pthread_mutex_unlock(&self->lock);
}

static uint64_t s_mem_now(publish_t *self)
{
    pthread_mutex_lock(&self->lock);
    uint64_t m = self->mem_bytes;
    pthread_mutex_unlock(&self->lock);
    return m;
}

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void publish_cfg_defaults(publish_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->spool_max = 1024ull << 20;
    cfg->mem_max = 64ull << 20;
    cfg->batch_events = 512;
    cfg->batch_ms = 200;
    cfg->window = 8;
    cfg->resend_ms = 3000;
    cfg->heartbeat_ms = 10000;
}

/* ------------------------------------------------------------------ */
/* Spool files: DIR/<epoch>-<first>.seg, a header line, then the lines.  */

static void s_seg_path(const publish_t *self, const seg_t *s, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s-%016llx.seg", self->spool_dir, s->epoch, (unsigned long long)s->first);
}

/* Writes a segment's lines to its file and frees them. */
static bool s_spill(publish_t *self, seg_t *s)
{
    if (s->disk) { /* read back earlier: its file is still there */
        s_mem(self, -(int64_t)s->cap);
        free(s->buf);
        s->buf = NULL;
        s->cap = 0;
        return true;
    }
    char path[4096];
    s_seg_path(self, s, path, sizeof path);
    FILE *f = fopen(path, "w");
    if (!f) {
        log_warn("%s: cannot write the spool: %s", path, strerror(errno));
        return false;
    }
    int hl = fprintf(f, "{\"sensor\":\"%s\",\"epoch\":\"%s\",\"first\":%llu,\"count\":%llu}\n",
            self->sensor, s->epoch, (unsigned long long)s->first, (unsigned long long)s->count);
    size_t w = fwrite(s->buf, 1, s->len, f);
    if (fclose(f) != 0 || w != s->len || hl < 0) {
        log_warn("%s: cannot write the spool", path);
        unlink(path);
        return false;
    }
    s->disk = (size_t)hl + s->len;
    s_mem(self, -(int64_t)s->cap);
    free(s->buf);
    s->buf = NULL;
    s->cap = 0;
    pthread_mutex_lock(&self->lock);
    self->st.spooled += s->count;
    self->st.spool_bytes += s->disk;
    pthread_mutex_unlock(&self->lock);
    return true;
}

/* Reads a spooled segment back into memory (its file stays until acked). */
static bool s_unspill(publish_t *self, seg_t *s)
{
    char path[4096];
    s_seg_path(self, s, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char head[512];
    bool ok = fgets(head, sizeof head, f) != NULL;
    size_t len = s->disk > strlen(head) ? s->disk - strlen(head) : 0;
    s->buf = ok && len ? malloc(len) : NULL;
    ok = s->buf && fread(s->buf, 1, len, f) == len;
    fclose(f);
    if (!ok) {
        free(s->buf);
        s->buf = NULL;
        log_warn("%s: spool file unreadable", path);
        return false;
    }
    s->len = s->cap = len;
    s_mem(self, (int64_t)len);
    return true;
}

static void s_seg_free(publish_t *self, seg_t *s)
{
    if (s->disk) {
        char path[4096];
        s_seg_path(self, s, path, sizeof path);
        unlink(path);
        pthread_mutex_lock(&self->lock);
        self->st.spool_bytes -= s->disk;
        pthread_mutex_unlock(&self->lock);
    }
    if (s->buf)
        s_mem(self, -(int64_t)s->cap);
    free(s->buf);
    free(s);
}

/* Appends a segment to the queue. Its base is its predecessor's when the
 * two are contiguous: numbers already acknowledged below it are harmless
 * (the collector is past them), numbers discarded are not (s_discard). */
static void s_append(publish_t *self, seg_t *s)
{
    seg_t *t = self->tail;
    s->next = NULL;
    s->base = t && strcmp(t->epoch, s->epoch) == 0 && t->first + t->count == s->first ? t->base
                                                                                       : s->first;
    if (t)
        t->next = s;
    else
        self->head = s;
    self->tail = s;
    if (!self->next_send)
        self->next_send = s;
}

static int s_seg_cmp(const void *a, const void *b)
{
    const seg_t *x = *(seg_t *const *)a, *y = *(seg_t *const *)b;
    int c = strcmp(x->epoch, y->epoch);
    return c ? c : x->first < y->first ? -1 : x->first > y->first;
}

/* Loads what earlier runs left in the spool, oldest epoch first. */
static void s_spool_load(publish_t *self)
{
    DIR *d = opendir(self->spool_dir);
    if (!d)
        return;
    seg_t **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".seg") != 0)
            continue;
        char path[4096], head[512], sensor[EVSCHEMA_NAME_LEN], epoch[EVSCHEMA_EPOCH_LEN];
        unsigned long long first, count;
        snprintf(path, sizeof path, "%s/%s", self->spool_dir, e->d_name);
        FILE *f = fopen(path, "r");
        struct stat sb;
        bool ok = f && fgets(head, sizeof head, f) && fstat(fileno(f), &sb) == 0 &&
                  sscanf(head, "{\"sensor\":\"%63[^\"]\",\"epoch\":\"%31[^\"]\",\"first\":%llu,\"count\":%llu}",
                          sensor, epoch, &first, &count) == 4 &&
                  evschema_is_epoch(epoch) && first > 0 && count > 0 && count <= EVSCHEMA_MAX_BATCH;
        if (f)
            fclose(f);
        if (!ok || strcmp(sensor, self->sensor) != 0) {
            log_warn("%s: not a spool file of sensor %s; left alone", path, self->sensor);
            continue;
        }
        seg_t *s = calloc(1, sizeof *s);
        if (!s || (n == cap && !(v = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof *v)))) {
            free(s);
            break;
        }
        str_copy(s->epoch, epoch, sizeof s->epoch);
        s->first = first;
        s->count = count;
        s->disk = (size_t)sb.st_size;
        v[n++] = s;
        self->st.spool_bytes += s->disk;
        self->st.pending += count;
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof *v, s_seg_cmp);
    for (size_t i = 0; i < n; i++)
        s_append(self, v[i]);
    if (n)
        log_notice("%s: %llu events of earlier runs in %zu spool files; they go first",
                self->spool_dir, (unsigned long long)self->st.pending, n);
    free(v);
}

/* ------------------------------------------------------------------ */
/* Actor                                                               */

static seg_t *s_prev(publish_t *self, const seg_t *s)
{
    seg_t *p = self->head;
    while (p && p->next != s)
        p = p->next;
    return p;
}

/* Drops an unsent segment (never the head: victims come after next_send).
 * Later segments of its epoch no longer reach back past the hole. */
static void s_discard(publish_t *self, seg_t *s)
{
    seg_t *prev = s_prev(self, s);
    if (!prev || s->sent)
        return;
    prev->next = s->next;
    if (self->tail == s)
        self->tail = prev;
    if (self->next_send == s)
        self->next_send = s->next;
    uint64_t after = s->first + s->count;
    for (seg_t *p = s->next; p; p = p->next)
        if (strcmp(p->epoch, s->epoch) == 0 && p->base < after)
            p->base = after;
    pthread_mutex_lock(&self->lock);
    self->st.discarded += s->count;
    self->st.pending -= s->count;
    pthread_mutex_unlock(&self->lock);
    log_warn("%s full: %llu events (%s %llu-%llu) discarded", self->spool_dir ? "spool" : "memory",
            (unsigned long long)s->count, s->epoch, (unsigned long long)s->first,
            (unsigned long long)(s->first + s->count - 1));
    s_seg_free(self, s);
}

/* Keeps memory and spool within bounds. */
static void s_bound(publish_t *self)
{
    pthread_mutex_lock(&self->lock);
    bool waiting = self->cfg.block_when_full && self->st.connected;
    pthread_mutex_unlock(&self->lock);
    while (s_mem_now(self) > self->cfg.mem_max) {
        /* Newest unsent segment in memory goes to disk (or is dropped). */
        seg_t *victim = NULL;
        for (seg_t *s = self->next_send; s; s = s->next)
            if (s->buf && s != self->next_send)
                victim = self->spool_dir ? s : victim ? victim : s;
        if (!victim)
            break;
        if (self->spool_dir && s_spill(self, victim))
            continue;
        if (waiting)
            break; /* the capture thread waits for the collector instead */
        s_discard(self, victim);
    }
    while (self->spool_dir && self->st.spool_bytes > self->cfg.spool_max) {
        seg_t *victim = NULL;
        for (seg_t *s = self->next_send; s && !victim; s = s->next)
            if (s->disk && s != self->next_send)
                victim = s;
        if (!victim)
            break;
        s_discard(self, victim);
    }
}

static bool s_send(publish_t *self, const char *head, const void *body, size_t blen)
{
    int flags = ZMQ_DONTWAIT | (body ? ZMQ_SNDMORE : 0);
    if (zmq_send(self->sock, head, strlen(head), flags) < 0)
        return false;
    if (body && zmq_send(self->sock, body, blen, ZMQ_DONTWAIT) < 0)
        return false; /* a multipart message is atomic: nothing was sent */
    return true;
}

/* Go back N: everything unacknowledged is sent again. */
static void s_go_back(publish_t *self)
{
    for (seg_t *s = self->head; s && s != self->next_send; s = s->next)
        s->sent = false;
    self->next_send = self->head;
    self->inflight = 0;
}

static void s_send_events(publish_t *self)
{
    while (self->next_send && self->inflight < self->cfg.window) {
        seg_t *s = self->next_send;
        if (!s->buf && !s_unspill(self, s))
            break;
        evschema_header_t h;
        memset(&h, 0, sizeof h);
        h.kind = EVSCHEMA_EVENTS;
        str_copy(h.sensor, self->sensor, sizeof h.sensor);
        str_copy(h.epoch, s->epoch, sizeof h.epoch);
        h.first = s->first;
        h.count = s->count;
        h.base = s->base;
        char head[512];
        evschema_header_encode(&h, head, sizeof head);
        if (!s_send(self, head, s->buf, s->len))
            break; /* not connected, or the pipe is full: later */
        if (self->inflight == 0)
            self->last_progress_ms = s_now_ms();
        self->inflight++;
        s->sent = true;
        self->next_send = s->next;
        pthread_mutex_lock(&self->lock);
        self->st.messages++;
        pthread_mutex_unlock(&self->lock);
    }
}

static void s_heartbeat(publish_t *self, evschema_kind_t kind)
{
    pthread_mutex_lock(&self->lock);
    publish_stats_t st = self->st;
    char *cap = self->stats ? strdup(self->stats) : NULL;
    pthread_mutex_unlock(&self->lock);
    char stats[EVSCHEMA_MAX_HEADER - 512];
    snprintf(stats, sizeof stats,
            "{\"link\":{\"events\":%llu,\"acked\":%llu,\"pending\":%llu,\"spooled\":%llu,"
            "\"discarded\":%llu,\"spool_bytes\":%llu,\"resent\":%llu}%s%s}",
            (unsigned long long)st.events, (unsigned long long)st.acked,
            (unsigned long long)st.pending, (unsigned long long)st.spooled,
            (unsigned long long)st.discarded, (unsigned long long)st.spool_bytes,
            (unsigned long long)st.resent, cap ? ",\"capture\":" : "", cap ? cap : "");
    free(cap);
    evschema_header_t h;
    memset(&h, 0, sizeof h);
    h.kind = kind;
    str_copy(h.sensor, self->sensor, sizeof h.sensor);
    str_copy(h.epoch, self->epoch, sizeof h.epoch);
    h.stats = stats;
    char head[EVSCHEMA_MAX_HEADER];
    if (evschema_header_encode(&h, head, sizeof head) < 0 || !s_send(self, head, NULL, 0))
        return;
    pthread_mutex_lock(&self->lock);
    self->st.heartbeats++;
    pthread_mutex_unlock(&self->lock);
}

static void s_on_ack(publish_t *self, const evschema_header_t *h)
{
    uint64_t n = 0;
    while (self->head && strcmp(self->head->epoch, h->epoch) == 0 &&
            self->head->first + self->head->count - 1 <= h->acked) {
        seg_t *s = self->head;
        self->head = s->next;
        if (!self->head)
            self->tail = NULL;
        if (self->next_send == s)
            self->next_send = s->next;
        if (s->sent)
            self->inflight--;
        n += s->count;
        s_seg_free(self, s);
    }
    if (n)
        self->last_progress_ms = s_now_ms();
    pthread_mutex_lock(&self->lock);
    self->st.acked += n;
    self->st.pending -= n;
    if (h->resend && self->inflight)
        self->st.resent++;
    pthread_mutex_unlock(&self->lock);
    if (h->resend && self->inflight)
        s_go_back(self);
}

static void s_read_acks(publish_t *self)
{
    char buf[1024];
    for (;;) {
        int n = zmq_recv(self->sock, buf, sizeof buf, ZMQ_DONTWAIT);
        if (n < 0)
            return;
        int more = 0;
        size_t ml = sizeof more;
        zmq_getsockopt(self->sock, ZMQ_RCVMORE, &more, &ml);
        while (more) { /* an ack is one frame; drop anything else */
            zmq_recv(self->sock, buf, sizeof buf, 0);
            zmq_getsockopt(self->sock, ZMQ_RCVMORE, &more, &ml);
        }
        evschema_header_t h;
        char err[128];
        if (n > (int)sizeof buf || evschema_header_parse(buf, (size_t)n, &h, err, sizeof err) ||
                h.kind != EVSCHEMA_ACK) {
            log_warn("collector sent something that is not an ack; ignored");
            continue;
        }
        s_on_ack(self, &h);
        evschema_header_fini(&h);
    }
}

/* Logs the first of each kind of link failure (later ones repeat it). */
static void s_link_failed(publish_t *self, uint16_t ev, uint64_t nth, uint64_t fails)
{
    if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && (fails & (fails - 1)) == 0)
        log_error("the collector %s refused this sensor's key (%llu times); is %s on its "
                  "allow-list?", self->endpoint, (unsigned long long)fails, self->sensor);
    else if (ev == ZMQ_EVENT_CONNECT_RETRIED && nth == 1)
        log_warn("collector %s: cannot connect; retrying, the events are kept", self->endpoint);
    else if (ev != ZMQ_EVENT_CONNECT_RETRIED && ev != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && nth == 1)
        log_error("collector %s: %s handshake refused (%s); retrying, the events are kept",
                self->endpoint, self->cfg.plain ? "plain" : "CURVE",
                self->cfg.plain ? "does the collector want CURVE?"
                                : "is --collector-key the collector's public key?");
}

static void s_read_monitor(publish_t *self)
{
    zmq_msg_t m;
    for (;;) {
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, self->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        uint16_t ev = 0;
        if (zmq_msg_size(&m) >= 6)
            memcpy(&ev, zmq_msg_data(&m), 2);
        int more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        if (more) { /* the endpoint frame */
            zmq_msg_init(&m);
            zmq_msg_recv(&m, self->mon, 0);
            zmq_msg_close(&m);
        }
        pthread_mutex_lock(&self->lock);
        bool was = self->st.connected;
        uint64_t nth = 0;
        if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            self->st.connected = true;
            self->link.handshakes++;
        } else if (ev == ZMQ_EVENT_DISCONNECTED) {
            self->st.connected = false;
        } else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            self->st.auth_failures++;
        } else if (ev == ZMQ_EVENT_CONNECTED) {
            self->link.tcp++;
        } else if (ev == ZMQ_EVENT_CONNECT_RETRIED) {
            /* also after a refused handshake: only the first connect counts */
            nth = self->link.tcp ? 0 : ++self->link.retried;
        } else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                   ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
            nth = ++self->link.hs_failed;
        }
        uint64_t fails = self->st.auth_failures;
        pthread_mutex_unlock(&self->lock);
        if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && !was) {
            log_notice("connected to the collector %s", self->endpoint);
            /* Whatever was in flight may have died with the old link. */
            s_go_back(self);
        } else if (ev == ZMQ_EVENT_DISCONNECTED && was) {
            log_warn("link to the collector %s lost; events are kept", self->endpoint);
        } else if (ev != ZMQ_EVENT_CONNECTED && ev != ZMQ_EVENT_DISCONNECTED &&
                   ev != ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            s_link_failed(self, ev, nth, fails);
        }
    }
}

/* Takes sealed segments from the capture thread. */
static bool s_take(publish_t *self)
{
    pthread_mutex_lock(&self->lock);
    seg_t *s = self->handoff;
    self->handoff = self->handoff_tail = NULL;
    bool closing = self->closing;
    pthread_mutex_unlock(&self->lock);
    while (s) {
        seg_t *next = s->next;
        s_append(self, s);
        s = next;
    }
    return closing;
}

static void *s_actor(void *arg)
{
    publish_t *self = arg;
    for (;;) {
        bool closing = s_take(self);
        s_bound(self);
        uint64_t now = s_now_ms();
        if (self->inflight && now - self->last_progress_ms > self->cfg.resend_ms) {
            s_go_back(self);
            self->last_progress_ms = now;
            pthread_mutex_lock(&self->lock);
            self->st.resent++;
            pthread_mutex_unlock(&self->lock);
        }
        s_send_events(self);
        if (now - self->last_heartbeat_ms >= self->cfg.heartbeat_ms) {
            s_heartbeat(self, EVSCHEMA_HEARTBEAT);
            self->last_heartbeat_ms = now;
        }
        if (closing && (!self->head || now >= self->deadline_ms))
            break;
        zmq_pollitem_t items[] = {{self->sock, 0, ZMQ_POLLIN, 0}, {self->mon, 0, ZMQ_POLLIN, 0}};
        zmq_poll(items, 2, 20);
        if (items[1].revents & ZMQ_POLLIN)
            s_read_monitor(self);
        if (items[0].revents & ZMQ_POLLIN)
            s_read_acks(self);
    }
    s_heartbeat(self, EVSCHEMA_BYE);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Construction                                                        */

static bool s_socket(publish_t *self, char *err, size_t errlen)
{
    const publish_cfg_t *c = &self->cfg;
    int one = 1, zero = 0, ivl = 100, ivl_max = 2000, ka_idle = EVSCHEMA_KEEPALIVE_IDLE_S;
    int hb = EVSCHEMA_HEARTBEAT_MS, hb_to = EVSCHEMA_HEARTBEAT_TIMEOUT_MS;
    self->sock = zmq_socket(self->ctx, ZMQ_DEALER);
    if (!self->sock)
        goto fail;
    zmq_setsockopt(self->sock, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt(self->sock, ZMQ_LINGER, &zero, sizeof zero); /* our queue keeps the events */
    zmq_setsockopt(self->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(self->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
    zmq_setsockopt(self->sock, ZMQ_HEARTBEAT_IVL, &hb, sizeof hb);
    zmq_setsockopt(self->sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_to, sizeof hb_to);
    zmq_setsockopt(self->sock, ZMQ_TCP_KEEPALIVE, &one, sizeof one);
    zmq_setsockopt(self->sock, ZMQ_TCP_KEEPALIVE_IDLE, &ka_idle, sizeof ka_idle);
    if (!c->plain) {
        if (zmq_setsockopt(self->sock, ZMQ_CURVE_SERVERKEY, c->server_key, 40) ||
                zmq_setsockopt(self->sock, ZMQ_CURVE_PUBLICKEY, c->public_key, 40) ||
                zmq_setsockopt(self->sock, ZMQ_CURVE_SECRETKEY, c->secret_key, 40))
            goto fail;
    }
    if (zmq_socket_monitor(self->sock, "inproc://publish-monitor",
                ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                        ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_CONNECTED |
                        ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                        ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0)
        goto fail;
    self->mon = zmq_socket(self->ctx, ZMQ_PAIR);
    if (!self->mon || zmq_connect(self->mon, "inproc://publish-monitor") != 0)
        goto fail;
    if (zmq_connect(self->sock, c->endpoint) != 0) {
        snprintf(err, errlen, "--publish %s: %s", c->endpoint, zmq_strerror(zmq_errno()));
        return false;
    }
    return true;
fail:
    snprintf(err, errlen, "publisher socket: %s", zmq_strerror(zmq_errno()));
    return false;
}

static void s_free(publish_t *self)
{
    if (self->mon)
        zmq_close(self->mon);
    if (self->sock) {
        int linger = 1000; /* lets the "bye" out; the events are ours to keep */
        zmq_setsockopt(self->sock, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(self->sock);
    }
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    for (seg_t *s = self->head, *n; s; s = n) {
        n = s->next;
        free(s->buf);
        free(s);
    }
    if (self->open) {
        free(self->open->buf);
        free(self->open);
    }
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->room);
    free(self->stats);
    free(self->endpoint);
    free(self->sensor);
    free(self->spool_dir);
    free(self);
}

publish_t *publish_new(const publish_cfg_t *cfg, char *err, size_t errlen)
{
    if (!evschema_is_name(cfg->sensor)) {
        snprintf(err, errlen, "sensor name '%s' must be 1-63 of [A-Za-z0-9._-] to publish",
                cfg->sensor ? cfg->sensor : "");
        return NULL;
    }
    publish_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    if (!self->cfg.batch_events || self->cfg.batch_events > EVSCHEMA_MAX_BATCH)
        self->cfg.batch_events = EVSCHEMA_MAX_BATCH;
    if (!self->cfg.window)
        self->cfg.window = 1;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->room, NULL);
    self->endpoint = strdup(cfg->endpoint);
    self->sensor = strdup(cfg->sensor);
    self->spool_dir = cfg->spool_dir ? strdup(cfg->spool_dir) : NULL;
    self->cfg.endpoint = self->endpoint;
    self->cfg.sensor = self->sensor;
    self->cfg.spool_dir = self->spool_dir;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* Sortable, so that spooled runs go out oldest first. */
    snprintf(self->epoch, sizeof self->epoch, "%014llx",
            (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000u);
    self->next_seq = 1;
    if (self->spool_dir && mkdir(self->spool_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "--spool %s: %s", self->spool_dir, strerror(errno));
        goto fail;
    }
    if (self->spool_dir)
        s_spool_load(self);
    self->ctx = zmq_ctx_new();
    if (!self->ctx || !s_socket(self, err, errlen))
        goto fail;
    self->last_heartbeat_ms = 0;
    if (pthread_create(&self->thread, NULL, s_actor, self) != 0) {
        snprintf(err, errlen, "cannot start the publisher thread");
        goto fail;
    }
    log_config("publishing to %s as %s (epoch %s, %s, spool %s)", self->endpoint, self->sensor,
            self->epoch, cfg->plain ? "plain TCP" : "CURVE", self->spool_dir ? self->spool_dir : "none");
    return self;
fail:
    s_free(self);
    return NULL;
}

/* Hands the open segment to the actor. */
static void s_seal(publish_t *self)
{
    seg_t *s = self->open;
    if (!s)
        return;
    self->open = NULL;
    pthread_mutex_lock(&self->lock);
    /* An offline run can wait for a collector that is draining the queue;
     * a live one cannot (publish_cfg_t.block_when_full). */
    while (self->cfg.block_when_full && self->st.connected && !self->closing &&
            self->mem_bytes > self->cfg.mem_max) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&self->room, &self->lock, &until);
    }
    self->mem_bytes += s->cap;
    self->st.events += s->count; /* counted per batch: no lock per event */
    self->st.pending += s->count;
    if (self->handoff_tail)
        self->handoff_tail->next = s;
    else
        self->handoff = s;
    self->handoff_tail = s;
    pthread_mutex_unlock(&self->lock);
}

void publish_event(publish_t *self, const char *line, size_t len)
{
    if (len == 0 || len > EVSCHEMA_MAX_EVENT || memchr(line, '\n', len)) {
        log_warn("event of %zu bytes not published (empty, too large or not one line)", len);
        return;
    }
    seg_t *s = self->open;
    if (!s) {
        s = self->open = calloc(1, sizeof *s);
        if (!s)
            return;
        str_copy(s->epoch, self->epoch, sizeof s->epoch);
        s->first = self->next_seq;
        s->opened_ms = s_now_ms();
    }
    size_t need = s->len + len + 1;
    if (need > s->cap) {
        size_t cap = s->cap ? s->cap : 16384;
        while (cap < need)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b)
            return;
        s->buf = b;
        s->cap = cap;
    }
    if (s->len)
        s->buf[s->len++] = '\n';
    memcpy(s->buf + s->len, line, len);
    s->len += len;
    s->count++;
    self->next_seq++;
    if (s->count >= self->cfg.batch_events || s->len >= (1u << 20))
        s_seal(self);
}

void publish_tick(publish_t *self, const char *stats)
{
    if (self->open && s_now_ms() - self->open->opened_ms >= self->cfg.batch_ms)
        s_seal(self);
    if (stats) {
        char *copy = strdup(stats);
        pthread_mutex_lock(&self->lock);
        free(self->stats);
        self->stats = copy;
        pthread_mutex_unlock(&self->lock);
    }
}

void publish_stats(publish_t *self, publish_stats_t *out)
{
    pthread_mutex_lock(&self->lock);
    *out = self->st;
    pthread_mutex_unlock(&self->lock);
}

/* Why a tcp:// endpoint ("tcp://[SOURCE;]HOST:PORT") cannot be reached,
 * found by one plain connect, waiting at most wait_ms: ZeroMQ's monitor
 * says that a connect failed, never why. Empty when it cannot tell (or the
 * endpoint answers now). */
static void s_probe(const char *endpoint, int wait_ms, char *why, size_t n)
{
    why[0] = '\0';
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return;
    const char *hp = endpoint + 6, *semi = strchr(hp, ';');
    hp = semi ? semi + 1 : hp;
    const char *colon = strrchr(hp, ':');
    char host[256];
    if (!colon || colon == hp || (size_t)(colon - hp) >= sizeof host)
        return;
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = '\0';
    char *h = host;
    size_t hl = strlen(h);
    if (hl > 2 && h[0] == '[' && h[hl - 1] == ']') { /* [IPv6] */
        h[hl - 1] = '\0';
        h++;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int gai = getaddrinfo(h, colon + 1, &hints, &ai);
    if (gai != 0 || !ai) {
        snprintf(why, n, "cannot resolve the host: %s", gai_strerror(gai));
        return;
    }
    int e = -1, fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        socklen_t el = sizeof e;
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            e = 0;
        else if (errno != EINPROGRESS)
            e = errno;
        else if (poll(&pfd, 1, wait_ms) <= 0)
            e = ETIMEDOUT;
        else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
            e = -1;
        close(fd);
    }
    freeaddrinfo(ai);
    if (e == ECONNREFUSED) {
        snprintf(why, n, "connection refused");
    } else if (e == ETIMEDOUT) {
        snprintf(why, n, "no answer");
    } else if (e > 0) { /* "No route to host", in the middle of a line */
        snprintf(why, n, "cannot connect: %s", strerror(e));
        why[16] = (char)tolower((unsigned char)why[16]);
    }
}

/* Why events are left unacknowledged, from what the link went through,
 * the most telling first. */
static void s_cause(publish_t *self, uint32_t timeout_ms, char *buf, size_t n)
{
    pthread_mutex_lock(&self->lock);
    uint64_t tcp = self->link.tcp, retried = self->link.retried;
    uint64_t handshakes = self->link.handshakes, hs_failed = self->link.hs_failed;
    uint64_t auth = self->st.auth_failures;
    bool connected = self->st.connected;
    pthread_mutex_unlock(&self->lock);
    unsigned secs = (timeout_ms + 999) / 1000;
    if (handshakes && connected) {
        snprintf(buf, n, "no acknowledgement within the timeout (%u s)", secs);
    } else if (handshakes) {
        snprintf(buf, n, "link lost, not restored within the timeout (%u s)", secs);
    } else if (auth) {
        snprintf(buf, n, "CURVE handshake refused: the collector does not accept this "
                         "sensor's key (is %s on its allow-list?)", self->sensor);
    } else if (hs_failed) {
        snprintf(buf, n, "%s", self->cfg.plain
                        ? "handshake refused (does the collector want CURVE?)"
                        : "CURVE handshake refused (is --collector-key the collector's "
                          "public key?)");
    } else if (tcp) {
        snprintf(buf, n, "no answer within the timeout (%u s): connected, but no handshake "
                         "(is it a pinhole collector?)", secs);
    } else if (retried) {
        s_probe(self->endpoint, 1000, buf, n);
        if (!buf[0])
            snprintf(buf, n, "cannot connect");
    } else {
        snprintf(buf, n, "no answer within the timeout (%u s)", secs);
    }
}

void publish_close(publish_t **self_p, uint32_t timeout_ms, const char *stats,
        publish_stats_t *out)
{
    if (!self_p || !*self_p)
        return;
    publish_t *self = *self_p;
    s_seal(self);
    publish_tick(self, stats);
    pthread_mutex_lock(&self->lock);
    self->closing = true;
    self->deadline_ms = s_now_ms() + timeout_ms;
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    s_take(self);
    /* What is left: to the spool for the next run, or lost. */
    uint64_t left = 0, kept = 0;
    for (seg_t *s = self->head; s; s = s->next) {
        left += s->count;
        if (self->spool_dir && (s->disk || s_spill(self, s)))
            kept += s->count;
    }
    /* The spool's bound holds at the end too: the oldest go first. */
    while (self->spool_dir && self->head && self->st.spool_bytes > self->cfg.spool_max) {
        seg_t *s = self->head;
        self->head = s->next;
        self->st.discarded += s->count;
        self->st.pending -= s->count;
        kept -= s->disk ? s->count : 0;
        left -= s->count;
        log_warn("spool full: %llu events (%s %llu-%llu) discarded", (unsigned long long)s->count,
                s->epoch, (unsigned long long)s->first, (unsigned long long)(s->first + s->count - 1));
        s_seg_free(self, s);
    }
    /* Spooled segment files stay on disk: forget them without unlinking. */
    for (seg_t *s = self->head; s; s = s->next)
        s->disk = 0;
    if (out) {
        publish_stats(self, out);
        out->spool_left = kept;
        out->cause[0] = '\0';
        if (left)
            s_cause(self, timeout_ms, out->cause, sizeof out->cause);
    }
    s_free(self);
    *self_p = NULL;
}
