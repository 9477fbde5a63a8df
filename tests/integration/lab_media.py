#!/usr/bin/env python3
"""One-way audio judged per call and per direction, on the media lab captures
(tests/lab/lab-media.sh, whose header has the ground truth: ports, packet
counts, times). One case per capture:

  asym                 RFC 4961 asymmetric RTP (phone sends from 30000,
                       receives on 30002), L16 at 16 kHz: two-way, no alarm,
                       jitter measured at 16 kHz (near 0)
  asym-oneway-inside   the firewall drops the provider's RTP: one alarm,
                       missing inbound
  asym-oneway-outside  the same call outside the firewall: both directions
                       pass by, no alarm
  lateoffer            offer in the 200 OK, answer in the ACK: no alarm, the
                       flow is the call's RTP
  hold                 re-INVITE to a=sendonly on a new port, the provider
                       silent while on hold: no alarm
  t38                  re-INVITE to T.38 (UDPTL, not RTP): no alarm
  early                183 with early media, then after the answer only the
                       phone sends: one alarm, missing inbound
  short                0.5 s of media after the answer: too short to judge,
                       no alarm

Per case: the rtp_one_way events (call_id, missing, site) are exactly the
expected ones; every UDP flow other than SIP is a media flow (an `rtp`
object) with the call's Call-ID; in a call with no alarm no media flow is
blocked (they are all `allowed`); in a one-way call at least one is blocked
with reason one_way_media against PBX-RTP-IN, and the sensor exits 1 (0
otherwise); jitter under 5 ms in every direction that carried packets; the
SIP transactions are the expected methods, each answered 200 (final).

Usage: lab_media.py --sensor BIN --src DIR [--case NAME|all]"""
import argparse
import sys

from event_schema import flat
from sensor_run import print_result, run_sensor

BYE_INVITE = [("BYE", 200, "final"), ("INVITE", 200, "final")]
REINVITE = [("BYE", 200, "final"), ("INVITE", 200, "final"), ("INVITE", 200, "final")]

# name: (capture, Call-ID, expected rtp_one_way (missing) list, media flows,
#        SIP transactions)
CASES = {
    "asym": ("lab-media-asym-inside.pcap", "1-5241@192.168.60.10", [], 2, BYE_INVITE),
    "asym-oneway-inside": ("lab-media-asym-oneway-inside.pcap", "1-5550@192.168.60.10",
                           ["inbound"], 1, BYE_INVITE),
    "asym-oneway-outside": ("lab-media-asym-oneway-outside.pcap", "1-5550@192.168.60.10",
                            [], 2, BYE_INVITE),
    "lateoffer": ("lab-media-lateoffer-inside.pcap", "1-5940@192.168.60.10", [], 1, BYE_INVITE),
    "hold": ("lab-media-hold-inside.pcap", "1-6405@192.168.60.10", [], 2, REINVITE),
    "t38": ("lab-media-t38-inside.pcap", "1-8035@192.168.60.10", [], 2, REINVITE),
    "early": ("lab-media-early-inside.pcap", "1-9107@192.168.60.10", ["inbound"], 1, BYE_INVITE),
    "short": ("lab-media-short-inside.pcap", "1-9853@192.168.60.10", [], 1, BYE_INVITE),
}


def brief(f):
    """A media flow in one line, for the messages."""
    r = f.get("rtp", {})
    return "%s:%s->%s:%s %s %s/%s (%s/%s pkts)" % (
        f["src_ip"], f["src_port"], f["dest_ip"], f["dest_port"], f["verdict"], f.get("rule"),
        f.get("reason"), r.get("toserver", {}).get("packets"), r.get("toclient", {}).get("packets"))


def check(a, name):
    capture, call_id, missing, nflows, want_tx = CASES[name]
    p, events, report = run_sensor(a.sensor, a.src, [capture])
    errors = []
    # The one-way alarms: exactly the expected ones, for this call, at the site.
    oneway = sorted((e.get("call_id"), e.get("missing"), e.get("site")) for e in events
                    if e["event_type"] == "rtp_one_way")
    want = sorted((call_id, m, "lab-voip") for m in missing)
    if oneway != want:
        errors.append("rtp_one_way events %r, expected %r" % (oneway, want))
    # Every UDP flow but the SIP one is media known from the SDP, of this call.
    udp = [e for e in map(flat, events) if e["event_type"] == "flow" and e["proto"] == "UDP"]
    media = [e for e in udp if "rtp" in e]
    other = [e for e in udp if "rtp" not in e and e.get("app") != "SIP"]
    if other:
        errors.append("UDP flows not known as media: %s" % "; ".join(brief(f) for f in other))
    if len(media) != nflows:
        errors.append("%d media flows, expected %d: %s" % (len(media), nflows,
                                                           "; ".join(brief(f) for f in media)))
    for f in media:
        if f["rtp"].get("call_id") != call_id:
            errors.append("media flow of call %r, expected %r: %s" % (f["rtp"].get("call_id"),
                                                                     call_id, brief(f)))
        for d in ("toserver", "toclient"):
            s = f["rtp"].get(d, {})
            if s.get("packets") and not 0 <= s.get("jitter_ms", -1) < 5:
                errors.append("jitter %r ms %s: %s" % (s.get("jitter_ms"), d, brief(f)))
    if missing:
        if not any(f["verdict"] == "blocked" and f.get("reason") == "one_way_media" and
                   f.get("rule") == "PBX-RTP-IN" for f in media):
            errors.append("no media flow blocked one_way_media by PBX-RTP-IN: %s" %
                          "; ".join(brief(f) for f in media))
        if p.returncode != 1:
            errors.append("exit %d, expected 1 (PBX-RTP-IN blocked)" % p.returncode)
    else:
        bad = [f for f in media if f["verdict"] != "allowed"]
        if bad:
            errors.append("media flows not allowed in a call with no one-way media: %s" %
                          "; ".join(brief(f) for f in bad))
        if p.returncode != 4:  # nothing failed, other PBX rules not verified
            errors.append("exit %d, expected 4 (incomplete)" % p.returncode)
    tx = sorted((e["sip"]["method"], e["sip"].get("code"), e["sip"]["end"]) for e in events
                if e["event_type"] == "sip")
    if tx != want_tx:
        errors.append("SIP transactions %r, expected %r" % (tx, want_tx))
    if any(e["sip"].get("call_id") != call_id for e in events if e["event_type"] == "sip"):
        errors.append("SIP of another call: %r" % sorted({e["sip"].get("call_id") for e in events
                                                          if e["event_type"] == "sip"}))
    return print_result(name, errors), len(errors)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--case", default="all", choices=["all"] + list(CASES))
    a = ap.parse_args()
    names = list(CASES) if a.case == "all" else [a.case]
    total = 0
    for n in names:
        total += check(a, n)[1]
    if len(names) > 1:
        print("%d problem(s)" % total)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
