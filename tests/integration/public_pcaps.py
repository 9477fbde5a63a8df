#!/usr/bin/env python3
"""Runs the sensor over every public capture in ../shared/pcaps/public/
(skips with 77 when that folder is absent). Each must be read whole: the
packet count equals capinfos', the run ends normally (no signal), and no
capture reports zero packets. Link types we do not decode are counted,
never fatal. Every SIP message in them parses (sip_invalid is 0)."""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

INVENTORY = """sensor: public
sites:
  - name: private
    cidrs: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, "fc00::/7"]
    profiles: [hosted-pbx]
roles:
  outbound_proxy:
    cidrs: ["0.0.0.0/0"]
  pbx_service:
    cidrs: [192.0.2.2/32]
"""


def capinfos_count(path):
    try:
        out = subprocess.run(["capinfos", "-Mc", path], capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        return None
    for line in out.stdout.splitlines():
        if "Number of packets" in line:
            return int(line.split()[-1])
    return None


def tshark_sip_messages(path):
    """SIP messages in a capture, by tshark (an independent parser); port 6060
    is decoded as SIP too (the heplify TCP capture uses it)."""
    try:
        out = subprocess.run(["tshark", "-r", path, "-d", "tcp.port==6060,sip", "-Y", "sip",
                              "-T", "fields", "-e", "sip.CSeq"], capture_output=True, text=True,
                             timeout=120)
    except FileNotFoundError:
        return None
    return sum(len([x for x in line.split(",") if x]) for line in out.stdout.splitlines())


# Captures with SIP inside WebSocket frames (RFC 7118): some of their
# messages must come through the WebSocket reader, none of its frames bad.
SIP_WEBSOCKET = ("sip_tcp_websocket",)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--src", required=True)
    a = ap.parse_args()
    public = os.path.join(a.src, "..", "shared", "pcaps", "public")
    files = sorted(glob.glob(os.path.join(public, "*.pcap*")))
    if not files:
        print("no public captures at %s: skipped" % public)
        return 77
    errors = 0
    with tempfile.TemporaryDirectory() as tmp:
        inv = os.path.join(tmp, "inv.yaml")
        open(inv, "w").write(INVENTORY)
        for path in files:
            ev = os.path.join(tmp, "ev.jsonl")
            if os.path.exists(ev):
                os.unlink(ev)  # events are appended to: one file per capture
            p = subprocess.run([a.sensor, "--rules", os.path.join(a.src, "rules"), "--inventory", inv,
                                "--read", path, "--events", ev, "--report", "none"],
                               capture_output=True, text=True, timeout=300)
            name = os.path.basename(path)
            stats = None
            nat = []
            if os.path.exists(ev):
                for line in open(ev):
                    e = json.loads(line)
                    if e["event_type"] == "stats":
                        stats = e["stats"]
                    elif e["event_type"] in ("nat_binding", "nat_port_change"):
                        nat.append(e)
            want = capinfos_count(path)
            problems = []
            if p.returncode < 0 or p.returncode == 2 or stats is None:
                problems.append("exit %d: %s" % (p.returncode, p.stderr.strip()[:300]))
            elif stats["packets"] == 0:
                problems.append("zero packets read")
            elif want is not None and stats["packets"] != want:
                problems.append("read %d packets, capinfos says %d" % (stats["packets"], want))
            elif stats["sip_invalid"]:
                # Valid SIP in public captures must parse (fragments reassembled).
                problems.append("%d SIP messages refused as invalid" % stats["sip_invalid"])
            elif stats["sip_messages"] or "sip" in name.lower():
                # Every SIP message tshark finds, over UDP, TCP or fragments.
                ref = tshark_sip_messages(path)
                if ref is not None and stats["sip_messages"] != ref:
                    problems.append("%d SIP messages, tshark finds %d" % (stats["sip_messages"], ref))
                ws = stats.get("sip_ws", {})
                if any(k in name for k in SIP_WEBSOCKET) and (not ws.get("messages") or ws.get("invalid")):
                    problems.append("SIP over WebSocket: %s" % ws)
            # NAT, as MANIFEST.md reads these captures: only aaa's phone is
            # behind one (received=80.230.219.70 for sent-by 192.168.1.2);
            # no capture shows a port change between REGISTERs.
            got = sorted((e["event_type"], e.get("private"), e.get("public")) for e in nat)
            exp = [("nat_binding", "192.168.1.2:5060", "80.230.219.70:5060")] if "aaa" in name else []
            if not problems and got != exp:
                problems.append("NAT findings %r, expected %r" % (got, exp))
            if problems:
                errors += 1
                print("FAIL %s: %s" % (name, "; ".join(problems)))
            else:
                d = stats["decode"]
                print("ok   %s: %d packets, %d flows, %d duplicates, %d SIP messages, %d reassembled, "
                      "not decoded: %s" % (name, stats["packets"], stats["flows"]["created"],
                                           stats["duplicates"], stats["sip_messages"],
                                           stats["defrag"]["reassembled"], {k: v for k, v in d.items() if v}))
    print("%d passed, %d failed" % (len(files) - errors, errors))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
