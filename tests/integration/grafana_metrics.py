#!/usr/bin/env python3
"""docs/grafana/pinhole.json against a running collector: every metric a
panel or variable queries is a family of the collector's /metrics (a
collector on loopback fed by sensors reading the lab captures), every
label it matches or groups by is a label of that family's samples, and
each query is valid PromQL: a Prometheus on loopback scrapes the collector
and evaluates them all. The collector wants a bearer token (--http-token),
which Prometheus sends (authorization: credentials_file)."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from collector_lib import Lab, free_port, wait_until  # noqa: E402

ERRORS = []
TOKEN = "grafana-test-token-0123456789"
METRIC = re.compile(r"\bpinhole_[a-z0-9_]+")


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        ERRORS.append(what)


def queries(dash):
    """Every PromQL expression of the dashboard: (where, expr)."""
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                out.append(("panel %r" % p.get("title"), t["expr"]))
            walk(p.get("panels", []))
    walk(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        out.append(("variable %s" % v["name"], q["query"] if isinstance(q, dict) else q))
    return out


def labels_used(expr):
    """{metric: set(label names matched in its selector)} and the labels grouped by."""
    used = {}
    for m in re.finditer(r"\b(pinhole_[a-z0-9_]+)\s*\{([^}]*)\}", expr):
        used.setdefault(m.group(1), set()).update(
            re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", m.group(2)))
    by = set()
    for m in re.finditer(r"\bby\s*\(([^)]*)\)", expr):
        by.update(x.strip() for x in m.group(1).split(",") if x.strip())
    lv = re.search(r"label_values\(\s*(pinhole_[a-z0-9_]+)\s*,\s*(\w+)\s*\)", expr)
    if lv:
        used.setdefault(lv.group(1), set()).add(lv.group(2))
    return used, by


def families(text):
    """{family: [label-name sets of its samples]} from the Prometheus text."""
    fam = {}
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) ", line)
        if m:
            fam.setdefault(m.group(1), [])
            continue
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s", line)
        if m:
            fam.setdefault(m.group(1), []).append(set(re.findall(r"(\w+)=\"", m.group(2) or "")))
    return fam


def promql(expr):
    """Grafana's variables, as Grafana would expand them."""
    return expr.replace("$__rate_interval", "1m").replace("$site", ".*")


def get(lab, path):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (lab.http_port, path),
                                 headers={"Authorization": "Bearer " + TOKEN})
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read().decode()
        return json.loads(body) if path.startswith("/api/") else body


def prometheus_checks(lab, exprs, tmp):
    exe = shutil.which("prometheus")
    if not exe:
        check(False, "prometheus is installed (scripts/install-deps.sh)")
        return
    port = free_port()
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "scrape_configs:\n  - job_name: pinhole\n"
                "    authorization:\n      credentials_file: %s\n"
                "    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
                % (os.path.join(tmp, "token"), lab.http_port))
    log = open(os.path.join(tmp, "prometheus.log"), "w")
    proc = subprocess.Popen([exe, "--config.file", cfg, "--storage.tsdb.path",
                             os.path.join(tmp, "tsdb"), "--web.listen-address",
                             "127.0.0.1:%d" % port], stdout=log, stderr=log)

    def query(q):
        u = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": q}))
        try:
            with urllib.request.urlopen(u, timeout=10) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            return json.loads(e.read().decode() or "{}")
        except OSError:
            return None
    try:
        wait_until("Prometheus to scrape the collector", lambda: (query(
            "pinhole_site_observed") or {}).get("data", {}).get("result"), 60, 0.5)
        for where, e in exprs:
            if e.startswith("label_values("):
                continue
            r = query(promql(e)) or {}
            check(r.get("status") == "success", "%s: Prometheus evaluates %s (%s)" % (
                where, e, r.get("error", "ok")))
        r = query('count(pinhole_site_status{status="not_compliant"} == 1)')
        check(r["data"]["result"] and r["data"]["result"][0]["value"][1] == "2",
              "Prometheus: the two lab sites are not compliant")
    finally:
        proc.terminate()
        proc.wait(20)


def main():
    ap = argparse.ArgumentParser()
    for k in ("sensor", "collector", "keygen", "src"):
        ap.add_argument("--" + k, required=True)
    a = ap.parse_args()
    dash = json.load(open(os.path.join(a.src, "docs/grafana/pinhole.json")))
    exprs = queries(dash)
    check(len(exprs) >= 10, "the dashboard has its queries (%d)" % len(exprs))
    ids = [p["id"] for p in dash["panels"]]
    check(len(ids) == len(set(ids)), "panel ids are unique")
    tmp = tempfile.mkdtemp(prefix="pinhole-grafana-")
    lab = Lab(a, tmp)
    try:
        for name in ("branch-inside", "voip"):
            lab.keygen(name)
        with open(os.path.join(tmp, "token"), "w") as f:
            f.write(TOKEN + "\n")
        lab.start(extra=["--http-token", os.path.join(tmp, "token")])
        geoip = ["--geoip", os.path.join(a.src, "tests/data/lab-asn.mmdb")]
        for name, cap in (("branch-inside", "lab-https-inside.pcap"),
                          ("voip", "lab-sip-portchange-inside.pcap")):
            cmd, _ = lab.sensor_cmd(name, [cap], events=False, extra=geoip)
            subprocess.run(cmd, capture_output=True, timeout=120)
        wait_until("both sites", lambda: all(s["observed"] for s in get(lab, "/api/sites")["sites"]))
        fam = families(get(lab, "/metrics"))
        for where, e in exprs:
            names = set(METRIC.findall(e))
            check(names, "%s queries a pinhole metric: %s" % (where, e))
            used, by = labels_used(e)
            for n in sorted(names):
                check(n in fam, "%s: %s is in /metrics" % (where, n))
                samples = fam.get(n) or []
                for label in sorted(used.get(n, set()) | (by if n in e else set())):
                    # A family without samples here (kernel drops: live
                    # captures only) is only checked to be there.
                    check(not samples or any(label in s for s in samples),
                          "%s: %s has a label %s" % (where, n, label))
        prometheus_checks(lab, exprs, tmp)
    finally:
        rc = lab.stop()
        check(rc in (0, None), "the collector ended cleanly (exit %s)" % rc)
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failed" % len(ERRORS) if ERRORS else "all passed")
    return 1 if ERRORS else 0


if __name__ == "__main__":
    sys.exit(main())
