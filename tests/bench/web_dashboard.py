#!/usr/bin/env python3
"""The dashboard with 1,000 sites and 100,000 events: figures, never a test.

  tests/bench/web_dashboard.py --collector BIN --keygen BIN --src DIR
                               [--sites N] [--events N] [--runs N]

Makes an inventory of N sites (hosted-pbx profile), lets a collector
create its database, fills it straight through SQLite (each site's rules
with statuses, one in five sites failing, a sensor per ten sites, status
history, the events spread over the sites), starts the collector again
and prints the median over --runs of: each API read the pages make, and
the time headless Chromium takes from navigation to the first data drawn
(web/common.js sets data-first-load-ms) for the overview and a site page."""
import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from cdp import Browser, NoBrowser  # noqa: E402
from collector_lib import Lab  # noqa: E402


def inventory(path, n):
    with open(path, "w") as f:
        f.write("# %d sites for tests/bench/web_dashboard.py\nsites:\n" % n)
        for i in range(n):
            f.write("  - name: bench-%04d\n    cidrs: [10.%d.%d.0/24]\n    profiles: [hosted-pbx]\n"
                    % (i, i // 256, i % 256))
        f.write("roles:\n  outbound_proxy:\n    cidrs: [203.0.113.50/31]\n"
                "  pbx_service:\n    cidrs: [203.0.113.40]\n")


def fill(lab, nsites, nevents, rules):
    con = sqlite3.connect(lab.db, timeout=30)
    now = int(time.time() * 1e6)
    statuses = ["verified", "blocked", "partly_blocked", "unconfirmed"]
    with con:
        for i in range(nsites):
            site = "bench-%04d" % i
            failing = i % 5 == 0
            con.execute("INSERT INTO sites(site, flows, unexpected, first_us, last_us, compliant, nat, "
                        "one_way) VALUES(?, 100, ?, ?, ?, ?, ?, ?)",
                        (site, i % 7, now - 86400000000, now, 0 if failing else 1,
                         "inconsistent" if i % 10 == 0 else "consistent", i % 3))
            for k, r in enumerate(rules):
                st = statuses[1 + k % 3] if failing and k < 2 else "verified"
                con.execute("INSERT INTO rules(site, rule, allowed, blocked, first_us, last_us, "
                            "example, status) VALUES(?, ?, 10, ?, ?, ?, ?, ?)",
                            (site, r, 3 if st != "verified" else 0, now - 3600000000, now,
                             "10.0.0.1:5060 -> 203.0.113.50:5060 UDP SIP", st))
                con.execute("INSERT INTO rule_history(site, rule, ts, at_us, was, status) "
                            "VALUES(?, ?, ?, ?, '', 'verified')", (site, r, now - 3600000000, now))
                if st != "verified":
                    con.execute("INSERT INTO rule_history(site, rule, ts, at_us, was, status) "
                                "VALUES(?, ?, ?, ?, 'verified', ?)", (site, r, now - 60000000, now, st))
            con.execute("INSERT INTO site_sensors(site, sensor, last_us) VALUES(?, ?, ?)",
                        (site, "sensor-%03d" % (i // 10), now))
        for s in range(nsites // 10):
            con.execute("INSERT INTO sensors(sensor, state, last_seen, epoch, received) "
                        "VALUES(?, ?, ?, 'e1', ?)", ("sensor-%03d" % s,
                                                     "silent" if s % 17 == 0 else "up", now, nevents // 100))
        rows = []
        for i in range(nevents):
            site = "bench-%04d" % (i % nsites)
            kind = "nat_port_change" if i % 50 == 0 else "flow"
            body = {"timestamp": "2026-11-22T04:%02d:%02d.000000+0000" % (i // 60 % 60, i % 60),
                    "event_type": kind, "schema": 2, "site": site, "sensor": "sensor-%03d" % (i % nsites // 10),
                    "src_ip": "10.0.0.1", "src_port": 10000 + i % 50000, "dest_ip": "203.0.113.50",
                    "dest_port": 5060, "proto": "UDP", "pinhole": {"verdict": "allowed", "rule": rules[0]}}
            if kind == "nat_port_change":
                body.update({"aor": "sip:%d@bench" % (i % 7), "old_public": "203.0.113.2:%d" % (i % 60000),
                             "new_public": "203.0.113.2:%d" % ((i + 1) % 60000), "interval": 30})
            rows.append(("sensor-%03d" % (i % nsites // 10), "e1", i + 1, kind, site, now, json.dumps(body)))
        con.executemany("INSERT INTO events(sensor, epoch, seq, type, site, ts, body) "
                        "VALUES(?, ?, ?, ?, ?, ?, ?)", rows)
    con.close()


def timed(lab, path):
    t = time.time()
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (lab.http_port, path), timeout=60) as r:
        n = len(r.read())
    return time.time() - t, n


def page_ms(b, lab, path):
    b.navigate("http://127.0.0.1:%d%s" % (lab.http_port, path))
    return int(b.wait("document.body && document.body.dataset.firstLoadMs", 120, path))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--keygen", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--sites", type=int, default=1000)
    ap.add_argument("--events", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="pinhole-webbench-")
    lab = Lab(a, tmp)
    inv = os.path.join(tmp, "inventory.yaml")
    inventory(inv, a.sites)
    b = None
    try:
        lab.start(inventory=inv)
        rules = [r["rule"] for r in lab.get("/api/sites/bench-0000")["rules"]]
        lab.stop()
        t = time.time()
        fill(lab, a.sites, a.events, rules)
        print("database: %d sites (%d rules each), %d events, filled in %.1f s, %.0f MiB" % (
            a.sites, len(rules), a.events, time.time() - t, os.path.getsize(lab.db) / 2**20))
        lab.start(inventory=inv)
        site = "bench-0050"  # failing, with NAT changes among its events
        reads = ["/api/overview", "/api/sensors", "/api/sites/" + site,
                 "/api/sites/%s/history" % site, "/api/events?limit=25&site=" + site,
                 "/api/events?limit=500&site=%s&type=nat_port_change" % site,
                 "/api/events?limit=500&site=%s&type=sip_alg" % site,
                 "/api/events?limit=1000&site=%s&type=flow" % site]
        print("%-58s %9s %9s" % ("API read (median of %d)" % a.runs, "ms", "bytes"))
        for p in reads:
            ts = [timed(lab, p) for _ in range(a.runs)]
            print("%-58s %9.1f %9d" % (p, statistics.median(x for x, _ in ts) * 1000, ts[0][1]))
        try:
            b = Browser().start()
        except NoBrowser as e:
            print("no browser figures:", e)
            return 0
        for name, path in (("overview /", "/"), ("site page", "/site.html?site=" + site)):
            ms = [page_ms(b, lab, path) for _ in range(a.runs)]
            print("page %-20s first data drawn after %5d ms (median of %d; min %d, max %d)" % (
                name, statistics.median(ms), a.runs, min(ms), max(ms)))
        rows = b.eval("document.querySelectorAll('#rules tbody tr').length")
        b.navigate("http://127.0.0.1:%d/" % lab.http_port)
        b.wait("document.body && document.body.dataset.firstLoadMs", 120)
        print("overview rows drawn: %d" % b.eval("document.querySelectorAll('#sites tbody tr').length"))
        print("site page rule rows drawn: %d" % rows)
    finally:
        if b:
            b.stop()
        lab.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
