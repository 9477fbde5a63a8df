#!/usr/bin/env bash
# logrotate's way with the collector's --alerts file (dist/logrotate):
# the file is moved, SIGHUP makes the collector open a new one (mode 0640),
# and the alerts of a sensor's run (published over an ipc:// socket, so no
# port is taken) go to the new file, none to the moved one; the collector
# keeps running and ends cleanly on SIGTERM.
# Usage: reopen.sh SENSOR COLLECTOR SRCDIR
set -u
SENSOR=$1 COLLECTOR=$2 SRC=$3
T=$(mktemp -d)
CPID=
cleanup() { [ -n "$CPID" ] && kill -9 "$CPID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
RULES=(--rules "$SRC/rules" --inventory "$SRC/rules/inventory/lab.yaml")

"$COLLECTOR" "${RULES[@]}" --plain --listen "ipc://$T/c.sock" --http off --db "$T/c.db" \
    --alerts "$T/alerts.jsonl" 2>"$T/err" &
CPID=$!
for _ in $(seq 100); do grep -q "listening on" "$T/err" && break; sleep 0.1; done
grep -q "listening on" "$T/err" || fail "the collector did not start: $(cat "$T/err")"
mv "$T/alerts.jsonl" "$T/alerts.1"
kill -HUP $CPID
for _ in $(seq 100); do [ -e "$T/alerts.jsonl" ] && break; sleep 0.1; done
[ -e "$T/alerts.jsonl" ] || fail "no new alerts file after SIGHUP: $(cat "$T/err")"
[ "$(stat -c %a "$T/alerts.jsonl")" = 640 ] || fail "mode $(stat -c %a "$T/alerts.jsonl")"

"$SENSOR" "${RULES[@]}" --read "$SRC/pcaps/lab-https-inside.pcap" --report none \
    --plain --publish "ipc://$T/c.sock" --publish-timeout 20 2>"$T/sensor.err"
grep -q "0 not delivered" "$T/sensor.err" || fail "sensor: $(cat "$T/sensor.err")"
for _ in $(seq 100); do grep -q rule_status "$T/alerts.jsonl" && break; sleep 0.1; done
grep -q rule_status "$T/alerts.jsonl" || fail "no alert in the new file: $(cat "$T/err")"
[ ! -s "$T/alerts.1" ] || fail "alerts went to the moved file"
kill -0 $CPID 2>/dev/null || fail "the collector is gone"
kill -TERM $CPID
wait $CPID
rc=$?
CPID=
[ $rc -eq 0 ] || fail "collector exit $rc"
echo "ok: $(wc -l <"$T/alerts.jsonl") alerts in the reopened file"
