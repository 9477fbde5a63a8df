#!/usr/bin/env bash
# The sensor as a long-running service on a veth inside namespaces made here:
#  - the clock moves on a quiet port: an idle UDP and an idle TCP flow get
#    their flow events with no further traffic; an unanswered REGISTER ends
#    `timeout` (RFC 3261 timer F, 32 s); stats and site_summary events come
#    every --summary-interval, with the kernel's capture counters;
#  - SIGHUP reopens the events file (logrotate moved it), refuses an
#    inventory with a mistake (the old one kept), takes a corrected one
#    (a new address for a role is used at once), keeping the flows;
#  - SIGTERM under a packet flood ends the run with its final events and
#    report; the collector's /metrics shows the kernel's counters.
# Skips (77) without root or network namespaces.
# Usage: live_service.sh SENSOR SRCDIR COLLECTOR
set -u
SENSOR=$1 SRC=$2 COLLECTOR=$3
[ "$(id -u)" -eq 0 ] || { echo "not root: skipped"; exit 77; }
command -v ip >/dev/null || { echo "no iproute2: skipped"; exit 77; }
A=ph-svc-site B=ph-svc-cloud
cleanup() {
    for ns in $A $B; do
        ip netns pids $ns 2>/dev/null | xargs -r kill -9 2>/dev/null
        ip netns del $ns 2>/dev/null
    done
    rm -rf "$T"
}
T=$(mktemp -d)
trap cleanup EXIT
ip netns add $A && ip netns add $B || { echo "cannot make namespaces: skipped"; exit 77; }
ip link add svc0 netns $A type veth peer name svc1 netns $B
ip -n $A addr add 192.168.50.10/24 dev svc0
ip -n $A addr add 192.168.51.10/24 dev svc0
ip -n $B addr add 203.0.113.40/24 dev svc1
ip -n $B addr add 203.0.113.41/24 dev svc1
ip -n $B addr add 203.0.113.50/24 dev svc1
ip netns exec $A ethtool -K svc0 gro off gso off tso off tx off rx off >/dev/null 2>&1
ip netns exec $B ethtool -K svc1 gro off gso off tso off tx off rx off >/dev/null 2>&1
ip -n $A link set svc0 up; ip -n $B link set svc1 up; ip -n $A link set lo up
ip -n $A route add 203.0.113.0/24 dev svc0
ip -n $B route add 192.168.50.0/24 dev svc1
ip -n $B route add 192.168.51.0/24 dev svc1

fails=0 passes=0
check() { if eval "$2"; then passes=$((passes + 1)); echo "ok: $1"; else fails=$((fails + 1)); echo "FAIL: $1"; fi; }
# Waits (bounded, 0.2 s steps) until a python expression over the events
# file's lines is true.
wait_for() { # seconds, file, python condition over `ev` (a list of dicts)
    local secs=$1 file=$2 cond=$3 end=$(($(date +%s) + $1))
    while [ "$(date +%s)" -le $end ]; do
        python3 - "$file" "$cond" <<'EOF' && return 0
import json, sys
try:
    ev = [json.loads(l) for l in open(sys.argv[1])]
except (OSError, ValueError):
    sys.exit(1)
sys.exit(0 if eval(sys.argv[2]) else 1)
EOF
        sleep 0.2
    done
    return 1
}

# The cloud side: a TCP service that accepts and holds, a SIP "proxy" that
# never answers; both bounded in time.
ip netns exec $B timeout 150 python3 -c '
import socket, time
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("203.0.113.40", 8445)); t.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("203.0.113.50", 5060))
held = []
t.settimeout(0.5)
end = time.time() + 145
while time.time() < end:
    try:
        c, _ = t.accept(); held.append(c)
    except socket.timeout:
        pass
' >/dev/null 2>&1 &

cp "$SRC/rules/inventory/lab.yaml" "$T/inv.yaml"
ip netns exec $A "$COLLECTOR" --plain --rules "$SRC/rules" --inventory "$T/inv.yaml" \
    --listen tcp://127.0.0.1:7701 --http 127.0.0.1:7780 --db "$T/c.db" 2>"$T/collector.err" &
for _ in $(seq 50); do
    ip netns exec $A curl -sf http://127.0.0.1:7780/health >/dev/null && break; sleep 0.1
done

ip netns exec $A "$SENSOR" --rules "$SRC/rules" --inventory "$T/inv.yaml" \
    --interface svc0 --events "$T/ev.jsonl" --report-file "$T/report.txt" \
    --idle-timeout 3 --summary-interval 2 --plain --publish tcp://127.0.0.1:7701 \
    --spool "$T/spool" 2>"$T/err" &
SENSOR_PID=$!
( sleep 150; kill -9 $SENSOR_PID ) >/dev/null 2>&1 &
WATCHDOG=$!
for _ in $(seq 50); do grep -q "capturing on svc0" "$T/err" && break; sleep 0.1; done
grep -q "capturing on svc0" "$T/err" || { echo "FAIL: sensor did not start: $(cat "$T/err")"; exit 1; }

# One UDP datagram, one TCP connection left open, one REGISTER: then quiet.
ip netns exec $A python3 -c '
import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"ping", ("203.0.113.40", 8445))
reg = ("REGISTER sip:pbx.lab.example SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 192.168.50.10:5060;branch=z9hG4bK-live-1;rport\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:100@pbx.lab.example>;tag=1\r\n"
       "To: <sip:100@pbx.lab.example>\r\nCall-ID: live-register-1\r\nCSeq: 1 REGISTER\r\n"
       "Contact: <sip:100@192.168.50.10:5060>\r\nExpires: 300\r\nContent-Length: 0\r\n\r\n")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("192.168.50.10", 5060))
s.sendto(reg.encode(), ("203.0.113.50", 5060))
'
ip netns exec $A timeout 60 python3 -c '
import socket, time
c = socket.create_connection(("203.0.113.40", 8445)); c.send(b"hello"); time.sleep(58)
' >/dev/null 2>&1 &
T0=$(date +%s)

check "an idle UDP flow is judged with no further traffic" \
    "wait_for 15 '$T/ev.jsonl' 'any(e[\"event_type\"]==\"flow\" and e.get(\"proto\")==\"UDP\" and e.get(\"dest_port\")==8445 for e in ev)'"
check "an idle TCP flow (connection still open) is judged with no further traffic" \
    "wait_for 15 '$T/ev.jsonl' 'any(e[\"event_type\"]==\"flow\" and e.get(\"proto\")==\"TCP\" and e.get(\"dest_port\")==8445 for e in ev)'"
check "stats events every --summary-interval, with the kernel's counters" \
    "wait_for 10 '$T/ev.jsonl' 'sum(e[\"event_type\"]==\"stats\" for e in ev) >= 2 and all(e[\"stats\"][\"capture\"][\"kernel_packets\"] > 0 for e in ev if e[\"event_type\"]==\"stats\")'"
check "site_summary events for the site with SIP, at least two" \
    "wait_for 10 '$T/ev.jsonl' 'sum(e[\"event_type\"]==\"site_summary\" and e.get(\"site\")==\"lab-branch\" for e in ev) >= 2'"
check "the report file is written while the run goes on" "[ -s '$T/report.txt' ] && grep -q 'lab-branch' '$T/report.txt'"

# SIGHUP: the events file was moved away (logrotate), then reopened.
mv "$T/ev.jsonl" "$T/ev.1"
kill -HUP $SENSOR_PID
check "SIGHUP is not fatal and says what it did" \
    "for _ in \$(seq 25); do grep -q 'SIGHUP: events file reopened' '$T/err' && break; sleep 0.2; done; grep -q 'SIGHUP: events file reopened' '$T/err' && kill -0 $SENSOR_PID"
ip netns exec $A python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("203.0.113.40", 8447))'
check "after SIGHUP, events go to the new file" \
    "wait_for 10 '$T/ev.jsonl' 'any(e.get(\"dest_port\")==8447 for e in ev)'"
sz=$(stat -c %s "$T/ev.1")
check "the moved file is written no more, and ends with whole lines" \
    "sleep 1.5; [ \$(stat -c %s '$T/ev.1') -eq $sz ] && [ \"\$(tail -c1 '$T/ev.1' | od -An -c | tr -d ' ')\" = '\\n' ]"

# SIGHUP with a mistake in the inventory: refused, the old one kept.
cp "$T/inv.yaml" "$T/inv.good"
printf 'sites:\n  - name: [broken\n' >"$T/inv.yaml"
kill -HUP $SENSOR_PID
check "a broken inventory on SIGHUP is refused with file:line, the rules kept" \
    "for _ in \$(seq 25); do grep -q 'the rules in force are kept' '$T/err' && break; sleep 0.2; done; grep -q 'inv.yaml:[0-9]*.*the rules in force are kept' '$T/err' && kill -0 $SENSOR_PID"
# A corrected inventory that adds an address to the PBX's role and a new site
# ahead of the others (every site's index moves): used at once, and the
# counts so far stay with their site.
sed 's|    cidrs: \[203.0.113.40\]|    cidrs: [203.0.113.40, 203.0.113.41]|;
     s|^sites:$|sites:\n  - name: svc-new\n    cidrs: [192.168.51.0/24]|' "$T/inv.good" >"$T/inv.yaml"
kill -HUP $SENSOR_PID
check "a corrected inventory on SIGHUP is taken" \
    "for _ in \$(seq 25); do grep -q 'rules and inventory reloaded' '$T/err' && break; sleep 0.2; done; grep -q 'rules and inventory reloaded' '$T/err'"
ip netns exec $A timeout 2 bash -c '</dev/tcp/203.0.113.41/8446' 2>/dev/null
check "the new address has the role: 8446 to it is PBX-CFG, blocked by a reset" \
    "wait_for 10 '$T/ev.jsonl' 'any(e.get(\"dest_ip\")==\"203.0.113.41\" and e.get(\"pinhole\",{}).get(\"rule\")==\"PBX-CFG\" and e.get(\"pinhole\",{}).get(\"reason\")==\"reset\" for e in ev)'"
ip netns exec $A python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("192.168.51.10", 0)); s.sendto(b"x", ("203.0.113.40", 8448))'
check "the new site is known at once" \
    "wait_for 10 '$T/ev.jsonl' 'any(e.get(\"dest_port\")==8448 and e.get(\"site\")==\"svc-new\" for e in ev)'"

# The unanswered REGISTER ends `timeout` 32 s after it was sent.
left=$((T0 + 40 - $(date +%s)))
[ $left -lt 5 ] && left=5
check "an unanswered REGISTER ends timeout with no further traffic" \
    "wait_for $left '$T/ev.jsonl' 'any(e[\"event_type\"]==\"sip\" and e.get(\"sip\",{}).get(\"method\")==\"REGISTER\" and e[\"sip\"].get(\"end\")==\"timeout\" for e in ev)'"

# SIGTERM under a flood (bounded: 12 s at most) ends the run.
ip netns exec $B timeout 12 python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.time() + 10
i = 0
while time.time() < end:
    s.sendto(b"x" * 200, ("192.168.50.10", 20000 + i % 5000)); i += 1
' >/dev/null 2>&1 &
FLOOD=$!
sleep 2
start=$(date +%s%N)
kill -TERM $SENSOR_PID
for _ in $(seq 100); do kill -0 $SENSOR_PID 2>/dev/null || break; sleep 0.1; done
stopped=$(( ($(date +%s%N) - start) / 1000000 ))
kill -0 $SENSOR_PID 2>/dev/null && { echo "FAIL: the sensor ignored SIGTERM for 10 s"; kill -9 $SENSOR_PID; }
wait $SENSOR_PID; rc=$?
echo "measured: the sensor ended ${stopped} ms after SIGTERM, under a UDP flood"
kill $FLOOD 2>/dev/null; wait $FLOOD 2>/dev/null
pkill -P $WATCHDOG sleep 2>/dev/null; kill $WATCHDOG 2>/dev/null
check "SIGTERM ends the run normally (exit $rc)" "[ $rc -eq 0 ] || [ $rc -eq 1 ]"
check "the final stats event closes the file" "tail -1 '$T/ev.jsonl' | grep -q '\"event_type\":\"stats\"'"
check "the final report is written" "grep -q 'Site lab-branch' '$T/report.txt' && [ ! -e '$T/report.txt.tmp' ]"
check "the report's lab-branch counts every lab-branch flow, before and after the reload" \
    "python3 -c '
import json, re, sys
n = sum(1 for f in sys.argv[1:3] for l in open(f)
        if json.loads(l)[\"event_type\"] == \"flow\" and json.loads(l).get(\"site\") == \"lab-branch\")
m = re.search(r\"Site lab-branch: .*\\((\\d+) flows\", open(sys.argv[3]).read())
print(\"report: %s, events: %d\" % (m and m.group(1), n))
sys.exit(not (m and int(m.group(1)) == n and n > 5))' '$T/ev.1' '$T/ev.jsonl' '$T/report.txt'"
check "the new site is in the report" "grep -q 'Site svc-new' '$T/report.txt'"
check "every line of both files is whole JSON" \
    "python3 -c 'import json,sys; [json.loads(l) for f in sys.argv[1:] for l in open(f)]' '$T/ev.1' '$T/ev.jsonl'"
ip netns exec $A curl -s http://127.0.0.1:7780/metrics >"$T/metrics.txt"
kill -TERM %?COLLECTOR 2>/dev/null; ip netns pids $A | xargs -r kill -TERM 2>/dev/null
check "/metrics shows the sensor's kernel counters" \
    "grep -q '^pinhole_sensor_kernel_packets_total{sensor=\"lab-sensor\"} [1-9]' '$T/metrics.txt' && grep -q '^pinhole_sensor_kernel_drops_total{sensor=\"lab-sensor\"} ' '$T/metrics.txt'"
echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
