#!/usr/bin/env python3
"""--ndpi-protocols LIST: only those nDPI dissectors run, with the sensor's
own (TLS, QUIC, DTLS, HTTP: the server name, the Host, https_only) and the
inventory's apps; narrowing may rename flows (Unknown) and must never change
a judgement:

- on every lab capture (and the public captures when ../shared is there),
  `--ndpi-protocols SIP` gives the same events but for `app_proto`, the
  same report but for the applications it shows, and the same exit status
  as every dissector; and some flows are named otherwise (the option has an
  effect);
- an inventory app outside the list is dissected all the same: named as
  with every dissector, and the role bound by it is found;
- names nDPI does not know, an empty name and an overlong one are refused
  with exit 2, naming what is wrong;
- SIGHUP (read from a pipe, `-r -`): an inventory that names an app outside
  what runs is refused and the rules in force kept; one within it is taken.
Usage: ndpi_protocols.py --sensor BIN --src DIR"""
import argparse
import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import public_pcaps  # noqa: E402


def run(a, cap, inv, extra, tmp, tag):
    ev = os.path.join(tmp, tag + ".jsonl")
    rep = os.path.join(tmp, tag + ".json")
    cmd = [a.sensor, "--rules", os.path.join(a.src, "rules"), "--inventory", inv,
           "--geoip", os.path.join(a.src, "tests/data/lab-asn.mmdb"),
           "-r", cap, "--events", ev, "--report", "json", "--report-file", rep] + extra
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    events = [json.loads(line) for line in open(ev)] if os.path.exists(ev) else []
    report = json.load(open(rep)) if os.path.exists(rep) else None
    return p.returncode, p.stderr, events, report


def strip_apps(o):
    """The report without the applications it shows (in groups, and in the
    examples' text)."""
    if isinstance(o, dict):
        return {k: strip_apps(v) for k, v in o.items()
                if k not in ("app", "app_proto", "example")}
    if isinstance(o, list):
        return [strip_apps(v) for v in o]
    return o


def flow_key(e):
    return (e.get("src_ip"), e.get("src_port"), e.get("dest_ip"), e.get("dest_port"),
            e.get("proto"), e.get("flow", {}).get("start"))


def compare(a, cap, inv, tmp, errors):
    """Returns the number of flows named otherwise with SIP alone."""
    rc1, err1, ev1, rep1 = run(a, cap, inv, [], tmp, "all")
    rc2, err2, ev2, rep2 = run(a, cap, inv, ["--ndpi-protocols", "SIP"], tmp, "sip")
    name = os.path.basename(cap)
    if rc1 != rc2:
        errors.append("%s: exit %d with every dissector, %d with SIP alone: %s" %
                      (name, rc1, rc2, err2[-300:]))
    renamed = 0
    apps1 = {flow_key(e): e.get("app_proto") for e in ev1 if e["event_type"] == "flow"}
    for e in ev2:
        if e["event_type"] == "flow" and apps1.get(flow_key(e), e.get("app_proto")) != \
                e.get("app_proto"):
            renamed += 1

    def norm(evs):
        out = []
        for e in evs:
            e = dict(e)
            e.pop("app_proto", None)
            if e["event_type"] == "stats":  # nDPI's own counters differ, of course
                e["stats"]["pinhole"].pop("ndpi", None)
            out.append(json.dumps(e, sort_keys=True))
        return sorted(out)
    n1, n2 = norm(ev1), norm(ev2)
    if n1 != n2:
        only1 = [x[:300] for x in n1 if x not in n2][:2]
        only2 = [x[:300] for x in n2 if x not in n1][:2]
        errors.append("%s: events differ beyond app_proto: %s | %s" % (name, only1, only2))
    if strip_apps(rep1) != strip_apps(rep2):
        errors.append("%s: the report differs beyond the applications it shows" % name)
    return renamed


def with_app(inv, app):
    """The lab inventory with the role pbx_service also bound by nDPI's app."""
    old = "  pbx_service:\n    cidrs: [203.0.113.40]\n"
    assert old in inv
    return inv.replace(old, "  pbx_service:\n    - cidrs: [203.0.113.40]\n    - apps: [%s]\n"
                       % app)


def refused(a, inv, value, want, tmp, errors):
    rc, err, _, _ = run(a, os.path.join(a.src, "pcaps/lab-dns.pcap"), inv,
                        ["--ndpi-protocols", value], tmp, "bad")
    if rc != 2 or want not in err:
        errors.append("--ndpi-protocols %r: exit %d, %r (expected 2 and %r)" %
                      (value, rc, err.strip()[-200:], want))


def reload_case(a, tmp, errors):
    """SIGHUP while reading a pipe: an inventory naming an app outside the
    list is refused, one within it is taken."""
    src_inv = os.path.join(a.src, "rules/inventory/lab.yaml")
    base = open(src_inv).read()
    inv = os.path.join(tmp, "reload.yaml")
    cap = open(os.path.join(a.src, "pcaps/lab-sip-twoway-inside.pcap"), "rb").read()
    cases = (("NTP", "an app of the inventory, 'NTP', is not among the protocols nDPI "
                     "dissects (--ndpi-protocols)"),
             ("SIP", "rules and inventory reloaded"))
    for app, want in cases:
        open(inv, "w").write(base)
        errf = os.path.join(tmp, "reload.err")
        with open(errf, "w") as ef:
            p = subprocess.Popen([a.sensor, "--rules", os.path.join(a.src, "rules"),
                                  "--inventory", inv, "--geoip",
                                  os.path.join(a.src, "tests/data/lab-asn.mmdb"),
                                  "--ndpi-protocols", "SIP,RTP", "-r", "-", "--report", "none",
                                  "-v"],
                                 stdin=subprocess.PIPE, stderr=ef, stdout=subprocess.DEVNULL)
        try:
            half = 24 + (len(cap) - 24) // 2
            # The first half: a pcap header and whole records up to about half.
            off, cut = 24, 24
            while off + 16 <= len(cap):
                n = int.from_bytes(cap[off + 8:off + 12], "little")
                if off + 16 + n > half:
                    break
                off += 16 + n
                cut = off
            p.stdin.write(cap[:cut])
            p.stdin.flush()
            # Its signal handlers are set once it reads (bounded: start-up).
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and \
                    "standard input: reading" not in open(errf).read():
                time.sleep(0.05)
            open(inv, "w").write(with_app(base, app))
            p.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and "SIGHUP" not in open(errf).read():
                # Packets let the sensor see the signal; the rest of the capture.
                if cut < len(cap):
                    p.stdin.write(cap[cut:])
                    p.stdin.flush()
                    cut = len(cap)
                time.sleep(0.1)
            p.stdin.close()
            p.wait(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        text = open(errf).read()
        if want not in text:
            errors.append("SIGHUP with apps [%s]: %r not in %r" % (app, want, text[-400:]))
        if app == "NTP" and "the rules in force are kept" not in text:
            errors.append("SIGHUP with apps [NTP]: the rules in force not kept: %r" % text[-400:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--src", required=True)
    a = ap.parse_args()
    lab = os.path.join(a.src, "rules/inventory/lab.yaml")
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        renamed = 0
        caps = sorted(glob.glob(os.path.join(a.src, "pcaps", "*.pcap*")))
        for c in caps:
            renamed += compare(a, c, lab, tmp, errors)
        print("lab captures: %d compared, %d flows named otherwise with SIP alone" %
              (len(caps), renamed))
        if renamed == 0:
            errors.append("no flow of the lab captures was named otherwise with SIP alone: "
                          "--ndpi-protocols had no effect")
        pub = os.path.join(a.src, "..", "shared", "pcaps", "public")
        if os.path.isdir(pub):
            inv = os.path.join(tmp, "public.yaml")
            open(inv, "w").write(public_pcaps.INVENTORY)
            pcaps = sorted(glob.glob(os.path.join(pub, "*.pcap*")))
            n = sum(compare(a, c, inv, tmp, errors) for c in pcaps)
            print("public captures: %d compared, %d flows named otherwise" % (len(pcaps), n))
        else:
            print("../shared/pcaps/public absent: public captures skipped")

        # An inventory app outside the list still runs: DNS names the lab's
        # DNS flows, and binds a role by it.
        inv = os.path.join(tmp, "dns.yaml")
        open(inv, "w").write(with_app(open(lab).read(), "DNS"))
        cap = os.path.join(a.src, "pcaps/lab-dns.pcap")
        _, _, ev1, _ = run(a, cap, inv, [], tmp, "dns-all")
        rc, err, ev2, _ = run(a, cap, inv, ["--ndpi-protocols", "SIP", "-v"], tmp, "dns-sip")
        if "nDPI dissects only SIP," not in err or ",DNS" not in err:
            errors.append("the inventory's app DNS is not in what runs: %r" % err[-400:])
        named = [e for e in ev1 if e["event_type"] == "flow" and e.get("app_proto") == "DNS"]
        if not named:
            errors.append("lab-dns.pcap: no flow named DNS with every dissector")
        apps2 = {flow_key(e): e for e in ev2 if e["event_type"] == "flow"}
        for e in named:
            o = apps2.get(flow_key(e))
            if not o or o.get("app_proto") != "DNS" or o.get("pinhole") != e.get("pinhole"):
                errors.append("lab-dns.pcap: a DNS flow with SIP and the inventory's DNS: %r, "
                              "with every dissector %r" % (o, e))
                break
        print("inventory app DNS: %d DNS flows named and bound as with every dissector" %
              len(named))

        want = "is not a protocol nDPI knows"
        refused(a, lab, "SIP,Foo", "--ndpi-protocols: 'Foo' " + want, tmp, errors)
        refused(a, lab, "SIP,,RTP", "--ndpi-protocols: '' " + want, tmp, errors)
        refused(a, lab, "x" * 100, want, tmp, errors)
        rc, _, _, _ = run(a, os.path.join(a.src, "pcaps/lab-dns.pcap"), lab,
                          ["--ndpi-protocols", "all"], tmp, "allword")
        if rc == 2:
            errors.append("--ndpi-protocols all refused")
        print("bad lists refused")

        reload_case(a, tmp, errors)
        print("SIGHUP: an app outside the list refused, one within it taken")
    for e in errors:
        print("FAIL:", e)
    print("ndpi_protocols: %d problem(s)" % len(errors))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
