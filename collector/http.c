/* SPDX-License-Identifier: MIT */
/* http.c: the API, /metrics and /health on libmicrohttpd (docs/collector.md).
 *
 * Threads
 * -------
 * libmicrohttpd runs a pool of `threads` event-driven threads (epoll); each
 * owns the connections it accepted and calls the handlers below for them. A
 * connection that sends its request a byte at a time costs a socket and a
 * small buffer, never a thread, so a thread per connection was not chosen:
 * it would spend a thread (and its stack) on every slow client. A handler
 * that reads the store blocks only its own thread's connections; /health
 * goes on answering on the others.
 *
 * The store
 * ---------
 * SQLite connections are not shared between threads: a small pool holds one
 * read-only connection per thread (opened when first needed), taken for the
 * length of one handler call or one streamed chunk. WAL lets each of them
 * read while the collector's event loop commits: an API reader never makes
 * ingest wait.
 *
 * Limits
 * ------
 * libmicrohttpd counts connections in all (`connections`, shared among the
 * threads) and per client address (`per_ip`): one client cannot hold them
 * all. Its own timeout only notices a connection that says nothing at all,
 * and a byte a second resets it; so a watchdog thread keeps every
 * connection's phase and the time it began, and shuts down (shutdown(2):
 * the owning thread sees the end and closes it) one whose request is not
 * whole `timeout_s` after the connection opened or its last response ended,
 * or whose response has not been read within HTTP_RESPONSE_S. libmicrohttpd
 * reports a connection closed (NOTIFY_CLOSED) before it closes the socket,
 * and the record goes under the same lock, so the watchdog never shuts down
 * a descriptor that was reused.
 *
 * /api/events
 * -----------
 * At most HTTP_EVENTS_MAX events a request (a larger `limit` is cut down to
 * it), with `next`, the cursor for the following page. The page is streamed:
 * the response callback reads HTTP_EVENTS_CHUNK rows at a time, each read a
 * short one of its own, so memory stays bounded and no reader holds a
 * snapshot while a slow client reads.
 *
 * The dashboard
 * -------------
 * GET / and the other files of web/ come from web_assets (embedded at build
 * time): plain HTML, CSS and JavaScript that read /api/ like any client.
 * Every response carries a strict Content-Security-Policy (scripts and
 * styles from this origin only: no inline script, nothing from elsewhere)
 * and the usual companions. With --http-token, /api/ and /metrics want
 * "Authorization: Bearer TOKEN" (compared in constant time); the page's
 * files hold no data and are served to anyone, /health too (a liveness
 * probe). */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "health.h"
#include "log.h"
#include "strbuf.h"
#include "web_assets.h"

#define HTTP_EVENTS_DEFAULT 100 /* events a page without `limit` */
#define HTTP_EVENTS_MAX 1000    /* events a page at most */
#define HTTP_EVENTS_CHUNK 100   /* events read from the store at a time */
#define HTTP_BLOCK 32768        /* bytes handed to libmicrohttpd at a time */
#define HTTP_RESPONSE_S 60      /* a response must be read within this */
#define HTTP_IDLE_S 10          /* libmicrohttpd's own: no byte either way */
#define HTTP_WATCH_MS 200       /* how often the watchdog looks */

/* One client connection, as the watchdog sees it. */
typedef struct conn {
    struct conn *prev, *next;
    int fd;
    bool responding;   /* its request is whole; a response is under way */
    bool dropped;      /* shut down by the watchdog */
    uint64_t since_ms; /* when the current phase began (monotonic) */
} conn_t;

struct http {
    http_cfg_t cfg;
    struct MHD_Daemon *d;
    const char **sites;
    size_t nsites;
    const char ***site_rules;  /* per site: its applicable primary rules */
    size_t *nsite_rules;
    uint16_t port;
    pthread_mutex_t lock; /* everything below */
    pthread_cond_t wake;
    store_t **pool; /* read-only store connections, one a thread */
    bool *taken;
    unsigned npool;
    conn_t *conns;
    uint64_t timed_out; /* connections the watchdog shut down */
    bool stopping;
    bool watching;
    pthread_t watchdog;
};

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void http_limits_defaults(http_limits_t *lim)
{
    lim->threads = 4;
    lim->connections = 256;
    lim->per_ip = 16;
    lim->timeout_s = 5;
}

static void s_site_rules(http_t *self)
{
    const rules_t *rs = self->cfg.rules;
    self->nsites = rules_nsites(rs);
    self->sites = calloc(self->nsites + 1, sizeof *self->sites);
    self->site_rules = calloc(self->nsites + 1, sizeof *self->site_rules);
    self->nsite_rules = calloc(self->nsites + 1, sizeof *self->nsite_rules);
    if (!self->sites || !self->site_rules || !self->nsite_rules)
        return;
    for (size_t i = 0; i < self->nsites; i++) {
        self->sites[i] = rules_site_name(rs, i);
        self->site_rules[i] = calloc(rules_nrules(rs) + 1, sizeof **self->site_rules);
        for (size_t r = 0; self->site_rules[i] && r < rules_nrules(rs); r++)
            if (rules_rule(rs, r)->primary == (int)r && rules_applies_to_site(rs, i, r) &&
                    !rules_waived(rs, i, r)) /* waived: not checked, no status */
                self->site_rules[i][self->nsite_rules[i]++] = rules_rule(rs, r)->id;
    }
}

static void s_db_put(http_t *self, unsigned slot)
{
    pthread_mutex_lock(&self->lock);
    self->taken[slot] = false;
    pthread_cond_broadcast(&self->wake);
    pthread_mutex_unlock(&self->lock);
}

/* A read-only store connection for this thread's call; slot: give it back
 * with s_db_put. NULL (nothing to give back) if the database cannot be
 * opened (yet). */
static store_t *s_db_get(http_t *self, unsigned *slot)
{
    pthread_mutex_lock(&self->lock);
    for (;;) {
        for (unsigned i = 0; i < self->npool; i++) {
            if (self->taken[i])
                continue;
            self->taken[i] = true;
            pthread_mutex_unlock(&self->lock);
            *slot = i;
            if (!self->pool[i]) {
                char err[256];
                self->pool[i] =
                        store_open(self->cfg.db_path, &self->cfg.store, true, err, sizeof err);
                if (!self->pool[i]) {
                    log_warn("http: %s", err);
                    s_db_put(self, i);
                    return NULL;
                }
            }
            return self->pool[i];
        }
        /* One connection a thread: only reached if libmicrohttpd ran more
         * threads than asked. */
        pthread_cond_wait(&self->wake, &self->lock);
    }
}

/* ------------------------------------------------------------------ */
/* Connections and the watchdog                                        */

static void s_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
        enum MHD_ConnectionNotificationCode code)
{
    http_t *self = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_t *k = calloc(1, sizeof *k);
        if (!k)
            return; /* not watched: libmicrohttpd's idle timeout still holds */
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        k->fd = ci ? ci->connect_fd : -1;
        k->since_ms = s_now_ms();
        pthread_mutex_lock(&self->lock);
        k->next = self->conns;
        if (k->next)
            k->next->prev = k;
        self->conns = k;
        pthread_mutex_unlock(&self->lock);
        *socket_context = k;
        return;
    }
    conn_t *k = *socket_context;
    if (!k)
        return;
    pthread_mutex_lock(&self->lock);
    if (k->prev)
        k->prev->next = k->next;
    else
        self->conns = k->next;
    if (k->next)
        k->next->prev = k->prev;
    pthread_mutex_unlock(&self->lock);
    free(k);
    *socket_context = NULL;
}

/* The connection's phase: its request is whole (responding) or it waits for
 * the next one. */
static void s_phase(http_t *self, struct MHD_Connection *c, bool responding)
{
    const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    conn_t *k = ci ? ci->socket_context : NULL;
    if (!k)
        return;
    pthread_mutex_lock(&self->lock);
    k->responding = responding;
    k->since_ms = s_now_ms();
    pthread_mutex_unlock(&self->lock);
}

static void s_on_completed(
        void *cls, struct MHD_Connection *c, void **req, enum MHD_RequestTerminationCode code)
{
    (void)req;
    (void)code;
    s_phase(cls, c, false);
}

static void *s_watchdog(void *arg)
{
    http_t *self = arg;
    pthread_mutex_lock(&self->lock);
    while (!self->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += HTTP_WATCH_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&self->wake, &self->lock, &ts);
        uint64_t now = s_now_ms();
        for (conn_t *k = self->conns; k; k = k->next) {
            uint64_t limit =
                    (uint64_t)(k->responding ? HTTP_RESPONSE_S : self->cfg.lim.timeout_s) * 1000u;
            if (k->dropped || k->fd < 0 || now - k->since_ms <= limit)
                continue;
            /* Still open (the record goes before the socket): its own
             * thread sees the end and closes it. */
            shutdown(k->fd, SHUT_RDWR);
            k->dropped = true;
            self->timed_out++;
        }
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */

/* The headers of every response: the browser runs nothing but this
 * origin's own files, frames nothing, guesses no type, sends no referrer. */
static void s_headers(struct MHD_Response *r, const char *type)
{
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(r, "Cache-Control", "no-store");
}

static enum MHD_Result s_reply(struct MHD_Connection *c, unsigned status, const char *type,
        char *body)
{
    if (!body)
        body = strdup("{\"error\":\"out of memory\"}");
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    s_headers(r, type);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* A file of the dashboard, or NULL. "/" is its overview. */
static const web_asset_t *s_asset(const char *url)
{
    if (strcmp(url, "/") == 0)
        url = "/index.html";
    for (const web_asset_t *a = web_assets; a->path; a++)
        if (strcmp(a->path, url) == 0)
            return a;
    return NULL;
}

static enum MHD_Result s_page(struct MHD_Connection *c, const web_asset_t *a)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
            a->len, (void *)(uintptr_t)a->data, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    s_headers(r, a->type);
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

/* True if the request may read /api/ and /metrics: no token is set, or
 * it sent "Authorization: Bearer TOKEN". Compared in constant time (the
 * token's length is not a secret). */
static bool s_authorized(const http_t *self, struct MHD_Connection *c)
{
    const char *want = self->cfg.token;
    if (!want)
        return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    size_t n = strlen(want);
    if (strlen(h) != n)
        return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(h[i] ^ want[i]);
    return diff == 0;
}

static enum MHD_Result s_unauthorized(struct MHD_Connection *c)
{
    char *body = strdup("{\"error\":\"a bearer token is required (--http-token)\"}");
    if (!body)
        return MHD_NO;
    struct MHD_Response *r =
            MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    s_headers(r, "application/json");
    MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"pinhole\"");
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_UNAUTHORIZED, r);
    MHD_destroy_response(r);
    return rc;
}

static char *s_error(const char *msg)
{
    strbuf_t b;
    strbuf_init(&b);
    strbuf_printf(&b, "{\"error\":\"%s\"}", msg);
    return strbuf_take(&b, NULL);
}

static unsigned s_limit(struct MHD_Connection *c, unsigned dflt, unsigned max)
{
    const char *l = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    if (!l)
        return dflt;
    unsigned long v = strtoul(l, NULL, 10);
    return v == 0 ? dflt : v > max ? max : (unsigned)v;
}

static const char *s_arg(struct MHD_Connection *c, const char *k)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k);
    return v && *v ? v : NULL;
}

/* An event id argument, at least `lo`: -1 if absent, -2 if not a number
 * from lo. */
static int64_t s_id_arg(struct MHD_Connection *c, const char *k, int64_t lo)
{
    const char *v = s_arg(c, k);
    if (!v)
        return -1;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    return errno || *end || n < lo ? -2 : (int64_t)n;
}

/* ------------------------------------------------------------------ */
/* /api/events, streamed                                               */

typedef struct {
    http_t *http;
    store_events_query_t q; /* its strings point into `args` */
    char *args[3];          /* type, site, sensor (owned) */
    unsigned limit, left;   /* the page's size, and what is still to read */
    int64_t last;           /* the id of the last event read */
    bool started, more, done;
    strbuf_t out; /* text not yet sent */
    size_t off;
} events_stream_t;

static void s_events_free(void *cls)
{
    events_stream_t *s = cls;
    for (int i = 0; i < 3; i++)
        free(s->args[i]);
    strbuf_fini(&s->out);
    free(s);
}

/* Reads the next chunk of the page into s->out, and the page's end after
 * the last one. -1: the database failed (503 before the first byte, a cut
 * response after). */
static int s_events_fill(events_stream_t *s)
{
    if (!s->started)
        strbuf_printf(&s->out, "{\"events\":[");
    if (s->left > 0 && (!s->started || s->more)) {
        unsigned n = s->left < HTTP_EVENTS_CHUNK ? s->left : HTTP_EVENTS_CHUNK, slot;
        store_t *db = s_db_get(s->http, &slot);
        if (!db)
            return -1;
        int rows = store_events_page(db, &s->q, n, !s->started, &s->out, &s->last, &s->more);
        s_db_put(s->http, slot);
        if (rows < 0)
            return -1;
        s->left -= (unsigned)rows;
        if (s->q.oldest_first)
            s->q.after = s->last; /* the next chunk starts above */
        else
            s->q.before = s->last;
    }
    s->started = true;
    if (s->left == 0 || !s->more) {
        if (s->more)
            strbuf_printf(&s->out, "],\"limit\":%u,\"next\":%" PRId64 "}", s->limit, s->last);
        else
            strbuf_printf(&s->out, "],\"limit\":%u,\"next\":null}", s->limit);
        s->done = true;
    }
    return s->out.failed ? -1 : 0;
}

static ssize_t s_events_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    events_stream_t *s = cls;
    while (s->off == s->out.len) {
        if (s->done)
            return MHD_CONTENT_READER_END_OF_STREAM;
        s->out.len = 0;
        s->off = 0;
        if (s_events_fill(s) < 0) {
            log_warn("http: /api/events: the store failed while streaming; response cut");
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
    size_t n = s->out.len - s->off < max ? s->out.len - s->off : max;
    memcpy(buf, s->out.buf + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static enum MHD_Result s_events(http_t *self, struct MHD_Connection *c)
{
    const char *json = "application/json";
    /* after=0: from the oldest. */
    int64_t before = s_id_arg(c, "before", 1), after = s_id_arg(c, "after", 0);
    if (before == -2 || after == -2)
        return s_reply(c, MHD_HTTP_BAD_REQUEST, json,
                s_error("before takes an event id, after an event id or 0"));
    events_stream_t *s = calloc(1, sizeof *s);
    if (!s)
        return s_reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, json, NULL);
    s->http = self;
    strbuf_init(&s->out);
    const char *names[3] = {"type", "site", "sensor"};
    for (int i = 0; i < 3; i++)
        if (s_arg(c, names[i]) && !(s->args[i] = strdup(s_arg(c, names[i])))) {
            s_events_free(s);
            return s_reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, json, NULL);
        }
    s->q = (store_events_query_t){.type = s->args[0],
            .site = s->args[1],
            .sensor = s->args[2],
            .before = before,
            .after = after,
            .oldest_first = after >= 0};
    s->limit = s->left = s_limit(c, HTTP_EVENTS_DEFAULT, HTTP_EVENTS_MAX);
    /* The first chunk now: a store that cannot be read is still a 503. */
    if (s_events_fill(s) < 0) {
        s_events_free(s);
        return s_reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, json, s_error("database not ready"));
    }
    struct MHD_Response *r = MHD_create_response_from_callback(
            MHD_SIZE_UNKNOWN, HTTP_BLOCK, s_events_read, s, s_events_free);
    if (!r) {
        s_events_free(s);
        return MHD_NO;
    }
    s_headers(r, json);
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

static char *s_metrics(http_t *self, store_t *db)
{
    strbuf_t b;
    strbuf_init(&b);
    store_metrics(db, &b, self->sites, self->nsites, (const char *const *const *)self->site_rules,
            self->nsite_rules);
    pthread_mutex_lock(&self->lock);
    uint64_t timed_out = self->timed_out;
    pthread_mutex_unlock(&self->lock);
    strbuf_printf(&b,
            "# HELP pinhole_http_timeouts_total HTTP connections dropped: a request not whole "
            "in time, or a response not read in time\n"
            "# TYPE pinhole_http_timeouts_total counter\n"
            "pinhole_http_timeouts_total %" PRIu64 "\n",
            timed_out);
    health_t h;
    health_get(&h);
    strbuf_printf(&b, "# HELP pinhole_store_failing 1 while the store refuses writes "
                      "(nothing is acknowledged)\n# TYPE pinhole_store_failing gauge\n"
                      "pinhole_store_failing %d\n", h.failing ? 1 : 0);
    strbuf_printf(&b, "# HELP pinhole_store_write_failures_total transactions the store "
                      "refused (disk full, I/O error, locked)\n# TYPE "
                      "pinhole_store_write_failures_total counter\n"
                      "pinhole_store_write_failures_total %" PRIu64 "\n", h.failures);
    return strbuf_take(&b, NULL);
}

/* Everything but /api/events, answered whole from one store connection. */
static enum MHD_Result s_route(http_t *self, struct MHD_Connection *c, const char *url, store_t *db)
{
    const char *json = "application/json";
    if (strcmp(url, "/health") == 0) {
        health_t h;
        health_get(&h);
        json_object *o = json_object_new_object();
        const char *status = !db ? "no_database" : h.failing ? "store_failing" : "ok";
        json_object_object_add(o, "status", json_object_new_string(status));
        json_object_object_add(o, "events", json_object_new_int64(
                db ? (int64_t)store_count_events(db) : 0));
        if (h.failing) { /* nothing is acknowledged until the store takes writes */
            json_object_object_add(o, "reason", json_object_new_string(h.reason));
            json_object_object_add(o, "since_us", json_object_new_int64((int64_t)h.since_us));
        }
        json_object_object_add(o, "store_failures", json_object_new_int64((int64_t)h.failures));
        char *text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return s_reply(c, strcmp(status, "ok") == 0 ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                json, text);
    }
    if (!db)
        return s_reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, json, s_error("database not ready"));
    if (strcmp(url, "/metrics") == 0)
        return s_reply(
                c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", s_metrics(self, db));
    if (strcmp(url, "/api/sites") == 0 || strcmp(url, "/api/sites/") == 0)
        return s_reply(c, MHD_HTTP_OK, json, store_json_sites(db, self->sites, self->nsites));
    if (strcmp(url, "/api/overview") == 0)
        return s_reply(c, MHD_HTTP_OK, json, store_json_overview(db, self->sites, self->nsites));
    if (strncmp(url, "/api/sites/", 11) == 0) {
        const char *name = url + 11, *slash = strchr(name, '/');
        size_t n = slash ? (size_t)(slash - name) : strlen(name);
        bool history = slash && strcmp(slash, "/history") == 0;
        for (size_t i = 0; (!slash || history) && i < self->nsites; i++) {
            if (strlen(self->sites[i]) != n || strncmp(name, self->sites[i], n) != 0)
                continue;
            return s_reply(c, MHD_HTTP_OK, json,
                    history ? store_json_rule_history(db, self->sites[i])
                            : store_json_site(db, self->cfg.rules, i));
        }
        return s_reply(c, MHD_HTTP_NOT_FOUND, json, s_error("no such site in the inventory"));
    }
    if (strcmp(url, "/api/sensors") == 0)
        return s_reply(c, MHD_HTTP_OK, json, store_json_sensors(db));
    if (strcmp(url, "/api/alerts") == 0)
        return s_reply(c, MHD_HTTP_OK, json, store_json_alerts(db, s_limit(c, 100, 10000)));
    return s_reply(c, MHD_HTTP_NOT_FOUND, json, s_error("not found"));
}

static enum MHD_Result s_handle(void *cls, struct MHD_Connection *c, const char *url,
        const char *method, const char *version, const char *upload, size_t *upload_size,
        void **req)
{
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)req;
    http_t *self = cls;
    /* Called once the headers are whole: from now on the response's time
     * limit holds, not the request's. */
    s_phase(self, c, true);
    if (strcmp(method, "GET") != 0)
        return s_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json", s_error("GET only"));
    const web_asset_t *page = s_asset(url);
    if (page)
        return s_page(c, page);
    if ((strncmp(url, "/api/", 5) == 0 || strcmp(url, "/metrics") == 0) && !s_authorized(self, c))
        return s_unauthorized(c);
    if (strcmp(url, "/api/events") == 0)
        return s_events(self, c);
    unsigned slot;
    store_t *db = s_db_get(self, &slot);
    enum MHD_Result rc = s_route(self, c, url, db);
    if (db)
        s_db_put(self, slot);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The server                                                          */

static int s_start(http_t *self, const struct sockaddr_in *sa)
{
    const http_limits_t *lim = &self->cfg.lim;
    self->npool = lim->threads;
    self->pool = calloc(self->npool, sizeof *self->pool);
    self->taken = calloc(self->npool, sizeof *self->taken);
    if (!self->pool || !self->taken)
        return -1;
    /* MHD_OPTION_THREAD_POOL_SIZE only past one thread: one is the
     * internal polling thread itself. */
    self->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, self->cfg.port,
            NULL, NULL, s_handle, self, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)sa,
            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(lim->threads > 1 ? lim->threads : 0),
            MHD_OPTION_CONNECTION_LIMIT, lim->connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
            lim->per_ip, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_S,
            MHD_OPTION_NOTIFY_CONNECTION, s_on_connection, self, MHD_OPTION_NOTIFY_COMPLETED,
            s_on_completed, self, MHD_OPTION_END);
    if (!self->d)
        return -1;
    if (pthread_create(&self->watchdog, NULL, s_watchdog, self) != 0)
        return -1;
    self->watching = true;
    return 0;
}

http_t *http_new(const http_cfg_t *cfg, char *err, size_t errlen)
{
    http_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->wake, NULL);
    s_site_rules(self);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(cfg->port);
    if (inet_pton(AF_INET, cfg->addr, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "--http %s: want an IPv4 address", cfg->addr);
        http_destroy(&self);
        return NULL;
    }
    if (cfg->lim.connections < cfg->lim.threads) {
        snprintf(err, errlen, "--http-connections %u: want at least one per thread (%u)",
                cfg->lim.connections, cfg->lim.threads);
        http_destroy(&self);
        return NULL;
    }
    if (s_start(self, &sa) < 0) {
        snprintf(err, errlen, "--http %s:%u: cannot listen", cfg->addr, cfg->port);
        http_destroy(&self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->d, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : cfg->port;
    log_config("http: %u threads, %u connections (%u per address), requests within %u s",
            cfg->lim.threads, cfg->lim.connections, cfg->lim.per_ip, cfg->lim.timeout_s);
    return self;
}

uint16_t http_port(const http_t *self)
{
    return self->port;
}

void http_destroy(http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    http_t *self = *self_p;
    if (self->d)
        MHD_stop_daemon(self->d); /* every connection closed: no record left */
    if (self->watching) {
        pthread_mutex_lock(&self->lock);
        self->stopping = true;
        pthread_cond_broadcast(&self->wake);
        pthread_mutex_unlock(&self->lock);
        pthread_join(self->watchdog, NULL);
    }
    for (unsigned i = 0; self->pool && i < self->npool; i++)
        store_close(&self->pool[i]);
    free(self->pool);
    free(self->taken);
    for (size_t i = 0; self->site_rules && i < self->nsites; i++)
        free(self->site_rules[i]);
    free(self->site_rules);
    free(self->nsite_rules);
    free(self->sites);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}
