#!/usr/bin/env python3
"""The collector's HTTP server: figures, never a test.

  tests/bench/collector_http.py --collector BIN --keygen BIN --src DIR [--events N]
                                [--args 'COLLECTOR OPTIONS']

  - /health latency while 64 clients send their request a byte a second,
    from 64 loopback addresses (each probe waits up to 90 s);
  - a big /api/events?limit=100000 over N stored events (default 100,000
    flow events written straight into the database): time, bytes, events
    returned and the collector's peak memory (VmHWM) before and after;
  - /health latency while 8 clients page through /api/events nonstop.
Works with any collector build (it passes no --http-* option of its own:
--args gives some, e.g. '--http-threads 1')."""
import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from collector_http import SlowClient, flow_event, trickle  # noqa: E402
from collector_lib import Lab  # noqa: E402


def status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def vm(pid, key):
    return status(pid, key) // 1024  # MiB


def timed_get(port, path, timeout):
    t = time.time()
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
            body = r.read()
        return time.time() - t, body
    except OSError as e:
        return None, str(e).encode()


def slow_health(lab):
    clients = [SlowClient(lab.http_port, "127.0.1.%d" % (i + 1)) for i in range(64)]
    stop = threading.Event()
    t = threading.Thread(target=trickle, args=(clients, stop), daemon=True)
    t.start()
    time.sleep(1.5)
    pid = lab.proc.pid
    held = "the collector with them: %d threads, %d MiB resident, %d MiB virtual" % (
        status(pid, "Threads"), vm(pid, "VmRSS"), vm(pid, "VmSize"))
    lat = []
    for _ in range(3):
        # Until it answers (a refused connection is tried again): how long.
        start, refused, err = time.time(), 0, ""
        while time.time() - start < 90:
            took, body = timed_get(lab.http_port, "/health", 90)
            if took is not None:
                break
            refused, err = refused + 1, body.decode()
            time.sleep(0.2)
        took = time.time() - start
        lat.append("%.3f s%s" % (took, " (%d refused: %s)" % (refused, err) if refused else ""))
    print("/health under 64 slow clients (64 addresses):", "; ".join(lat))
    print(held)
    stop.set()
    t.join()
    for c in clients:
        c.close()


def fill(lab, n):
    con = sqlite3.connect(lab.db)
    con.execute("PRAGMA synchronous=OFF")
    with con:
        con.executemany("INSERT INTO events(sensor, epoch, seq, type, site, ts, body) "
                        "VALUES('bench', '0bench', ?, 'flow', 'lab-branch', ?, ?)",
                        ((i, i, flow_event("bench", i)) for i in range(1, n + 1)))
    con.close()


def big_page(lab):
    """The big page, with /health probed every 50 ms meanwhile; then, if the
    answer was a bounded page, every page after it."""
    pid = lab.proc.pid
    rss0 = vm(pid, "VmRSS")
    probes, done = [], threading.Event()

    def probe():
        while not done.is_set():
            took, _ = timed_get(lab.http_port, "/health", 30)
            probes.append(took if took is not None else 30.0)
            time.sleep(0.05)
    t = threading.Thread(target=probe)
    t.start()
    took, body = timed_get(lab.http_port, "/api/events?limit=100000", 120)
    done.set()
    t.join()
    page = json.loads(body)
    print("/api/events?limit=100000: %d events, %.1f MB in %.2f s; collector memory: %d MiB "
          "before, peak %d MiB after; /health meanwhile: slowest %.3f s of %d" % (
              len(page["events"]), len(body) / 1e6, took, rss0, vm(pid, "VmHWM"),
              max(probes), len(probes)))
    if page.get("next") is None:
        return
    n, pages, size, start = len(page["events"]), 1, len(body), time.time()
    while page.get("next"):
        _, body = timed_get(lab.http_port, "/api/events?limit=1000&before=%d" % page["next"], 30)
        page = json.loads(body)
        n, pages, size = n + len(page["events"]), pages + 1, size + len(body)
    print("every page after it: %d events in %d pages, %.1f MB in %.2f s; collector peak "
          "memory %d MiB" % (n, pages, size / 1e6, time.time() - start, vm(pid, "VmHWM")))


def busy_health(lab, seconds=5.0, readers=8):
    """/health every 50 ms while `readers` clients read pages nonstop."""
    done, probes = threading.Event(), []

    def reader():
        while not done.is_set():
            timed_get(lab.http_port, "/api/events?limit=1000", 30)
    threads = [threading.Thread(target=reader) for _ in range(readers)]
    for t in threads:
        t.start()
    end = time.time() + seconds
    while time.time() < end:
        took, _ = timed_get(lab.http_port, "/health", 30)
        probes.append(took if took is not None else 30.0)
        time.sleep(0.05)
    done.set()
    for t in threads:
        t.join()
    probes.sort()
    print("/health while %d clients read pages nonstop: median %.3f s, slowest %.3f s of %d" % (
        readers, probes[len(probes) // 2], probes[-1], len(probes)))


def main():
    ap = argparse.ArgumentParser()
    for k in ("collector", "keygen", "src"):
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--events", type=int, default=100000)
    ap.add_argument("--args", default="")
    a = ap.parse_args()
    a.sensor = a.ztool = None
    tmp = tempfile.mkdtemp(prefix="pinhole-hbench-")
    lab = Lab(a, tmp)
    try:
        lab.start(["--sync", "normal"] + a.args.split())
        slow_health(lab)
        lab.stop()
        fill(lab, a.events)
        lab.start(["--sync", "normal", "--max-events", str(max(a.events, 1000))] + a.args.split())
        big_page(lab)
        busy_health(lab)
    finally:
        lab.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
