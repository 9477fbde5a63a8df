"""Runs pinhole-sensor on lab captures with the lab inventory; shared by the
integration tests. Returns (process, events, JSON report)."""
import json
import os
import subprocess
import tempfile

import event_schema


def run_sensor(sensor, src, captures, extra=(), geo=False):
    with tempfile.TemporaryDirectory() as tmp:
        ev, rep = os.path.join(tmp, "ev.jsonl"), os.path.join(tmp, "report.json")
        cmd = [sensor, "--rules", os.path.join(src, "rules"),
               "--inventory", os.path.join(src, "rules/inventory/lab.yaml"),
               "--events", ev, "--report", "json", "--report-file", rep] + list(extra)
        for c in captures:
            cmd += ["--read", os.path.join(src, "pcaps", c)]
        if geo:
            cmd += ["--geoip", os.path.join(src, "tests/data/lab-asn.mmdb")]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        events = [json.loads(line) for line in open(ev)]
        event_schema.check(events, "events of %s" % " ".join(captures))
        report = json.load(open(rep))
    return proc, events, report


def print_result(name, errors):
    for e in errors:
        print("FAIL:", e)
    print("%s: %d problem(s)" % (name, len(errors)))
    return 1 if errors else 0
