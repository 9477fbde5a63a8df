#!/usr/bin/env python3
"""Mirrors delivered through tunnels (docs/design.md, "Tunnels").

For one tunnel type, re-encapsulates lab captures with pinhole-gen-tunnel
(outer IPv4 198.51.100.1 -> 198.51.100.2, outside every lab site) and
asserts the sensor audits the inner traffic as if it were mirrored locally:

  - the flow events' (src, dst, ports, proto, verdict, rule, reason)
    multiset is the one of the plain capture;
  - the report's sites (observed, flows, compliant, rule and requirement
    statuses) and the exit status are the plain capture's;
  - no event mentions the outer addresses;
  - stats.tunnels.<kind> equals stats.packets (every frame came through
    the tunnel), the other kinds are 0, and no tunnel anomaly is counted.

With --frag every outer IPv4 packet is cut in two fragments: the tunnel is
taken off the reassembled datagram, stats.tunnels.<kind> equals the plain
capture's packets and every datagram is reassembled (defrag.invalid 0).
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile

from sensor_run import print_result, run_sensor
from event_schema import flat, flat_stats

CAPTURES = ["lab-https-inside.pcap", "lab-sip-portchange-outside.pcap"]
OUTER = ("198.51.100.1", "198.51.100.2")
KIND = {"gre-teb": "gre"}  # the stats counter of a generator type
ANOMALIES = ("tunnel_truncated", "tunnel_header", "tunnel_depth")


def flows(events):
    return collections.Counter(
        (e["src_ip"], e["src_port"], e["dest_ip"], e["dest_port"], e["proto"], e["verdict"],
         e.get("rule"), e.get("reason"))
        for e in map(flat, events) if e["event_type"] == "flow")


def sites(report):
    out = {}
    for s in report["sites"]:
        out[s["site"]] = {
            "observed": s.get("observed"), "flows": s.get("flows"), "compliant": s.get("compliant"),
            "rules": {r["rule"]: r["status"] for r in s.get("rules", [])},
            "requirements": {q["requirement"]: q["status"] for q in s.get("requirements", [])}}
    return out


def stats(events):
    found = [e for e in events if e["event_type"] == "stats"]
    return flat_stats(found[-1]["stats"]) if found else {}


def check(sensor, gen, src, ttype, capture, tmp, frag):
    errors = []
    tunneled = os.path.join(tmp, "%s-%s" % (ttype, capture))
    subprocess.run([gen, os.path.join(src, "pcaps", capture), tunneled, ttype]
                   + (["frag"] if frag else []), check=True)
    p0, ev0, rep0 = run_sensor(sensor, src, [capture], geo=True)
    p1, ev1, rep1 = run_sensor(sensor, src, [tunneled], geo=True)
    tag = "%s%s %s" % (ttype, " frag" if frag else "", capture)
    if p1.returncode != p0.returncode:
        errors.append("%s: exit status %d, plain %d" % (tag, p1.returncode, p0.returncode))
    f0, f1 = flows(ev0), flows(ev1)
    if not f0:
        errors.append("%s: the plain capture has no flow" % tag)
    for k in sorted((f0 - f1).keys(), key=str):
        errors.append("%s: missing flow %s" % (tag, k))
    for k in sorted((f1 - f0).keys(), key=str):
        errors.append("%s: extra flow %s" % (tag, k))
    s0, s1 = sites(rep0), sites(rep1)
    if s0 != s1:
        errors.append("%s: report sites differ:\n  plain    %s\n  tunneled %s" % (tag, s0, s1))
    for e in ev1:
        text = json.dumps(e)
        if any(a in text for a in OUTER):
            errors.append("%s: event mentions an outer address: %s" % (tag, text[:200]))
            break
    st = stats(ev1)
    kind = KIND.get(ttype, ttype)
    tun = st.get("tunnels", {})
    packets = stats(ev0).get("packets") if frag else st.get("packets")
    if tun.get(kind) != packets or not packets:
        errors.append("%s: stats.tunnels.%s is %s, packets %s" % (tag, kind, tun.get(kind), packets))
    if frag and (not st["defrag"]["reassembled"] or st["defrag"]["invalid"]):
        errors.append("%s: stats.defrag is %s" % (tag, st["defrag"]))
    for k, v in tun.items():
        if k != kind and v:
            errors.append("%s: stats.tunnels.%s is %s, expected 0" % (tag, k, v))
    for k in ANOMALIES:
        if st.get("decode", {}).get(k):
            errors.append("%s: stats.decode.%s is %s" % (tag, k, st["decode"][k]))
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--type", required=True)
    ap.add_argument("--frag", action="store_true")
    a = ap.parse_args()
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        for capture in CAPTURES:
            errors += check(a.sensor, a.gen, a.src, a.type, capture, tmp, a.frag)
    return print_result("tunnel." + a.type + ("-frag" if a.frag else ""), errors)


if __name__ == "__main__":
    sys.exit(main())
