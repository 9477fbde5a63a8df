#!/usr/bin/env python3
"""The dashboard (docs/collector.md, "Dashboard") in a real browser: a
collector on loopback fed by sensors reading the lab captures, its pages
opened in headless Chromium (tests/integration/cdp.py), and what a user
sees asserted.

  --case pages   the overview shows lab-branch not compliant with its
                 blocked rule, lab-voip's NAT inconsistent, a sensor that
                 went silent marked STALE; lab-branch's page shows the rule
                 rows, the status history, the unexpected group with the
                 nearest rule; lab-voip's page the NAT timeline per phone;
                 traffic strings holding <script> and <img onerror> (SNI,
                 SIP ALG evidence, User-Agent) are shown as text, no element
                 is made of them and nothing runs; events page with the
                 cursor; security headers. --shots DIR: screenshots there.
  --case live    the overview open before lab-voip is observed shows it
                 when a new sensor publishes, without a reload.
  --case token   --http-token: /api/ and /metrics answer 401 without the
                 token, /health and the page's files do not; the page asks
                 for the token, refuses a wrong one, works with the right
                 one and with #token= in the URL (then removed from it).
  --case static  web/: no inline script or handler, no innerHTML and the
                 like, nothing loaded from elsewhere.

Exit 77 (skipped) only if Chromium cannot run."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from cdp import SKIP, Browser, NoBrowser  # noqa: E402
from collector_lib import Lab, wait_until  # noqa: E402

ERRORS = []
XSS_SNI = '<script>window.__pinholeXss = 1</script>evil.example'
XSS_INSIDE = '<img src=x onerror="window.__pinholeXss = 2">'
XSS_UA = '</td><script>window.__pinholeXss = 3</script>'


def check(cond, what):
    if not cond:
        ERRORS.append(what)
        print("FAIL:", what)
    else:
        print("ok:", what)


def publish(lab, a, name, capture, extra=()):
    """The sensor `name` (its key made before the collector started) reads
    a lab capture and publishes it."""
    geoip = ["--geoip", os.path.join(a.src, "tests/data/lab-asn.mmdb")]
    cmd, _ = lab.sensor_cmd(name, [capture], events=False, extra=geoip + list(extra))
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    check(out.returncode in (0, 1, 4), "sensor %s on %s ran (%d): %s" % (
        name, capture, out.returncode, out.stderr[-300:]))


def publish_hostile(lab, a):
    """Events whose traffic-supplied strings hold markup, sent as sensor
    "probe" (which never says goodbye, so it goes silent)."""
    ts = "2026-11-22T04:40:00.000000+0000"
    events = [
        {"timestamp": ts, "event_type": "flow", "schema": 2, "sensor": "probe",
         "site": "lab-branch", "flow_id": 777000001, "src_ip": "192.168.50.10",
         "src_port": 40001, "dest_ip": "198.51.100.66", "dest_port": 443, "proto": "TCP",
         "app_proto": "TLS", "tls": {"sni": XSS_SNI},
         "pinhole": {"verdict": "unexpected", "nearest_rule": "PBX-CFG",
                     "nearest_differs": "port"}},
        {"timestamp": ts, "event_type": "sip_alg", "schema": 2, "sensor": "probe",
         "site": "lab-branch", "evidence": "compared", "call_id": "xss-call@lab",
         "message": "REGISTER", "header": "Contact", "inside": XSS_INSIDE,
         "outside": "<b>bold</b>"},
    ]
    # More events than a page of the site page's events holds (25); the
    # hostile User-Agent last, on the first page.
    events += [{"timestamp": ts, "event_type": "sip", "schema": 2, "sensor": "probe",
                "site": "lab-branch", "src_ip": "192.168.50.10", "src_port": 5060,
                "dest_ip": "203.0.113.5", "dest_port": 5060,
                "sip": {"method": "OPTIONS", "call_id": "filler-%d@lab" % i}} for i in range(30)]
    events.append({"timestamp": ts, "event_type": "sip", "schema": 2, "sensor": "probe",
                   "site": "lab-branch", "src_ip": "192.168.50.10", "src_port": 5060,
                   "dest_ip": "203.0.113.5", "dest_port": 5060,
                   "sip": {"method": "OPTIONS", "call_id": "xss-ua@lab", "user_agent": XSS_UA}})
    path = os.path.join(lab.tmp, "hostile.jsonl")
    with open(path, "w") as f:
        f.write("\n".join(json.dumps(e) for e in events))
    head = {"link": 1, "kind": "events", "sensor": "probe", "epoch": "0xss", "first": 1,
            "count": len(events), "base": 1}
    out = subprocess.run([a.ztool, "send", lab.endpoint, "--curve",
                          os.path.join(lab.keys, "collector.pub"),
                          os.path.join(lab.keys, "probe.key"), json.dumps(head), "@" + path],
                         capture_output=True, text=True, timeout=60).stdout
    check('"acked":%d' % len(events) in out, "the hostile batch was acknowledged: " + out.strip())


def raw(lab, path, token=None):
    """(status, headers, body) of GET path."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (lab.http_port, path))
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def url(lab, path):
    return "http://127.0.0.1:%d%s" % (lab.http_port, path)


def open_page(b, lab, path, loads=1):
    b.navigate(url(lab, path))
    b.wait("document.body && Number(document.body.dataset.loads || 0) >= %d" % loads, 30,
           "%s to load" % path)


def js_row(site, cell):
    return ("(() => { const r = document.querySelector('#sites tr[data-site=\"%s\"] td.%s');"
            " return r ? r.textContent : null; })()" % (site, cell))


NO_MARKUP = ("document.querySelectorAll('script').length === 2 && "
             "!document.querySelector('img, b, main script') && window.__pinholeXss === undefined")


def case_pages(a, b, lab, shots):
    for name in ("branch-inside", "voip", "probe"):
        lab.keygen(name)
    lab.start(extra=["--silence", "2"])
    publish(lab, a, "branch-inside", "lab-https-inside.pcap")
    publish(lab, a, "voip", "lab-sip-portchange-inside.pcap")
    publish_hostile(lab, a)
    wait_until("probe to go silent", lambda: (lab.sensor_row("probe") or {}).get("state") == "silent",
               20)
    status, headers, _ = raw(lab, "/")
    csp = headers.get("Content-Security-Policy", "")
    check(status == 200 and "script-src 'self'" in csp and "unsafe" not in csp and
          "default-src 'none'" in csp, "/ has a strict CSP: " + csp)
    for h, v in (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                 ("Referrer-Policy", "no-referrer")):
        check(headers.get(h) == v, "/ has %s: %s" % (h, v))
    check("Content-Security-Policy" in raw(lab, "/api/sites")[1], "the API has the CSP too")

    open_page(b, lab, "/")
    verdict = b.wait(js_row("lab-branch", "verdict"), what="lab-branch's row")
    check(verdict == "not compliant", "overview: lab-branch is not compliant (%r)" % verdict)
    failing = b.eval(js_row("lab-branch", "failing"))
    check("PBX-CFG (blocked)" in failing, "overview: lab-branch's failing rules name PBX-CFG "
          "blocked (%r)" % failing)
    check(b.eval("document.querySelector('#sites tr[data-site=\"lab-branch\"]')"
                 ".classList.contains('bad')"), "overview: lab-branch's row stands out")
    check(b.eval(js_row("lab-voip", "nat")) == "inconsistent", "overview: lab-voip NAT inconsistent")
    check(b.eval(js_row("lab-branch", "alg")) == "rewritten", "overview: lab-branch SIP ALG rewritten")
    stale = b.eval("(() => { const s = document.querySelector('#sites tr[data-site=\"lab-branch\"] "
                   ".sensor.stale'); return s ? s.textContent : null; })()")
    check(stale and stale.startswith("probe") and "STALE" in stale,
          "overview: the silent sensor is marked stale (%r)" % stale)
    fresh = b.eval("document.querySelector('#sites .sensor[data-sensor=\"branch-inside\"]')"
                   ".classList.contains('stale')")
    check(fresh is False, "overview: a finished sensor is not stale")
    # Filter and sort as a user would.
    b.eval("(() => { const f = document.getElementById('filter-name'); f.value = 'voip';"
           " f.dispatchEvent(new Event('input')); })()")
    rows = b.eval("[...document.querySelectorAll('#sites tbody tr')].map(r => r.dataset.site)")
    check(rows == ["lab-voip"], "overview: the name filter leaves lab-voip (%r)" % rows)
    b.eval("(() => { const f = document.getElementById('filter-name'); f.value = '';"
           " f.dispatchEvent(new Event('input'));"
           " document.querySelector('#sites th[data-key=\"site\"]').click();"
           " document.querySelector('#sites th[data-key=\"site\"]').click(); })()")
    rows = b.eval("[...document.querySelectorAll('#sites tbody tr')].map(r => r.dataset.site)")
    check(rows == ["lab-voip", "lab-branch"], "overview: sorted by name, descending (%r)" % rows)
    check(b.eval(NO_MARKUP), "overview: no markup from traffic, nothing ran")
    if shots:
        b.eval("(() => { const f = document.querySelector('#sites th[data-key=\"status\"]');"
               " f.click(); })()")
        b.screenshot(os.path.join(shots, "dashboard-overview.png"))

    open_page(b, lab, "/site.html?site=lab-branch")
    rule = b.wait("(() => { const r = document.querySelector('#rules tr[data-rule=\"PBX-CFG\"]');"
                  " return r ? [...r.cells].map(c => c.textContent) : null; })()", what="rule rows")
    check(rule[1] == "blocked" and "8445" in rule[2] + rule[3] and int(rule[5]) > 0,
          "site page: PBX-CFG row is blocked, with purpose and counts (%r)" % rule[:6])
    check("no_answer ×" in rule[8] and "reset ×1" in rule[8],
          "site page: PBX-CFG's reasons (%r)" % rule[8])
    check(b.eval("document.querySelector('#rules tr[data-rule=\"PBX-CFG\"]').classList"
                 ".contains('bad')"), "site page: the blocked rule row stands out")
    hist = b.eval("(() => { const r = document.querySelector('#history tr[data-rule=\"DM-EP-3\"]');"
                  " return r ? r.textContent : null; })()")
    check(hist and "verified" in hist and "partly blocked" in hist,
          "site page: the history strip shows DM-EP-3 verified then partly blocked (%r)" % hist)
    dest = b.eval("(() => { const r = document.querySelector('#unexpected tr[data-dest=\"198.51.100.66\"]');"
                  " return r ? r.nextElementSibling.textContent : null; })()")
    check(dest and "PBX-CFG" in dest and XSS_SNI in dest,
          "site page: the unexpected group, nearest rule PBX-CFG, the SNI as text (%r)" % dest)
    alg = b.text("#alg")
    check(XSS_INSIDE in alg and "<b>bold</b>" in alg, "site page: ALG evidence as text (%r)" % alg)
    b.wait("!!document.querySelector('#events tr[data-id]')", what="events")
    evtext = b.text("#events")
    check(XSS_UA in evtext, "site page: the User-Agent with </td><script> in the events, as text")
    # Paging, 25 a page, newest first: the pages are the API's events in order.
    every = [e["id"] for e in lab.get("/api/events?site=lab-branch&limit=1000")["events"]]
    ids = "[...document.querySelectorAll('#events tr[data-id]')].map(r => Number(r.dataset.id))"
    first = b.eval(ids)
    check(len(every) > 50 and first == every[:25], "site page: page 1 is the 25 newest events")
    for n in (2, 3):
        b.eval("document.getElementById('ev-older').click()")
        b.wait("document.getElementById('ev-page').textContent.startsWith('page %d')" % n,
               what="page %d" % n)
        got = b.eval(ids)
        check(got == every[25 * (n - 1):25 * n], "site page: Older shows page %d (%d events)" % (
            n, len(got)))
    check(b.eval("document.getElementById('ev-older').disabled") == (len(every) <= 75),
          "site page: Older ends at the last page")
    b.eval("document.getElementById('ev-newer').click()")
    b.wait("document.getElementById('ev-page').textContent.startsWith('page 2')", what="page 2")
    check(b.eval(ids) == every[25:50], "site page: Newer goes back a page")
    b.eval("(() => { const s = document.getElementById('ev-type'); s.value = 'flow';"
           " s.dispatchEvent(new Event('change')); })()")
    b.wait("document.getElementById('ev-page').textContent.includes('page 1')")
    types = b.wait("(() => { const t = [...document.querySelectorAll('#events tr[data-id] td:nth-child(3)')]"
                   ".map(c => c.textContent); return t.length && t.every(x => x === 'flow') ? t : null; })()",
                   what="flow events only")
    check(len(types) > 0, "site page: the type filter lists flows only (%d)" % len(types))
    check(b.eval(NO_MARKUP), "site page: no markup from traffic, nothing ran")
    check(not b.console_errors(), "site page: no script error (%r)" % b.console_errors()[:2])
    if shots:
        b.screenshot(os.path.join(shots, "dashboard-site-branch.png"))

    open_page(b, lab, "/site.html?site=lab-voip")
    phones = b.wait("(() => { const p = [...document.querySelectorAll('#nat ol.timeline')];"
                    " return p.length ? p.map(o => [o.dataset.phone, o.children.length,"
                    " o.children[0].textContent]) : null; })()", what="the NAT timeline")
    check(len(phones) == 2 and all(n > 0 for _, n, _ in phones) and
          sum(n for _, n, _ in phones) == 6, "site page: NAT timeline, 2 phones, 6 changes (%r)" % phones)
    check(phones[0][0] == "sip:100@lab.example" and "203.0.113.2:44821 → 203.0.113.2:6352" in phones[0][2],
          "site page: the first mapping change of sip:100 (%r)" % phones[0][2])
    check("inconsistent" in b.text("#nat"), "site page: NAT verdict inconsistent")
    if shots:
        b.screenshot(os.path.join(shots, "dashboard-site-voip.png"))


def case_live(a, b, lab, shots):
    lab.keygen("voip-new")
    lab.start()
    open_page(b, lab, "/")
    check(b.wait(js_row("lab-voip", "verdict")) == "not observed", "live: lab-voip not observed yet")
    b.eval("window.__stay = 1")
    loads = int(b.eval("Number(document.body.dataset.loads)"))
    publish(lab, a, "voip-new", "lab-sip-portchange-inside.pcap")
    nat = b.wait("(() => { const t = document.querySelector('#sites tr[data-site=\"lab-voip\"] td.nat');"
                 " return t && t.textContent === 'inconsistent' ? t.textContent : null; })()", 20,
                 "lab-voip's NAT to show without a reload")
    check(nat == "inconsistent", "live: lab-voip's NAT shows inconsistent")
    check("voip-new" in b.eval(js_row("lab-voip", "sensors")), "live: the new sensor is listed")
    check(b.eval("window.__stay") == 1 and int(b.eval("Number(document.body.dataset.loads)")) > loads,
          "live: the page was updated, not reloaded")


def case_token(a, b, lab, shots):
    token = "s3cret-token-0123456789"
    path = os.path.join(lab.tmp, "token")
    with open(path, "w") as f:
        f.write(token + "\n")
    short = os.path.join(lab.tmp, "short-token")
    with open(short, "w") as f:
        f.write("too short\n")
    for tok, want in ((path, 0), (short, 2), (os.path.join(lab.tmp, "none"), 2)):
        r = subprocess.run([a.collector, "--plain", "--inventory",
                            os.path.join(a.src, "rules/inventory/lab.yaml"), "--rules",
                            os.path.join(a.src, "rules"), "--http-token", tok, "--check"],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == want, "token: --check with %s exits %d (%d: %s)" % (
            os.path.basename(tok), want, r.returncode, r.stderr.strip()[-200:]))
    lab.start(extra=["--http-token", path])
    for p in ("/api/sites", "/api/overview", "/api/events", "/api/sites/lab-branch", "/metrics"):
        status, headers, _ = raw(lab, p)
        check(status == 401 and headers.get("WWW-Authenticate", "").startswith("Bearer"),
              "token: %s without it is 401 (%d)" % (p, status))
        check(raw(lab, p, "wrong-token-0123456789")[0] == 401, "token: %s with a wrong one is 401" % p)
        check(raw(lab, p, token)[0] == 200, "token: %s with it is 200" % p)
    for p in ("/health", "/", "/common.js"):
        check(raw(lab, p)[0] == 200, "token: %s needs none" % p)
    b.navigate(url(lab, "/"))
    b.wait("!document.getElementById('login').hidden", what="the sign-in form")
    check(b.eval("document.querySelectorAll('#sites tbody tr').length") == 0,
          "token: no site shown before the token")
    b.eval("document.getElementById('token').value = 'wrong-token-0123456789';"
           "document.getElementById('login').requestSubmit()")
    msg = b.wait("(() => { const e = document.getElementById('login-error');"
                 " return !document.getElementById('login').hidden && e.textContent; })()")
    check("refused" in msg, "token: a wrong token is refused (%r)" % msg)
    b.eval("document.getElementById('token').value = %s;"
           "document.getElementById('login').requestSubmit()" % json.dumps(token))
    b.wait(js_row("lab-branch", "verdict"), what="sites after signing in")
    check(True, "token: the right token shows the sites")
    b.eval("sessionStorage.clear()")
    b.navigate(url(lab, "/site.html?site=lab-branch#token=" + token))
    b.wait("!!document.querySelector('#rules tr[data-rule]')", what="the site page with #token=")
    check(b.eval("location.hash") == "", "token: #token= is taken from the address bar")


def case_static(a):
    web = os.path.join(a.src, "web")
    names = sorted(os.listdir(web))
    check(names, "web/ has files")
    for n in names:
        text = open(os.path.join(web, n)).read()
        if n.endswith(".html"):
            scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", text, re.S)
            check(all('src="/' in attrs and not body.strip() for attrs, body in scripts),
                  "%s: every script is a file of this origin" % n)
            check(not re.search(r"\son[a-z]+\s*=", text), "%s: no inline handler" % n)
            check(not re.search(r"\sstyle\s*=", text), "%s: no inline style" % n)
        if n.endswith(".js"):
            check(not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|"
                                r"new Function", text), "%s: no HTML from strings" % n)
        check(not re.search(r"https?://", text), "%s: nothing from elsewhere" % n)


def main():
    ap = argparse.ArgumentParser()
    for k in ("sensor", "collector", "keygen", "ztool"):
        ap.add_argument("--" + k)
    ap.add_argument("--src", required=True)
    ap.add_argument("--case", required=True, choices=("pages", "live", "token", "static"))
    ap.add_argument("--shots", help="save screenshots in this directory")
    a = ap.parse_args()
    if a.case == "static":
        case_static(a)
    else:
        try:
            b = Browser().start()
        except NoBrowser as e:
            print("SKIP:", e)
            return SKIP
        tmp = tempfile.mkdtemp(prefix="pinhole-web-")
        lab = Lab(a, tmp)
        try:
            {"pages": case_pages, "live": case_live, "token": case_token}[a.case](a, b, lab, a.shots)
        except AssertionError as e:
            check(False, str(e))
        finally:
            b.stop()
            rc = lab.stop()
            check(rc in (0, None), "the collector ended cleanly (exit %s)" % rc)
            if ERRORS:
                print("collector log:", open(os.path.join(tmp, "collector.log")).read()[-3000:])
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d failed" % len(ERRORS) if ERRORS else "all passed")
    return 1 if ERRORS else 0


if __name__ == "__main__":
    sys.exit(main())
