#!/usr/bin/env python3
"""--workers N gives what one pipeline gives: the same events (as a set:
lines of several workers interleave), the same report and exit status, for
N = 2 and 4, on

- every lab capture in pcaps/ (SIP, NAT, SIP ALG, one-way and asymmetric
  media, late offers, T.38, WebSocket, DNS, HTTPS from every vantage, VLAN
  and QinQ, SLL), with the lab inventory;
- generated captures: the bench's RTP-heavy mix, a site's calls with their
  SIP (their media is routed to its call's worker: checked from the log),
  and many short flows;
- the public captures in ../shared/pcaps/public/ when that folder is there
  (fragments, tunnels, SIP over TCP and WebSocket, clock oddities).

Left out of the comparison, because they are not the same by design
(docs/design.md "Workers"):
- in the stats event, each worker's table counters (stats.pinhole.tables,
  .ndpi, and flows other than `created`): workers hold replicas of SIP and
  DNS flows, and their tables add up;
- the report's examples (the first flow judged in each worker), what an
  unexpected-flow group shows of its first flow (app, host, roles), and the
  order of its lists;
- public captures only: nDPI's sub-protocol names (`app_proto`): nDPI
  keeps caches across flows (STUN, TLS certificates, hosts) that are per
  worker; and stats.sip_tcp,
  where the reader's guess that a TCP flow carries SIP on another port
  than 5060/5061 makes workers follow a replica."""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import public_pcaps  # noqa: E402


def norm_events(path, public):
    out = []
    for line in open(path):
        e = json.loads(line)
        if e["event_type"] == "stats":
            p = e["stats"]["pinhole"]
            for k in ("tables", "ndpi"):
                p.pop(k, None)
            p["flows"] = {"created": p["flows"]["created"]}
            if public:
                p.pop("sip_tcp", None)
        if public:
            e.pop("app_proto", None)
        out.append(json.dumps(e, sort_keys=True))
    return sorted(out)


def norm_report(o, public):
    if isinstance(o, dict):
        drop = {"example", "app", "host", "roles", "dest_roles"}
        return {k: norm_report(v, public) for k, v in o.items() if k not in drop}
    if isinstance(o, list):
        return sorted((norm_report(x, public) for x in o), key=lambda x: json.dumps(x, sort_keys=True))
    return o


def run(sensor, rules, inv, capture, workers, tmp):
    ev = os.path.join(tmp, "ev-%d.jsonl" % workers)
    rep = os.path.join(tmp, "rep-%d.json" % workers)
    for f in (ev, rep):
        if os.path.exists(f):
            os.unlink(f)
    p = subprocess.run([sensor, "--rules", rules, "--inventory", inv, "--read", capture,
                        "--events", ev, "--report", "json", "--report-file", rep,
                        "--workers", str(workers), "-v"],
                       capture_output=True, text=True, timeout=300)
    return p, ev, rep


def compare(sensor, rules, inv, capture, public, tmp, errors, media=False):
    name = os.path.basename(capture)
    base, ev1, rep1 = run(sensor, rules, inv, capture, 1, tmp)
    e1, r1 = norm_events(ev1, public), norm_report(json.load(open(rep1)), public)
    if not e1:
        errors.append("%s: no events with one worker" % name)
    for n in (2, 4):
        p, ev, rep = run(sensor, rules, inv, capture, n, tmp)
        if p.returncode != base.returncode:
            errors.append("%s, %d workers: exit %d, alone %d (%s)" % (
                name, n, p.returncode, base.returncode, p.stderr[-300:]))
        en = norm_events(ev, public)
        if en != e1:
            only1, onlyn = sorted(set(e1) - set(en)), sorted(set(en) - set(e1))
            errors.append("%s, %d workers: events differ (%d only alone, %d only with "
                          "workers); first: %s" % (name, n, len(only1), len(onlyn),
                                                    (only1 or onlyn)[0][:400]))
        if norm_report(json.load(open(rep)), public) != r1:
            errors.append("%s, %d workers: the report differs" % (name, n))
        m = re.search(r"workers: (\d+) frames read, (\d+) more copies.*?(\d+) media frames",
                      p.stderr)
        if not m:
            errors.append("%s, %d workers: no dispatch line in the log" % (name, n))
        elif media and int(m.group(3)) == 0:
            errors.append("%s, %d workers: no media frame went to its call's worker" % (name, n))
    return len(e1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--src", required=True)
    a = ap.parse_args()
    rules = os.path.join(a.src, "rules")
    lab = os.path.join(a.src, "rules/inventory/lab.yaml")
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        caps = sorted(glob.glob(os.path.join(a.src, "pcaps", "*.pcap*")))
        for c in caps:
            compare(a.sensor, rules, lab, c, False, tmp, errors,
                    media="lab-media" in c or "twoway" in c)
        print("lab captures: %d compared" % len(caps))
        bench_inv = os.path.join(a.src, "tests/bench/inventory.yaml")
        for args, media in ((["mix", "2", "50"], False), (["site", "2", "50"], True),
                            (["flows", "20000", "2"], False)):
            cap = os.path.join(tmp, "gen-%s.pcap" % args[0])
            subprocess.run([a.gen, args[0], cap] + args[1:], check=True, capture_output=True)
            n = compare(a.sensor, rules, bench_inv, cap, False, tmp, errors, media=media)
            print("generated %s: %d events compared" % (args[0], n))
            os.unlink(cap)
        pub = os.path.join(a.src, "..", "shared", "pcaps", "public")
        if os.path.isdir(pub):
            inv = os.path.join(tmp, "public.yaml")
            open(inv, "w").write(public_pcaps.INVENTORY)
            caps = sorted(glob.glob(os.path.join(pub, "*.pcap*")))
            for c in caps:
                compare(a.sensor, rules, inv, c, True, tmp, errors)
            print("public captures: %d compared" % len(caps))
        else:
            print("../shared/pcaps/public absent: public captures skipped")
    for e in errors:
        print("FAIL:", e)
    print("workers: %d problem(s)" % len(errors))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
