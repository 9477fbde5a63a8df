/* SPDX-License-Identifier: MIT */
/* main.c: pinhole-collector: one event loop for the sensors' messages and
 * the timers (silent sensors, alert summaries, table bounds); the HTTP
 * server runs on its own thread (http.c). docs/collector.md. */
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "aggregate.h"
#include "alert.h"
#include "evschema.h"
#include "ingest.h"
#include "http.h"
#include "log.h"
#include "parse_ahead.h"
#include "receive.h"
#include "rules.h"
#include "db.h"
#include "store.h"
#include "strutil.h"
#include "version.h"

#define MAX_RULES 64
/* Events messages read ahead of the one being stored, plus that one. */
#define COLLECTOR_AHEAD 2

typedef struct {
    const char *rules[MAX_RULES];
    size_t nrules;
    const char *inventory;
    const char *db;
    const char *http;
    const char *http_token; /* --http-token FILE */
    receive_cfg_t rx;
    alert_cfg_t alert;
    store_cfg_t store;
    http_limits_t http_lim;
    uint64_t silence_us, window_us;
    bool check_only;
} options_t;

typedef struct {
    options_t *o;
    store_t *db;
    receive_t *rx;
    aggregate_t *agg;
    alert_t *alert;
    ingest_t *ingest;
    /* Events messages received, oldest first, their lines being read on
     * parse_ahead's thread while the one before is stored. */
    parse_ahead_t *ahead;
    struct {
        receive_msg_t m;
        batch_t *b;
    } pending[COLLECTOR_AHEAD];
    size_t npending;
    uint64_t events, messages, first_us, last_us;
    uint64_t pruned_us; /* when identities were last pruned */
    /* Refused messages by reason, counted in memory and stored once a
     * second with the timers (never a transaction, or an fsync, each). */
    struct {
        const char *reason; /* receive.c's static strings */
        uint64_t n;
    } refused[8];
} collector_t;

static void s_refused(collector_t *c, const char *reason)
{
    size_t n = sizeof c->refused / sizeof *c->refused;
    for (size_t i = 0; i < n; i++)
        if (!c->refused[i].reason || strcmp(c->refused[i].reason, reason) == 0) {
            c->refused[i].reason = reason;
            c->refused[i].n++;
            return;
        }
    c->refused[n - 1].n++; /* more reasons than slots: the last one takes them */
}

static volatile sig_atomic_t s_stop, s_reopen;

static void s_on_signal(int sig)
{
    if (sig == SIGHUP)
        s_reopen = 1;
    else
        s_stop = 1;
}

static uint64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: pinhole-collector [--rules PATH] --inventory FILE [options]\n"
            "      --rules PATH         profile file or directory (repeatable), as the sensors'\n"
            "                           (default " PINHOLE_RULES_DIR ")\n"
            "      --inventory FILE     sites and role bindings, as the sensors'\n"
            "  -l, --listen ENDPOINT    where sensors connect (default tcp://0.0.0.0:7701)\n"
            "  -d, --db FILE|URI        the state: a SQLite file (default pinhole-collector.db)\n"
            "                           or postgresql://... shared by several collectors\n"
            "                           (docs/scale.md)\n"
            "      --key FILE           the collector's key pair (pinhole-keygen)\n"
            "      --allow PATH         allowed sensors: a directory of NAME.pub, or a file of\n"
            "                           'NAME PUBLIC-KEY' lines\n"
            "      --plain              no CURVE: any sensor may connect (trusted networks only)\n"
            "      --http ADDR:PORT     API, /metrics and /health (default 127.0.0.1:7780;\n"
            "                           'off' for none)\n"
            "      --http-threads N     threads serving HTTP (default 4)\n"
            "      --http-connections N HTTP connections open at once (default 256)\n"
            "      --http-per-ip N      ... from one client address (default 16)\n"
            "      --http-timeout S     an HTTP request must arrive whole within this\n"
            "                           (default 5)\n"
            "      --http-token FILE    /api/* and /metrics want 'Authorization: Bearer' and\n"
            "                           the token in FILE (its first line); the dashboard\n"
            "                           at / asks for it\n"
            "      --alerts FILE        alerts as JSON lines (SIGHUP opens it again)\n"
            "      --syslog             alerts to syslog too\n"
            "      --alert-publish EP   re-publish alerts on a ZeroMQ PUB socket\n"
            "      --suppress S         hold back repeats of one alert this long (default 300)\n"
            "      --silence S          a sensor unheard this long is silent (default 60)\n"
            "      --window S           allowed and blocked flows of one rule this close in\n"
            "                           time make it partly_blocked (default 300)\n"
            "      --max-message BYTES  larger messages are refused (default 8388608)\n"
            "      --max-events N       events kept for the API (default 1000000)\n"
            "      --max-db-size MB     the database's size bound: past it nothing more is\n"
            "                           stored nor acknowledged, as on a full disk (default none)\n"
            "      --id-retention S     flows and NAT changes are recognised when published\n"
            "                           again this long after first seen (default 604800)\n"
            "      --sync full|normal   fsync each commit (full, default) or not (normal:\n"
            "                           survives a crash of the collector, not of the machine)\n"
            "      --check              load rules, inventory and keys, then exit\n"
            "  -v, --verbose            more logging\n"
            "  -h, --help               this text\n"
            "  -V, --version            the version\n");
}

/* The --http-* limit i: threads, connections, per-ip, timeout. */
static int s_http_limit(int i, const char *arg, http_limits_t *lim)
{
    static const struct {
        const char *name;
        uint64_t lo, hi;
    } range[4] = {{"--http-threads", 1, 64}, {"--http-connections", 1, 4096},
            {"--http-per-ip", 1, 4096}, {"--http-timeout", 1, 300}};
    unsigned *field[4] = {&lim->threads, &lim->connections, &lim->per_ip, &lim->timeout_s};
    uint64_t n;
    if (!str_to_u64(arg, range[i].lo, range[i].hi, &n)) {
        log_error("%s: '%s' is not a number from %llu to %llu", range[i].name, arg,
                (unsigned long long)range[i].lo, (unsigned long long)range[i].hi);
        return -1;
    }
    *field[i] = (unsigned)n;
    return 0;
}

static int s_parse(int argc, char **argv, options_t *o)
{
    enum { O_RULES = 256, O_INVENTORY, O_KEY, O_ALLOW, O_PLAIN, O_HTTP, O_ALERTS, O_SYSLOG,
        O_ALERT_PUB, O_SUPPRESS, O_SILENCE, O_WINDOW, O_MAXMSG, O_MAXEV, O_MAXDB, O_SYNC, O_CHECK,
        O_IDRET, O_HTTP_THREADS, O_HTTP_CONNS, O_HTTP_PER_IP, O_HTTP_TIMEOUT, O_HTTP_TOKEN };
    static const struct option longs[] = {
            {"rules", required_argument, NULL, O_RULES},
            {"inventory", required_argument, NULL, O_INVENTORY},
            {"listen", required_argument, NULL, 'l'}, {"db", required_argument, NULL, 'd'},
            {"key", required_argument, NULL, O_KEY}, {"allow", required_argument, NULL, O_ALLOW},
            {"plain", no_argument, NULL, O_PLAIN}, {"http", required_argument, NULL, O_HTTP},
            {"http-threads", required_argument, NULL, O_HTTP_THREADS},
            {"http-connections", required_argument, NULL, O_HTTP_CONNS},
            {"http-per-ip", required_argument, NULL, O_HTTP_PER_IP},
            {"http-timeout", required_argument, NULL, O_HTTP_TIMEOUT},
            {"http-token", required_argument, NULL, O_HTTP_TOKEN},
            {"alerts", required_argument, NULL, O_ALERTS}, {"syslog", no_argument, NULL, O_SYSLOG},
            {"alert-publish", required_argument, NULL, O_ALERT_PUB},
            {"suppress", required_argument, NULL, O_SUPPRESS},
            {"silence", required_argument, NULL, O_SILENCE},
            {"window", required_argument, NULL, O_WINDOW},
            {"max-message", required_argument, NULL, O_MAXMSG},
            {"max-events", required_argument, NULL, O_MAXEV},
            {"id-retention", required_argument, NULL, O_IDRET},
            {"max-db-size", required_argument, NULL, O_MAXDB},
            {"sync", required_argument, NULL, O_SYNC}, {"check", no_argument, NULL, O_CHECK},
            {"verbose", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
    int c, verbose = 0;
    uint64_t n;
    while ((c = getopt_long(argc, argv, "l:d:vhV", longs, NULL)) != -1) {
        switch (c) {
            case O_RULES:
                if (o->nrules == MAX_RULES) {
                    log_error("too many --rules");
                    return -1;
                }
                o->rules[o->nrules++] = optarg;
                break;
            case O_INVENTORY: o->inventory = optarg; break;
            case 'l': o->rx.bind = optarg; break;
            case 'd': o->db = optarg; break;
            case O_KEY: o->rx.key_path = optarg; break;
            case O_ALLOW: o->rx.allow_path = optarg; break;
            case O_PLAIN: o->rx.plain = true; break;
            case O_HTTP: o->http = optarg; break;
            case O_HTTP_TOKEN: o->http_token = optarg; break;
            case O_HTTP_THREADS:
            case O_HTTP_CONNS:
            case O_HTTP_PER_IP:
            case O_HTTP_TIMEOUT:
                if (s_http_limit(c - O_HTTP_THREADS, optarg, &o->http_lim) != 0)
                    return -1;
                break;
            case O_ALERTS: o->alert.file = optarg; break;
            case O_SYSLOG: o->alert.syslog = true; break;
            case O_ALERT_PUB: o->rx.alert_bind = optarg; break;
            case O_SUPPRESS:
            case O_SILENCE:
            case O_WINDOW:
                if (!str_to_u64(optarg, c == O_SILENCE ? 1 : 0, 30 * 86400, &n)) {
                    log_error("'%s' is not a number of seconds", optarg);
                    return -1;
                }
                *(c == O_SUPPRESS ? &o->alert.suppress_us : c == O_SILENCE ? &o->silence_us
                                                                           : &o->window_us) = n * 1000000u;
                break;
            case O_MAXMSG:
                if (!str_to_u64(optarg, 4096, 256u << 20, &n)) {
                    log_error("--max-message: '%s' is not a size from 4096 to 268435456", optarg);
                    return -1;
                }
                o->rx.max_message = (size_t)n;
                break;
            case O_MAXEV:
                if (!str_to_u64(optarg, 1000, 1ull << 40, &n)) {
                    log_error("--max-events: '%s' is not a number (at least 1000)", optarg);
                    return -1;
                }
                o->store.max_events = n;
                break;
            case O_MAXDB:
                if (!str_to_u64(optarg, 1, 1ull << 24, &n)) {
                    log_error("--max-db-size: '%s' is not a number of megabytes (1 to 16777216)",
                            optarg);
                    return -1;
                }
                o->store.max_db_bytes = n << 20;
                break;
            case O_IDRET:
                if (!str_to_u64(optarg, 60, 366 * 86400, &n)) {
                    log_error("--id-retention: '%s' is not a number of seconds (60 to 31622400)",
                            optarg);
                    return -1;
                }
                o->store.id_retention_us = n * 1000000u;
                break;
            case O_SYNC:
                if (strcmp(optarg, "full") && strcmp(optarg, "normal")) {
                    log_error("--sync must be full or normal");
                    return -1;
                }
                o->store.sync_full = strcmp(optarg, "full") == 0;
                break;
            case O_CHECK: o->check_only = true; break;
            case 'v': verbose++; break;
            case 'h': s_usage(stdout); exit(0);
            case 'V': version_print("pinhole-collector", stdout); exit(0);
            default: s_usage(stderr); return -1;
        }
    }
    log_set_level(verbose >= 2 ? LOG_LEVEL_DEBUG : verbose ? LOG_LEVEL_CONFIG : LOG_LEVEL_NOTICE);
    if (optind < argc) {
        log_error("unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (!o->nrules)
        o->rules[o->nrules++] = PINHOLE_RULES_DIR; /* the installed profiles */
    if (!o->inventory) {
        log_error("--inventory is required (the same as the sensors')");
        return -1;
    }
    if (!o->rx.plain && (!o->rx.key_path || !o->rx.allow_path)) {
        log_error("give --key and --allow (CURVE), or --plain");
        return -1;
    }
    return 0;
}

static rules_t *s_load_rules(const options_t *o)
{
    char err[RULES_ERRLEN];
    rules_t *rs = rules_load_all(o->rules, o->nrules, o->inventory, err, sizeof err);
    if (!rs)
        log_error("%s", err);
    return rs;
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */

static void s_events(collector_t *c, const receive_msg_t *m, const batch_t *b)
{
    uint64_t now = s_now_us();
    ingest_result_t r;
    ingest_parsed(c->ingest, &m->h, b, now, &r);
    if (!r.ack)
        return; /* refused, or the store failed: it comes again */
    receive_ack(c->rx, m, r.acked, r.resend);
    if (!c->first_us)
        c->first_us = now;
    c->last_us = now;
    c->events += r.stored;
}

static void s_silent(const char *sensor, uint64_t last_us, void *arg)
{
    collector_t *c = arg;
    char msg[160];
    snprintf(msg, sizeof msg, "sensor %s silent for %llu s", sensor,
            (unsigned long long)((s_now_us() - last_us) / 1000000u));
    log_warn("%s", msg);
    aggregate_alert(c->agg, "sensor_silent", NULL, NULL, sensor, "up", "silent", msg);
}

static void s_timers(collector_t *c)
{
    uint64_t now = s_now_us();
    if (store_begin(c->db) == 0) {
        for (size_t i = 0; i < sizeof c->refused / sizeof *c->refused; i++)
            if (c->refused[i].n) {
                char name[64];
                snprintf(name, sizeof name, "rejected.%s", c->refused[i].reason);
                store_counter_add(c->db, name, c->refused[i].n);
            }
        store_sensors_silent(c->db, now - c->o->silence_us, s_silent, c);
        store_trim(c->db);
        if (now - c->pruned_us >= 60000000u) { /* a minute: counting them costs a scan */
            store_ids_prune(c->db, now);
            c->pruned_us = now;
        }
        if (store_commit(c->db) == 0) {
            for (size_t i = 0; i < sizeof c->refused / sizeof *c->refused; i++)
                c->refused[i].n = 0;
        } else {
            store_rollback(c->db);
        }
    }
    alert_flush(c->alert, c->db, now);
    alert_tick(c->alert, now);
}

static void s_publish_alert(void *ctx, const char *json)
{
    receive_alert(ctx, json);
}

/* The oldest events message received, stored once its lines are read. */
static void s_store_oldest(collector_t *c)
{
    receive_msg_t *m = &c->pending[0].m;
    batch_t *b = c->pending[0].b;
    parse_ahead_wait(c->ahead, b);
    s_events(c, m, b);
    parse_ahead_release(c->ahead, b);
    receive_msg_fini(m);
    c->npending--;
    memmove(&c->pending[0], &c->pending[1], c->npending * sizeof c->pending[0]);
    alert_flush(c->alert, c->db, s_now_us());
}

/* One message: an events message is handed to the reader (stored later,
 * in order); anything else waits for the events before it to be stored. */
static void s_message(collector_t *c, receive_msg_t *m, batch_t *b)
{
    c->messages++;
    if (m->h.kind == EVSCHEMA_EVENTS) {
        parse_ahead_submit(c->ahead, b, m->body, m->body_len, m->h.count);
        c->pending[c->npending].m = *m;
        c->pending[c->npending++].b = b;
        return;
    }
    parse_ahead_release(c->ahead, b);
    while (c->npending)
        s_store_oldest(c);
    ingest_heartbeat(c->ingest, &m->h, s_now_us());
    receive_msg_fini(m);
    alert_flush(c->alert, c->db, s_now_us());
}

static int s_loop(collector_t *c)
{
    uint64_t last_timer = 0;
    while (!s_stop) {
        if (s_reopen) { /* logrotate moved the alerts file */
            char err[512];
            s_reopen = 0;
            if (alert_reopen(c->alert, err, sizeof err) != 0)
                log_error("%s", err);
            else
                log_notice("SIGHUP: the alerts file is open again");
        }
        batch_t *b = parse_ahead_free(c->ahead);
        if (!b) { /* as many read ahead as there are batches: store one */
            s_store_oldest(c);
            continue;
        }
        receive_msg_t m;
        const char *reason = NULL;
        /* With messages pending, only what has come already: else store. */
        int rc = receive_next(c->rx, c->npending ? 0 : 100, &m, &reason);
        if (rc > 0) {
            s_message(c, &m, b);
        } else {
            parse_ahead_release(c->ahead, b);
            if (rc < 0)
                s_refused(c, reason);
            /* Nothing new to read ahead (a refused message is not: a
             * stream of them must not hold back what came before). */
            if (c->npending)
                s_store_oldest(c);
        }
        uint64_t now = s_now_us();
        if (now - last_timer >= 1000000u) {
            s_timers(c);
            last_timer = now;
        }
    }
    while (c->npending) /* received: stored and acknowledged if the sensor is still there */
        s_store_oldest(c);
    s_timers(c); /* the last second's refused-message counts too */
    return 0;
}

/* The bearer token of --http-token: the file's first line, without the
 * line end; at least 16 characters, printable, no spaces (it goes in a
 * header). False (err says why) if it cannot be read or is not one. */
static bool s_http_token(const char *path, char *tok, size_t n, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "--http-token %s: cannot read it", path);
        return false;
    }
    bool ok = fgets(tok, (int)n, f) != NULL;
    fclose(f);
    size_t len = ok ? strcspn(tok, "\r\n") : 0;
    if (ok)
        tok[len] = '\0';
    for (size_t i = 0; ok && i < len; i++)
        ok = tok[i] > ' ' && tok[i] < 0x7f;
    if (!ok || len < 16 || len + 1 >= n) {
        snprintf(err, errlen,
                "--http-token %s: want a token of 16 to %zu printable characters "
                "without spaces on its first line",
                path, n - 2);
        return false;
    }
    return true;
}

static bool s_http_addr(const char *s, char *addr, size_t n, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    uint64_t p;
    if (!colon || (size_t)(colon - s) >= n || !str_to_u64(colon + 1, 0, 65535, &p))
        return false;
    memcpy(addr, s, (size_t)(colon - s));
    addr[colon - s] = '\0';
    *port = (uint16_t)p;
    return true;
}

int main(int argc, char **argv)
{
    umask(027); /* what it creates: 0640, never world-readable */
    options_t o;
    memset(&o, 0, sizeof o);
    o.rx.bind = "tcp://0.0.0.0:7701";
    o.rx.max_message = 8u << 20;
    o.db = "pinhole-collector.db";
    o.http = "127.0.0.1:7780";
    o.alert.suppress_us = 300ull * 1000000u;
    o.silence_us = 60ull * 1000000u;
    o.window_us = 300ull * 1000000u;
    store_cfg_defaults(&o.store);
    http_limits_defaults(&o.http_lim);
    if (s_parse(argc, argv, &o) != 0)
        return 2;
    rules_t *rs = s_load_rules(&o);
    if (!rs)
        return 2;
    collector_t c;
    memset(&c, 0, sizeof c);
    c.o = &o;
    char err[512];
    int status = 2;
    http_t *http = NULL;
    static char token[256]; /* --http-token's */
    if (o.check_only) { /* rules, inventory, and the keys the collector would use */
        size_t allowed = 0;
        if (receive_check(&o.rx, &allowed, err, sizeof err) != 0 ||
                (o.http_token && !s_http_token(o.http_token, token, sizeof token, err, sizeof err))) {
            log_error("%s", err);
            rules_destroy(&rs);
            return 2;
        }
        printf("ok: %zu rules, %zu sites, %s\n", rules_nrules(rs), rules_nsites(rs),
                o.rx.plain ? "plain (no keys)" : "keys loaded");
        if (!o.rx.plain)
            printf("    %zu sensor(s) allowed\n", allowed);
        rules_destroy(&rs);
        return 0;
    }
    c.db = store_open(o.db, &o.store, false, err, sizeof err);
    if (!c.db)
        goto fail;
    c.rx = receive_new(&o.rx, err, sizeof err);
    if (!c.rx)
        goto fail;
    o.alert.publish = s_publish_alert;
    o.alert.ctx = c.rx;
    c.alert = alert_new(&o.alert, err, sizeof err);
    if (!c.alert)
        goto fail;
    c.agg = aggregate_new(c.db, rs, o.window_us);
    ingest_tune_memory();
    c.ingest = c.agg ? ingest_new(c.db, c.agg, c.alert) : NULL;
    c.ahead = parse_ahead_new(COLLECTOR_AHEAD);
    if (!c.agg || !c.ingest || !c.ahead) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    /* Sites added to the inventory since events for them came in. */
    if (store_begin(c.db) == 0) {
        aggregate_adopt(c.agg);
        if (store_commit(c.db) != 0)
            store_rollback(c.db);
    }
    if (strcmp(o.http, "off") != 0) {
        http_cfg_t hc = {.db_path = o.db, .rules = rs, .store = o.store, .lim = o.http_lim};
        char addr[64];
        if (!s_http_addr(o.http, addr, sizeof addr, &hc.port)) {
            snprintf(err, sizeof err, "--http %s: want ADDR:PORT", o.http);
            goto fail;
        }
        hc.addr = addr;
        if (o.http_token) {
            if (!s_http_token(o.http_token, token, sizeof token, err, sizeof err))
                goto fail;
            hc.token = token;
        }
        if (!(http = http_new(&hc, err, sizeof err)))
            goto fail;
        log_notice("dashboard on http://%s:%u/ (API /api/sites, /metrics, /health%s)", addr,
                http_port(http), hc.token ? "; bearer token required" : "");
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    char shown[512];
    db_target_display(o.db, shown, sizeof shown);
    log_notice("listening on %s (%s; %zu sensors allowed), state in %s", o.rx.bind,
            o.rx.plain ? "plain TCP" : "CURVE", receive_allowed(c.rx), shown);
    alert_flush(c.alert, c.db, s_now_us()); /* what a crash left in the outbox */
    status = s_loop(&c);
    double secs = c.last_us > c.first_us ? (double)(c.last_us - c.first_us) / 1e6 : 0;
    log_notice("stopped: %llu messages, %llu events stored this run (%.0f events/s while busy)",
            (unsigned long long)c.messages, (unsigned long long)c.events,
            secs > 0 ? (double)c.events / secs : 0.0);
    goto done;
fail:
    log_error("%s", err);
done:
    http_destroy(&http);
    parse_ahead_destroy(&c.ahead);
    ingest_destroy(&c.ingest);
    aggregate_destroy(&c.agg);
    alert_destroy(&c.alert);
    receive_destroy(&c.rx);
    store_close(&c.db);
    rules_destroy(&rs);
    return status;
}
