/* SPDX-License-Identifier: MIT */
/* main.c: pinhole-sensor command line: loads the rules, wires the pipeline
 * to the packet sources, prints the per-site compliance report.
 *
 * Exit status: 0 every observed site is compliant; 1 a site is not;
 * 2 bad usage, configuration, input or output (the report, the events);
 * 3 no site was observed. A --publish that lost events makes it 2 (its
 * last lines say what and why); events kept in the spool do not. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "classify.h"
#include "err.h"
#include "geo.h"
#include "log.h"
#include "keys.h"
#include "pipeline.h"
#include "workers.h"
#include "privs.h"
#include "publish.h"
#include "rules.h"
#include "strbuf.h"
#include "strutil.h"
#include "version.h"

#define MAX_INPUTS 256

typedef struct {
    const char *rules[MAX_INPUTS];
    size_t nrules;
    const char *reads[MAX_INPUTS];
    size_t nreads;
    const char *geoip[4];
    size_t ngeoip;
    const char *inventory;
    const char *interface;
    const char *filter;
    const char *report; /* text | json | none */
    const char *report_file;
    bool check_only;
    pipeline_cfg_t pipe;
    const char *publish;      /* collector endpoint */
    const char *collector_key;
    const char *key;
    bool plain;
    uint32_t publish_timeout_s;
    rules_t *rs;              /* the rules in force (SIGHUP replaces them) */
    publish_cfg_t pub;
    const char *user; /* --user: run as this user once the capture is open */
    uint32_t workers; /* --workers: pipelines on threads of their own */
    const char *ndpi_given; /* --ndpi-protocols, NULL for all */
    char *ndpi_list;        /* what runs: made at the start (o.pipe.ndpi_protocols) */
    rules_t *rs_part;       /* rules a failed SIGHUP applied in part: kept to the end */
} options_t;

static volatile sig_atomic_t s_stop;
static volatile sig_atomic_t s_hup;
static capture_t *s_live; /* set while a live capture runs */
static publish_t *s_pub;  /* set while publishing to a collector */
static workers_t *s_pl;

static uint64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Lets the publisher seal a waiting batch; about once a second, gives it
 * the capture statistics for its heartbeat. */
static void s_publish_tick(void)
{
    static uint64_t last_ms;
    if (!s_pub)
        return;
    uint64_t now = s_mono_ms();
    char *stats = NULL;
    if (now - last_ms >= 1000) {
        stats = workers_stats_json(s_pl);
        last_ms = now;
    }
    workers_events_lock(s_pl); /* workers publish their lines under it */
    publish_tick(s_pub, stats);
    workers_events_unlock(s_pl);
    free(stats);
}

static void s_publish_sink(void *ctx, const char *line, size_t len)
{
    publish_event(ctx, line, len);
}

static void s_on_signal(int sig)
{
    if (sig == SIGHUP) {
        s_hup = 1;
        return;
    }
    s_stop = 1;
    if (s_live)
        capture_break(s_live);
}

/* SIGINT and SIGTERM end the run (final events and report written);
 * SIGHUP reopens the files and re-reads rules and inventory. No SA_RESTART
 * for the first two: they wake the capture's poll(). SIGHUP restarts what
 * it interrupts: a read of a pipe (-r -) failed with EINTR and ended the
 * capture; a live capture's poll() returns within its timeout, and the
 * loop sees the flag within a second (s_periodic). */
static void s_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
}

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: pinhole-sensor [--rules PATH] --inventory FILE "
            "(-r FILE... | -i IF)\n"
            "      --rules PATH        profile file or directory of *.yaml (repeatable;\n"
            "                          default " PINHOLE_RULES_DIR ")\n"
            "      --inventory FILE    sites and role bindings (pinhole-rules(5))\n"
            "  -r, --read FILE         pcap or pcapng file (repeatable; read in order;\n"
            "                          '-': standard input, once)\n"
            "  -i, --interface IF      live capture (SPAN port); SIGINT/SIGTERM end it\n"
            "  -f, --filter BPF        capture filter, for files and interfaces\n"
            "  -e, --events FILE       JSON-lines events ('-': stdout)\n"
            "  -o, --report FORMAT     text (default), json or none\n"
            "      --report-file FILE  write the report there instead of stdout\n"
            "  -g, --geoip FILE        MaxMind-format database (ASN, country); repeatable\n"
            "  -n, --sensor NAME       sensor name in events (default: inventory's, or host)\n"
            "  -p, --publish ENDPOINT  send events to a collector (tcp://HOST:PORT; docs/link.md)\n"
            "      --collector-key F   the collector's public key file (CURVE)\n"
            "      --key FILE          this sensor's key pair (pinhole-keygen)\n"
            "      --plain             publish without CURVE (only on a trusted network)\n"
            "      --spool DIR         keep unacknowledged events on disk there\n"
            "      --spool-max MB      spool bound; the oldest events beyond it are discarded\n"
            "                          and counted (default 1024)\n"
            "      --publish-timeout S at the end, wait this long for acknowledgements\n"
            "                          (default 30); what is left stays in the spool\n"
            "      --max-flows N       flow table bound (default 1048576)\n"
            "      --max-registrations N  SIP registrations tracked (default 65536)\n"
            "      --max-calls N       calls (SDP, SIP transactions) tracked (default 16384)\n"
            "      --workers N         pipelines on N threads, frames shared out by flow\n"
            "                          (default 1; each worker has the table bounds)\n"
            "      --ndpi-protocols LIST  nDPI dissectors that run: protocol names, comma-\n"
            "                          separated, or all (default). TLS, QUIC, DTLS, HTTP and\n"
            "                          the inventory's apps always run; other flows may be\n"
            "                          named Unknown (docs/design.md)\n"
            "      --idle-timeout S    seconds before an idle flow is judged (default 120)\n"
            "      --end-window S      attempts this close to the capture end are\n"
            "                          capture_ended, not blocked (default 3)\n"
            "      --summary-interval S  live: site_summary and stats events (and the\n"
            "                          --report-file) this often (default 60)\n"
            "      --no-dedup          keep true copies of a packet (a mirror's second copy)\n"
            "      --vxlan-port N      UDP port of VXLAN-delivered mirrors (repeatable, up to 8;\n"
            "                          default 4789; 0: none). GRE, ERSPAN, Geneve (6081)\n"
            "                          and MPLS are taken off too (docs/design.md)\n"
            "      --check             load rules and inventory, then exit\n"
            "      --user NAME         once the capture is open, run as NAME with no\n"
            "                          capability (needs root; docs/service.md)\n"
            "  -v, --verbose           more logging (repeat for debug)\n"
            "  -h, --help              this text\n"
            "  -V, --version           the version\n"
            "exit: 0 compliant, 1 not compliant, 2 error, 3 no site observed, 4 incomplete\n");
}

static int s_parse(int argc, char **argv, options_t *o)
{
    enum { OPT_MAX_FLOWS = 256, OPT_RULES, OPT_INVENTORY, OPT_IDLE, OPT_END_WINDOW, OPT_CHECK,
        OPT_REPORT_FILE, OPT_COLLECTOR_KEY, OPT_KEY, OPT_PLAIN, OPT_SPOOL, OPT_SPOOL_MAX,
        OPT_PUB_TIMEOUT, OPT_SUMMARY, OPT_NO_DEDUP, OPT_USER, OPT_MAX_REGS, OPT_MAX_CALLS,
        OPT_VXLAN_PORT, OPT_WORKERS, OPT_NDPI_PROTOCOLS };
    static const struct option longs[] = {
            {"rules", required_argument, NULL, OPT_RULES},
            {"inventory", required_argument, NULL, OPT_INVENTORY},
            {"read", required_argument, NULL, 'r'},
            {"interface", required_argument, NULL, 'i'},
            {"filter", required_argument, NULL, 'f'},
            {"events", required_argument, NULL, 'e'},
            {"report", required_argument, NULL, 'o'},
            {"report-file", required_argument, NULL, OPT_REPORT_FILE},
            {"geoip", required_argument, NULL, 'g'},
            {"sensor", required_argument, NULL, 'n'},
            {"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
            {"max-registrations", required_argument, NULL, OPT_MAX_REGS},
            {"max-calls", required_argument, NULL, OPT_MAX_CALLS},
            {"workers", required_argument, NULL, OPT_WORKERS},
            {"ndpi-protocols", required_argument, NULL, OPT_NDPI_PROTOCOLS},
            {"idle-timeout", required_argument, NULL, OPT_IDLE},
            {"end-window", required_argument, NULL, OPT_END_WINDOW},
            {"summary-interval", required_argument, NULL, OPT_SUMMARY},
            {"no-dedup", no_argument, NULL, OPT_NO_DEDUP},
            {"vxlan-port", required_argument, NULL, OPT_VXLAN_PORT},
            {"check", no_argument, NULL, OPT_CHECK},
            {"publish", required_argument, NULL, 'p'},
            {"collector-key", required_argument, NULL, OPT_COLLECTOR_KEY},
            {"key", required_argument, NULL, OPT_KEY},
            {"plain", no_argument, NULL, OPT_PLAIN},
            {"spool", required_argument, NULL, OPT_SPOOL},
            {"spool-max", required_argument, NULL, OPT_SPOOL_MAX},
            {"publish-timeout", required_argument, NULL, OPT_PUB_TIMEOUT},
            {"user", required_argument, NULL, OPT_USER},
            {"verbose", no_argument, NULL, 'v'},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'V'},
            {NULL, 0, NULL, 0}};
    int c, verbose = 0, nstdin = 0;
    uint64_t n;
    bool vxlan_set = false;
    o->report = "text";
    while ((c = getopt_long(argc, argv, "r:i:f:e:o:g:n:p:vhV", longs, NULL)) != -1) {
        switch (c) {
            case OPT_RULES:
                if (o->nrules == MAX_INPUTS)
                    goto toomany;
                o->rules[o->nrules++] = optarg;
                break;
            case OPT_INVENTORY: o->inventory = optarg; break;
            case 'r':
                if (o->nreads == MAX_INPUTS)
                    goto toomany;
                if (strcmp(optarg, "-") == 0 && nstdin++) {
                    log_error("--read -: standard input can be read only once");
                    return -1;
                }
                o->reads[o->nreads++] = optarg;
                break;
            case 'i': o->interface = optarg; break;
            case 'f': o->filter = optarg; break;
            case 'e': o->pipe.events_path = optarg; break;
            case 'o': o->report = optarg; break;
            case OPT_REPORT_FILE: o->report_file = optarg; break;
            case 'g':
                if (o->ngeoip == 4)
                    goto toomany;
                o->geoip[o->ngeoip++] = optarg;
                break;
            case 'n': o->pipe.sensor = optarg; break;
            case OPT_MAX_FLOWS:
                if (!str_to_u64(optarg, 16, 1u << 30, &n)) {
                    log_error("--max-flows: '%s' is not a number from 16 to 2^30", optarg);
                    return -1;
                }
                o->pipe.max_flows = (uint32_t)n;
                break;
            case OPT_WORKERS:
                if (!str_to_u64(optarg, 1, WORKERS_MAX, &n)) {
                    log_error("--workers: '%s' is not a number from 1 to %d", optarg,
                            WORKERS_MAX);
                    return -1;
                }
                o->workers = (uint32_t)n;
                break;
            case OPT_NDPI_PROTOCOLS:
                o->ndpi_given = strcasecmp(optarg, "all") == 0 ? NULL : optarg;
                break;
            case OPT_MAX_REGS:
            case OPT_MAX_CALLS:
                if (!str_to_u64(optarg, 16, 1u << 24, &n)) {
                    log_error("%s: '%s' is not a number from 16 to 2^24",
                            c == OPT_MAX_REGS ? "--max-registrations" : "--max-calls", optarg);
                    return -1;
                }
                *(c == OPT_MAX_REGS ? &o->pipe.max_bindings : &o->pipe.max_calls) = (uint32_t)n;
                break;
            case OPT_IDLE:
            case OPT_END_WINDOW:
                if (!str_to_u64(optarg, c == OPT_IDLE ? 1 : 0, 86400, &n)) {
                    log_error("%s: '%s' is not a number of seconds (0-86400)",
                            c == OPT_IDLE ? "--idle-timeout" : "--end-window", optarg);
                    return -1;
                }
                *(c == OPT_IDLE ? &o->pipe.idle_us : &o->pipe.end_window_us) = n * 1000000u;
                break;
            case OPT_SUMMARY:
                if (!str_to_u64(optarg, 1, 86400, &n)) {
                    log_error("--summary-interval: '%s' is not a number of seconds (1-86400)",
                            optarg);
                    return -1;
                }
                o->pipe.summary_us = n * 1000000u;
                break;
            case OPT_CHECK: o->check_only = true; break;
            case OPT_NO_DEDUP: o->pipe.dedup = false; break;
            case OPT_VXLAN_PORT:
                if (!str_to_u64(optarg, 0, 65535, &n)) {
                    log_error("--vxlan-port: '%s' is not a port number (0-65535)", optarg);
                    return -1;
                }
                if (!vxlan_set) /* the first one replaces the default */
                    o->pipe.decode.nvxlan = 0;
                vxlan_set = true;
                if (n && !decode_cfg_add_vxlan_port(&o->pipe.decode, (uint16_t)n)) {
                    log_error("--vxlan-port: at most %d ports", DECODE_MAX_VXLAN_PORTS);
                    return -1;
                }
                break;
            case 'p': o->publish = optarg; break;
            case OPT_COLLECTOR_KEY: o->collector_key = optarg; break;
            case OPT_KEY: o->key = optarg; break;
            case OPT_PLAIN: o->plain = true; break;
            case OPT_SPOOL: o->pub.spool_dir = optarg; break;
            case OPT_SPOOL_MAX:
                if (!str_to_u64(optarg, 1, 1u << 20, &n)) {
                    log_error("--spool-max: '%s' is not a number of MB (1-1048576)", optarg);
                    return -1;
                }
                o->pub.spool_max = n << 20;
                break;
            case OPT_PUB_TIMEOUT:
                if (!str_to_u64(optarg, 0, 86400, &n)) {
                    log_error("--publish-timeout: '%s' is not a number of seconds", optarg);
                    return -1;
                }
                o->publish_timeout_s = (uint32_t)n;
                break;
            case OPT_USER: o->user = optarg; break;
            case 'v': verbose++; break;
            case 'h': s_usage(stdout); exit(0);
            case 'V': version_print("pinhole-sensor", stdout); exit(0);
            default: s_usage(stderr); return -1;
        }
    }
    log_set_level(verbose >= 2 ? LOG_LEVEL_DEBUG : verbose ? LOG_LEVEL_CONFIG : LOG_LEVEL_NOTICE);
    if (optind < argc) {
        log_error("unexpected argument '%s' (files are given with -r)", argv[optind]);
        return -1;
    }
    if (!o->nrules)
        o->rules[o->nrules++] = PINHOLE_RULES_DIR; /* the installed profiles */
    const char *dot = o->interface ? strrchr(o->interface, '.') : NULL;
    if (dot && (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0)) {
        log_error("-i %s: -i is --interface (as in tcpdump); the inventory is given with "
                  "--inventory", o->interface);
        return -1;
    }
    if (!o->inventory) {
        log_error("--inventory is required");
        return -1;
    }
    if (!o->check_only && !o->nreads == !o->interface) {
        log_error("give -r/--read FILE (one or more) or -i/--interface IF");
        return -1;
    }
    if (o->publish && !o->plain && (!o->collector_key || !o->key)) {
        log_error("--publish needs --collector-key and --key (CURVE), or --plain");
        return -1;
    }
    if (!o->publish && (o->collector_key || o->key || o->plain || o->pub.spool_dir)) {
        log_error("--collector-key, --key, --plain and --spool go with --publish");
        return -1;
    }
    if (strcmp(o->report, "text") && strcmp(o->report, "json") && strcmp(o->report, "none")) {
        log_error("--report must be text, json or none");
        return -1;
    }
    return 0;
toomany:
    log_error("too many %s options",
            c == OPT_RULES ? "--rules" : c == 'r' ? "--read" : "--geoip");
    return -1;
}

static bool s_app_name(void *ctx, const char *name)
{
    strbuf_t *sb = ctx;
    strbuf_printf(sb, "%s%s", sb->len ? "," : "", name);
    return true;
}

/* --ndpi-protocols: the dissectors that run are the list given, the
 * sensor's own (CLASSIFY_OWN_PROTOCOLS) and the inventory's apps, fixed at
 * the start (o->ndpi_list); an inventory read again (SIGHUP) may name no
 * app outside them. False with err. */
static bool s_ndpi_protocols(options_t *o, const rules_t *rs, classify_t *cls, char *err,
        size_t n)
{
    if (!o->ndpi_given)
        return true;
    char bad[64];
    strbuf_t apps;
    strbuf_init(&apps);
    rules_check_apps(rs, s_app_name, &apps, err, n); /* never fails: gathers */
    const char *names = apps.len ? apps.buf : "";
    bool ok = !apps.failed;
    if (!ok) {
        snprintf(err, n, "out of memory");
    } else if (!o->ndpi_list) { /* the start */
        ok = classify_protocols_check(cls, o->ndpi_given, bad, sizeof bad);
        if (!ok) {
            snprintf(err, n, "--ndpi-protocols: '%s' is not a protocol nDPI knows: write "
                             "nDPI's names ('ndpiReader -h' lists them) separated by commas, "
                             "such as SIP,RTP,STUN, or all", bad);
        } else {
            strbuf_t l;
            strbuf_init(&l);
            strbuf_printf(&l, "%s,%s%s%s", o->ndpi_given, CLASSIFY_OWN_PROTOCOLS,
                    *names ? "," : "", names);
            ok = !l.failed;
            if (ok)
                o->pipe.ndpi_protocols = o->ndpi_list = strbuf_take(&l, NULL);
            else
                snprintf(err, n, "out of memory");
            strbuf_fini(&l);
        }
    } else if (!classify_protocols_cover(cls, o->ndpi_list, names, bad, sizeof bad)) {
        ok = false;
        snprintf(err, n, "%s: an app of the inventory, '%s', is not among the protocols nDPI "
                         "dissects (--ndpi-protocols): add it there and restart the sensor",
                o->inventory, bad);
    }
    strbuf_fini(&apps);
    return ok;
}

/* Rules and inventory, read and checked whole (the inventory's application
 * names against nDPI's own list and --ndpi-protocols); NULL with err. */
static rules_t *s_read_rules(options_t *o, char *err, size_t errlen)
{
    rules_t *rs = rules_load_all(o->rules, o->nrules, o->inventory, err, errlen);
    classify_t *cls = rs ? classify_new(1, 1, NULL) : NULL;
    if (rs && (!cls || rules_check_apps(rs, classify_app_known, cls, err, errlen) != 0 ||
                   !s_ndpi_protocols(o, rs, cls, err, errlen))) {
        if (!cls)
            snprintf(err, errlen, "cannot start nDPI to check the inventory's apps");
        rules_destroy(&rs);
    }
    classify_destroy(&cls);
    return rs;
}

static rules_t *s_load_rules(options_t *o)
{
    char err[RULES_ERRLEN];
    rules_t *rs = s_read_rules(o, err, sizeof err);
    if (!rs) {
        log_error("%s", err);
        return NULL;
    }
    log_config("loaded %zu roles, %zu rules, %zu requirements, %zu sites", rules_nroles(rs),
            rules_nrules(rs), rules_nreqs(rs), rules_nsites(rs));
    return rs;
}

static uint64_t s_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool s_write_report(const options_t *o, workers_t *pl);

/* SIGHUP: the events file is opened again (logrotate moved it), and the
 * rules and inventory are read again; a file with a mistake is refused with
 * its error and the rules in force are kept, as is every flow. */
static void s_reload(options_t *o, workers_t *pl)
{
    char err[RULES_ERRLEN];
    if (!workers_reopen(pl, err, sizeof err))
        log_error("SIGHUP: %s; still writing to the old file", err);
    rules_t *rs = s_read_rules(o, err, sizeof err);
    if (!rs) {
        log_error("SIGHUP: %s; the rules in force are kept", err);
        return;
    }
    if (!workers_set_rules(pl, rs, err, sizeof err)) {
        /* Some tables may hold the new rules and some the old (out of
         * memory half-way): both are kept alive, and the run ends (exit 2)
         * rather than judge on with a mix. */
        log_error("SIGHUP: the new rules and inventory could be applied only in part (%s): "
                  "the run ends here; start it again", err);
        rules_destroy(&o->rs_part);
        o->rs_part = rs;
        s_stop = 1;
        if (s_live)
            capture_break(s_live);
        return;
    }
    rules_destroy(&o->rs);
    o->rs = rs;
    log_notice("SIGHUP: events file reopened; rules and inventory reloaded (%zu sites)",
            rules_nsites(rs));
}

/* Once a second whatever the traffic: the live clock, kernel counters,
 * buffered events out, SIGHUP. Offline runs keep their packet clock and only
 * flush and reload. */
static void s_periodic(options_t *o, workers_t *pl, capture_t *cap, bool live)
{
    static uint64_t last_us, last_drops, last_warn_us;
    uint64_t now = s_mono_us();
    if (now - last_us < 1000000u && !s_hup)
        return;
    last_us = now;
    capture_kstats_t ks;
    if (live && capture_kernel_stats(cap, &ks)) {
        workers_set_kernel_stats(pl, ks.received, ks.dropped, ks.ifdropped);
        uint64_t drops = ks.dropped + ks.ifdropped;
        if (drops > last_drops && now - last_warn_us >= 60000000u) { /* once a minute */
            log_warn("%s: the kernel dropped %llu packets (%llu in all, of %llu received): "
                     "the sensor is not keeping up or the capture buffer is too small",
                    o->interface, (unsigned long long)(drops - last_drops),
                    (unsigned long long)drops, (unsigned long long)ks.received);
            last_drops = drops;
            last_warn_us = now;
        }
    }
    if (live && workers_tick(pl, now) && o->report_file)
        s_write_report(o, pl);
    if (s_hup) {
        s_hup = 0;
        s_reload(o, pl);
    }
    workers_flush(pl);
}

/* Reads one source to its end; returns false if it could not be read whole. */
static bool s_run_source(options_t *o, workers_t *pl, capture_t *cap, const char *name,
        bool live)
{
    capture_pkt_t hdr;
    const uint8_t *data;
    uint64_t n = 0;
    log_info("%s: reading", name);
    s_periodic(o, pl, cap, live);
    while (!s_stop) {
        int rc = capture_next(cap, &hdr, &data);
        if (rc == CAPTURE_PACKET) {
            workers_packet(pl, &hdr, data);
            if ((++n & 0xff) == 0) { /* a busy SPAN port never times out */
                s_publish_tick();
                s_periodic(o, pl, cap, live);
            }
            continue;
        }
        if (rc == CAPTURE_TIMEOUT) {
            s_publish_tick();
            s_periodic(o, pl, cap, live);
            continue;
        }
        if (rc == CAPTURE_END)
            return true;
        if (s_stop) { /* SIGINT/SIGTERM interrupted a read (of a pipe): the end asked for */
            log_notice("%s: stopped by a signal after packet %llu", name,
                    (unsigned long long)n);
            return true;
        }
        log_error("%s: %s; the packets before it are kept", name, capture_error(cap));
        return false;
    }
    return true;
}

/* Reads the live capture `cap` (taken over) or the --read files. */
static int s_run(options_t *o, workers_t *pl, capture_t *cap, uint64_t *sources)
{
    char err[512];
    int status = 0;
    if (cap) {
        s_live = cap;
        log_notice("capturing on %s; SIGINT or SIGTERM ends the run, SIGHUP reopens files "
                   "and reloads rules", o->interface);
        s_run_source(o, pl, cap, o->interface, true);
        s_live = NULL;
        capture_kstats_t ks;
        if (capture_kernel_stats(cap, &ks)) {
            workers_set_kernel_stats(pl, ks.received, ks.dropped, ks.ifdropped);
            log_notice("%s: %llu packets received, %llu dropped by the kernel (%llu by the "
                       "interface)", o->interface, (unsigned long long)ks.received,
                    (unsigned long long)(ks.dropped + ks.ifdropped),
                    (unsigned long long)ks.ifdropped);
        }
        capture_destroy(&cap);
        (*sources)++;
        return 0;
    }
    for (size_t i = 0; i < o->nreads && !s_stop; i++) {
        cap = capture_open_file(o->reads[i], o->filter, err, sizeof err);
        if (!cap) {
            log_error("%s", err);
            status = 2;
            continue;
        }
        const char *name = strcmp(o->reads[i], "-") == 0 ? "standard input" : o->reads[i];
        if (!s_run_source(o, pl, cap, name, false))
            status = 2;
        if (o->filter)
            log_info("%s: %llu packets left out by the filter", name,
                    (unsigned long long)capture_filtered(cap));
        capture_destroy(&cap);
        (*sources)++;
    }
    return status;
}

/* The report's file "FILE.tmp" is written beside FILE and renamed. */
static void s_report_tmp(const options_t *o, char *tmp, size_t n)
{
    snprintf(tmp, n, "%s.tmp", o->report_file);
}

/* Before any packet: can the --report-file be written (as the user the
 * sensor runs as)? A long capture should not learn it at the end. 0, or -1
 * with err. */
static int s_report_file_check(const options_t *o, char *err, size_t errlen)
{
    if (!o->report_file || strcmp(o->report, "none") == 0)
        return 0;
    char tmp[4096];
    s_report_tmp(o, tmp, sizeof tmp);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "--report-file: %.300s: cannot write the report: %s", tmp,
                strerror(errno));
        return -1;
    }
    fclose(f);
    unlink(tmp);
    return 0;
}

/* The publisher's settings and keys (read while the sensor may still be
 * root); 0 or -1 with err. */
static int s_publisher_cfg(options_t *o, char *err, size_t errlen)
{
    o->pub.endpoint = o->publish;
    o->pub.sensor = o->pipe.sensor;
    o->pub.plain = o->plain;
    o->pub.block_when_full = o->nreads > 0; /* files can wait; a SPAN port cannot */
    if (!o->plain && (keys_load(o->collector_key, o->pub.server_key, NULL, NULL, err, errlen) ||
                             keys_load(o->key, o->pub.public_key, o->pub.secret_key, NULL, err,
                                     errlen)))
        return -1;
    return 0;
}

/* What needs privileges comes first: the live capture (into *live) and the
 * keys. Then the drop to --user (or of the capabilities the service gave),
 * before any thread starts (capabilities are per thread: the publisher's
 * would keep them) and before any file is created (they are the user's).
 * Then the publisher and the pipeline. NULL with err on failure. */
static workers_t *s_start(options_t *o, capture_t **live, char *err, size_t errlen)
{
    workers_t *pl = NULL;
    if (o->interface && !(*live = capture_open_live(o->interface, o->filter, err, errlen)))
        goto fail;
    if ((o->publish && s_publisher_cfg(o, err, errlen) != 0) ||
            privs_drop(o->user, err, errlen) != 0 || s_report_file_check(o, err, errlen) != 0)
        goto fail;
    if (o->publish && !(s_pub = publish_new(&o->pub, err, errlen)))
        goto fail;
    if (s_pub) {
        o->pipe.sink = s_publish_sink;
        o->pipe.sink_ctx = s_pub;
    }
    if ((pl = workers_new(&o->pipe, o->workers, err, errlen)))
        return pl;
fail:
    capture_destroy(live);
    if (s_pub) {
        publish_stats_t ps;
        publish_close(&s_pub, 0, NULL, &ps);
    }
    return NULL;
}

/* Ends the publisher: the final statistics, the acknowledgements waited
 * for, and a last line that says what is left, where, and why. False if
 * events were lost. */
static bool s_publish_finish(const options_t *o, workers_t *pl)
{
    char *stats = workers_stats_json(pl);
    publish_stats_t ps;
    /* Told to stop: what is not acknowledged within a second stays in the
     * spool for the next run. */
    uint32_t wait_ms = o->publish_timeout_s * 1000u;
    if (s_stop && wait_ms > 1000u)
        wait_ms = 1000u;
    publish_close(&s_pub, wait_ms, stats, &ps);
    free(stats);
    log_notice("published %llu events to %s: %llu acknowledged, %llu %s, "
               "%llu discarded (%s full)",
            (unsigned long long)ps.events, o->publish, (unsigned long long)ps.acked,
            (unsigned long long)ps.pending,
            o->pub.spool_dir ? "spooled for later" : "not delivered (no --spool)",
            (unsigned long long)ps.discarded, o->pub.spool_dir ? "spool" : "memory");
    char why[768];
    bool ok = !publish_lost(&ps, why, sizeof why);
    if (!ok)
        log_error("publish: events lost: %s", why);
    if (!ps.cause[0])
        return ok;
    unsigned long long kept = ps.spool_left, lost = ps.pending - ps.spool_left;
    if (o->pub.spool_dir && !lost)
        log_warn("publish: collector %s: %s; %llu events spooled in %s (sent next run)",
                o->publish, ps.cause, kept, o->pub.spool_dir);
    else if (o->pub.spool_dir)
        log_error("publish: collector %s: %s; %llu events spooled in %s (sent next run), "
                  "%llu lost (the spool could not be written)",
                o->publish, ps.cause, kept, o->pub.spool_dir, lost);
    else
        log_error("publish: collector %s: %s; %llu events not delivered (lost: no --spool)",
                o->publish, ps.cause, lost);
    return ok && !lost;
}

/* Returns false (logged) if the report could not be written whole. */
/* The exit status of a run (README, pinhole-sensor(8)): 0 every observed
 * site compliant, 1 one is not, 3 no site observed, 4 nothing failed but a
 * rule is not verified yet (incomplete). */
static int s_exit_status(compliance_t verdict)
{
    switch (verdict) {
        case COMPLIANCE_COMPLIANT:
            return 0;
        case COMPLIANCE_NOT_COMPLIANT:
            return 1;
        case COMPLIANCE_INCOMPLETE:
            return 4;
        default:
            return 3;
    }
}

static bool s_write_report(const options_t *o, workers_t *pl)
{
    if (strcmp(o->report, "none") == 0)
        return true;
    FILE *out = stdout;
    char tmp[4096];
    if (o->report_file) {
        /* Written beside and renamed: a reader (or a kill) never sees half a
         * report, and logrotate's moving the old one away does no harm. */
        s_report_tmp(o, tmp, sizeof tmp);
        out = fopen(tmp, "w");
        if (!out) {
            log_error("%s: cannot write the report: %s", tmp, strerror(errno));
            return false;
        }
    } else if (o->pipe.events_path && strcmp(o->pipe.events_path, "-") == 0) {
        out = stderr; /* stdout carries the events */
    }
    report_meta_t meta;
    workers_report_meta(pl, &meta);
    if (strcmp(o->report, "json") == 0)
        report_write_json(workers_report(pl), &meta, out);
    else
        report_write_text(workers_report(pl), &meta, out);
    if (out == stdout || out == stderr) {
        if (fflush(out) != 0 || ferror(out)) {
            log_error("%s: cannot write the report: %s",
                    out == stdout ? "standard output" : "standard error", strerror(errno));
            clearerr(out);
            return false;
        }
        return true;
    }
    bool ok = !ferror(out);
    if (fclose(out) != 0 || !ok || rename(tmp, o->report_file) != 0) {
        log_error("%s: cannot write the report: %s", o->report_file, strerror(errno));
        unlink(tmp);
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    umask(027); /* what it creates: 0640, never world-readable */
    options_t o;
    memset(&o, 0, sizeof o);
    pipeline_cfg_defaults(&o.pipe);
    o.pipe.sensor = NULL;
    publish_cfg_defaults(&o.pub);
    o.publish_timeout_s = 30;
    o.workers = 1;
    if (s_parse(argc, argv, &o) != 0)
        return 2;
    rules_t *rs = o.rs = s_load_rules(&o);
    if (!rs)
        return 2;
    if (o.check_only) {
        printf("ok: %zu rules, %zu requirements, %zu roles, %zu sites\n", rules_nrules(rs),
                rules_nreqs(rs), rules_nroles(rs), rules_nsites(rs));
        rules_destroy(&rs);
        free(o.ndpi_list);
        return 0;
    }
    char err[512];
    geo_t *geo = NULL;
    if (o.ngeoip && !(geo = geo_new(o.geoip, o.ngeoip, err, sizeof err))) {
        log_error("%s", err);
        rules_destroy(&rs);
        free(o.ndpi_list);
        return 2;
    }
    if (!geo && rules_uses_asn(rs))
        log_warn("the inventory binds roles by ASN but no --geoip database is given");
    char host[64] = "pinhole";
    if (!o.pipe.sensor && rules_sensor_name(rs)) /* a copy: SIGHUP replaces the rules */
        o.pipe.sensor = str_copy(host, rules_sensor_name(rs), sizeof host) ? host : NULL;
    if (!o.pipe.sensor && gethostname(host, sizeof host - 1) == 0)
        o.pipe.sensor = host;
    o.pipe.rules = rs;
    o.pipe.geo = geo;
    log_config("sensor %s: max-flows %u, idle-timeout %llu s, end-window %llu s, dedup %s, "
               "duplicate window %llu us, nDPI slots %u x %u packets, geoip %zu db(s), filter %s",
            o.pipe.sensor, o.pipe.max_flows, (unsigned long long)(o.pipe.idle_us / 1000000u),
            (unsigned long long)(o.pipe.end_window_us / 1000000u), o.pipe.dedup ? "on" : "off",
            (unsigned long long)o.pipe.dup_window_us, o.pipe.ndpi_slots, o.pipe.ndpi_packets,
            o.ngeoip, o.filter ? o.filter : "none");
    if (o.ndpi_list)
        log_config("nDPI dissects only %s (--ndpi-protocols): other flows may be named "
                   "Unknown", o.ndpi_list);
    capture_t *live = NULL;
    workers_t *pl = s_pl = s_start(&o, &live, err, sizeof err);
    int status = 2;
    if (!pl) {
        log_error("%s", err);
    } else {
        uint64_t sources = 0;
        s_signals();
        int rc = s_run(&o, pl, live, &sources);
        if (o.rs_part && !rc)
            rc = 2; /* a reload applied in part ended the run */
        workers_finish(pl, sources);
        if (!s_write_report(&o, pl) && !rc)
            rc = 2; /* an output error, as one of the input */
        pipeline_stats_t pst;
        workers_stats(pl, &pst);
        uint64_t werr = pst.events_write_errors;
        if (werr) {
            log_error("%s: writing the events failed %llu times (disk full, or the reader "
                      "went away): events lost", strcmp(o.pipe.events_path, "-") == 0
                              ? "standard output" : o.pipe.events_path,
                    (unsigned long long)werr);
            if (!rc)
                rc = 2;
        }
        const report_t *rep = workers_report(pl);
        pipeline_stats_t st;
        workers_stats(pl, &st);
        if (st.packets == 0)
            log_warn("no packet was read from any source");
        uint64_t cut = st.decode[DECODE_ERR_L2_TRUNC] + st.decode[DECODE_ERR_L3_TRUNC] +
                       st.decode[DECODE_ERR_L4_TRUNC];
        if (cut)
            log_warn("%llu of %llu packets were cut short by the snap length before their "
                     "transport header ended; they are counted and not judged",
                    (unsigned long long)cut, (unsigned long long)st.packets);
        log_info("flow table: the longest hash chain a lookup walked was %u (a few at most, "
                 "unless something defeats the keyed hash)", workers_chain_max(pl));
        if (workers_count(pl) > 1) {
            workers_stats_t ws;
            workers_dispatch_stats(pl, &ws);
            log_info("workers: %llu frames read, %llu more copies handed out (SIP, DNS "
                     "answers, fragments), %llu media frames sent to their call's worker, "
                     "%llu waits for a full queue", (unsigned long long)ws.frames,
                    (unsigned long long)ws.copies, (unsigned long long)ws.media_routed,
                    (unsigned long long)ws.waits);
        }
        if (st.decode[DECODE_ERR_FRAGMENT])
            log_info("%llu IP fragments (reassembly counters: stats.defrag)",
                    (unsigned long long)st.decode[DECODE_ERR_FRAGMENT]);
        if (s_pub && !s_publish_finish(&o, pl) && !rc) /* last: the run's last line */
            rc = 2;
        status = rc ? rc : s_exit_status(report_verdict(rep));
        workers_destroy(&pl);
    }
    geo_destroy(&geo);
    rules_destroy(&o.rs);
    rules_destroy(&o.rs_part);
    free(o.ndpi_list);
    return status;
}
