#!/usr/bin/env bash
# Live capture (--interface) on a veth inside network namespaces made here:
# a phone at the site fetches its configuration from the PBX service on
# 8445 (answered) and 8446 (nothing listens: reset). SIGINT ends the run
# with the report. The sensor also publishes to a collector on the site
# namespace's loopback: a live run's events, heartbeat statistics and "bye"
# arrive. Skips (77) without root or network namespaces.
# Usage: live.sh SENSOR SRCDIR COLLECTOR
set -u
SENSOR=$1 SRC=$2 COLLECTOR=$3
[ "$(id -u)" -eq 0 ] || { echo "not root: skipped"; exit 77; }
command -v ip >/dev/null || { echo "no iproute2: skipped"; exit 77; }
A=ph-live-site B=ph-live-cloud
T=$(mktemp -d)
cleanup() {
    for ns in $A $B; do
        ip netns pids $ns 2>/dev/null | xargs -r kill -9 2>/dev/null
        ip netns del $ns 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT
cleanup; T=$(mktemp -d)
ip netns add $A && ip netns add $B || { echo "cannot make namespaces: skipped"; exit 77; }
ip link add live0 netns $A type veth peer name live1 netns $B
ip -n $A addr add 192.168.50.10/24 dev live0
ip -n $B addr add 203.0.113.40/24 dev live1
ip -n $A link set live0 up; ip -n $B link set live1 up; ip -n $A link set lo up
ip -n $A route add 203.0.113.0/24 dev live0
ip -n $B route add 192.168.50.0/24 dev live1
ip netns exec $B timeout 30 python3 -m http.server 8445 --bind 203.0.113.40 >/dev/null 2>&1 &

ip netns exec $A "$COLLECTOR" --plain --rules "$SRC/rules" \
    --inventory "$SRC/rules/inventory/lab.yaml" --listen tcp://127.0.0.1:7701 \
    --http 127.0.0.1:7780 --db "$T/c.db" 2>"$T/collector.err" &
COLLECTOR_PID=$!
for _ in $(seq 50); do
    ip netns exec $A curl -sf http://127.0.0.1:7780/health >/dev/null && break; sleep 0.1
done

# No `timeout` in front: a background job of a script ignores SIGINT, and
# timeout would not pass it on. A watchdog bounds the run instead.
ip netns exec $A "$SENSOR" --rules "$SRC/rules" --inventory "$SRC/rules/inventory/lab.yaml" \
    --interface live0 --filter "tcp" --events "$T/ev.jsonl" --report-file "$T/report.txt" \
    --idle-timeout 60 --plain --publish tcp://127.0.0.1:7701 2>"$T/err" &
SENSOR_PID=$!
( sleep 60; kill -9 $SENSOR_PID ) >/dev/null 2>&1 &
WATCHDOG=$!
for _ in $(seq 50); do grep -q "capturing on live0" "$T/err" && break; sleep 0.1; done
grep -q "capturing on live0" "$T/err" || { echo "FAIL: sensor did not start: $(cat "$T/err")"; exit 1; }
for _ in $(seq 50); do ip netns exec $A timeout 1 bash -c '</dev/tcp/203.0.113.40/8445' 2>/dev/null && break; sleep 0.1; done
ip netns exec $A timeout 5 curl -s -o /dev/null http://203.0.113.40:8445/ || true
ip netns exec $A timeout 5 curl -s -o /dev/null http://203.0.113.40:8446/ || true
sleep 0.5
kill -INT $SENSOR_PID
wait $SENSOR_PID
rc=$?
pkill -P $WATCHDOG sleep 2>/dev/null; kill $WATCHDOG 2>/dev/null
ip netns exec $A curl -s http://127.0.0.1:7780/api/sensors >"$T/sensors.json"
kill -TERM $COLLECTOR_PID; wait $COLLECTOR_PID
fails=0 passes=0
check() { if eval "$2"; then passes=$((passes + 1)); echo "ok: $1"; else fails=$((fails + 1)); echo "FAIL: $1"; fi; }
check "SIGINT ends the run with a report (exit $rc)" "[ $rc -eq 1 ] && grep -q 'Site lab-branch: NOT COMPLIANT' '$T/report.txt'"
check "the fetch on 8445 is allowed" "grep -q '\"dest_port\":8445,.*\"verdict\":\"allowed\",\"rule\":\"PBX-CFG\"' '$T/ev.jsonl'"
check "8446 is blocked by a reset" "grep -q '\"dest_port\":8446,.*\"verdict\":\"blocked\",\"rule\":\"PBX-CFG\",\"reason\":\"reset\"' '$T/ev.jsonl'"
check "the filter kept UDP/ICMP out" "! grep -q '\"proto\":\"UDP\"' '$T/ev.jsonl'"
check "a stats event closes the stream" "tail -1 '$T/ev.jsonl' | grep -q '\"event_type\":\"stats\"'"
n=$(wc -l <"$T/ev.jsonl")
check "every event of the live run reached the collector ($n)" \
    "python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))[\"sensors\"][0]; sys.exit(not (s[\"received\"] == $n and s[\"state\"] == \"finished\" and s[\"stats\"][\"capture\"][\"decoder\"][\"pkts\"] > 0))' '$T/sensors.json'"
echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
