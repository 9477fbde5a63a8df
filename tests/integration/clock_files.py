#!/usr/bin/env python3
"""The packet clock and the events file, offline.

- One packet dated ten years ahead does not move the clock: it is counted
  (stats.clock_jump), taken as dated now, and flows that go idle after it
  are still expired during the run (stats.flows.expired), not all at the end.
- A real gap (two packets agreeing on a new time) moves it: clock_step.
- A packet dated after 2038 keeps its 64-bit time (pcapng).
- kill -9 at any moment leaves whole JSON lines in the events file but
  for a last one it may cut (write(2) stops between pages); the next run
  cuts that back to the last whole line, says so, and appends.
Usage: clock_files.py --sensor BIN --gen GEN --src DIR"""
import argparse
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time
from event_schema import flat
import event_schema  # noqa: E402

T0 = 1_700_000_000  # 2023-11-14


def udp_frame(src_last, dst_last, sport, dport, payload=b"x" * 20):
    ip_src = bytes([192, 168, 50, src_last])
    ip_dst = bytes([203, 0, 113, dst_last])
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    total = 20 + len(udp)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, 0, 64, 17, 0, ip_src, ip_dst)
    csum = sum(struct.unpack("!10H", hdr))
    csum = (csum & 0xFFFF) + (csum >> 16)
    csum = ~((csum & 0xFFFF) + (csum >> 16)) & 0xFFFF
    hdr = hdr[:10] + struct.pack("!H", csum) + hdr[12:]
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + hdr + udp


def write_pcap(path, packets):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, frame in packets:
            f.write(struct.pack("<IIII", int(ts), int((ts % 1) * 1e6), len(frame), len(frame)))
            f.write(frame)


def write_pcapng(path, packets):
    """Microsecond pcapng (64-bit timestamps)."""
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)
    with open(path, "wb") as f:
        f.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
        f.write(block(1, struct.pack("<HHI", 1, 0, 65535)))
        for ts, frame in packets:
            us = int(ts * 1_000_000)
            f.write(block(6, struct.pack("<IIIII", 0, us >> 32, us & 0xFFFFFFFF,
                                         len(frame), len(frame)) + frame))


def run(args, capture, extra=(), events=None):
    tmp = os.path.dirname(capture)
    ev = events or os.path.join(tmp, "ev.jsonl")
    if not events and os.path.exists(ev):
        os.unlink(ev)
    cmd = [args.sensor, "--rules", os.path.join(args.src, "rules"),
           "--inventory", os.path.join(args.src, "rules/inventory/lab.yaml"),
           "--read", capture, "--events", ev, "--report", "none",
           "--idle-timeout", "120"] + list(extra)
    subprocess.run(cmd, capture_output=True, timeout=120)
    events = [json.loads(line) for line in open(ev)]
    event_schema.check(events, "events of %s" % ev)
    return events


def stats(events):
    return flat([e for e in events if e["event_type"] == "stats"][-1])["stats"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--src", required=True)
    args = ap.parse_args()
    errors = []

    def check(name, ok, detail=""):
        print(("ok: " if ok else "FAIL: ") + name + (" (%s)" % detail if detail else ""))
        if not ok:
            errors.append(name)

    with tempfile.TemporaryDirectory() as tmp:
        # Forty one-packet flows 10 s apart (400 s), an odd packet after the
        # first: with a 120 s idle timeout most flows expire during the run.
        pkts = [(T0, udp_frame(10, 40, 40000, 9000))]
        pkts.append((T0 + 10 * 365 * 86400, udp_frame(10, 40, 40001, 9001)))
        for i in range(40):
            pkts.append((T0 + 2 + 10 * i, udp_frame(10, 40, 41000 + i, 9100 + i)))
        odd = os.path.join(tmp, "odd.pcap")
        write_pcap(odd, pkts)
        ev = run(args, odd)
        st = stats(ev)
        check("one odd packet is counted as clock_jump", st["clock_jump"] == 1, st["clock_jump"])
        check("and moves no clock: flows still expire during the run",
              st["flows"]["expired"] >= 25, "expired %d, flushed %d" %
              (st["flows"]["expired"], st["flows"]["flushed"]))
        oddflow = [e for e in map(flat, ev) if e["event_type"] == "flow" and e.get("src_port") == 40001]
        check("the odd packet's flow is dated by the clock, not ten years ahead",
              len(oddflow) == 1 and oddflow[0]["timestamp"].startswith("2023-"),
              oddflow[0]["timestamp"] if oddflow else "no flow")

        # A real jump: two packets agree on the new time.
        pkts = [(T0 + i, udp_frame(10, 40, 42000 + i, 9000)) for i in range(3)]
        pkts += [(T0 + 3600 + i, udp_frame(10, 40, 43000 + i, 9000)) for i in range(3)]
        step = os.path.join(tmp, "step.pcap")
        write_pcap(step, pkts)
        st = stats(run(args, step))
        check("a confirmed gap moves the clock (clock_step), not counted as odd",
              st["clock_step"] == 1 and st["clock_jump"] == 0,
              "step %d jump %d" % (st["clock_step"], st["clock_jump"]))

        # After 2038 (64-bit seconds): pcapng carries it, and so do events.
        t2040 = 2_210_000_000  # 2040-01-12
        late = os.path.join(tmp, "late.pcapng")
        write_pcapng(late, [(t2040 + i * 0.5, udp_frame(10, 40, 44000, 9000)) for i in range(4)])
        ev = run(args, late)
        fl = [e for e in map(flat, ev) if e["event_type"] == "flow"]
        check("a 2040 timestamp stays 2040 in the events",
              len(fl) == 1 and fl[0]["timestamp"].startswith("2040-"),
              fl[0]["timestamp"] if fl else "no flow")

        # kill -9 mid-run: whole lines, but for a last one the kill may
        # cut (write(2) stops between pages of the file); the next run
        # cuts that back to the last whole line and appends after it.
        big = os.path.join(tmp, "big.pcap")
        subprocess.run([args.gen, "flows", big, "200000", "2"], check=True,
                       capture_output=True, timeout=120)
        evf = os.path.join(tmp, "killed.jsonl")
        bad, cut = 0, 0
        sizes, prefix_kept, mended_said = [], True, True
        whole = b""  # the file's whole lines after the last run
        for extra in (0.0, 0.3, 0.7, None):  # None: the last run ends on its own
            cmd = [args.sensor, "--rules", os.path.join(args.src, "rules"),
                   "--inventory", os.path.join(args.src, "rules/inventory/lab.yaml"),
                   "--read", big, "--events", evf, "--report", "none",
                   "--max-flows", "4096"]
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if extra is not None:
                # Killed mid-run: once this run has written something (bounded wait).
                deadline = time.time() + 60
                while time.time() < deadline and p.poll() is None and \
                        (os.path.getsize(evf) if os.path.exists(evf) else 0) <= len(whole) + 1:
                    time.sleep(0.05)
                time.sleep(extra)
                p.send_signal(signal.SIGKILL)
            err = p.communicate(timeout=300)[1].decode(errors="replace")
            data = open(evf, "rb").read() if os.path.exists(evf) else b""
            sizes.append(len(data))
            was_cut = sizes[-2] if len(sizes) > 1 else 0
            mended_said = mended_said and (("stopped mid-line" in err) == (was_cut > len(whole)))
            prefix_kept = prefix_kept and data.startswith(whole) and len(data) > len(whole)
            lines = data.split(b"\n")
            tail = lines.pop()  # after the last newline: b"" unless cut
            cut += tail != b""
            if extra is None and tail:
                bad += 1  # a run that ended leaves no cut line
            for line in lines:
                try:
                    json.loads(line)
                except ValueError:
                    bad += 1
            whole = data[:len(data) - len(tail)]
        print("measured: events file after each kill -9 and a last run: %s bytes; %d cut "
              "line(s) mended by the next run" % (sizes, cut))
        check("kill -9 leaves whole lines but a cut last one, mended by the next run", bad == 0,
              "%d bad" % bad)
        check("each run appended to the file, keeping the last one's whole lines", prefix_kept,
              sizes)
        check("a cut line mended is said (and only then)", mended_said, sizes)
        # The mend itself, whatever the kills above hit: a file left with a
        # cut last line is cut back to its whole lines by the next run.
        mend = os.path.join(tmp, "cut.jsonl")
        with open(mend, "wb") as f:
            f.write(b'{"kept":1}\n{"kept":2}\n{"event_type":"flow","sch')
        p = subprocess.run([args.sensor, "--rules", os.path.join(args.src, "rules"),
                            "--inventory", os.path.join(args.src, "rules/inventory/lab.yaml"),
                            "--read", step, "--events", mend, "--report", "none"],
                           capture_output=True, timeout=120)
        data = open(mend, "rb").read()
        lines = data.split(b"\n")
        ok = data.startswith(b'{"kept":1}\n{"kept":2}\n{"') and lines.pop() == b""
        for line in lines:
            try:
                json.loads(line)
            except ValueError:
                ok = False
        check("a cut last line is removed by the next run, which says so",
              ok and b"25 bytes of a cut line removed" in p.stderr, p.stderr.decode()[-300:])

    print("%d passed, %d failed" % (9 - len(errors), len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
