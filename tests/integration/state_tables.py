#!/usr/bin/env python3
"""Bounded state, released on time: the sensor on captures that fill its
tables (tests/tools/gen_state.c), with modest limits.

  --case callids   1,000,000 REGISTERs, each a new Call-ID, from 1,000 phones
  --case phones    200,000 phones registering three times, then quiet
  --case calls     100,000 successive calls (SDP, RTP both ways, BYE)

Each case asserts from the `stats` event's "tables" that no table ever held
more than its limit (peak <= max), that created = active + expired +
evicted + released, and what must have been evicted or expired; "calls"
checks that every RTP flow, the last ones included, names its own call;
"phones" (at full scale) checks that peak RSS stops growing once the tables
are full: the sensor on half the phones and on all of them.

--scale F shrinks the counts and limits (the sanitizer build: F = 0.05).
Exit 0 on success, 1 with FAIL lines."""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sensor_run import print_result  # noqa: E402
from event_schema import flat_stats
import event_schema  # noqa: E402


def run(args, tmp, case, n, opts):
    """Generates the capture, runs the sensor; returns (stats, RTP flow
    events, peak RSS in KiB, seconds)."""
    pcap = os.path.join(tmp, "%s-%d.pcap" % (case, n))
    subprocess.run([args.gen, case, pcap, str(n)], check=True)
    ev = os.path.join(tmp, "ev.jsonl")
    cmd = [args.sensor, "--rules", os.path.join(args.src, "rules"),
           "--inventory", os.path.join(args.src, "rules/inventory/lab.yaml"),
           "--events", ev, "--report", "none", "--read", pcap] + opts
    t0 = time.monotonic()
    with open(os.path.join(tmp, "stderr"), "w+") as err:
        # wait4: the resource usage of this process alone, not the generator's.
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        secs = time.monotonic() - t0
        code = os.waitstatus_to_exitcode(status)
        err.seek(0)
        if code not in (0, 1, 3):
            raise RuntimeError("sensor exited %d: %s" % (code, err.read()[-2000:]))
    os.unlink(pcap)
    stats, rtp = None, []
    with open(ev) as f:
        for line in f:
            # Only the few lines the checks need are parsed: the rest
            # (hundreds of thousands of sip and flow events) are skipped.
            if '"event_type":"stats"' in line:
                raw = json.loads(line)
                event_schema.check([raw], "the stats event")
                stats = flat_stats(raw["stats"])
            elif '"rtp":' in line and '"event_type":"flow"' in line:
                rtp.append(json.loads(line))
                if len(rtp) <= 100:
                    event_schema.check(rtp[-1:], "a media flow event")
    os.unlink(ev)
    # ru_maxrss is in KiB on Linux.
    return stats, rtp, usage.ru_maxrss, secs


def check_tables(stats, errors):
    """Every table: never over its limit, and its counters add up."""
    for name, t in stats["tables"].items():
        if t["peak"] > t["max"] or t["active"] > t["max"]:
            errors.append("%s: peak %d / active %d over the limit %d"
                          % (name, t["peak"], t["active"], t["max"]))
        ended = t["active"] + t["expired"] + t["evicted"] + t["released"]
        if name != "defrag" and ended != t["created"]:
            errors.append("%s: %d created but active + expired + evicted + released = %d"
                          % (name, t["created"], ended))


def case_callids(args, tmp, errors):
    n, regs = int(1000000 * args.scale), max(16, int(4096 * args.scale))
    stats, _, rss, secs = run(args, tmp, "callids", n, ["--max-registrations", str(regs)])
    print("callids: %d REGISTERs in %.1f s, peak RSS %d KiB" % (n, secs, rss))
    check_tables(stats, errors)
    t = stats["tables"]
    cid, b, m = t["nat_call_ids"], t["nat_bindings"], t["nat_mappings"]
    phones = min(1000, n)
    # Every REGISTER brought a new Call-ID; the table keeps the newest 2 x regs.
    if cid["active"] != min(n, 2 * regs) or cid["evicted"] != n - cid["active"]:
        errors.append("nat_call_ids: %s, expected %d active and %d evicted"
                      % (cid, min(n, 2 * regs), n - min(n, 2 * regs)))
    # 1,000 phones, each refreshed every second: none pushed out or expired
    # (when they fit), one mapping each.
    want = min(phones, regs)
    if b["active"] != want or (phones <= regs and b["evicted"] + b["expired"] != 0):
        errors.append("nat_bindings: %s, expected %d active and nothing evicted" % (b, want))
    if m["active"] != min(phones, 2 * regs):
        errors.append("nat_mappings: %s, expected %d active" % (m, min(phones, 2 * regs)))


def case_phones(args, tmp, errors):
    n, regs = int(200000 * args.scale), max(16, int(16384 * args.scale))
    flows = max(16, int(65536 * args.scale))
    opts = ["--max-registrations", str(regs), "--max-flows", str(flows)]
    stats, _, rss, secs = run(args, tmp, "phones", n, opts)
    print("phones: %d phones in %.1f s, peak RSS %d KiB" % (n, secs, rss))
    check_tables(stats, errors)
    b = stats["tables"]["nat_bindings"]
    # Three rounds of n phones and one last REGISTER, each a new binding
    # (a phone's binding was pushed out before its next round); ten quiet
    # minutes expire the full table, and only the last one is left.
    if b["peak"] != regs or b["active"] != 1 or b["expired"] != regs:
        errors.append("nat_bindings: %s, expected peak %d, %d expired, 1 active"
                      % (b, regs, regs))
    if b["evicted"] != 3 * n + 1 - regs - 1:
        errors.append("nat_bindings: %d evicted, expected %d" % (b["evicted"], 3 * n - regs))
    for name in ("nat_call_ids", "nat_mappings"):
        if stats["tables"][name]["active"] != 1:
            errors.append("%s: %s, expected 1 active after the quiet" % (name, stats["tables"][name]))
    if args.scale < 1:
        return
    # Memory: the tables are allocated at start but their pages are touched
    # as entries are first used, so peak RSS follows what they hold. Half
    # the phones (100,000) already fill every table (16,384 bindings,
    # 65,536 flows, three times over), so the full input may add only
    # allocator noise: 10% (and 4 MiB for the small absolute figures).
    # Before bounded tables the binding/Call-ID/mapping tables grew to their
    # 65,536 default and flows to 200,000: a difference of tens of MiB.
    half_stats, _, half_rss, half_secs = run(args, tmp, "phones", n // 2, opts)
    print("phones: %d phones in %.1f s, peak RSS %d KiB" % (n // 2, half_secs, half_rss))
    check_tables(half_stats, errors)
    if half_stats["tables"]["nat_bindings"]["peak"] != regs:
        errors.append("half input: the binding table did not fill")
    if rss > half_rss * 1.10 + 4096:
        errors.append("peak RSS grew from %d KiB (%d phones) to %d KiB (%d phones)"
                      % (half_rss, n // 2, rss, n))


def case_calls(args, tmp, errors):
    n, calls = int(100000 * args.scale), max(16, int(1024 * args.scale))
    # Flows idle 1 s end soon after their call: streams (4 x max-calls)
    # then never run short, and every RTP flow must carry its measurements.
    opts = ["--max-calls", str(calls), "--idle-timeout", "1"]
    stats, rtp, rss, secs = run(args, tmp, "calls", n, opts)
    print("calls: %d calls in %.1f s, peak RSS %d KiB" % (n, secs, rss))
    check_tables(stats, errors)
    t = stats["tables"]
    mc, ep, tx = t["media_calls"], t["media_endpoints"], t["sip_transactions"]
    if stats["media_calls"] != n or mc["released"] != n or mc["active"] != 0:
        errors.append("media_calls: %s, expected %d created and ended by their BYE" % (mc, n))
    if mc["evicted"] or mc["expired"]:
        errors.append("media_calls: %s: a call ended by BYE was evicted or expired" % mc)
    # 100 phones x 500 ports and 20,000 gateway ports, RTP and RTCP: far
    # more endpoints than 4 x max-calls; the stalest made room.
    if ep["evicted"] == 0 or ep["peak"] != ep["max"]:
        errors.append("media_endpoints: %s, expected the table full and evicting" % ep)
    if tx["released"] != 2 * n or tx["evicted"] or stats["sip_transactions"]["timed_out"]:
        errors.append("sip_transactions: %s, expected %d final, none evicted or timed out"
                      % (tx, 2 * n))
    # Every RTP flow names its own call: call i's flow is 10.1.0.<i % 100>
    # :10000 + 2 (i % 500) <-> 198.51.100.9:20000 + 2 (i % 20000).
    seen, wrong = set(), []
    for e in rtp:
        m = re.fullmatch(r"call-(\d+)@gen", e["rtp"]["call_id"])
        i = int(m.group(1)) if m else -1
        ports = {e["src_port"], e["dest_port"]}
        ips = {e["src_ip"], e["dest_ip"]}
        if (i < 0 or ports != {10000 + 2 * (i % 500), 20000 + 2 * (i % 20000)} or
                ips != {"10.1.0.%d" % (i % 100), "198.51.100.9"} or
                e["rtp"]["toserver"]["packets"] != 3 or e["rtp"]["toclient"]["packets"] != 3):
            wrong.append(e)
        seen.add(i)
    if wrong:
        errors.append("%d RTP flows named another call, e.g. %s" % (len(wrong), json.dumps(wrong[-1])))
    missing = [i for i in range(n) if i not in seen]
    if missing:
        errors.append("%d calls without their RTP flow, e.g. call-%d (last calls: %s)"
                      % (len(missing), missing[-1], [i in seen for i in range(n - 5, n)]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--case", required=True, choices=("callids", "phones", "calls"))
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        {"callids": case_callids, "phones": case_phones, "calls": case_calls}[args.case](
            args, tmp, errors)
    return print_result("state." + args.case, errors)


if __name__ == "__main__":
    sys.exit(main())
