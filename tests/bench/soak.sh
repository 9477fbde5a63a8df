#!/usr/bin/env bash
# Soak benchmark of live capture (prints figures; never a test). Root.
#   tests/bench/soak.sh BUILD_DIR [--rate PPS | --mbps N | --topspeed] [--seconds N]
#       [--pcap FILE --inventory FILE] [--sample S] [--warmup S] [--idle-timeout S]
#       [--find-max] [--workers N]
# Two network namespaces made here, joined by a veth: tcpreplay loops a
# capture out of one end (--duration bounds it), pinhole-sensor captures the
# other (--interface, --events to a temporary file, --report none) and is
# ended with SIGINT. Every S seconds (default 10) a row: the sensor's RSS
# (and its anonymous part: RSS less the mmap'ed capture ring, about 84 MB,
# and the binary) and CPU (one core = 100%), events written in the interval, packets per
# second sent and received on the veth, time the sensor / tcpreplay waited
# for a CPU (runnable, not running: /proc/PID/schedstat; other work on the
# machine), kernel drops so far (the sensor's own stats events'
# capture.kernel_drops / kernel_ifdrops, the veth's dropped
# counters, the backlog drops of /proc/net/softnet_stat). Then a summary:
# what tcpreplay sent, what the sensor received and dropped (its "N packets
# received, M dropped by the kernel" at the end), RSS after warm-up, events
# per minute, mean CPU.
# Default capture: `pinhole-gen-pcap site` (200 two-way calls with their SIP
# signalling, TLS and DNS flows; 30 s, about 20.8 kpps at its own timing)
# against an inventory written here, so every flow is judged. Default rate:
# the capture's own timing; --rate replays at PPS packets per second.
# A looped capture repeats its flows' 5-tuples: with the sensor's default
# idle timeout (120 s) a flow would never end, so nothing would be judged
# after the first loop. The sensor runs with --idle-timeout S (default 10 s,
# or half a loop at --rate when that is shorter, at least 1 s): each loop's
# short flows end, are judged and written, and come back as new flows.
# --workers N: the sensor runs with --workers N (default 1).
# --find-max: short runs (--seconds, default 20) from --rate (default
# 20000 pps) doubling, then halving the interval, to the highest rate
# replayed with no drop anywhere; it says when tcpreplay, not the sensor, is
# what cannot go faster.
# All traffic stays on the veth between the two namespaces, which are
# removed at the end (the replayed addresses are nobody's: the receiving
# end has no address and drops them after the capture tap).
set -euo pipefail
B=$(realpath "$1"); shift
SRC=$(realpath "$(dirname "$0")/../..")
SENSOR=$B/sensor/pinhole-sensor GEN=$B/tests/bench/pinhole-gen-pcap
RATE="" MBPS="" TOP=0 SECONDS_RUN="" PCAP="" INV="" SAMPLE=10 WARMUP="" FIND=0 IDLE="" WORKERS=1
while [ $# -gt 0 ]; do
    case $1 in
        --rate) RATE=$2; shift 2 ;;
        --mbps) MBPS=$2; shift 2 ;;
        --topspeed) TOP=1; shift ;;
        --seconds) SECONDS_RUN=$2; shift 2 ;;
        --pcap) PCAP=$(realpath "$2"); shift 2 ;;
        --inventory) INV=$(realpath "$2"); shift 2 ;;
        --sample) SAMPLE=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --idle-timeout) IDLE=$2; shift 2 ;;
        --find-max) FIND=1; shift ;;
        --workers) WORKERS=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "soak.sh needs root (namespaces)" >&2; exit 2; }
command -v tcpreplay >/dev/null || { echo "soak.sh needs tcpreplay" >&2; exit 2; }
[ -n "$PCAP" ] && [ -z "$INV" ] && { echo "--pcap needs --inventory (its sites)" >&2; exit 2; }
[ -n "$SECONDS_RUN" ] || { [ $FIND -eq 1 ] && SECONDS_RUN=20 || SECONDS_RUN=180; }
[ -n "$WARMUP" ] || WARMUP=$(( SECONDS_RUN >= 90 ? 30 : SECONDS_RUN / 3 ))

TX=ph-soak-tx RX=ph-soak-rx TXIF=soak0 RXIF=soak1
T=$(mktemp -d /tmp/pinhole-soak.XXXXXX)
SENSOR_PID="" REPLAY_PID=""
cleanup() {
    for p in $SENSOR_PID $REPLAY_PID; do kill -9 "$p" 2>/dev/null || true; done
    for ns in $TX $RX; do
        ip netns pids $ns 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del $ns 2>/dev/null || true
    done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for ns in $TX $RX; do ip netns del $ns 2>/dev/null || true; done
ip netns add $TX; ip netns add $RX
for ns in $TX $RX; do
    ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add $TXIF netns $TX type veth peer name $RXIF netns $RX
ip -n $TX link set $TXIF up; ip -n $RX link set $RXIF up
for x in "$TX $TXIF" "$RX $RXIF"; do
    set -- $x
    ip netns exec "$1" ethtool -K "$2" gro off gso off tso off tx off rx off >/dev/null 2>&1 || true
done

if [ -z "$PCAP" ]; then
    PCAP=$T/site.pcap INV=$T/inventory.yaml
    "$GEN" site "$PCAP" 30 200
    cat >"$INV" <<'YAML'
# The addresses of `pinhole-gen-pcap site`: phones 10.0.1.0/24 calling
# through outbound proxies 198.18.0.16/29 (SIP to 5065, RTP both ways), device
# endpoints 10.0.2.0/24 fetching from dm.soak.example on 198.18.1.0/24:443,
# DNS to 10.0.0.1 (no rule: unexpected).
sensor: soak
sites:
  - name: soak-site
    cidrs: [10.0.0.0/8]
    roles:
      phone: [10.0.1.0/24]
      endpoint: [10.0.2.0/24]
roles:
  outbound_proxy:
    cidrs: [198.18.0.16/29]
  device_manager:
    - hosts: [dm.soak.example]
    - cidrs: [198.18.1.0/24]
  # Roles of the rules the capture does not exercise: bound to TEST-NET
  # addresses nothing uses (every role a rule needs must be bound).
  waf:
    cidrs: [192.0.2.1/32]
  blob:
    hosts: ["*.blob.core.windows.net"]
  pbx_service:
    cidrs: [192.0.2.2/32]
YAML
fi

cat >"$T/soak.py" <<'PY'
import json, os, re, subprocess, sys, time

HZ = os.sysconf("SC_CLK_TCK")
DROP = re.compile(rb'"kernel_(?:if)?drops":\s*(\d+)')  # stats.capture (docs/events.md)

def cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # utime, stime

def runq_ns(pid):
    """Time spent runnable but waiting for a CPU (the machine's contention)."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[1])
    except OSError:
        return None

def rss_kb(pid, key="VmRSS:"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return None

def link(ns, dev):
    out = subprocess.run(["ip", "-n", ns, "-j", "-s", "link", "show", "dev", dev],
                         capture_output=True, text=True).stdout
    st = json.loads(out)[0]["stats64"]
    return st["rx"], st["tx"]

def softnet_drops():
    with open("/proc/net/softnet_stat") as f:
        return sum(int(l.split()[1], 16) for l in f)

def alive(pid):
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False

def descendant(pid, name):
    """The process called `name` at or under pid (tcpreplay under timeout)."""
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            if open(f"/proc/{p}/comm").read().strip() == name:
                return p
            for t in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in open(f"/proc/{p}/task/{t}/children").read().split()]
        except OSError:
            pass
    return None

def sample(a):
    spid, rpid, events, every, tx, txif, rx, rxif, state, quiet = a
    spid, rpid, every = int(spid), int(rpid), float(every)
    for _ in range(50):
        tpid = descendant(rpid, "tcpreplay")
        if tpid:
            break
        time.sleep(0.02)
    tpid = tpid or rpid
    events_pos = lines = stats_drop = 0
    have_stats_drop = False
    # The clock starts with the replay's first packet (after its preload).
    sn0 = softnet_drops()
    _, ltx0 = link(tx, txif); lrx0, _ = link(rx, rxif)
    for _ in range(600):
        if link(tx, txif)[1]["packets"] > ltx0["packets"] or not alive(rpid):
            break
        time.sleep(0.1)
    t0 = time.monotonic()
    c0 = cpu_ticks(spid); rc0 = cpu_ticks(tpid) or 0
    q0 = runq_ns(spid) or 0; rq0 = runq_ns(tpid) or 0
    q_prev, rq_prev = q0, rq0
    prev = (t0, c0, rc0, ltx0["packets"], lrx0["packets"])
    rows = []
    if quiet != "1":
        print(f"{'t s':>5} {'RSS MB':>7} {'anon MB':>7} {'CPU %':>6} {'replay %':>8} {'waits %':>9} {'sent pps':>9} "
              f"{'recv pps':>9} {'events':>7} {'ev/int':>7} {'sensor drop':>11} "
              f"{'veth drop':>9} {'backlog drop':>12}", flush=True)
    while alive(rpid) and alive(spid):
        deadline = prev[0] + every
        while time.monotonic() < deadline and alive(rpid):
            time.sleep(0.2)
        now = time.monotonic()
        c = cpu_ticks(spid); rc = cpu_ticks(tpid)
        r = rss_kb(spid)
        anon = rss_kb(spid, "RssAnon:") or 0
        if c is None or r is None:
            break
        if rc is None:
            rc = prev[2]
        q = runq_ns(spid) or q_prev
        rq = runq_ns(tpid) or rq_prev
        _, ltx = link(tx, txif); lrx, _ = link(rx, rxif)
        try:
            with open(events, "rb") as f:
                f.seek(events_pos)
                chunk = f.read()
        except OSError:
            chunk = b""
        cut = chunk.rfind(b"\n") + 1
        events_pos += cut
        new = chunk[:cut].count(b"\n")
        lines += new
        for line in chunk[:cut].splitlines():
            if b'"event_type":"stats"' in line:
                d = DROP.findall(line)
                if d:
                    have_stats_drop = True
                    stats_drop = sum(int(x) for x in d)
        dt = now - prev[0]
        row = {
            "t": now - t0, "rss_kb": r, "anon_kb": anon, "cpu": 100.0 * (c - prev[1]) / HZ / dt,
            "replay_cpu": 100.0 * (rc - prev[2]) / HZ / dt,
            "wait": 100.0 * (q - q_prev) / 1e9 / dt, "replay_wait": 100.0 * (rq - rq_prev) / 1e9 / dt,
            "sent_pps": (ltx["packets"] - prev[3]) / dt, "recv_pps": (lrx["packets"] - prev[4]) / dt,
            "events": lines, "ev_int": new,
            "sensor_drop": stats_drop if have_stats_drop else None,
            "veth_drop": (ltx["dropped"] - ltx0["dropped"]) + (lrx["dropped"] - lrx0["dropped"]),
            "backlog_drop": softnet_drops() - sn0,
        }
        rows.append(row)
        prev = (now, c, rc, ltx["packets"], lrx["packets"])
        q_prev, rq_prev = q, rq
        if quiet != "1":
            sd = "n/a" if row["sensor_drop"] is None else str(row["sensor_drop"])
            w = f"{row['wait']:.0f}/{row['replay_wait']:.0f}"
            print(f"{row['t']:5.0f} {r / 1024:7.1f} {anon / 1024:7.1f} {row['cpu']:6.1f} {row['replay_cpu']:8.1f} {w:>9} "
                  f"{row['sent_pps']:9.0f} {row['recv_pps']:9.0f} {lines:7d} {new:7d} {sd:>11} "
                  f"{row['veth_drop']:9d} {row['backlog_drop']:12d}", flush=True)
    json.dump({"t0": t0, "c0": c0, "end": prev[0], "c_end": prev[1], "rows": rows,
               "wait": (q_prev - q0) / 1e9, "replay_wait": (rq_prev - rq0) / 1e9,
               "events_during": lines, "sn0": sn0,
               "tx0": ltx0, "rx0": lrx0}, open(state, "w"))

def num(pattern, text, default=None):
    m = re.search(pattern, text)
    return float(m.group(1)) if m else default

def summary(a):
    state, replay_out, sensor_err, events, tx, txif, rx, rxif, warmup, rate, oneline = a
    s = json.load(open(state))
    rep = open(replay_out).read()
    err = open(sensor_err).read()
    _, ltx = link(tx, txif); lrx, _ = link(rx, rxif)
    sent = num(r"Actual: (\d+) packets", rep)
    secs = num(r"packets \(\d+ bytes\) sent in ([\d.]+) seconds", rep)
    pps = num(r"Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps", rep)
    mbps = num(r"Rated: [\d.]+ Bps, ([\d.]+) Mbps", rep)
    failed = num(r"Failed packets:\s+(\d+)", rep, 0)
    retried = num(r"Retried packets \(ENOBUFS\):\s+(\d+)", rep, 0) + \
        num(r"Retried packets \(EAGAIN\):\s+(\d+)", rep, 0)
    m = re.search(r"(\d+) packets received, (\d+) dropped by the kernel", err)
    recv, kdrop = (int(m.group(1)), int(m.group(2))) if m else (None, None)
    processed = stats_drop = None
    n_events = 0
    with open(events, "rb") as f:
        for line in f:
            n_events += 1
            if b'"event_type":"stats"' in line:
                try:
                    processed = json.loads(line)["stats"]["decoder"]["pkts"]
                except ValueError:
                    pass
                d = DROP.findall(line)
                if d:
                    stats_drop = sum(int(x) for x in d)
    if kdrop is None:
        kdrop = stats_drop
    veth_drop = (ltx["dropped"] - s["tx0"]["dropped"]) + (lrx["dropped"] - s["rx0"]["dropped"])
    veth_rx = lrx["packets"] - s["rx0"]["packets"]
    backlog = softnet_drops() - s["sn0"]
    elapsed = s["end"] - s["t0"]
    cpu = 100.0 * (s["c_end"] - s["c0"]) / HZ / elapsed if elapsed > 0 else 0
    rows = [r for r in s["rows"] if r["t"] >= float(warmup)] or s["rows"]
    rss = [r["rss_kb"] / 1024 for r in rows]
    growth = 100.0 * (rss[-1] - rss[0]) / rss[0] if rss else 0
    anon = [r["anon_kb"] / 1024 for r in rows]
    agrowth = 100.0 * (anon[-1] - anon[0]) / anon[0] if anon and anon[0] else 0
    replay_cpu = sum(r["replay_cpu"] for r in s["rows"]) / max(len(s["rows"]), 1)
    wait = 100.0 * s["wait"] / elapsed if elapsed > 0 else 0
    replay_wait = 100.0 * s["replay_wait"] / elapsed if elapsed > 0 else 0
    load = open("/proc/loadavg").read().split()[0]
    drops = (kdrop or 0) + veth_drop + backlog + int(failed)
    if oneline == "1":
        ok = drops == 0 and kdrop is not None and sent is not None
        print(json.dumps({"rate": rate, "sent": sent, "pps": pps, "recv": recv, "kdrop": kdrop,
                          "veth_drop": veth_drop, "backlog": backlog, "failed": failed,
                          "cpu": round(cpu, 1), "replay_cpu": round(replay_cpu, 1),
                          "wait": round(wait), "replay_wait": round(replay_wait), "load": load,
                          "drop_free": ok}))
        return
    fmt = lambda v: "?" if v is None else f"{v:.0f}"
    print(f"\nreplay (tcpreplay, requested {rate}): {fmt(sent)} packets in {secs} s, "
          f"{fmt(pps)} pps, {mbps} Mbps; failed {fmt(failed)}, retried {fmt(retried)}; "
          f"its mean CPU {replay_cpu:.0f}%")
    print(f"veth: {veth_rx} packets reached {rxif}; dropped on the veth {veth_drop}, "
          f"in the backlog (all of the host) {backlog}")
    print(f"sensor: {fmt(recv)} received by its socket, {fmt(kdrop)} dropped by the kernel, "
          f"{fmt(processed)} processed (stats.packets)" +
          ("" if stats_drop is None else f"; its last stats event: kernel_drops + kernel_ifdrops {stats_drop}"))
    if rss:
        print(f"RSS after {float(warmup):.0f} s warm-up: min {min(rss):.1f} MB, max {max(rss):.1f} MB, "
              f"first {rss[0]:.1f} -> last {rss[-1]:.1f} MB ({growth:+.1f}%)")
        print(f"  of which anonymous (RSS less the mmap'ed capture ring and the binary): "
              f"min {min(anon):.1f}, max {max(anon):.1f}, {anon[0]:.1f} -> {anon[-1]:.1f} MB ({agrowth:+.1f}%)")
    print(f"events: {s['events_during']} during the run ({60.0 * s['events_during'] / elapsed:.0f} "
          f"per minute), {n_events} in all after SIGINT")
    print(f"sensor CPU: mean {cpu:.1f}% of one core over {elapsed:.0f} s")
    print(f"waiting for a CPU (runnable, not running): sensor {wait:.0f}%, tcpreplay "
          f"{replay_wait:.0f}% of the run; load average now {load}")

{"sample": sample, "summary": summary}[sys.argv[1]](sys.argv[2:])
PY

# One run at a rate: the sensor, tcpreplay, the sampler, SIGINT, the summary.
# $1: tcpreplay's rate options (words), $2: label, $3: 1 for a one-line JSON
# summary, $4: the rate in pps if known (for the idle timeout).
run_once() {
    local ropts=$1 label=$2 oneline=$3 pps=${4:-0} idle=$IDLE
    if [ -z "$idle" ]; then
        idle=10
        [ "$pps" -gt 0 ] && [ $((npk / pps / 2)) -lt $idle ] && idle=$((npk / pps / 2))
        [ $idle -ge 1 ] || idle=1
    fi
    [ "$oneline" = 1 ] || echo "sensor: --idle-timeout $idle"
    rm -f "$T/ev.jsonl" "$T/sensor.err" "$T/replay.out" "$T/state.json"
    # No `timeout` in front: a background job ignores SIGINT unless the
    # program sets its handler (the sensor does); the bound is kept below.
    ip netns exec $RX "$SENSOR" --rules "$SRC/rules" --inventory "$INV" --interface $RXIF \
        --events "$T/ev.jsonl" --report none --idle-timeout "$idle" --workers "$WORKERS" \
        2>"$T/sensor.err" &
    SENSOR_PID=$!
    for _ in $(seq 100); do grep -q "capturing on" "$T/sensor.err" && break; sleep 0.1; done
    grep -q "capturing on" "$T/sensor.err" || { echo "sensor did not start: $(cat "$T/sensor.err")" >&2; exit 1; }
    # shellcheck disable=SC2086
    ip netns exec $TX timeout $((SECONDS_RUN + 30)) tcpreplay -i $TXIF --preload-pcap \
        --no-flow-stats --loop=0 --duration="$SECONDS_RUN" $ropts "$PCAP" >"$T/replay.out" 2>&1 &
    REPLAY_PID=$!
    python3 "$T/soak.py" sample $SENSOR_PID $REPLAY_PID "$T/ev.jsonl" "$SAMPLE" \
        $TX $TXIF $RX $RXIF "$T/state.json" "$oneline"
    wait $REPLAY_PID || true
    REPLAY_PID=""
    sleep 1 # the last packets through the ring
    kill -INT $SENSOR_PID 2>/dev/null || true
    local waited=0
    while kill -0 $SENSOR_PID 2>/dev/null && [ $waited -lt 300 ]; do sleep 0.1; waited=$((waited + 1)); done
    if kill -0 $SENSOR_PID 2>/dev/null; then
        echo "sensor still running 30 s after SIGINT: kill -9" >&2
        kill -9 $SENSOR_PID 2>/dev/null || true
    fi
    wait $SENSOR_PID 2>/dev/null || true
    SENSOR_PID=""
    if [ "$oneline" != 1 ]; then
        echo "sensor stopped $((waited / 10)).$((waited % 10)) s after SIGINT; the end of its log:"
        tail -n 4 "$T/sensor.err" | sed 's/^/  /'
    fi
    python3 "$T/soak.py" summary "$T/state.json" "$T/replay.out" "$T/sensor.err" "$T/ev.jsonl" \
        $TX $TXIF $RX $RXIF "$WARMUP" "$label" "$oneline"
}

npk=$(tcpdump -nr "$PCAP" 2>/dev/null | wc -l || true)
echo "capture: $PCAP ($npk packets), inventory: $INV; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); sensor --workers $WORKERS"

if [ $FIND -eq 0 ]; then
    if [ -n "$RATE" ]; then ropts="--pps=$RATE --pps-multi=$((RATE / 20000 + 1))" label="$RATE pps"
    elif [ -n "$MBPS" ]; then ropts="--mbps=$MBPS" label="$MBPS Mbps"
    elif [ $TOP -eq 1 ]; then ropts="--topspeed" label="top speed"
    else ropts="--multiplier=1" label="the capture's timing"
    fi
    echo "soak: $SECONDS_RUN s at $label, a row every $SAMPLE s"
    run_once "$ropts" "$label" 0 "${RATE:-0}"
    exit 0
fi

# --find-max: double until a run drops or tcpreplay falls short of the
# rate, then bisect until the interval is within 10%.
rate=${RATE:-20000} good=0 bad=0 runs=0 replay_max=0 dropped_at=""
echo "find-max: $SECONDS_RUN s runs from $rate pps"
printf '%9s %9s %9s %9s %8s %8s %8s %6s %8s %8s %5s  %s\n' requested achieved sent received "k.drop" \
    "veth" backlog "CPU%" "replay%" "waits%" load verdict
while [ $runs -lt 10 ]; do
    runs=$((runs + 1))
    j=$(run_once "--pps=$rate --pps-multi=$((rate / 20000 + 1))" "$rate" 1 "$rate")
    read -r pps sent recv kd vd bl cpu rcpu wt load ok < <(python3 -c '
import json, sys
j = json.loads(sys.argv[1])
f = lambda v: "?" if v is None else str(int(v))
print(f(j["pps"]), f(j["sent"]), f(j["recv"]), f(j["kdrop"]), j["veth_drop"], j["backlog"] + int(j["failed"]),
      j["cpu"], j["replay_cpu"], str(j["wait"]) + "/" + str(j["replay_wait"]), j["load"], int(j["drop_free"]))' "$j")
    short=0
    [ "$pps" != "?" ] && [ $((pps * 100)) -lt $((rate * 95)) ] && short=1
    if [ "$ok" = 1 ] && [ $short = 0 ]; then verdict="drop-free"
    elif [ "$ok" = 1 ]; then verdict="drop-free, tcpreplay short of the rate"
    else verdict="DROPS"; dropped_at=${dropped_at:-$rate}
    fi
    printf '%9s %9s %9s %9s %8s %8s %8s %6s %8s %8s %5s  %s\n' "$rate" "$pps" "$sent" "$recv" "$kd" "$vd" "$bl" \
        "$cpu" "$rcpu" "$wt" "$load" "$verdict"
    if [ "$ok" = 1 ] && [ $short = 0 ]; then
        good=$rate
    elif [ "$ok" = 1 ]; then
        # tcpreplay is the limit: the sensor kept up with what it sent.
        [ "$pps" -gt "$replay_max" ] && replay_max=$pps
        bad=$rate
    else
        bad=$rate
    fi
    if [ $bad -eq 0 ]; then rate=$((rate * 2))
    elif [ $good -eq 0 ]; then rate=$((rate / 2))
    else
        [ $(( (bad - good) * 10 )) -le $good ] && break
        rate=$(( (good + bad) / 2 ))
    fi
    [ $rate -lt 1000 ] && break
done
echo "highest rate replayed in full with no drop: $good pps (the next tried, $bad pps, was not)"
[ -n "${dropped_at:-}" ] && echo "drops first at $dropped_at pps"
[ "$replay_max" -gt 0 ] && echo "tcpreplay fell short of the requested rate (at most $replay_max pps sent) with no drop: the replay, not the sensor, was the limit there"
exit 0
