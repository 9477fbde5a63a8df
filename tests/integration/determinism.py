#!/usr/bin/env python3
"""The same capture gives the same event file byte for byte, run after run,
although every run hashes its tables under a new random key (common/hash.h):
nothing may come out in hash-table order. Every lab capture, and the public
captures of ../shared/pcaps/public when present.
Usage: determinism.py --sensor BIN --src DIR"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile


def events(args, capture, tmp, i):
    ev = os.path.join(tmp, "ev%d.jsonl" % i)
    if os.path.exists(ev):
        os.unlink(ev)
    subprocess.run([args.sensor, "--rules", os.path.join(args.src, "rules"),
                    "--inventory", os.path.join(args.src, "rules/inventory/lab.yaml"),
                    "--geoip", os.path.join(args.src, "tests/data/lab-asn.mmdb"),
                    "--read", capture, "--events", ev, "--report", "none"],
                   capture_output=True, timeout=300)
    return open(ev, "rb").read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--src", required=True)
    args = ap.parse_args()
    caps = sorted(glob.glob(os.path.join(args.src, "pcaps", "*.pcap*")))
    public = os.path.join(args.src, "..", "shared", "pcaps", "public")
    caps += sorted(glob.glob(os.path.join(public, "*.pcap*")))
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for c in caps:
            a, b = events(args, c, tmp, 1), events(args, c, tmp, 2)
            same = a == b and len(a) > 0
            print("%s: %s (%d bytes)" % ("ok" if same else "FAIL", os.path.basename(c), len(a)))
            bad += not same
    print("%d passed, %d failed" % (len(caps) - bad, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
