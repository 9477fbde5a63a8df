#!/usr/bin/env python3
"""`-r -` reads the capture from standard input, pcap and pcapng alike, and
gives the same events (byte for byte), report and exit status as the file
read by name: redirected from the file (`< file`, seekable) and through a
pipe (`cat file |`, not seekable; `tcpdump -r file -w - |` too when
tcpdump is there). The pcapng is made from a lab pcap with editcap, and the
lab's mixed-link-type pcapng goes through our own reader the same way.
`-r -` twice, and an empty standard input, are refused with exit 2.
SIGTERM while it waits on a pipe left open ends the run as asked: the
file's report and exit status, no read error.
Usage: stdin_read.py --sensor BIN --src DIR"""
import argparse
import array
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import time


class Run:
    def __init__(self, args, tmp, tag, reads, stdin=None, pipe_from=None):
        self.ev = os.path.join(tmp, tag + ".jsonl")
        self.rep = os.path.join(tmp, tag + ".json")
        cmd = [args.sensor, "--rules", os.path.join(args.src, "rules"),
               "--inventory", os.path.join(args.src, "rules/inventory/lab.yaml"),
               "--geoip", os.path.join(args.src, "tests/data/lab-asn.mmdb"),
               "--events", self.ev, "--report", "json", "--report-file", self.rep]
        for r in reads:
            cmd += ["-r", r]
        feeder = None
        if pipe_from:
            feeder = subprocess.Popen(pipe_from, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL)
            stdin = feeder.stdout
        proc = subprocess.run(cmd, stdin=stdin, capture_output=True, text=True, timeout=120)
        if feeder:
            feeder.stdout.close()
            feeder.wait(timeout=60)
        self.rc, self.err = proc.returncode, proc.stderr

    def events(self):
        return open(self.ev, "rb").read() if os.path.exists(self.ev) else b""

    def report(self):
        return open(self.rep, "rb").read() if os.path.exists(self.rep) else b""


def blocked_reading(p):
    """True when the process has read everything written to its standard
    input (a pipe) and waits in read(0, ...)."""
    buf = array.array("i", [0])
    fcntl.ioctl(p.stdin.fileno(), termios.FIONREAD, buf)
    try:
        call = open("/proc/%d/syscall" % p.pid).read().split()
    except OSError:
        return False
    return buf[0] == 0 and len(call) > 1 and call[0] == "0" and int(call[1], 16) == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--src", required=True)
    args = ap.parse_args()
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        pcap = os.path.join(args.src, "pcaps", "lab-https-inside.pcap")
        made = os.path.join(tmp, "lab-https-inside.pcapng")
        subprocess.run(["editcap", "-F", "pcapng", pcap, made], check=True)
        mixed = os.path.join(args.src, "pcaps", "lab-https-mixed.pcapng")
        n = 0
        for cap in (pcap, made, mixed):
            name = os.path.basename(cap)
            with open(cap, "rb") as f:
                head = f.read(4)
            want_ng = name.endswith(".pcapng")
            if (head == b"\x0a\x0d\x0d\x0a") != want_ng:
                errors.append("%s: not the format its name says" % name)
            base = Run(args, tmp, "base%d" % n, [cap])
            if base.rc not in (0, 1, 3) or not base.events():
                errors.append("%s by name: exit %d, %d bytes of events: %s"
                              % (name, base.rc, len(base.events()), base.err[-400:]))
                continue
            ways = [("redirected", {"stdin": open(cap, "rb")}),
                    ("piped from cat", {"pipe_from": ["cat", cap]})]
            if shutil.which("tcpdump") and not want_ng:
                ways.append(("piped from tcpdump -w -",
                             {"pipe_from": ["tcpdump", "-r", cap, "-w", "-"]}))
            for how, kw in ways:
                n += 1
                before = len(errors)
                r = Run(args, tmp, "in%d" % n, ["-"], **kw)
                if "stdin" in kw:
                    kw["stdin"].close()
                what = "%s %s" % (name, how)
                if r.rc != base.rc:
                    errors.append("%s: exit %d, by name %d: %s" % (what, r.rc, base.rc, r.err[-400:]))
                if r.events() != base.events():
                    errors.append("%s: events differ from reading the file by name" % what)
                if r.report() != base.report():
                    errors.append("%s: report differs from reading the file by name" % what)
                print("%s: %s" % ("ok" if len(errors) == before else "FAIL", what))
            n += 1

        # A file then standard input: one capture, in that order, as two names.
        two = Run(args, tmp, "two-names", [pcap, made])
        with open(made, "rb") as f:
            mix = Run(args, tmp, "name-stdin", [pcap, "-"], stdin=f)
        if (mix.rc, mix.events(), mix.report()) != (two.rc, two.events(), two.report()):
            errors.append("-r FILE -r - differs from -r FILE -r FILE2 (exit %d/%d): %s"
                          % (mix.rc, two.rc, mix.err[-400:]))

        with open(pcap, "rb") as f:
            twice = Run(args, tmp, "twice", ["-", "-"], stdin=f)
        if twice.rc != 2 or "standard input can be read only once" not in twice.err:
            errors.append("-r - twice: exit %d: %s" % (twice.rc, twice.err[-400:]))

        with open(os.devnull, "rb") as f:
            empty = Run(args, tmp, "empty", ["-"], stdin=f)
        if empty.rc != 2 or "standard input: not a pcap or pcapng file (empty)" not in empty.err:
            errors.append("-r - with nothing on it: exit %d: %s" % (empty.rc, empty.err[-400:]))

        # SIGTERM while the sensor waits on a pipe that stays open: the end
        # asked for (events and report written, the verdict's exit status),
        # not a read error.
        base = Run(args, tmp, "term-base", [pcap])
        errf = os.path.join(tmp, "term.err")
        rep = os.path.join(tmp, "term.json")
        with open(errf, "w") as ef:
            p = subprocess.Popen([args.sensor, "--rules", os.path.join(args.src, "rules"),
                                  "--inventory", os.path.join(args.src, "rules/inventory/lab.yaml"),
                                  "--geoip", os.path.join(args.src, "tests/data/lab-asn.mmdb"),
                                  "-r", "-", "-v", "--report", "json", "--report-file", rep],
                                 stdin=subprocess.PIPE, stderr=ef, stdout=subprocess.DEVNULL)
        try:
            p.stdin.write(open(pcap, "rb").read())
            p.stdin.flush()
            # Until the sensor has read all there is and waits in read(2) on
            # standard input (its syscall, as /proc shows it; bounded).
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not blocked_reading(p):
                time.sleep(0.05)
            p.send_signal(signal.SIGTERM)
            rc = p.wait(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdin.close()
        err = open(errf).read()
        if rc != base.rc or "error" in err or "stopped by a signal" not in err:
            errors.append("SIGTERM on a pipe left open: exit %d (by name %d): %s" %
                          (rc, base.rc, err[-400:]))
        elif not os.path.exists(rep) or json.load(open(rep)) != json.loads(base.report()):
            errors.append("SIGTERM on a pipe left open: the report differs from the file's")
        else:
            print("ok: SIGTERM on a pipe left open ends the run cleanly")

    for e in errors:
        print("FAIL:", e)
    print("stdin_read: %d problem(s)" % len(errors))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
