#!/usr/bin/env python3
"""Runs the sensor on pcaps/lab-dns.pcap (tests/lab/lab-dns.sh) with
rules/inventory/lab-dns.yaml, where pbx_service is known only by the name
pbx.lab.example, and asserts which names give roles.

Ground truth:
  192.168.50.10 -> 203.0.113.53:53    DNS: pbx.lab.example CNAME sip.lab.example A 203.0.113.40 (dnsmasq)
  192.168.50.10 -> 203.0.113.40:8445  plain TCP, answered: pbx_service by dns, PBX-CFG allowed
  192.168.50.10 -> 224.0.0.251:5353   mDNS claims pbx.lab.example is 203.0.113.41: no role, no sni
  192.168.50.10 -> 203.0.113.41:8445  plain TCP, unanswered: no role (mDNS names nothing)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

from sensor_run import print_result
from event_schema import flat
import event_schema  # noqa: E402

EXPECT = [
    # dest_ip, dest_port, fields that must be so (None: absent)
    ("203.0.113.40", 8445, {"dest_roles": "pbx_service", "dest_role_by": "dns",
                            "dns_name": "pbx.lab.example", "src_role_by": "address",
                            "verdict": "allowed", "rule": "PBX-CFG", "sni": None}),
    ("203.0.113.53", 53, {"dest_roles": "", "dest_role_by": None, "sni": None, "dns_name": None}),
    ("224.0.0.251", 5353, {"dest_roles": "", "dest_role_by": None, "sni": None,
                           "http_host": None, "dns_name": None}),
    ("203.0.113.41", 8445, {"dest_roles": "", "dest_role_by": None, "dns_name": None,
                            "rule": None, "verdict": "unexpected"}),
]


def get(e, key):
    for part in key.split("."):
        e = e.get(part) if isinstance(e, dict) else None
    return e


def run(sensor, src, inventory):
    with tempfile.TemporaryDirectory() as tmp:
        ev = os.path.join(tmp, "ev.jsonl")
        cmd = [sensor, "--rules", os.path.join(src, "rules"), "--inventory", inventory,
               "--events", ev, "--read", os.path.join(src, "pcaps/lab-dns.pcap")]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        events = [json.loads(line) for line in open(ev)]
        event_schema.check(events, "events of the DNS lab")
        return proc, events


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--src", required=True)
    a = ap.parse_args()
    errors = []
    proc, events = run(a.sensor, a.src, os.path.join(a.src, "rules/inventory/lab-dns.yaml"))
    flows = [e for e in map(flat, events) if e["event_type"] == "flow"]
    for dip, dport, want in EXPECT:
        got = [e for e in flows if (e["dest_ip"], e["dest_port"]) == (dip, dport)]
        if len(got) != 1:
            errors.append("%s:%d: %d flows, expected 1" % (dip, dport, len(got)))
            continue
        for k, v in want.items():
            if get(got[0], k) != v:
                errors.append("%s:%d: %s is %r, expected %r" % (dip, dport, k, get(got[0], k), v))
    stats = flat([e for e in events if e["event_type"] == "stats"][-1])["stats"]
    for k, v in [("dns.answers", 1), ("dns.invalid", 0), ("dns.bound", 1),
                 ("tables.dns_bindings.created", 1), ("tables.dns_bindings.max", 16384)]:
        if get(stats, k) != v:
            errors.append("stats.%s is %r, expected %r" % (k, get(stats, k), v))
    # A site the answer was not given to learns nothing from it: the same
    # capture with the phone's LAN as another site's (and the answer's
    # client outside every site) binds nothing.
    with tempfile.TemporaryDirectory() as tmp:
        inv = os.path.join(tmp, "inv.yaml")
        text = open(os.path.join(a.src, "rules/inventory/lab-dns.yaml")).read()
        open(inv, "w").write(text.replace("cidrs: [192.168.50.0/24]", "cidrs: [192.168.51.0/24]")
                             .replace("[192.168.50.10]", "[192.168.51.10]"))
        proc, events = run(a.sensor, a.src, inv)
        got = [e for e in map(flat, events) if e["event_type"] == "flow" and e["dest_port"] == 8445
               and e["dest_ip"] == "203.0.113.40"]
        if not got or got[0].get("dest_role_by") is not None or got[0]["dest_roles"] != "":
            errors.append("outside every site: 203.0.113.40:8445 still named: %r" % got)
    return print_result("lab-dns", errors)


if __name__ == "__main__":
    sys.exit(main())
