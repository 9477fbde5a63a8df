#!/usr/bin/env bash
# Collector ingest benchmark (prints figures; never a test).
#   tests/bench/collector.sh BUILD_DIR [FLOWS]
# A sensor publishes the flow events of a generated capture (FLOWS one-packet
# flows, default 200000: one flow event each) to a collector on loopback;
# the collector reports how many events per second it stored while busy.
# Run for CURVE with fsync at each commit (the default), CURVE without
# (--sync normal), and plain TCP without; then under load: the collector
# stopped (SIGSTOP) for 3 s every 4 s (STOP=S: S s every S+1) while the sensor publishes, and a
# collector with fsync at each commit on a disk that is slowed by a
# competing writer. Each line gives the messages the collector received
# and the events it dropped as duplicates (sent twice).
# The runs above store no faster than the sensor makes the events (its
# time alone is the last line); the "from a spool" runs measure the
# collector itself: the sensor spools every event with no collector up,
# then a collector drains that backlog (the sensor's next run sends it).
#   MODE=load tests/bench/collector.sh ...   only the runs under load
#   MODE=backlog tests/bench/collector.sh ...   only the runs from a spool
set -euo pipefail
B=$(realpath "$1")
N=${2:-200000}
W=$(mktemp -d /tmp/pinhole-cbench.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
    rm -rf "$W"
}
trap cleanup EXIT
cp "$(dirname "$0")/inventory.yaml" "$W/inv.yaml" # gen_pcap's site: every role bound
R=$(realpath "$(dirname "$0")/../../rules")
"$B/tests/bench/pinhole-gen-pcap" flows "$W/flows.pcap" "$N" 1 >/dev/null
"$B/tests/bench/pinhole-gen-pcap" flows "$W/one.pcap" 1 1 >/dev/null
mkdir -p "$W/keys" "$W/allow"
"$B/collector/pinhole-keygen" collector "$W/keys" >/dev/null
"$B/collector/pinhole-keygen" bench "$W/keys" >/dev/null
cp "$W/keys/bench.pub" "$W/allow/"
port=$((20000 + RANDOM % 20000))
run() { # name, collector options..., -- sensor options... (LOAD=stop|disk: under load)
    local name=$1; shift
    local copts=() sopts=()
    while [ "$1" != "--" ]; do copts+=("$1"); shift; done; shift
    sopts=("$@")
    rm -f "$W"/c.db*
    "$B/collector/pinhole-collector" --rules "$R" --inventory "$W/inv.yaml" \
        -l "tcp://127.0.0.1:$port" -d "$W/c.db" --http off "${copts[@]}" 2>"$W/c.log" &
    local cpid=$!
    PIDS+=("$cpid")
    sleep 0.5
    local s e lpid=""
    if [ "${LOAD:-}" = stop ]; then
        (while sleep 1; do kill -STOP $cpid; sleep "${STOP:-3}"; kill -CONT $cpid; done) 2>/dev/null &
        lpid=$!
    elif [ "${LOAD:-}" = disk ]; then
        (while :; do dd if=/dev/zero of="$W/load" bs=1M count=256 conv=fsync 2>/dev/null; done) &
        lpid=$!
    fi
    [ -n "$lpid" ] && PIDS+=("$lpid")
    s=$(date +%s.%N)
    "$B/sensor/pinhole-sensor" --rules "$R" --inventory "$W/inv.yaml" -r "$W/flows.pcap" \
        -n bench -o none -p "tcp://127.0.0.1:$port" --publish-timeout 600 "${sopts[@]}" \
        2>"$W/s.log" || true
    e=$(date +%s.%N)
    if [ -n "$lpid" ]; then
        local kids
        kids=$(pgrep -P "$lpid" || true)
        kill "$lpid" 2>/dev/null || true
        for k in $kids; do kill "$k" 2>/dev/null || true; done
        wait "$lpid" 2>/dev/null || true
    fi
    kill -CONT $cpid 2>/dev/null || true; kill -TERM $cpid 2>/dev/null || true; wait $cpid || true
    rm -f "$W/load"
    printf '%-28s %s; sensor run incl. delivery %.2f s; collector: %s; %s\n' "$name" \
        "$(grep -o 'published [0-9]* events' "$W/s.log")" "$(echo "$e - $s" | bc)" \
        "$(grep -o '[0-9]* events stored this run ([0-9]* events/s while busy)' "$W/c.log")" \
        "$(sqlite3 "$W/c.db" "SELECT 'received ' || received || ' events, duplicates ' || duplicates
            || ' (' || printf('%.2f', 100.0 * duplicates / max(received, 1)) || '%)' FROM sensors")"
    grep -o 'stopped: [0-9]* messages' "$W/c.log" | sed 's/^stopped: /    collector received /'
}
backlog() { # name, collector options..., -- sensor options...: a spooled backlog drained
    local name=$1; shift
    local copts=() sopts=()
    while [ "$1" != "--" ]; do copts+=("$1"); shift; done; shift
    sopts=("$@")
    rm -rf "$W"/c.db* "$W/spool"
    "$B/sensor/pinhole-sensor" --rules "$R" --inventory "$W/inv.yaml" -r "$W/flows.pcap" \
        -n bench -o none -p "tcp://127.0.0.1:$port" --spool "$W/spool" --publish-timeout 1 \
        "${sopts[@]}" 2>"$W/s.log" || true
    "$B/collector/pinhole-collector" --rules "$R" --inventory "$W/inv.yaml" \
        -l "tcp://127.0.0.1:$port" -d "$W/c.db" --http off "${copts[@]}" 2>"$W/c.log" &
    local cpid=$!
    PIDS+=("$cpid")
    sleep 0.5
    "$B/sensor/pinhole-sensor" --rules "$R" --inventory "$W/inv.yaml" -r "$W/one.pcap" \
        -n bench -o none -p "tcp://127.0.0.1:$port" --spool "$W/spool" --publish-timeout 600 \
        "${sopts[@]}" 2>"$W/s.log" || true
    kill -TERM $cpid 2>/dev/null || true; wait $cpid || true
    printf '%-28s collector: %s\n' "$name" \
        "$(grep -o '[0-9]* events stored this run ([0-9]* events/s while busy)' "$W/c.log")"
}
echo "collector ingest, $N flow events (one message = up to 512 events):"
if [ "${MODE:-}" = "" ]; then
run "CURVE, fsync each commit" --key "$W/keys/collector.key" --allow "$W/allow" -- \
    --collector-key "$W/keys/collector.pub" --key "$W/keys/bench.key"
run "CURVE, --sync normal" --key "$W/keys/collector.key" --allow "$W/allow" --sync normal -- \
    --collector-key "$W/keys/collector.pub" --key "$W/keys/bench.key"
run "plain, --sync normal" --plain --sync normal -- --plain
fi
if [ "${MODE:-}" != backlog ]; then
LOAD=stop run "CURVE, stopped ${STOP:-3} s of $((${STOP:-3} + 1))" --key "$W/keys/collector.key" --allow "$W/allow" -- \
    --collector-key "$W/keys/collector.pub" --key "$W/keys/bench.key"
LOAD=disk run "CURVE, fsync, busy disk" --key "$W/keys/collector.key" --allow "$W/allow" -- \
    --collector-key "$W/keys/collector.pub" --key "$W/keys/bench.key"
fi
[ "${MODE:-}" = load ] && exit 0
backlog "plain, fsync, from a spool" --plain -- --plain
backlog "CURVE, fsync, from a spool" --key "$W/keys/collector.key" --allow "$W/allow" -- \
    --collector-key "$W/keys/collector.pub" --key "$W/keys/bench.key"
s=$(date +%s.%N)
"$B/sensor/pinhole-sensor" --rules "$R" --inventory "$W/inv.yaml" -r "$W/flows.pcap" \
    -n bench -o none -e /dev/null 2>/dev/null || true
e=$(date +%s.%N)
printf '%-28s %.2f s\n' "sensor alone (events to a file)" "$(echo "$e - $s" | bc)"
