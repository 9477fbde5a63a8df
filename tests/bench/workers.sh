#!/usr/bin/env bash
# Worker scaling (--workers; prints figures, never a test).
#   tests/bench/workers.sh BUILD_DIR [WORKDIR]
# 1. Offline: wall time (best of 3) of the sensor, events on, with 1, 2 and
#    4 workers over a site's calls with their SIP (gen_pcap site, 400 k
#    packets: media routed to its call's worker) and many flows (gen_pcap
#    flows, 400 k packets); the start-up (N nDPI set-ups, ~50 ms of CPU
#    each) measured on the capture's first packet alone and taken off, so
#    packets a second and the speed-up over one worker are the packet
#    path's; and what the reader handed out (copies of SIP/DNS/fragments,
#    media routed, waits for a full queue).
# 2. Live (BENCH_WORKERS_LIVE=1, root, tcpreplay): soak.sh --find-max with
#    1, 2 and 4 workers, replaying gen_pcap site onto a veth between two
#    namespaces: the highest rate replayed with no drop for each (minutes).
# Figures are of this machine: `nproc` says how many cores there are to
# spread over (tcpreplay takes one of them in the live runs).
set -euo pipefail
B=$(realpath "$1")
W=$(mktemp -d "${2:-/tmp}/pinhole-workers.XXXXXX")
trap 'rm -rf "$W"' EXIT
SRC=$(realpath "$(dirname "$0")/../..")
GEN=$B/tests/bench/pinhole-gen-pcap SENSOR=$B/sensor/pinhole-sensor
INV=$SRC/tests/bench/inventory.yaml
calc() { awk "BEGIN {print $1}"; }
echo "workers: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# Best of 3 wall-clock seconds of the sensor on $1 with $2 workers ($W/err:
# the last run's standard error).
wall() {
    local best=999
    for _ in 1 2 3; do
        local s e
        rm -f "$W/ev.jsonl"
        s=$(date +%s.%N)
        "$SENSOR" --rules "$SRC/rules" --inventory "$INV" --report none --read "$1" \
            --events "$W/ev.jsonl" --workers "$2" -v >/dev/null 2>"$W/err" || true
        e=$(date +%s.%N)
        best=$(calc "($e - $s) < $best ? ($e - $s) : $best")
    done
    echo "$best"
}

offline() {
    local name=$1 pcap=$2 n t1=""
    n=$(tcpdump -nr "$pcap" 2>/dev/null | wc -l)
    tcpdump -r "$pcap" -w "$W/one.pcap" -c 1 2>/dev/null
    echo "$name: $n packets, events on, offline (wall, best of 3; start-up: the first packet alone)"
    printf '  %-8s %8s %9s %8s %8s %10s %12s %8s\n' workers "wall s" "start-up" Mpps "x one" \
        copies "media sent" waits
    for w in 1 2 4; do
        local t0 best
        t0=$(wall "$W/one.pcap" $w)
        best=$(wall "$pcap" $w)
        local net
        net=$(calc "(($best - $t0) > 0.001 ? $best - $t0 : 0.001)")
        [ -z "$t1" ] && t1=$net
        local d copies=- media=- waits=-
        d=$(grep -o 'workers: [0-9]* frames read, [0-9]* more copies.*' "$W/err" || true)
        if [ -n "$d" ]; then
            copies=$(echo "$d" | sed -E 's/.*read, ([0-9]+) more copies.*/\1/')
            media=$(echo "$d" | sed -E 's/.*, ([0-9]+) media frames.*/\1/')
            waits=$(echo "$d" | sed -E 's/.*, ([0-9]+) waits.*/\1/')
        fi
        printf '  %-8s %8.3f %9.3f %8.3f %8.2f %10s %12s %8s\n' $w "$best" "$t0" \
            "$(calc "($n - 1) / $net / 1000000")" "$(calc "$t1 / $net")" "$copies" "$media" "$waits"
    done
}
"$GEN" site "$W/site.pcap" 20 200
offline "site calls, 400k" "$W/site.pcap"
rm -f "$W/site.pcap"
"$GEN" flows "$W/flows.pcap" 200000 2
offline "many flows, 400k" "$W/flows.pcap"
rm -f "$W/flows.pcap"

[ "${BENCH_WORKERS_LIVE:-0}" = 1 ] || exit 0
for w in 1 2 4; do
    echo "live, $w worker(s):"
    bash "$SRC/tests/bench/soak.sh" "$B" --find-max --seconds 10 --workers $w 2>&1 |
        grep -E 'highest rate|drops first|tcpreplay fell short' | sed 's/^/  /'
done
