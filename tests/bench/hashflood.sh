#!/usr/bin/env bash
# Hash-flooding benchmark (prints figures; never a test).
#   tests/bench/hashflood.sh BUILD_DIR [WORKDIR]
#   SENSOR=/other/pinhole-sensor tests/bench/hashflood.sh BUILD_DIR   (another build)
# Two captures of 100,000 one-packet IPv6 UDP flows (FLOWS to change it):
# sources crafted to fall into one bucket of the flow table's old unkeyed
# hash (gen_pcap flood ... collide; the construction is in flowflood.h),
# and random sources. With a keyed hash both cost the same; with the old
# hash every new flow walked a chain of all the flows before it.
# Prints the sensor's time on each, its flow-table stats (stats.flows:
# created, peak) and the longest chain a lookup walked (logged with -v: it
# depends on the run's random key, so it is not in the reproducible events).
set -euo pipefail
B=$(realpath "$1")
W=$(mktemp -d "${2:-/tmp}/pinhole-hashflood.XXXXXX")
trap 'rm -rf "$W"' EXIT
SRC=$(realpath "$(dirname "$0")/../..")
INV=$SRC/tests/bench/inventory.yaml
GEN=$B/tests/bench/pinhole-gen-pcap
SENSOR=${SENSOR:-$B/sensor/pinhole-sensor}
FLOWS=${FLOWS:-100000}
echo "sensor: $SENSOR"
for kind in random collide; do
    "$GEN" flood "$W/$kind.pcap" "$FLOWS" "$kind"
    s=$(date +%s.%N)
    "$SENSOR" --rules "$SRC/rules" --inventory "$INV" --report none -v \
        --read "$W/$kind.pcap" --events "$W/ev.jsonl" >/dev/null 2>"$W/err" || true
    e=$(date +%s.%N)
    stats=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("event_type") == "stats":
        f = e["stats"]["pinhole"]["flows"]
        print("created %d, peak %d" % (f["created"], f["peak"]))
' "$W/ev.jsonl")
    chain=$(sed -n 's/.*longest hash chain a lookup walked was \([0-9]*\).*/\1/p' "$W/err")
    stats="$stats, chain_max ${chain:-n/a}"
    printf '%-8s %d flows: %7.2f s  (%s)\n' "$kind" "$FLOWS" "$(awk -v s="$s" -v e="$e" 'BEGIN {print e - s}')" "$stats"
    rm -f "$W/$kind.pcap" "$W/ev.jsonl"
done
