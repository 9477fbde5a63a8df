#!/usr/bin/env bash
# Speed and memory benchmark (prints figures; never a test).
#   tests/bench/run.sh BUILD_DIR [WORKDIR]
# 1. A site mix, RTP-heavy (200 two-way calls, short HTTPS and DNS flows, 60 s,
#    1.25 M packets): bare libpcap loop vs pinhole-sensor vs ndpiReader.
# 2. Per-packet cost with 10 thousand and with 1 million concurrent flows:
#    the difference between 4 M and 8 M packets over the same flows, so that
#    the cost of creating and judging each flow cancels out.
# The captures are generated (several GB in WORKDIR, default /tmp) and removed.
set -euo pipefail
B=$(realpath "$1")
W=$(mktemp -d "${2:-/tmp}/pinhole-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
SRC=$(realpath "$(dirname "$0")/../..")
INV=$SRC/tests/bench/inventory.yaml
GEN=$B/tests/bench/pinhole-gen-pcap LOOP=$B/tests/bench/pinhole-pcap-loop SENSOR=$B/sensor/pinhole-sensor
best() { # best of 3 wall-clock seconds of a command
    local b=999
    for _ in 1 2 3; do
        local s e
        s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
        b=$(awk -v s="$s" -v e="$e" -v b="$b" 'BEGIN {d = e - s; print (d < b) ? d : b}')
    done
    echo "$b"
}
calc() { awk "BEGIN {print $1}"; }
sensor() { "$SENSOR" --rules "$SRC/rules" --inventory "$INV" --report none --read "$@"; }

"$GEN" mix "$W/mix.pcap" 60 200
n=$("$LOOP" "$W/mix.pcap" | awk '{print $1}')
t_loop=$(best "$LOOP" "$W/mix.pcap")
t_sensor=$(best sensor "$W/mix.pcap" --events /dev/null)
echo "site mix: $n packets"
printf '  %-26s %6.3f s  %6.2f Mpps\n' "bare libpcap loop" "$t_loop" "$(calc "$n / $t_loop / 1000000")"
printf '  %-26s %6.3f s  %6.2f Mpps  (%.0f%% of the bare loop)\n' "pinhole-sensor" "$t_sensor" \
    "$(calc "$n / $t_sensor / 1000000")" "$(calc "100 * $t_loop / $t_sensor")"
if command -v ndpiReader >/dev/null; then
    t_ndpi=$(best ndpiReader -i "$W/mix.pcap")
    printf '  %-26s %6.3f s  %6.2f Mpps  (pinhole is %.1fx faster)\n' "ndpiReader" "$t_ndpi" \
        "$(calc "$n / $t_ndpi / 1000000")" "$(calc "$t_ndpi / $t_sensor")"
fi
rm -f "$W/mix.pcap"

for flows in 10000 1000000; do
    r=$((4000000 / flows))
    "$GEN" flows "$W/a.pcap" "$flows" "$r"
    "$GEN" flows "$W/b.pcap" "$flows" $((2 * r))
    ta=$(best sensor "$W/a.pcap")
    tb=$(best sensor "$W/b.pcap")
    /usr/bin/time -o "$W/rss" -f "%M" "$SENSOR" --rules "$SRC/rules" --inventory "$INV" \
        --report none --read "$W/a.pcap" >/dev/null 2>&1 || true
    rss=$(tail -1 "$W/rss")
    printf '%8d concurrent flows: %.0f ns per packet (4M packets %.2f s, 8M %.2f s), max RSS %d MB\n' \
        "$flows" "$(calc "($tb - $ta) * 1000000000 / 4000000")" "$ta" "$tb" $((rss / 1024))
    rm -f "$W/a.pcap" "$W/b.pcap"
done
