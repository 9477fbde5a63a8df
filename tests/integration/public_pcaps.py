#!/usr/bin/env python3
"""Runs the sensor over every public capture in ../shared/pcaps/public/
(skips with 77 when that folder is absent). Each must be read whole: the
packet count equals capinfos', the run ends normally (no signal), and no
capture reports zero packets. Link types we do not decode are counted,
never fatal. Every SIP message in them parses (sip_invalid is 0). No
capture shows one-way RTP (they are normal calls).

Where tshark is installed, it reads every capture with SIP once
(tshark_sip.py, an independent parser) and the sensor's findings are
compared with that reading: the number of SIP messages; the `sip` events,
one per transaction, as a multiset of (method, Call-ID, CSeq, top Via
branch, final status, end); the `nat_binding` events (vantage, private,
public, old_public). tshark_sip.py applies to tshark's messages the rules
of sensor/siptx.c and sensor/nat.c (named there), so any difference is in
what was read, or a rule the sensor does not keep. Without tshark those
checks are skipped (said once) and the hard-coded NAT expectation still
holds."""
import argparse
import collections
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import event_schema  # noqa: E402
import tshark_sip  # noqa: E402
from event_schema import flat_stats  # noqa: E402

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


# The inventory's sites, as tshark_sip.py needs them (an address's site is
# part of the NAT phone's key in sensor/nat.c): the same as INVENTORY.
SITES = [("private", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"])]
assert all(c in INVENTORY for _, cidrs in SITES for c in cidrs)

def tshark_checks(name, path, sip, nat):
    """The sensor's `sip` and `nat_binding` events against tshark's reading
    (None: tshark not installed). Returns (problems, notes, summary, the
    number of SIP messages tshark shows)."""
    cap = tshark_sip.read(path)
    if cap is None:
        return None
    exp = tshark_sip.expected_events(cap, SITES)
    problems, notes = [], []
    got_sip = collections.Counter(
        (e["method"], e["call_id"], e["cseq"], e["via"].get("branch", ""), e.get("code", 0), e["end"])
        for e in sip)
    want_sip = collections.Counter(exp.sip)
    if got_sip != want_sip:
        problems.append("SIP transactions (method, call_id, cseq, via branch, status, end) differ "
                        "from tshark's (%d vs %d):%s" % (
            sum(got_sip.values()), sum(want_sip.values()), multiset_diff(got_sip, want_sip)))
    got_nat = collections.Counter(
        (e["vantage"], e["private"], e["public"], e.get("old_public", "")) for e in nat
        if e["event_type"] == "nat_binding")
    want_nat = collections.Counter(exp.nat)
    if got_nat != want_nat:
        problems.append("nat_binding events (vantage, private, public, old_public) differ from "
                        "tshark's:%s" % multiset_diff(got_nat, want_nat))
    # Finals that came after their transaction timed out. Only after a
    # request's 32 s (timer B/F): a non-INVITE one, or an INVITE with no
    # provisional response, has ended then in RFC 3261 terms as well
    # (aaa's CANCEL of that INVITE: its 408 comes 33.0 s after the first
    # CANCEL): a note. An INVITE with a provisional response (100 Trying
    # included) is in Proceeding, where timer B no longer runs (RFC 3261
    # 17.1.1.2): a final after its 32 s still ends it, and the sensor must
    # say so (aaa's INVITE 105090259-446faf7a: 100 Trying, then 408 after
    # 36.8 s, once reported "timeout").
    for ev, status, prov in exp.late:
        method, call_id, cseq = ev[0], ev[1], ev[2]
        what = "%s %s CSeq %d: tshark sees final %d after pinhole's timeout" % (method, call_id, cseq, status)
        if method == "INVITE" and prov:
            problems.append(what + " (an INVITE in Proceeding: RFC 3261 17.1.1.2)")
        else:
            notes.append(what + " (after timer B/F: a timeout in RFC 3261 terms too)")
    # Messages that show a NAT on their face but that sensor/nat.c does not
    # take, by its rule (a Via sent-by that is a host name, as WebRTC's
    # ".invalid"; a port-only difference; a loopback source; received=
    # without an rport value, as ipv6frag's and sip_tcp_websocket's BYE):
    # tshark_sip.py applies the same rules, so they are not differences;
    # printed so that the reading stays visible.
    if exp.nat_set_aside:
        notes.append("NAT signs set aside by nat.c's rules: %s" % ", ".join(
            "%s %d" % kv for kv in sorted(exp.nat_set_aside.items())))
    ends = collections.Counter(e[5] for e in exp.sip)
    summary = "tshark agrees: %d SIP messages, %d transactions (%s), %d nat_binding" % (
        cap.nsip, len(exp.sip), ", ".join("%s %d" % kv for kv in sorted(ends.items())), len(exp.nat))
    return problems, notes, summary, cap.nsip


def multiset_diff(got, want, first=5):
    """The first few differences of two multisets, each side."""
    lines = []
    for label, d in (("pinhole only", got - want), ("tshark only", want - got)):
        items = sorted(d.elements(), key=repr)
        for x in items[:first]:
            lines.append("\n       %s: %r" % (label, x))
        if len(items) > first:
            lines.append("\n       %s: ... %d more" % (label, len(items) - first))
    return "".join(lines)


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
    have_tshark = shutil.which("tshark") is not None
    if not have_tshark:
        print("note: tshark is not installed: the SIP message, transaction and NAT comparisons "
              "with tshark are skipped")
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
            nat, sip, one_way, all_events = [], [], 0, []
            if os.path.exists(ev):
                for line in open(ev):
                    e = json.loads(line)
                    all_events.append(e)
                    if e["event_type"] == "stats":
                        stats = flat_stats(e["stats"])
                    elif e["event_type"] in ("nat_binding", "nat_port_change"):
                        nat.append(e)
                    elif e["event_type"] == "sip":
                        sip.append(e["sip"])
                    elif e["event_type"] == "rtp_one_way":
                        one_way += 1
            want = capinfos_count(path)
            problems, notes, summary = [], [], ""
            # Every event matches docs/events.schema.json.
            problems += event_schema.problems(all_events, limit=3)
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
                ws = stats.get("sip_ws", {})
                if any(k in name for k in SIP_WEBSOCKET) and (not ws.get("messages") or ws.get("invalid")):
                    problems.append("SIP over WebSocket: %s" % ws)
                if have_tshark:
                    r = tshark_checks(name, path, sip, nat)
                    if r is not None:
                        tp, notes, summary, ref = r
                        # Every SIP message tshark finds, over UDP, TCP or fragments.
                        if stats["sip_messages"] != ref:
                            problems.append("%d SIP messages, tshark finds %d" % (stats["sip_messages"], ref))
                        problems += tp
            # NAT, as MANIFEST.md reads these captures: only aaa's phone is
            # behind one (received=80.230.219.70 for sent-by 192.168.1.2);
            # no capture shows a port change between REGISTERs. Checked with
            # or without tshark (which must find the same, above).
            got = sorted((e["event_type"], e.get("private"), e.get("public")) for e in nat)
            exp = [("nat_binding", "192.168.1.2:5060", "80.230.219.70:5060")] if "aaa" in name else []
            if not problems and got != exp:
                problems.append("NAT findings %r, expected %r" % (got, exp))
            # No one-way RTP in these captures: normal calls (sip-rtp-g711's
            # are recvonly/sendonly: one way as negotiated).
            if one_way:
                problems.append("%d rtp_one_way events (a normal call)" % one_way)
            if problems:
                errors += 1
                print("FAIL %s: %s" % (name, "\n     ".join(problems)))
            else:
                d = stats["decode"]
                print("ok   %s: %d packets, %d flows, %d duplicates, %d SIP messages, %d reassembled, "
                      "not decoded: %s" % (name, stats["packets"], stats["flows"]["created"],
                                           stats["duplicates"], stats["sip_messages"],
                                           stats["defrag"]["reassembled"], {k: v for k, v in d.items() if v}))
            if summary and not problems:
                print("       %s" % summary)
            for n in notes:
                print("       %s" % n)
    print("%d passed, %d failed" % (len(files) - errors, errors))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
