#!/usr/bin/env python3
"""True-copy de-duplication (docs/verdicts.md, "Duplicates").

gen_pcap lookalike writes one UDP flow of distinct packets 5 us apart that
share IP id, IP and UDP checksums, lengths and the first 32 payload bytes
(they differ in payload bytes 32-35): every one must be kept. With "copied",
each is followed 2 us later by a true copy (TTL one lower, IP checksum
fixed): exactly the copies are dropped. With --no-dedup the copies are
counted as packets of the flow."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

from sensor_run import print_result
from event_schema import flat
import event_schema  # noqa: E402

PACKETS = 10000


def run(a, tmp, kind, extra=()):
    pcap = os.path.join(tmp, kind + ".pcap")
    subprocess.run([a.gen, "lookalike", pcap, str(PACKETS), kind], check=True)
    ev = os.path.join(tmp, kind + "".join(extra) + ".jsonl")  # a failed run leaves none
    proc = subprocess.run([a.sensor, "--rules", os.path.join(a.src, "rules"),
                           "--inventory", os.path.join(a.src, "tests/bench/inventory.yaml"),
                           "--read", pcap, "--events", ev, "--report", "none", "-v"] + list(extra),
                          capture_output=True, text=True, timeout=120)
    if proc.returncode == 2:
        sys.exit("sensor failed: %s" % proc.stderr)
    events = [json.loads(line) for line in open(ev)]
    event_schema.check(events, "events of %s" % ev)
    stats = flat([e for e in events if e["event_type"] == "stats"][0])["stats"]
    flows = [e for e in map(flat, events) if e["event_type"] == "flow"]
    return proc, stats, flows


def check(name, got, want):
    return [] if got == want else ["%s: %r, expected %r" % (name, got, want)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--src", required=True)
    a = ap.parse_args()
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        # Look-alikes only: none is a copy.
        _, st, fl = run(a, tmp, "alone")
        errors += check("look-alikes: packets", st["packets"], PACKETS)
        errors += check("look-alikes: duplicates", st["duplicates"], 0)
        errors += check("look-alikes: flows", len(fl), 1)
        errors += check("look-alikes: packets of the flow",
                        fl[0]["flow"]["pkts_toserver"] if fl else None, PACKETS)
        # Each followed by its router-side copy: the copies go, nothing else.
        proc, st, fl = run(a, tmp, "copied")
        errors += check("copies: packets", st["packets"], 2 * PACKETS)
        errors += check("copies: duplicates", st["duplicates"], PACKETS)
        errors += check("copies: packets of the flow",
                        fl[0]["flow"]["pkts_toserver"] if fl else None, PACKETS)
        errors += check("copies: flow.duplicates",
                        fl[0]["flow"].get("duplicates") if fl else None, PACKETS)
        errors += check("config line says dedup on", "dedup on," in proc.stderr, True)
        # --no-dedup: the copies are packets like the others.
        proc, st, fl = run(a, tmp, "copied", ["--no-dedup"])
        errors += check("--no-dedup: duplicates", st["duplicates"], 0)
        errors += check("--no-dedup: packets of the flow",
                        fl[0]["flow"]["pkts_toserver"] if fl else None, 2 * PACKETS)
        errors += check("config line says dedup off", "dedup off," in proc.stderr, True)
    return print_result("dedup", errors)


if __name__ == "__main__":
    sys.exit(main())
