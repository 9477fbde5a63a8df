#!/usr/bin/env bash
# Speed and memory benchmark (prints figures; never a test).
#   tests/bench/run.sh BUILD_DIR [WORKDIR]
# Environment: BENCH_BEFORE=OTHER_BUILD_DIR adds that build's sensor
# ("before" rows) to every table, measured in the same run; BENCH_LARGE=1 adds the 1 M packet wall-clock runs and the
# 10 k / 1 M concurrent flow comparison (several GB in WORKDIR, minutes).
#
# 1. Instructions (callgrind, exact and stable run to run) and wall time
#    (best of 3; drifts 10-30 % between runs, so only the ratios of one run
#    mean much) at 100 k packets, for two captures:
#      site mix   RTP-heavy: 200 two-way calls, a short HTTPS flow and a DNS
#                 exchange every 10 ms (gen_pcap mix, 5 s)
#      many flows 50 k concurrent UDP flows of 2 packets (gen_pcap flows)
#    side by side: the bare libpcap loop, pinhole with events off and on,
#    pinhole with events on and only the SIP dissector (and the sensor's
#    own: --ndpi-protocols SIP), ndpiReader. Instructions per packet leave out the start-up (each program
#    is also measured on the capture's first packet alone, and that is taken
#    off). Per flow event: (events on - events off) / events written.
# 2. Bytes per flow: the growth of the sensor's peak RSS from 100 k to 400 k
#    one-packet flows, and the bound --max-flows puts on it.
# 3. Worker scaling (tests/bench/workers.sh): --workers 1, 2, 4.
# 4. (BENCH_LARGE) 1 M packets, wall time; per-packet cost with 10 thousand
#    and with 1 million concurrent flows (the difference between 4 M and 8 M
#    packets over the same flows, so the cost of creating and judging each
#    flow cancels out), beside the bare flow-hash loop's (pcap_loop --flows).
# The captures are generated in WORKDIR (default /tmp) and removed.
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
# The command line of a program by name (loop, off, on, ndpi) on capture $2.
cmd() {
    local what=$1 pcap=$2
    local s=("$SENSOR" --rules "$SRC/rules" --inventory "$INV" --report none --read "$pcap")
    local b=("${BEFORE:-}" --rules "$SRC/rules" --inventory "$INV" --report none --read "$pcap")
    case $what in
        loop) CMD=("$LOOP" "$pcap") ;;
        off) CMD=("${s[@]}") ;;
        on) CMD=("${s[@]}" --events /dev/null) ;;
        sip) CMD=("${s[@]}" --events /dev/null --ndpi-protocols SIP) ;;
        boff) CMD=("${b[@]}") ;;
        bon) CMD=("${b[@]}" --events /dev/null) ;;
        ndpi) CMD=(ndpiReader -q -i "$pcap") ;;
    esac
}
run() {
    cmd "$@"
    "${CMD[@]}"
}
instr() { # instructions (Ir) of one run under callgrind
    cmd "$@"
    valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" "${CMD[@]}" >/dev/null 2>&1 || true
    awk '/^(summary|totals):/ {print $2; exit}' "$W/cg.out"
}
BEFORE=
[ -n "${BENCH_BEFORE:-}" ] && BEFORE=$(realpath "$BENCH_BEFORE")/sensor/pinhole-sensor
WHATS="loop off on sip"
[ -n "$BEFORE" ] && WHATS="$WHATS boff bon"
HAVE_NDPI=0
command -v ndpiReader >/dev/null && HAVE_NDPI=1
HAVE_CG=0
command -v valgrind >/dev/null && HAVE_CG=1

# One capture's row set: instructions per packet, wall time and ratio.
measure() {
    local name=$1 pcap=$2
    local n one
    n=$("$LOOP" "$pcap" | awk '{print $1}')
    one=$W/one.pcap
    tcpdump -r "$pcap" -w "$one" -c 1 2>/dev/null
    sensor "$pcap" --events "$W/ev.jsonl" >/dev/null 2>&1 || true
    local nev nflow
    nev=$(wc -l <"$W/ev.jsonl")
    nflow=$(grep -c '"event_type":"flow"' "$W/ev.jsonl" || true)
    rm -f "$W/ev.jsonl"
    echo "$name: $n packets, $nflow flow events ($nev events in all)"
    printf '  %-22s %12s %10s %9s %8s\n' "" "instr/pkt" "wall s" "Mpps" "x bare"
    local t_loop="" i_on="" i_off="" i_bon="" i_boff=""
    for what in $WHATS ndpi; do
        [ "$what" = ndpi ] && [ $HAVE_NDPI = 0 ] && continue
        local ipp="-"
        if [ $HAVE_CG = 1 ]; then
            local ia ib
            ia=$(instr "$what" "$pcap")
            ib=$(instr "$what" "$one")
            ipp=$(calc "int(($ia - $ib) / ($n - 1) + 0.5)")
            [ "$what" = on ] && i_on=$ia
            [ "$what" = off ] && i_off=$ia
            [ "$what" = bon ] && i_bon=$ia
            [ "$what" = boff ] && i_boff=$ia
        fi
        local t
        t=$(best run "$what" "$pcap")
        [ "$what" = loop ] && t_loop=$t
        local label
        case $what in
            loop) label="bare libpcap loop" ;;
            off) label="pinhole, events off" ;;
            on) label="pinhole, events on" ;;
            sip) label="  --ndpi-protocols SIP" ;;
            boff) label="before, events off" ;;
            bon) label="before, events on" ;;
            ndpi) label="ndpiReader" ;;
        esac
        printf '  %-22s %12s %10.3f %9.2f %8.1f\n' "$label" "$ipp" "$t" \
            "$(calc "$n / $t / 1000000")" "$(calc "$t / $t_loop")"
    done
    if [ -n "$i_on" ] && [ "$nev" -gt 0 ]; then
        printf '  per event written: %.0f instructions (events on - off, over %d events)\n' \
            "$(calc "($i_on - $i_off) / $nev")" "$nev"
    fi
    if [ -n "$i_bon" ] && [ "$nev" -gt 0 ]; then
        printf '  per event written, before: %.0f instructions\n' "$(calc "($i_bon - $i_boff) / $nev")"
    fi
}

"$GEN" mix "$W/mix.pcap" 5 200
measure "site mix, 100k" "$W/mix.pcap"
rm -f "$W/mix.pcap"
"$GEN" flows "$W/flows.pcap" 50000 2
measure "many flows, 100k" "$W/flows.pcap"
rm -f "$W/flows.pcap"

# Bytes per flow: peak RSS over 100 k and 400 k flows of one packet each
# (events off, as nobody reads them; the flows all stay in the table).
rss() { # peak RSS in KB of the sensor ($SENSOR_RSS, default $SENSOR) on $1, options after
    local pcap=$1
    shift
    /usr/bin/time -o "$W/rss" -f "%M" "${SENSOR_RSS:-$SENSOR}" --rules "$SRC/rules" --inventory "$INV" \
        --report none --read "$pcap" --events "$W/mem.jsonl" "$@" >/dev/null 2>&1 || true
    tail -1 "$W/rss"
}
tables() { # the flow table's and nDPI's peaks, from the last stats event
    python3 -c 'import json, sys
s = [e for e in map(json.loads, open(sys.argv[1])) if e["event_type"] == "stats"][-1]
p = s["stats"]["pinhole"]
print("    flow table peak %d flows; nDPI states: peak %d at once, %d classified, %d given up, %d found the pool full"
      % (p["flows"]["peak"], p["ndpi"]["slots_peak"], p["ndpi"]["classified"], p["ndpi"]["given_up"],
         p["ndpi"]["pool_full"]))' "$W/mem.jsonl"
    rm -f "$W/mem.jsonl"
}
"$GEN" flows "$W/f100k.pcap" 100000 1
"$GEN" flows "$W/f400k.pcap" 400000 1
r1=$(rss "$W/f100k.pcap")
rm -f "$W/mem.jsonl"
r4=$(rss "$W/f400k.pcap")
echo "memory: peak RSS $((r1 / 1024)) MB at 100k flows, $((r4 / 1024)) MB at 400k flows:" \
    "$(calc "int(($r4 - $r1) * 1024 / 300000)") bytes per flow"
tables
rb=$(rss "$W/f400k.pcap" --max-flows 100000)
echo "  400k flows with --max-flows 100000: peak RSS $((rb / 1024)) MB (bound: the 100k run's)"
tables
if [ -n "$BEFORE" ]; then
    r1=$(SENSOR_RSS=$BEFORE rss "$W/f100k.pcap")
    r4=$(SENSOR_RSS=$BEFORE rss "$W/f400k.pcap")
    rm -f "$W/mem.jsonl"
    echo "  before: peak RSS $((r1 / 1024)) MB at 100k flows, $((r4 / 1024)) MB at 400k flows:" \
        "$(calc "int(($r4 - $r1) * 1024 / 300000)") bytes per flow"
fi
rm -f "$W/f100k.pcap" "$W/f400k.pcap"

# Several cores: --workers 1, 2, 4 offline (and live with BENCH_WORKERS_LIVE=1).
bash "$SRC/tests/bench/workers.sh" "$B" "$(dirname "$W")"

[ "${BENCH_LARGE:-0}" = 1 ] || exit 0

# 1 M packets, wall time only.
large() {
    local name=$1 pcap=$2
    local n t_loop
    n=$("$LOOP" "$pcap" | awk '{print $1}')
    t_loop=$(best run loop "$pcap")
    printf '%s: %d packets, wall: bare %.3f s' "$name" "$n" "$t_loop"
    for what in off on ndpi; do
        [ "$what" = ndpi ] && [ $HAVE_NDPI = 0 ] && continue
        printf ', %s %.1fx' "$what" "$(calc "$(best run "$what" "$pcap") / $t_loop")"
    done
    echo
}
"$GEN" mix "$W/mix.pcap" 48 200
large "site mix, 1M" "$W/mix.pcap"
rm -f "$W/mix.pcap"
"$GEN" flows "$W/flows.pcap" 500000 2
large "many flows, 1M" "$W/flows.pcap"
rm -f "$W/flows.pcap"

# Beside each, the bare flow-hash loop (pcap_loop --flows: the same key and
# hash, an open-addressing table): what any flow table pays for the number
# of its flows. The sensor's growth from 10 k to 1 M flows is set against it.
declare -A NS HASHNS
for flows in 10000 1000000; do
    r=$((4000000 / flows))
    "$GEN" flows "$W/a.pcap" "$flows" "$r"
    "$GEN" flows "$W/b.pcap" "$flows" $((2 * r))
    ta=$(best sensor "$W/a.pcap")
    tb=$(best sensor "$W/b.pcap")
    ha=$(best "$LOOP" --flows "$W/a.pcap")
    hb=$(best "$LOOP" --flows "$W/b.pcap")
    NS[$flows]=$(calc "($tb - $ta) * 1000000000 / 4000000")
    HASHNS[$flows]=$(calc "($hb - $ha) * 1000000000 / 4000000")
    printf '%8d concurrent flows: %.0f ns per packet (4M packets %.2f s, 8M %.2f s); bare flow-hash loop %.0f ns\n' \
        "$flows" "${NS[$flows]}" "$ta" "$tb" "${HASHNS[$flows]}"
    rm -f "$W/a.pcap" "$W/b.pcap"
done
printf 'from 10 k to 1 M flows: pinhole +%.0f ns per packet, the bare flow-hash loop +%.0f ns\n' \
    "$(calc "${NS[1000000]} - ${NS[10000]}")" "$(calc "${HASHNS[1000000]} - ${HASHNS[10000]}")"
