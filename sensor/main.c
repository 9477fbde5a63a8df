/* SPDX-License-Identifier: MIT */
/* main.c: pinhole-sensor command line: loads the rules, wires the pipeline
 * to the packet sources, prints the per-site compliance report.
 *
 * Exit status: 0 every observed site is compliant; 1 a site is not;
 * 2 bad usage, configuration or input; 3 no site was observed. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "err.h"
#include "geo.h"
#include "log.h"
#include "keys.h"
#include "pipeline.h"
#include "publish.h"
#include "rules.h"
#include "strutil.h"

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
    publish_cfg_t pub;
} options_t;

static volatile sig_atomic_t s_stop;
static capture_t *s_live; /* set while a live capture runs */
static publish_t *s_pub;  /* set while publishing to a collector */
static pipeline_t *s_pl;

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
        stats = pipeline_stats_json(s_pl);
        last_ms = now;
    }
    publish_tick(s_pub, stats);
    free(stats);
}

static void s_publish_sink(void *ctx, const char *line, size_t len)
{
    publish_event(ctx, line, len);
}

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
    if (s_live)
        capture_break(s_live);
}

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: pinhole-sensor --rules PATH --inventory FILE (--read FILE... | --interface IF)\n"
            "  -r, --rules PATH        profile file or directory of *.yaml (repeatable)\n"
            "  -i, --inventory FILE    sites and role bindings (docs/inventory-format.md)\n"
            "  -R, --read FILE         pcap or pcapng file (repeatable; read in order)\n"
            "  -I, --interface IF      live capture (SPAN port); SIGINT/SIGTERM end it\n"
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
            "      --idle-timeout S    seconds before an idle flow is judged (default 120)\n"
            "      --end-window S      attempts this close to the capture end are\n"
            "                          capture_ended, not blocked (default 3)\n"
            "      --check             load rules and inventory, then exit\n"
            "  -v, --verbose           more logging (repeat for debug)\n"
            "  -h, --help              this text\n"
            "exit: 0 compliant, 1 not compliant, 2 error, 3 no site observed\n");
}

static int s_parse(int argc, char **argv, options_t *o)
{
    enum { OPT_MAX_FLOWS = 256, OPT_IDLE, OPT_END_WINDOW, OPT_CHECK, OPT_REPORT_FILE,
        OPT_COLLECTOR_KEY, OPT_KEY, OPT_PLAIN, OPT_SPOOL, OPT_SPOOL_MAX, OPT_PUB_TIMEOUT,
        OPT_MAX_REGS, OPT_MAX_CALLS };
    static const struct option longs[] = {
            {"rules", required_argument, NULL, 'r'},
            {"inventory", required_argument, NULL, 'i'},
            {"read", required_argument, NULL, 'R'},
            {"interface", required_argument, NULL, 'I'},
            {"filter", required_argument, NULL, 'f'},
            {"events", required_argument, NULL, 'e'},
            {"report", required_argument, NULL, 'o'},
            {"report-file", required_argument, NULL, OPT_REPORT_FILE},
            {"geoip", required_argument, NULL, 'g'},
            {"sensor", required_argument, NULL, 'n'},
            {"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
            {"max-registrations", required_argument, NULL, OPT_MAX_REGS},
            {"max-calls", required_argument, NULL, OPT_MAX_CALLS},
            {"idle-timeout", required_argument, NULL, OPT_IDLE},
            {"end-window", required_argument, NULL, OPT_END_WINDOW},
            {"check", no_argument, NULL, OPT_CHECK},
            {"publish", required_argument, NULL, 'p'},
            {"collector-key", required_argument, NULL, OPT_COLLECTOR_KEY},
            {"key", required_argument, NULL, OPT_KEY},
            {"plain", no_argument, NULL, OPT_PLAIN},
            {"spool", required_argument, NULL, OPT_SPOOL},
            {"spool-max", required_argument, NULL, OPT_SPOOL_MAX},
            {"publish-timeout", required_argument, NULL, OPT_PUB_TIMEOUT},
            {"verbose", no_argument, NULL, 'v'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
    int c, verbose = 0;
    uint64_t n;
    o->report = "text";
    while ((c = getopt_long(argc, argv, "r:i:R:I:f:e:o:g:n:p:vh", longs, NULL)) != -1) {
        switch (c) {
            case 'r':
                if (o->nrules == MAX_INPUTS)
                    goto toomany;
                o->rules[o->nrules++] = optarg;
                break;
            case 'i': o->inventory = optarg; break;
            case 'R':
                if (o->nreads == MAX_INPUTS)
                    goto toomany;
                o->reads[o->nreads++] = optarg;
                break;
            case 'I': o->interface = optarg; break;
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
            case OPT_CHECK: o->check_only = true; break;
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
            case 'v': verbose++; break;
            case 'h': s_usage(stdout); exit(0);
            default: s_usage(stderr); return -1;
        }
    }
    log_set_level(verbose >= 2 ? LOG_LEVEL_DEBUG : verbose ? LOG_LEVEL_CONFIG : LOG_LEVEL_NOTICE);
    if (optind < argc) {
        log_error("unexpected argument '%s' (files are given with --read)", argv[optind]);
        return -1;
    }
    if (!o->nrules || !o->inventory) {
        log_error("--rules and --inventory are required");
        return -1;
    }
    if (!o->check_only && !o->nreads == !o->interface) {
        log_error("give --read FILE (one or more) or --interface IF");
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
    log_error("too many --%c options", c);
    return -1;
}

static rules_t *s_load_rules(const options_t *o)
{
    char err[RULES_ERRLEN];
    rules_t *rs = rules_load_all(o->rules, o->nrules, o->inventory, err, sizeof err);
    if (!rs) {
        log_error("%s", err);
        return NULL;
    }
    log_config("loaded %zu roles, %zu rules, %zu requirements, %zu sites", rules_nroles(rs),
            rules_nrules(rs), rules_nreqs(rs), rules_nsites(rs));
    return rs;
}

/* Reads one source to its end; returns false if it could not be read whole. */
static bool s_run_source(pipeline_t *pl, capture_t *cap, const char *name)
{
    capture_pkt_t hdr;
    const uint8_t *data;
    uint64_t n = 0;
    for (;;) {
        int rc = capture_next(cap, &hdr, &data);
        if (rc == CAPTURE_PACKET) {
            pipeline_packet(pl, &hdr, data);
            if (s_pub && (++n & 0xff) == 0) /* a busy SPAN port never times out */
                s_publish_tick();
            continue;
        }
        if (rc == CAPTURE_TIMEOUT) {
            s_publish_tick();
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            pipeline_tick(pl, (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
            if (s_stop)
                return true;
            continue;
        }
        if (rc == CAPTURE_END)
            return true;
        log_error("%s: %s; the packets before it are kept", name, capture_error(cap));
        return false;
    }
}

static int s_run(const options_t *o, pipeline_t *pl, uint64_t *sources)
{
    char err[512];
    int status = 0;
    if (o->interface) {
        capture_t *cap = capture_open_live(o->interface, o->filter, err, sizeof err);
        if (!cap) {
            log_error("%s", err);
            return 2;
        }
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = s_on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        s_live = cap;
        log_notice("capturing on %s; SIGINT or SIGTERM ends the run", o->interface);
        s_run_source(pl, cap, o->interface);
        s_live = NULL;
        uint64_t recv, drop;
        if (capture_kernel_stats(cap, &recv, &drop))
            log_notice("%s: %llu packets received, %llu dropped by the kernel", o->interface,
                    (unsigned long long)recv, (unsigned long long)drop);
        capture_destroy(&cap);
        (*sources)++;
        return 0;
    }
    for (size_t i = 0; i < o->nreads; i++) {
        capture_t *cap = capture_open_file(o->reads[i], o->filter, err, sizeof err);
        if (!cap) {
            log_error("%s", err);
            status = 2;
            continue;
        }
        if (!s_run_source(pl, cap, o->reads[i]))
            status = 2;
        if (o->filter)
            log_info("%s: %llu packets left out by the filter", o->reads[i],
                    (unsigned long long)capture_filtered(cap));
        capture_destroy(&cap);
        (*sources)++;
    }
    return status;
}

static publish_t *s_publisher(options_t *o, char *err, size_t errlen)
{
    o->pub.endpoint = o->publish;
    o->pub.sensor = o->pipe.sensor;
    o->pub.plain = o->plain;
    o->pub.block_when_full = o->nreads > 0; /* files can wait; a SPAN port cannot */
    if (!o->plain) {
        if (keys_load(o->collector_key, o->pub.server_key, NULL, NULL, err, errlen) ||
                keys_load(o->key, o->pub.public_key, o->pub.secret_key, NULL, err, errlen))
            return NULL;
    }
    return publish_new(&o->pub, err, errlen);
}

static void s_write_report(const options_t *o, pipeline_t *pl)
{
    if (strcmp(o->report, "none") == 0)
        return;
    FILE *out = stdout;
    if (o->report_file) {
        out = fopen(o->report_file, "w");
        if (!out) {
            log_error("%s: cannot write the report", o->report_file);
            return;
        }
    } else if (o->pipe.events_path && strcmp(o->pipe.events_path, "-") == 0) {
        out = stderr; /* stdout carries the events */
    }
    report_meta_t meta;
    pipeline_report_meta(pl, &meta);
    if (strcmp(o->report, "json") == 0)
        report_write_json(pipeline_report(pl), &meta, out);
    else
        report_write_text(pipeline_report(pl), &meta, out);
    if (out != stdout && out != stderr)
        fclose(out);
}

int main(int argc, char **argv)
{
    options_t o;
    memset(&o, 0, sizeof o);
    pipeline_cfg_defaults(&o.pipe);
    o.pipe.sensor = NULL;
    publish_cfg_defaults(&o.pub);
    o.publish_timeout_s = 30;
    if (s_parse(argc, argv, &o) != 0)
        return 2;
    rules_t *rs = s_load_rules(&o);
    if (!rs)
        return 2;
    if (o.check_only) {
        printf("ok: %zu rules, %zu requirements, %zu roles, %zu sites\n", rules_nrules(rs),
                rules_nreqs(rs), rules_nroles(rs), rules_nsites(rs));
        rules_destroy(&rs);
        return 0;
    }
    char err[512];
    geo_t *geo = NULL;
    if (o.ngeoip && !(geo = geo_new(o.geoip, o.ngeoip, err, sizeof err))) {
        log_error("%s", err);
        rules_destroy(&rs);
        return 2;
    }
    if (!geo && rules_uses_asn(rs))
        log_warn("the inventory binds roles by ASN but no --geoip database is given");
    char host[64] = "pinhole";
    if (!o.pipe.sensor)
        o.pipe.sensor = rules_sensor_name(rs);
    if (!o.pipe.sensor && gethostname(host, sizeof host - 1) == 0)
        o.pipe.sensor = host;
    o.pipe.rules = rs;
    o.pipe.geo = geo;
    log_config("sensor %s: max-flows %u, idle-timeout %llu s, end-window %llu s, "
               "duplicate window %llu us, nDPI slots %u x %u packets, geoip %zu db(s), filter %s",
            o.pipe.sensor, o.pipe.max_flows, (unsigned long long)(o.pipe.idle_us / 1000000u),
            (unsigned long long)(o.pipe.end_window_us / 1000000u),
            (unsigned long long)o.pipe.dup_window_us, o.pipe.ndpi_slots, o.pipe.ndpi_packets,
            o.ngeoip, o.filter ? o.filter : "none");
    if (o.publish && !(s_pub = s_publisher(&o, err, sizeof err))) {
        log_error("%s", err);
        geo_destroy(&geo);
        rules_destroy(&rs);
        return 2;
    }
    if (s_pub) {
        o.pipe.sink = s_publish_sink;
        o.pipe.sink_ctx = s_pub;
    }
    pipeline_t *pl = s_pl = pipeline_new(&o.pipe, err, sizeof err);
    int status = 2;
    if (!pl) {
        log_error("%s", err);
    } else {
        uint64_t sources = 0;
        int rc = s_run(&o, pl, &sources);
        pipeline_finish(pl, sources);
        if (s_pub) {
            char *stats = pipeline_stats_json(pl);
            publish_stats_t ps;
            publish_close(&s_pub, o.publish_timeout_s * 1000u, stats, &ps);
            free(stats);
            log_notice("published %llu events to %s: %llu acknowledged, %llu %s, "
                       "%llu discarded (queue full)",
                    (unsigned long long)ps.events, o.publish, (unsigned long long)ps.acked,
                    (unsigned long long)ps.pending,
                    o.pub.spool_dir ? "spooled for later" : "not delivered (no --spool)",
                    (unsigned long long)ps.discarded);
        }
        s_write_report(&o, pl);
        const report_t *rep = pipeline_report(pl);
        pipeline_stats_t st;
        pipeline_stats(pl, &st);
        if (st.packets == 0)
            log_warn("no packet was read from any source");
        uint64_t cut = st.decode[DECODE_ERR_L2_TRUNC] + st.decode[DECODE_ERR_L3_TRUNC] +
                       st.decode[DECODE_ERR_L4_TRUNC];
        if (cut)
            log_warn("%llu of %llu packets were cut short by the snap length before their "
                     "transport header ended; they are counted and not judged",
                    (unsigned long long)cut, (unsigned long long)st.packets);
        if (st.decode[DECODE_ERR_FRAGMENT])
            log_info("%llu IP fragments (reassembly counters: stats.defrag)",
                    (unsigned long long)st.decode[DECODE_ERR_FRAGMENT]);
        status = rc ? rc : report_sites_observed(rep) == 0 ? 3 : report_compliant(rep) ? 0 : 1;
        pipeline_destroy(&pl);
    }
    geo_destroy(&geo);
    rules_destroy(&rs);
    return status;
}
