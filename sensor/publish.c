/* SPDX-License-Identifier: MIT */
/* publish.c: acknowledged event delivery to the collector (docs/link.md).
 *
 * Design
 * ------
 * Batches. The capture thread appends events to an open batch (a
 * "segment": up to batch_events lines in one buffer) and seals it when it
 * is full or older than batch_ms. Sealed segments go to the actor through a
 * short mutex-guarded hand-off list; the capture thread never touches the
 * socket or the disk.
 *
 * Write-ahead spool. With a spool, the capture thread appends each segment
 * to it as it seals it, before the actor can send it, so a kill -9 loses at
 * most the batch still open (batch_ms of events). The write goes to the
 * page cache; the actor makes it durable (fdatasync, once a second), so
 * that the capture thread never waits for the disk itself. A spool file is a
 * run of records of one epoch:
 *
 *     {"sensor":"S","epoch":"E","first":F,"count":C,"len":L}\n   header line
 *     L bytes: C event lines, '\n'-separated                       the batch
 *     \n                                                           the end
 *
 * A new file starts past `roll` bytes; a file goes when the last of its
 * segments is acknowledged (or discarded). Memory caches what is on disk:
 * past mem_max the newest unsent segments drop their buffers and are read
 * back when their turn comes. Past spool_max, the oldest files with nothing
 * in flight are discarded and counted; their numbers are never sent, so
 * the collector counts a gap. Without a spool, memory is the bound and the
 * oldest unsent segments are discarded. A power loss can tear a file's
 * tail (its last second). The file list is shared: under spool_lock.
 *
 * Start. The spool directory is locked (flock) for the run. Every record is
 * checked; a file that ends in a partial record is cut back to its last
 * whole one, logged and counted (a torn tail would otherwise be sent, and
 * refused, forever). A run leaves a marker, EPOCH.run, that a clean close
 * removes: one found at start is a run that was killed, and what it had not
 * sealed is lost. Both are in the run's summary (publish_lost).
 *
 * Sending. The actor keeps every segment in one queue, oldest first, until
 * the collector acknowledges it (an "ack" names the highest sequence number
 * it has stored durably). It sends up to cwnd <= window segments ahead.
 * Timeouts follow RFC 6298: SRTT and RTTVAR from the acks of segments sent
 * once (Karn), RTO = SRTT + max(G, 4 RTTVAR) within [1 s, 60 s], doubled on
 * each timeout and recomputed on progress. Over one connection ZeroMQ loses
 * nothing in the middle: an ack that does not come is late (a loaded
 * collector), or the collector dropped the message. So a timeout does not
 * send the window again: it sends a probe, the oldest unacknowledged event
 * alone, which the collector stores or counts as one duplicate, and whose
 * ack says where the collector is. Past the oldest segment: it was only
 * late, nothing is resent. Inside it: the segment was lost, go back N from
 * there (the collector stores from its first new number). A new connection
 * may have lost whatever was in flight: a probe first, and the data once it
 * is answered. A collector that sees a hole asks for a resend: go back N,
 * once for each hole.
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
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "evschema.h"
#include "log.h"
#include "strutil.h"

#define PUBLISH_RTO_MIN_MS 1000u        /* RFC 6298 (2.4) */
#define PUBLISH_RTO_MAX_MS 60000u       /* RFC 6298 (2.5) */
#define PUBLISH_RTO_G_MS 20u            /* the actor's poll: our clock granularity */
#define PUBLISH_SYNC_MS 1000u           /* spool data reaches the disk this often */
#define PUBLISH_FILE_MAX (256ull << 20) /* a spool file larger is not ours */

typedef struct spf {
    struct spf *next;
    char name[64];  /* EPOCH-FIRST.seg, in the spool directory */
    uint64_t bytes; /* its size */
    uint32_t live;  /* segments whose record is in it (queued or handed off) */
    int fd;         /* the file this run appends to; -1 */
    bool dirty;     /* written since its last fdatasync */
} spf_t;

typedef struct seg {
    struct seg *next;
    char epoch[EVSCHEMA_EPOCH_LEN];
    uint64_t first, count;
    char *buf; /* the lines, '\n'-separated; NULL: only on disk */
    size_t len, cap;
    spf_t *file;          /* its record in the spool; NULL: in memory only */
    uint64_t off;         /* where its lines start in the file */
    uint64_t opened_ms;   /* open segment: when its first event came */
    uint64_t sent_ms;     /* when it was last sent */
    uint32_t tx;          /* times sent; an earlier run's: 1 */
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
    pthread_cond_t room;  /* memory or spool was freed (a blocked capture thread waits) */
    uint64_t mem_bytes;   /* segment buffers in memory, sealed ones included */
    uint64_t handoff_bytes; /* sealed, not yet taken (nor spooled) */
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

    /* spool: written by the capture thread (and the actor when it spills),
     * released by the actor */
    pthread_mutex_t spool_lock;
    int dirfd;            /* the spool directory, flock'ed; -1 */
    spf_t *files, *wfile; /* every file in use; the one appended to */
    uint64_t roll;        /* a file takes no new record past this size */
    uint64_t synced_ms, warned_ms;

    /* actor */
    pthread_t thread;
    void *ctx, *sock, *mon;
    seg_t *head, *tail;   /* unacknowledged, oldest first */
    seg_t *next_send;     /* first segment not sent since the last go-back */
    uint32_t inflight, cwnd;
    uint32_t srtt, rttvar, rto; /* ms; srtt 0: no sample yet */
    bool probing;               /* a probe is out */
    bool hold;                  /* a new connection: no data before a probe is answered */
    uint32_t unanswered;        /* probes sent while holding */
    char hole_epoch[EVSCHEMA_EPOCH_LEN];
    uint64_t hole; /* the collector asked to go back to here; done once */
    uint64_t last_progress_ms, last_heartbeat_ms;
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

static uint64_t s_last(const seg_t *s)
{
    return s->first + s->count - 1;
}

void publish_cfg_defaults(publish_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->spool_max = 1024ull << 20;
    cfg->mem_max = 64ull << 20;
    cfg->batch_events = 512;
    cfg->batch_ms = 200;
    cfg->window = 8;
    cfg->resend_ms = 1000; /* RFC 6298 (2.1) */
    cfg->heartbeat_ms = 10000;
}

/* ------------------------------------------------------------------ */
/* Spool files (see the design note): records appended, files removed  */
/* once nothing in them is needed.                                     */

static void s_stat_add(publish_t *self, uint64_t *field, int64_t delta)
{
    pthread_mutex_lock(&self->lock);
    *field = (uint64_t)((int64_t)*field + delta);
    if (delta < 0)
        pthread_cond_broadcast(&self->room);
    pthread_mutex_unlock(&self->lock);
}

static void s_file_path(const publish_t *self, const spf_t *f, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", self->spool_dir, f->name);
}

/* Ends appending to the current file (s_sync makes it durable). Under
 * spool_lock. */
static void s_file_seal(publish_t *self)
{
    spf_t *f = self->wfile;
    if (!f)
        return;
    close(f->fd);
    f->fd = -1;
    self->wfile = NULL;
}

/* One segment fewer needs the file; the last one removes it. */
static void s_file_release(publish_t *self, spf_t *f)
{
    pthread_mutex_lock(&self->spool_lock);
    if (--f->live) {
        pthread_mutex_unlock(&self->spool_lock);
        return;
    }
    if (f == self->wfile) { /* nothing in it is needed: no sync either */
        close(f->fd);
        f->fd = -1;
        self->wfile = NULL;
    }
    char path[4096];
    s_file_path(self, f, path, sizeof path);
    unlink(path);
    s_stat_add(self, &self->st.spool_bytes, -(int64_t)f->bytes);
    spf_t **pp = &self->files;
    while (*pp && *pp != f)
        pp = &(*pp)->next;
    if (*pp)
        *pp = f->next;
    free(f);
    pthread_mutex_unlock(&self->spool_lock);
}

static spf_t *s_file_new(publish_t *self, const seg_t *s)
{
    spf_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    snprintf(f->name, sizeof f->name, "%s-%016llx.seg", s->epoch, (unsigned long long)s->first);
    f->fd = openat(self->dirfd, f->name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (f->fd < 0) {
        free(f);
        return NULL;
    }
    f->next = self->files;
    self->files = f;
    self->wfile = f;
    return f;
}

static bool s_wal_write_locked(publish_t *self, seg_t *s);

/* Appends a segment's record to the spool (write-ahead: before it is
 * sent). False (logged, at most every 10 s) if it cannot: the segment then
 * lives in memory only. */
static bool s_wal_write(publish_t *self, seg_t *s)
{
    pthread_mutex_lock(&self->spool_lock);
    bool ok = s_wal_write_locked(self, s);
    pthread_mutex_unlock(&self->spool_lock);
    return ok;
}

static bool s_wal_write_locked(publish_t *self, seg_t *s)
{
    if (self->wfile && (self->wfile->bytes >= self->roll ||
                               strncmp(self->wfile->name, s->epoch, strlen(s->epoch)) != 0))
        s_file_seal(self);
    spf_t *f = self->wfile ? self->wfile : s_file_new(self, s);
    char head[512];
    int hl = snprintf(head, sizeof head,
            "{\"sensor\":\"%s\",\"epoch\":\"%s\",\"first\":%llu,\"count\":%llu,\"len\":%zu}\n",
            self->sensor, s->epoch, (unsigned long long)s->first, (unsigned long long)s->count,
            s->len);
    ssize_t want = hl + (ssize_t)s->len + 1, w = -1;
    if (f) {
        char nl[1] = {'\n'};
        struct iovec iov[3] = {{head, (size_t)hl}, {s->buf, s->len}, {nl, 1}};
        w = writev(f->fd, iov, 3);
    }
    if (w != want) {
        int e = w < 0 ? errno : ENOSPC;
        if (f && w > 0 && ftruncate(f->fd, (off_t)f->bytes) != 0)
            s_file_seal(self); /* a torn record stays: the next start cuts it */
        uint64_t now = s_now_ms();
        if (!self->warned_ms || now - self->warned_ms >= 10000) {
            log_warn("%s: cannot write the spool: %s; events are kept in memory", self->spool_dir,
                    strerror(e));
            self->warned_ms = now;
        }
        if (f && !f->live) { /* a file of its own: nothing else in it */
            char path[4096];
            s_file_path(self, f, path, sizeof path);
            s_file_seal(self);
            unlink(path);
            self->files = f->next; /* s_file_new put it first */
            free(f);
        }
        return false;
    }
    s->file = f;
    s->off = f->bytes + (uint64_t)hl;
    f->bytes += (uint64_t)want;
    f->live++;
    f->dirty = true;
    pthread_mutex_lock(&self->lock);
    self->st.spooled += s->count;
    self->st.spool_bytes += (uint64_t)want;
    pthread_mutex_unlock(&self->lock);
    return true;
}

/* Frees a segment's lines, on disk first (false: it could not be). */
static bool s_spill(publish_t *self, seg_t *s)
{
    if (!s->file && !s_wal_write(self, s))
        return false;
    s_mem(self, -(int64_t)s->cap);
    free(s->buf);
    s->buf = NULL;
    s->cap = 0;
    return true;
}

/* Reads a spooled segment's lines back (its record stays until acked). */
static bool s_unspill(publish_t *self, seg_t *s)
{
    char path[4096];
    s_file_path(self, s->file, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC); /* its name is fixed; its fd is the writer's */
    s->buf = fd >= 0 ? malloc(s->len) : NULL;
    bool ok = s->buf && pread(fd, s->buf, s->len, (off_t)s->off) == (ssize_t)s->len;
    if (fd >= 0)
        close(fd);
    if (!ok) {
        free(s->buf);
        s->buf = NULL;
        log_warn("%s: spool file unreadable: %s", path, strerror(errno));
        return false;
    }
    s->cap = s->len;
    s_mem(self, (int64_t)s->len);
    return true;
}

static void s_seg_free(publish_t *self, seg_t *s)
{
    if (s->file)
        s_file_release(self, s->file);
    if (s->buf)
        s_mem(self, -(int64_t)s->cap);
    free(s->buf);
    free(s);
}

/* Appends a segment to the queue. Its base is its predecessor's when the
 * two are contiguous: numbers already acknowledged below it are harmless
 * (the collector is past them), numbers discarded are not (s_drop). */
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

/* ------------------------------------------------------------------ */
/* Start: what earlier runs left in the spool                          */

typedef struct {
    seg_t **v;
    size_t n, cap;
} seg_vec_t;

/* One record at p (rem bytes): its length, 0 if it is not whole (torn or
 * damaged), -1 if the file is not this sensor's (only asked of a file's
 * first record). A record without "len" is a whole file of one batch (as
 * spool files were before the write-ahead log). */
static ssize_t s_record_parse(
        const publish_t *self, const char *p, size_t rem, bool first_rec, seg_t *out)
{
    const char *nl = memchr(p, '\n', rem < 511 ? rem : 511);
    char head[512], sensor[EVSCHEMA_NAME_LEN];
    size_t hl = nl ? (size_t)(nl - p) : (rem < 511 ? rem : 511);
    memcpy(head, p, hl);
    head[hl] = '\0';
    if (!nl) { /* a header cut short: ours if it starts as ours would */
        char mine[128];
        int ml = snprintf(mine, sizeof mine, "{\"sensor\":\"%s\"", self->sensor);
        return !first_rec || strncmp(head, mine, hl < (size_t)ml ? hl : (size_t)ml) == 0 ? 0 : -1;
    }
    unsigned long long first, count, len = 0;
    int end = 0;
    bool legacy = false;
    if (sscanf(head,
                "{\"sensor\":\"%63[^\"]\",\"epoch\":\"%31[^\"]\",\"first\":%llu,"
                "\"count\":%llu,\"len\":%llu}%n",
                sensor, out->epoch, &first, &count, &len, &end) != 5 ||
            (size_t)end != hl) {
        end = 0;
        legacy = first_rec &&
                 sscanf(head,
                         "{\"sensor\":\"%63[^\"]\",\"epoch\":\"%31[^\"]\",\"first\":%llu,"
                         "\"count\":%llu}%n",
                         sensor, out->epoch, &first, &count, &end) == 4 &&
                 (size_t)end == hl;
        if (!legacy)
            return first_rec ? -1 : 0;
    }
    if (strcmp(sensor, self->sensor) != 0)
        return first_rec ? -1 : 0;
    if (legacy)
        len = rem - hl - 1;
    else if (len > rem - hl - 1 || len + 1 > rem - hl - 1 || p[hl + 1 + len] != '\n')
        return 0; /* the batch is cut short */
    if (!evschema_is_epoch(out->epoch) || first == 0 || count == 0 || count > EVSCHEMA_MAX_BATCH ||
            len == 0)
        return 0;
    uint64_t lines = 1;
    for (const char *q = p + hl + 1, *e = q + len; (q = memchr(q, '\n', (size_t)(e - q))); q++)
        lines++;
    if (lines != count)
        return 0;
    out->first = first;
    out->count = count;
    out->off = hl + 1;
    out->len = (size_t)len;
    return (ssize_t)(hl + 1 + len + (legacy ? 0 : 1));
}

/* Loads one spool file's whole records; cuts a torn tail. */
static void s_load_file(publish_t *self, const char *name, seg_vec_t *sv)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", self->spool_dir, name);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    struct stat sb;
    char *buf = NULL;
    spf_t *f = calloc(1, sizeof *f);
    if (fd < 0 || !f || fstat(fd, &sb) != 0 || sb.st_size > (off_t)PUBLISH_FILE_MAX ||
            !(buf = malloc((size_t)sb.st_size + 1)) ||
            pread(fd, buf, (size_t)sb.st_size, 0) != (ssize_t)sb.st_size) {
        log_warn("%s: spool file unreadable; left alone", path);
        goto done;
    }
    str_copy(f->name, name, sizeof f->name);
    f->fd = -1;
    size_t size = (size_t)sb.st_size, off = 0;
    ssize_t r = 0;
    while (off < size) {
        seg_t rec;
        memset(&rec, 0, sizeof rec);
        r = s_record_parse(self, buf + off, size - off, off == 0, &rec);
        if (r <= 0)
            break;
        seg_t *s = malloc(sizeof *s);
        if (!s || (sv->n == sv->cap &&
                          !(sv->v = realloc(sv->v,
                                    (sv->cap = sv->cap ? sv->cap * 2 : 64) * sizeof *sv->v)))) {
            free(s);
            r = -2;
            break;
        }
        *s = rec;
        s->off += off;
        s->file = f;
        s->tx = 1; /* sent by its run, perhaps: the collector may hold it */
        f->live++;
        sv->v[sv->n++] = s;
        off += (size_t)r;
    }
    if (r == -1) {
        log_warn("%s: not a spool file of sensor %s; left alone", path, self->sensor);
        goto done;
    }
    if (off < size && r == 0) { /* power lost mid-write: cut back to the last whole batch */
        if (off ? ftruncate(fd, (off_t)off) != 0 : unlink(path) != 0)
            log_warn("%s: cannot cut the torn tail: %s", path, strerror(errno));
        log_warn("%s: torn tail: %zu bytes of a partial batch cut (the run that wrote it ended "
                 "mid-write); %u whole batches kept",
                path, size - off, f->live);
        self->st.torn_bytes += size - off;
        self->st.torn_files++;
        str_copy(self->st.torn_path, path, sizeof self->st.torn_path);
        size = off;
    }
    f->bytes = size;
    if (f->live) {
        f->next = self->files;
        self->files = f;
        self->st.spool_bytes += f->bytes;
        f = NULL;
    }
done:
    free(f);
    free(buf);
    if (fd >= 0)
        close(fd);
}

/* A run's marker (EPOCH.run, holding its sensor name) left in the spool:
 * that run ended without closing. */
static void s_load_marker(publish_t *self, const char *name)
{
    char path[4096], who[EVSCHEMA_NAME_LEN + 2] = "", epoch[EVSCHEMA_EPOCH_LEN];
    snprintf(path, sizeof path, "%s/%s", self->spool_dir, name);
    size_t l = strlen(name) - 4;
    if (l >= sizeof epoch)
        return;
    memcpy(epoch, name, l);
    epoch[l] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    bool mine = fgets(who, sizeof who, f) && strcspn(who, "\n") == strlen(self->sensor) &&
                strncmp(who, self->sensor, strlen(self->sensor)) == 0;
    fclose(f);
    if (!mine || !evschema_is_epoch(epoch) || strcmp(epoch, self->epoch) == 0)
        return;
    self->st.killed_runs++;
    if (strcmp(epoch, self->st.killed_epoch) > 0)
        str_copy(self->st.killed_epoch, epoch, sizeof self->st.killed_epoch);
    unlink(path);
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
    seg_vec_t sv = {NULL, 0, 0};
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".seg") == 0)
            s_load_file(self, e->d_name, &sv);
        else if (l > 4 && strcmp(e->d_name + l - 4, ".run") == 0)
            s_load_marker(self, e->d_name);
    }
    closedir(d);
    if (sv.n)
        qsort(sv.v, sv.n, sizeof *sv.v, s_seg_cmp);
    uint64_t killed = 0;
    for (size_t i = 0; i < sv.n; i++) {
        s_append(self, sv.v[i]);
        self->st.pending += sv.v[i]->count;
        killed += strcmp(sv.v[i]->epoch, self->st.killed_epoch) == 0 ? sv.v[i]->count : 0;
    }
    if (self->st.killed_runs)
        log_warn("%s: run %s of sensor %s ended without closing (killed, or the machine "
                 "stopped): the events it had not yet sealed (at most %u ms of them) are lost; "
                 "the %llu it spooled and that were not acknowledged go first",
                self->spool_dir, self->st.killed_epoch, self->sensor, self->cfg.batch_ms,
                (unsigned long long)killed);
    if (sv.n)
        log_notice("%s: %llu events of earlier runs in %zu batches; they go first", self->spool_dir,
                (unsigned long long)self->st.pending, sv.n);
    free(sv.v);
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

/* Drops a segment the collector will not get: discarded (full) or lost
 * (its spool record unreadable). Later segments of its epoch no longer
 * reach back past the hole, so the collector counts it. */
static void s_drop(publish_t *self, seg_t *s, bool full)
{
    seg_t *prev = s == self->head ? NULL : s_prev(self, s);
    if (prev)
        prev->next = s->next;
    else
        self->head = s->next;
    if (self->tail == s)
        self->tail = prev;
    if (self->next_send == s)
        self->next_send = s->next;
    if (s->sent)
        self->inflight--;
    uint64_t after = s->first + s->count;
    for (seg_t *p = s->next; p; p = p->next)
        if (strcmp(p->epoch, s->epoch) == 0 && p->base < after)
            p->base = after;
    /* With a spool, a segment in memory only is there because the spool
     * could not be written: that is the loss, not a full spool. */
    bool unwritten = !full || (self->spool_dir && !s->file);
    pthread_mutex_lock(&self->lock);
    if (!unwritten)
        self->st.discarded += s->count;
    if (!unwritten && self->spool_dir)
        self->st.discarded_spool += s->count;
    if (unwritten)
        self->st.unwritten += s->count;
    self->st.pending -= s->count;
    pthread_mutex_unlock(&self->lock);
    log_warn("%s: %llu events (%s %llu-%llu) discarded",
            !full             ? "spool unreadable"
            : unwritten       ? "spool unwritable, memory full"
            : self->spool_dir ? "spool full"
                              : "memory full",
            (unsigned long long)s->count, s->epoch, (unsigned long long)s->first,
            (unsigned long long)s_last(s));
    s_seg_free(self, s);
}

/* The first segment from s on (skipping those in file `skip`) whose spool
 * file holds nothing else: it, and the rest of its file, can go whole. The
 * file being appended to is not one (the capture thread adds to it). */
static seg_t *s_spool_victim(publish_t *self, seg_t *s, const spf_t *skip)
{
    pthread_mutex_lock(&self->spool_lock);
    for (const spf_t *prev = skip; s; prev = s->file, s = s->next) {
        if (!s->file || s->file == prev || s->file == skip || s->file == self->wfile)
            continue;
        uint32_t k = 0;
        for (seg_t *t = s; t && t->file == s->file; t = t->next)
            k++;
        if (k == s->file->live)
            break;
    }
    pthread_mutex_unlock(&self->spool_lock);
    return s;
}

/* Drops a victim and the rest of its file. */
static void s_drop_file(publish_t *self, seg_t *s)
{
    spf_t *f = s->file;
    while (s && s->file == f) {
        seg_t *n = s->next;
        s_drop(self, s, true);
        s = n;
    }
}

/* Keeps memory and spool within bounds. */
static void s_bound(publish_t *self)
{
    pthread_mutex_lock(&self->lock);
    bool waiting = self->cfg.block_when_full && self->st.connected;
    uint64_t spool_bytes = self->st.spool_bytes;
    pthread_mutex_unlock(&self->lock);
    while (s_mem_now(self) > self->cfg.mem_max) {
        /* The newest unsent segment in memory goes to disk (with a spool,
         * it is there already); without one, the oldest is dropped. */
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
        s_drop(self, victim, true);
    }
    while (self->spool_dir && spool_bytes > self->cfg.spool_max && self->next_send) {
        seg_t *victim = s_spool_victim(self, self->next_send->next, self->next_send->file);
        if (!victim)
            break;
        s_drop_file(self, victim);
        pthread_mutex_lock(&self->lock);
        spool_bytes = self->st.spool_bytes;
        pthread_mutex_unlock(&self->lock);
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

/* Sends count events of segment s from its first: all of them, or one
 * (a probe). */
static bool s_send_seg(publish_t *self, const seg_t *s, uint64_t count, size_t len)
{
    evschema_header_t h;
    memset(&h, 0, sizeof h);
    h.kind = EVSCHEMA_EVENTS;
    str_copy(h.sensor, self->sensor, sizeof h.sensor);
    str_copy(h.epoch, s->epoch, sizeof h.epoch);
    h.first = s->first;
    h.count = count;
    h.base = s->base;
    char head[512];
    evschema_header_encode(&h, head, sizeof head);
    return s_send(self, head, s->buf, len);
}

/* Go back N: everything unacknowledged is sent again. */
static void s_go_back(publish_t *self)
{
    for (seg_t *s = self->head; s && s != self->next_send; s = s->next)
        s->sent = false;
    self->next_send = self->head;
    self->inflight = 0;
}

/* The oldest unacknowledged event alone: the collector stores it, or
 * counts one duplicate; its ack says where the collector is. */
static void s_probe_send(publish_t *self)
{
    seg_t *s = self->head;
    if (!s || (!s->buf && !s_unspill(self, s)))
        return;
    const char *nl = memchr(s->buf, '\n', s->len);
    if (!s_send_seg(self, s, 1, nl ? (size_t)(nl - s->buf) : s->len))
        return;
    self->probing = true;
    pthread_mutex_lock(&self->lock);
    self->st.probes++;
    self->st.resent++;
    pthread_mutex_unlock(&self->lock);
}

static void s_send_events(publish_t *self)
{
    if (self->hold && !self->head)
        self->hold = false;
    if (self->hold) { /* a new connection: where is the collector? */
        if (!self->probing)
            s_probe_send(self);
        return;
    }
    uint32_t window = self->cwnd < self->cfg.window ? self->cwnd : self->cfg.window;
    while (self->next_send && self->inflight < window) {
        seg_t *s = self->next_send;
        if (!s->buf && !s_unspill(self, s)) {
            s_drop(self, s, false);
            continue;
        }
        if (!s_send_seg(self, s, s->count, s->len))
            break; /* not connected, or the pipe is full: later */
        uint64_t now = s_now_ms();
        if (self->inflight == 0)
            self->last_progress_ms = now;
        self->inflight++;
        s->sent = true;
        s->sent_ms = now;
        self->next_send = s->next;
        pthread_mutex_lock(&self->lock);
        self->st.messages++;
        self->st.resent += s->tx++ > 0;
        pthread_mutex_unlock(&self->lock);
    }
}

/* RFC 6298 (2.2, 2.3): a round-trip sample R; then the RTO (2.4, 2.5). */
static void s_rtt_sample(publish_t *self, uint64_t r_ms)
{
    uint32_t r = r_ms > PUBLISH_RTO_MAX_MS ? PUBLISH_RTO_MAX_MS : (uint32_t)r_ms;
    if (!self->srtt) {
        self->srtt = r ? r : 1;
        self->rttvar = r / 2;
    } else {
        uint32_t d = self->srtt > r ? self->srtt - r : r - self->srtt;
        self->rttvar = (3 * self->rttvar + d) / 4;
        self->srtt = (7 * self->srtt + r) / 8;
        if (!self->srtt)
            self->srtt = 1;
    }
}

/* The timeout without backoff: from the samples, or the first one. */
static void s_rto_reset(publish_t *self)
{
    uint32_t rto = self->cfg.resend_ms;
    if (self->srtt)
        rto = self->srtt +
              (4 * self->rttvar > PUBLISH_RTO_G_MS ? 4 * self->rttvar : PUBLISH_RTO_G_MS);
    self->rto = rto < PUBLISH_RTO_MIN_MS   ? PUBLISH_RTO_MIN_MS
                : rto > PUBLISH_RTO_MAX_MS ? PUBLISH_RTO_MAX_MS
                                           : rto;
}

/* An ack: what it covers goes; where it lands says what to send next. */
static void s_on_ack(publish_t *self, const evschema_header_t *h)
{
    uint64_t n = 0, now = s_now_ms();
    while (self->head && strcmp(self->head->epoch, h->epoch) == 0 &&
            s_last(self->head) <= h->acked) {
        seg_t *s = self->head;
        self->head = s->next;
        if (!self->head)
            self->tail = NULL;
        if (self->next_send == s)
            self->next_send = s->next;
        if (s->sent)
            self->inflight--;
        if (s->sent && s->tx == 1 && s_last(s) == h->acked && !h->resend)
            s_rtt_sample(self, now - s->sent_ms); /* Karn: sent once, and this ack is its own */
        n += s->count;
        s_seg_free(self, s);
    }
    seg_t *s = self->head;
    bool inside = s && strcmp(s->epoch, h->epoch) == 0 && h->acked >= s->first;
    if (n || inside) { /* progress, or a probe's answer: the timer starts over */
        self->probing = self->hold = false;
        self->unanswered = 0;
        self->last_progress_ms = now;
        s_rto_reset(self);
        if (self->cwnd < self->cfg.window)
            self->cwnd++;
    }
    if (inside)
        s_go_back(self); /* the collector stored a probe, not the segment: it was lost */
    bool again =
            h->resend && (strcmp(self->hole_epoch, h->epoch) != 0 || self->hole != h->acked + 1);
    if (again) { /* a hole the collector saw: once for each hole */
        str_copy(self->hole_epoch, h->epoch, sizeof self->hole_epoch);
        self->hole = h->acked + 1;
        self->hold = false;
        s_go_back(self);
    }
    pthread_mutex_lock(&self->lock);
    self->st.acked += n;
    self->st.pending -= n;
    self->st.srtt_ms = self->srtt;
    self->st.rto_ms = self->rto;
    pthread_mutex_unlock(&self->lock);
}

/* No ack within the RTO: back off, and probe. */
static void s_timeout(publish_t *self, uint64_t now)
{
    if (!(self->inflight || self->probing) || now - self->last_progress_ms <= self->rto)
        return;
    self->rto = self->rto * 2 > PUBLISH_RTO_MAX_MS ? PUBLISH_RTO_MAX_MS : self->rto * 2;
    self->last_progress_ms = now;
    self->cwnd = 1;
    if (self->hold && ++self->unanswered >= 3)
        self->hold = false; /* no answer to probes: send the data anyway */
    s_probe_send(self);
    pthread_mutex_lock(&self->lock);
    self->st.rto_ms = self->rto;
    pthread_mutex_unlock(&self->lock);
}

/* A new connection: whatever was in flight may have died with the old one.
 * If the collector may hold some of the queue, ask where it is first. */
static void s_reconnected(publish_t *self)
{
    s_go_back(self);
    self->cwnd = 1;
    self->probing = false;
    self->unanswered = 0;
    self->hold = self->head && self->head->tx > 0;
    s_rto_reset(self);
    self->last_progress_ms = s_now_ms();
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
            "\"discarded\":%llu,\"spool_bytes\":%llu,\"resent\":%llu,\"probes\":%llu,"
            "\"rto_ms\":%u,\"srtt_ms\":%u}%s%s}",
            (unsigned long long)st.events, (unsigned long long)st.acked,
            (unsigned long long)st.pending, (unsigned long long)st.spooled,
            (unsigned long long)st.discarded, (unsigned long long)st.spool_bytes,
            (unsigned long long)st.resent, (unsigned long long)st.probes, st.rto_ms, st.srtt_ms,
            cap ? ",\"capture\":" : "", cap ? cap : "");
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
        uint64_t fails = self->st.auth_failures, handshakes = self->link.handshakes;
        uint64_t sent = self->st.messages;
        pthread_mutex_unlock(&self->lock);
        if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && !was) {
            log_notice("connected to the collector %s", self->endpoint);
            /* Whatever was in flight may have died with the old link. On
             * the first, what was sent went to it (ZMQ_IMMEDIATE). */
            if (handshakes > 1 || !sent)
                s_reconnected(self);
        } else if (ev == ZMQ_EVENT_DISCONNECTED && was) {
            log_warn("link to the collector %s lost; events are kept", self->endpoint);
        } else if (ev != ZMQ_EVENT_CONNECTED && ev != ZMQ_EVENT_DISCONNECTED &&
                   ev != ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            s_link_failed(self, ev, nth, fails);
        }
    }
}

/* Takes sealed segments from the capture thread (spooled already). */
static bool s_take(publish_t *self)
{
    pthread_mutex_lock(&self->lock);
    seg_t *s = self->handoff;
    self->handoff = self->handoff_tail = NULL;
    bool closing = self->closing;
    pthread_mutex_unlock(&self->lock);
    while (s) {
        seg_t *next = s->next;
        s_stat_add(self, &self->handoff_bytes, -(int64_t)s->len);
        s_append(self, s);
        s = next;
    }
    return closing;
}

/* What was appended to the spool reaches the disk within a second: the
 * actor waits for that, not the capture thread (it opens each file by name;
 * one removed meanwhile needs nothing). */
static void s_sync(publish_t *self, uint64_t now, bool all)
{
    if (!self->spool_dir || (!all && now - self->synced_ms < PUBLISH_SYNC_MS))
        return;
    self->synced_ms = now;
    for (;;) {
        char path[4096] = "";
        pthread_mutex_lock(&self->spool_lock);
        for (spf_t *f = self->files; f && !path[0]; f = f->next)
            if (f->dirty) {
                f->dirty = false;
                s_file_path(self, f, path, sizeof path);
            }
        pthread_mutex_unlock(&self->spool_lock);
        if (!path[0])
            return;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && fdatasync(fd) != 0)
            log_warn("%s: fdatasync: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
}

static void *s_actor(void *arg)
{
    publish_t *self = arg;
    for (;;) {
        bool closing = s_take(self);
        s_bound(self);
        uint64_t now = s_now_ms();
        s_timeout(self, now);
        s_send_events(self);
        if (now - self->last_heartbeat_ms >= self->cfg.heartbeat_ms) {
            s_heartbeat(self, EVSCHEMA_HEARTBEAT);
            self->last_heartbeat_ms = now;
        }
        s_sync(self, now, false);
        if (closing && (!self->head || now >= self->deadline_ms))
            break;
        zmq_pollitem_t items[] = {{self->sock, 0, ZMQ_POLLIN, 0}, {self->mon, 0, ZMQ_POLLIN, 0}};
        zmq_poll(items, 2, (long)PUBLISH_RTO_G_MS);
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
    /* Spool files stay on disk: forgotten here, not removed. */
    for (seg_t *s = self->head, *n; s; s = n) {
        n = s->next;
        free(s->buf);
        free(s);
    }
    for (spf_t *f = self->files, *n; f; f = n) {
        n = f->next;
        if (f->fd >= 0)
            close(f->fd);
        free(f);
    }
    if (self->open) {
        free(self->open->buf);
        free(self->open);
    }
    if (self->dirfd >= 0)
        close(self->dirfd); /* and the lock with it */
    pthread_mutex_destroy(&self->lock);
    pthread_mutex_destroy(&self->spool_lock);
    pthread_cond_destroy(&self->room);
    free(self->stats);
    free(self->endpoint);
    free(self->sensor);
    free(self->spool_dir);
    free(self);
}

/* The marker of a run that has not closed: EPOCH.run, holding its sensor. */
static void s_marker_path(const publish_t *self, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s.run", self->spool_dir, self->epoch);
}

/* Locks the spool, loads it, and marks this run as open in it. */
static bool s_spool_open(publish_t *self, char *err, size_t errlen)
{
    const char *dir = self->spool_dir;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "--spool %s: %s", dir, strerror(errno));
        return false;
    }
    self->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (self->dirfd < 0) {
        snprintf(err, errlen, "--spool %s: %s", dir, strerror(errno));
        return false;
    }
    if (flock(self->dirfd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "--spool %s: %s", dir,
                errno == EWOULDBLOCK ? "in use by another sensor run" : strerror(errno));
        return false;
    }
    uint64_t roll = self->cfg.spool_max / 16;
    self->roll = roll < (64u << 10) ? (64u << 10) : roll > (4u << 20) ? (4u << 20) : roll;
    s_spool_load(self);
    char path[4096];
    s_marker_path(self, path, sizeof path);
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%s\n", self->sensor) < 0 || fclose(f) != 0) {
        snprintf(err, errlen, "--spool %s: cannot write %s: %s", dir, path, strerror(errno));
        return false;
    }
    return true;
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
    self->dirfd = -1;
    if (!self->cfg.batch_events || self->cfg.batch_events > EVSCHEMA_MAX_BATCH)
        self->cfg.batch_events = EVSCHEMA_MAX_BATCH;
    if (!self->cfg.window)
        self->cfg.window = 1;
    self->cwnd = self->cfg.window;
    s_rto_reset(self);
    self->st.rto_ms = self->rto;
    pthread_mutex_init(&self->lock, NULL);
    pthread_mutex_init(&self->spool_lock, NULL);
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
    if (self->spool_dir && !s_spool_open(self, err, errlen))
        goto fail;
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
    if (self->spool_dir && self->dirfd >= 0) {
        char path[4096];
        s_marker_path(self, path, sizeof path);
        unlink(path);
    }
    s_free(self);
    return NULL;
}

/* Whether the capture thread should wait (an offline run, connected):
 * the spool (or, without one, memory) is full. Under the lock. */
static bool s_full(const publish_t *self, const seg_t *s)
{
    if (!self->cfg.block_when_full || !self->st.connected || self->closing)
        return false;
    if (!self->spool_dir)
        return self->mem_bytes > self->cfg.mem_max;
    uint64_t queued = self->st.spool_bytes + self->handoff_bytes;
    return queued && queued + s->len > self->cfg.spool_max;
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
    while (s_full(self, s)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&self->room, &self->lock, &until);
    }
    pthread_mutex_unlock(&self->lock);
    if (self->spool_dir) /* write-ahead: on disk before the actor can send it */
        s_wal_write(self, s);
    pthread_mutex_lock(&self->lock);
    self->mem_bytes += s->cap;
    self->handoff_bytes += s->len;
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

/* What is left at close: in the spool for the next run (within its bound,
 * the oldest going first), or lost. Returns the events the spool keeps. */
static uint64_t s_close_spool(publish_t *self, uint64_t *left)
{
    uint64_t kept = 0;
    *left = 0;
    for (seg_t *s = self->head; s; s = s->next) {
        *left += s->count;
        if (self->spool_dir && (s->file || s_wal_write(self, s)))
            kept += s->count;
    }
    s_file_seal(self);
    while (self->spool_dir && self->st.spool_bytes > self->cfg.spool_max) {
        seg_t *victim = s_spool_victim(self, self->head, NULL);
        if (!victim)
            break;
        for (seg_t *s = victim; s && s->file == victim->file; s = s->next) {
            kept -= s->count;
            *left -= s->count;
        }
        s_drop_file(self, victim);
    }
    s_sync(self, s_now_ms(), true);
    return kept;
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
    uint64_t left, kept = s_close_spool(self, &left);
    if (self->spool_dir) { /* closed: the next run will not think it killed */
        char path[4096];
        s_marker_path(self, path, sizeof path);
        unlink(path);
    }
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

bool publish_lost(const publish_stats_t *st, char *why, size_t n)
{
    size_t at = 0;
    why[0] = '\0';
#define PUBLISH_CLAUSE(...)                                                                        \
    do {                                                                                           \
        if (at < n)                                                                                \
            at += (size_t)snprintf(why + at, n - at, "%s", at ? "; " : "");                        \
        if (at < n)                                                                                \
            at += (size_t)snprintf(why + at, n - at, __VA_ARGS__);                                 \
    } while (0)
    if (st->discarded_spool)
        PUBLISH_CLAUSE(
                "%llu events discarded (spool full)", (unsigned long long)st->discarded_spool);
    if (st->discarded > st->discarded_spool)
        PUBLISH_CLAUSE("%llu events discarded (memory full)",
                (unsigned long long)(st->discarded - st->discarded_spool));
    if (st->unwritten)
        PUBLISH_CLAUSE("%llu events lost (the spool could not be written or read)",
                (unsigned long long)st->unwritten);
    if (st->killed_runs)
        PUBLISH_CLAUSE("run %s ended without closing (killed?): the events it had not yet "
                       "sealed were lost (at most its last batch)%s",
                st->killed_epoch, st->killed_runs > 1 ? ", and so did earlier runs" : "");
    if (st->torn_files)
        PUBLISH_CLAUSE("a torn spool tail cut (%llu bytes of a partial batch; %u file(s), "
                       "last %s)",
                (unsigned long long)st->torn_bytes, st->torn_files, st->torn_path);
#undef PUBLISH_CLAUSE
    return at > 0;
}
