#!/usr/bin/env python3
"""pcaps/lab-sip-ws.pcap (tests/lab/lab-sip-ws.sh): SIP over WebSocket from
a phone in site lab-voip, and SIP over TLS from site lab-branch.

Asserts: the 8 SIP messages of the WebSocket session (REGISTER, INVITE
over two segments, ACK fragmented with a ping between, BYE, and the four
responses) are all read, through the WebSocket reader, with no invalid
frame, and as many as tshark decodes (when tshark is there); lab-branch,
whose SIP is seen only in TLS, has sip_tls_flows 1 and NAT / SIP ALG
verdicts (and their requirements) not_checked with the reason; lab-voip,
with a REGISTER in clear, stays not_enough_data."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from event_schema import flat
import event_schema  # noqa: E402

REASON = "signalling encrypted (SIP over TLS)"


def tshark_sip(path):
    try:
        out = subprocess.run(["tshark", "-r", path, "-Y", "sip", "-T", "fields", "-e", "sip.CSeq"],
                             capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        return None
    return sum(len([x for x in line.split(",") if x]) for line in out.stdout.splitlines())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--src", required=True)
    a = ap.parse_args()
    pcap = os.path.join(a.src, "pcaps", "lab-sip-ws.pcap")
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        ev, rep = os.path.join(tmp, "ev.jsonl"), os.path.join(tmp, "report.json")
        with open(rep, "w") as out:
            subprocess.run([a.sensor, "--rules", os.path.join(a.src, "rules"), "--inventory",
                            os.path.join(a.src, "rules", "inventory", "lab.yaml"), "--read", pcap,
                            "--events", ev, "--report", "json"], stdout=out, check=False, timeout=120)
        events = [json.loads(line) for line in open(ev)]
        event_schema.check(events, "events of the WebSocket lab")
        report = json.load(open(rep))
    stats = flat([e for e in events if e["event_type"] == "stats"][-1])["stats"]
    ws = stats["sip_ws"]
    if stats["sip_messages"] != 8 or ws["messages"] != 8 or ws["streams"] != 1 or ws["invalid"]:
        bad.append("SIP over WebSocket: %d messages, sip_ws %s" % (stats["sip_messages"], ws))
    ref = tshark_sip(pcap)
    if ref is not None and ref != stats["sip_messages"]:
        bad.append("%d SIP messages, tshark finds %d" % (stats["sip_messages"], ref))
    sites = {s["site"]: s for s in report["sites"]}
    br, vo = sites["lab-branch"], sites["lab-voip"]
    for what, o in (("nat", br["nat"]), ("sip_alg", br["sip_alg"])):
        if o["verdict"] != "not_checked" or o.get("reason") != REASON:
            bad.append("lab-branch %s: %s" % (what, o))
    reqs = {q["requirement"]: q["status"] for q in br["requirements"]}
    for q in ("PBX-REQ-CONSISTENT-NAT", "PBX-REQ-NO-SIP-ALG"):
        if reqs.get(q) != "not_checked":
            bad.append("lab-branch %s: %s" % (q, reqs.get(q)))
    if br["sip_tls_flows"] != 1:
        bad.append("lab-branch sip_tls_flows %d" % br["sip_tls_flows"])
    if vo["sip_tls_flows"] != 0 or vo["nat"]["verdict"] != "not_enough_data" or "reason" in vo["nat"]:
        bad.append("lab-voip: %s, %s" % (vo["sip_tls_flows"], vo["nat"]))
    summ = {e["site"]: e for e in events if e["event_type"] == "site_summary"}
    if summ.get("lab-branch", {}).get("nat", {}).get("reason") != REASON or \
            summ["lab-branch"].get("sip_tls_flows") != 1:
        bad.append("site_summary lab-branch: %s" % summ.get("lab-branch"))
    for b in bad:
        print("FAIL", b)
    print("ok" if not bad else "%d problems" % len(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
