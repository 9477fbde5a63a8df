#!/usr/bin/env bash
# Privilege drop (common/privs.c), checked from /proc while the sensor runs:
#  1. --user nobody, as root, on a live capture (lo of a network namespace
#     made here), publishing so that the ZeroMQ threads exist before the
#     drop: every thread runs as nobody:nogroup with no supplementary
#     group and no capability (inheritable, permitted, effective,
#     ambient); the main thread's bounding set is empty too.
#  2. No --user, started as nobody with only CAP_NET_RAW and CAP_NET_ADMIN
#     as ambient capabilities (what pinhole-sensor@.service gives), and
#     publishing: the capture opens, then no thread (the publisher's
#     included: capabilities are per thread) holds a capability.
#  3. --user nobody on a file: the events file and the report are created
#     after the drop (nobody's, mode 0640); the report is the usual one.
#     --user of a missing user: exit 2.
# Skips (77) without root or network namespaces.
# Usage: privs.sh SENSOR SRCDIR
set -u
SENSOR=$1 SRC=$2
[ "$(id -u)" -eq 0 ] || { echo "not root: skipped"; exit 77; }
unshare --net true 2>/dev/null || { echo "no network namespaces: skipped"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "no user nobody: skipped"; exit 77; }
T=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
chmod 755 "$T"
mkdir "$T/out" && chown nobody "$T/out"
# The spools: written after the drop (events kept there are not lost).
mkdir "$T/spool1" "$T/spool2" && chown nobody "$T/spool1" "$T/spool2"
fail() { echo "FAIL: $*"; exit 1; }
NOBODY=$(id -u nobody) NOGROUP=$(id -g nobody)
RULES=(--rules "$SRC/rules" --inventory "$SRC/rules/inventory/lab.yaml")

# field NAME TASK: the value(s) of a /proc status line
field() { sed -n "s/^$1:[[:space:]]*//p" "$2/status"; }

# Starts "$@" (which execs the sensor, keeping its pid) and waits for the
# capture to be open: the drop is done before that line is logged.
start() {
    "$@" 2>"$T/err" &
    PID=$!
    for _ in $(seq 100); do grep -q "capturing on lo" "$T/err" && return; sleep 0.1; done
    fail "the sensor did not start: $(cat "$T/err")"
}

stop() {
    kill -INT "$PID"
    wait "$PID"
    local rc=$?
    PID=
    [ $rc -eq 3 ] || fail "$1: exit $rc, want 3 (no site seen): $(cat "$T/err")"
}

# 1. --user as root, live, with publisher threads
start unshare --net sh -c 'ip link set lo up && exec "$@"' sh "$SENSOR" "${RULES[@]}" \
    --interface lo --user nobody --report-file "$T/out/live.txt" \
    --plain --publish tcp://127.0.0.1:9 --publish-timeout 0 --spool "$T/spool1"
grep -q "running as nobody (uid $NOBODY, gid $NOGROUP) with no capabilities" "$T/err" ||
    fail "no drop logged: $(cat "$T/err")"
tasks=$(ls /proc/$PID/task | wc -l)
[ "$tasks" -gt 1 ] || fail "one thread only: the publisher's threads are missing"
for task in /proc/$PID/task/*; do
    [ "$(field Uid "$task")" = "$NOBODY	$NOBODY	$NOBODY	$NOBODY" ] ||
        fail "$task: Uid $(field Uid "$task")"
    [ "$(field Gid "$task")" = "$NOGROUP	$NOGROUP	$NOGROUP	$NOGROUP" ] ||
        fail "$task: Gid $(field Gid "$task")"
    [ -z "$(field Groups "$task")" ] || fail "$task: supplementary groups $(field Groups "$task")"
    for c in CapInh CapPrm CapEff CapAmb; do
        [ "$(field $c "$task")" = 0000000000000000 ] || fail "$task: $c $(field $c "$task")"
    done
done
[ "$(field CapBnd /proc/$PID)" = 0000000000000000 ] ||
    fail "bounding set left: $(field CapBnd /proc/$PID)"
stop "live --user nobody"
[ "$(stat -c %U:%a "$T/out/live.txt")" = nobody:640 ] ||
    fail "live report: $(stat -c %U:%a "$T/out/live.txt")"
echo "ok: --user nobody, live, $tasks threads"

# 2. started unprivileged with the unit's ambient capabilities
start unshare --net sh -c 'ip link set lo up && exec "$@"' sh \
    setpriv --reuid nobody --regid nogroup --clear-groups \
    --inh-caps +net_raw,+net_admin --ambient-caps +net_raw,+net_admin \
    "$SENSOR" "${RULES[@]}" --interface lo --report none \
    --plain --publish tcp://127.0.0.1:9 --publish-timeout 0 --spool "$T/spool2"
grep -q "capabilities dropped (uid $NOBODY)" "$T/err" || fail "no drop logged: $(cat "$T/err")"
tasks=$(ls /proc/$PID/task | wc -l)
[ "$tasks" -gt 1 ] || fail "one thread only: the publisher's threads are missing"
for task in /proc/$PID/task/*; do
    for c in CapInh CapPrm CapEff CapAmb; do
        [ "$(field $c "$task")" = 0000000000000000 ] || fail "$task: $c $(field $c "$task")"
    done
done
stop "ambient capabilities"
echo "ok: ambient CAP_NET_RAW/CAP_NET_ADMIN dropped once the capture is open, $tasks threads"

# 3. --user on a file
"$SENSOR" "${RULES[@]}" --read "$SRC/pcaps/lab-https-inside.pcap" --user nobody \
    --events "$T/out/ev.jsonl" --report-file "$T/out/report.txt" 2>"$T/err"
rc=$?
[ $rc -eq 1 ] || fail "file --user nobody: exit $rc: $(cat "$T/err")"
grep -q "running as nobody" "$T/err" || fail "no drop logged: $(cat "$T/err")"
[ "$(stat -c %U:%a "$T/out/ev.jsonl")" = nobody:640 ] ||
    fail "events: $(stat -c %U:%a "$T/out/ev.jsonl")"
[ "$(stat -c %U:%a "$T/out/report.txt")" = nobody:640 ] ||
    fail "report: $(stat -c %U:%a "$T/out/report.txt")"
grep -q "^Site lab-branch: NOT COMPLIANT" "$T/out/report.txt" || fail "report: $(cat "$T/out/report.txt")"
"$SENSOR" "${RULES[@]}" --read "$SRC/pcaps/lab-https-inside.pcap" --user pinhole-no-such-user \
    --report none 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q "no such user" "$T/err" || fail "missing user: exit $rc: $(cat "$T/err")"
echo "ok: --user nobody on a file"
