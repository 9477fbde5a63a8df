/* SPDX-License-Identifier: MIT */
/* fuzz_capture.c: a whole pcap or pcapng file through the whole pipeline
 * (reader, decode, flow table, nDPI, verdicts, report), read from memory
 * with fmemopen. Rules and inventory are the shipped lab ones. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "classify.h"
#include "hash.h"
#include "log.h"
#include "pipeline.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rules_t *s_rules;
static classify_t *s_cls;

static rules_t *s_load(void)
{
    char err[RULES_ERRLEN];
    rules_t *rs = rules_new();
    if (rules_load_profiles(rs, PINHOLE_SRCDIR "/rules", err, sizeof err) ||
            rules_load_inventory(rs, PINHOLE_SRCDIR "/rules/inventory/lab.yaml", err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        abort();
    }
    return rs;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_rules) {
        s_rules = s_load();
        s_cls = classify_new(8, 8, NULL);
        log_set_level(LOG_LEVEL_ERROR);
        static const uint8_t key[HASH_KEY_BYTES] = {1}; /* a crash must reproduce */
        hash_set_key(key);
    }
    FILE *f = fmemopen((void *)(uintptr_t)data, size, "rb");
    if (!f)
        return 0;
    char err[512];
    capture_t *cap = capture_open_stream(f, "fuzz", NULL, err, sizeof err);
    if (!cap)
        return 0;
    pipeline_cfg_t cfg;
    pipeline_cfg_defaults(&cfg);
    cfg.rules = s_rules;
    cfg.max_flows = 64; /* small: eviction paths run too */
    cfg.max_bindings = 16;
    cfg.max_calls = 16;
    cfg.max_fragmented = 4;
    cfg.max_sip_streams = 4;
    cfg.classify = s_cls;
    pipeline_t *pl = pipeline_new(&cfg, err, sizeof err);
    capture_pkt_t hdr;
    const uint8_t *pkt;
    for (int n = 0; pl && n < 100000 && capture_next(cap, &hdr, &pkt) == CAPTURE_PACKET; n++)
        pipeline_packet(pl, &hdr, pkt);
    if (pl) {
        pipeline_finish(pl, 1);
        FILE *null = fopen("/dev/null", "w");
        report_meta_t meta;
        pipeline_report_meta(pl, &meta);
        report_write_text(pipeline_report(pl), &meta, null);
        fclose(null);
    }
    pipeline_destroy(&pl);
    capture_destroy(&cap);
    return 0;
}
