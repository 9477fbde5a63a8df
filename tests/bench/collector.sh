#!/usr/bin/env bash
# Collector ingest benchmark (prints figures; never a test).
#   tests/bench/collector.sh BUILD_DIR [FLOWS]
# A sensor publishes the flow events of a generated capture (FLOWS one-packet
# flows, default 200000: one flow event each) to a collector on loopback;
# the collector reports how many events per second it stored while busy.
# Run for CURVE with fsync at each commit (the default), CURVE without
# (--sync normal), and plain TCP without.
set -euo pipefail
B=$(realpath "$1")
N=${2:-200000}
W=$(mktemp -d /tmp/pinhole-cbench.XXXXXX)
trap 'pkill -f "$W" 2>/dev/null || true; rm -rf "$W"' EXIT
cp "$(dirname "$0")/inventory.yaml" "$W/inv.yaml"  # every role its rules need is bound
R=$(realpath "$(dirname "$0")/../../rules")
"$B/tests/bench/pinhole-gen-pcap" flows "$W/flows.pcap" "$N" 1 >/dev/null
mkdir -p "$W/keys" "$W/allow"
"$B/collector/pinhole-keygen" collector "$W/keys" >/dev/null
"$B/collector/pinhole-keygen" bench "$W/keys" >/dev/null
cp "$W/keys/bench.pub" "$W/allow/"
port=$((20000 + RANDOM % 20000))
run() { # name, collector options..., -- sensor options...
    local name=$1; shift
    local copts=() sopts=()
    while [ "$1" != "--" ]; do copts+=("$1"); shift; done; shift
    sopts=("$@")
    rm -f "$W"/c.db*
    "$B/collector/pinhole-collector" --rules "$R" --inventory "$W/inv.yaml" \
        -l "tcp://127.0.0.1:$port" -d "$W/c.db" --http off "${copts[@]}" 2>"$W/c.log" &
    local cpid=$!
    sleep 0.5
    local s e
    s=$(date +%s.%N)
    "$B/sensor/pinhole-sensor" --rules "$R" --inventory "$W/inv.yaml" -r "$W/flows.pcap" \
        -n bench -o none -p "tcp://127.0.0.1:$port" --publish-timeout 600 "${sopts[@]}" \
        2>"$W/s.log" || true
    e=$(date +%s.%N)
    kill -TERM $cpid; wait $cpid || true
    printf '%-28s %s; sensor run incl. delivery %.2f s; collector: %s\n' "$name" \
        "$(grep -o 'published [0-9]* events' "$W/s.log")" "$(echo "$e - $s" | bc)" \
        "$(grep -o '[0-9]* events stored this run ([0-9]* events/s while busy)' "$W/c.log")"
}
echo "collector ingest, $N flow events (one message = up to 512 events):"
run "CURVE, fsync each commit" --key "$W/keys/collector.key" --allow "$W/allow" -- \
    --collector-key "$W/keys/collector.pub" --key "$W/keys/bench.key"
run "CURVE, --sync normal" --key "$W/keys/collector.key" --allow "$W/allow" --sync normal -- \
    --collector-key "$W/keys/collector.pub" --key "$W/keys/bench.key"
run "plain, --sync normal" --plain --sync normal -- --plain
s=$(date +%s.%N)
"$B/sensor/pinhole-sensor" --rules "$R" --inventory "$W/inv.yaml" -r "$W/flows.pcap" \
    -n bench -o none -e /dev/null 2>/dev/null || true
e=$(date +%s.%N)
printf '%-28s %.2f s\n' "sensor alone (events to a file)" "$(echo "$e - $s" | bc)"
