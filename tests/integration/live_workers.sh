#!/usr/bin/env bash
# --workers on a live port: lab captures (a two-way call with its SIP, an
# asymmetric-RTP call, HTTPS fetches) replayed with tcpreplay onto a veth
# between two namespaces made here, captured at the other end with 1, 2
# and 4 workers. Each run must give the same flows (5-tuple, application,
# verdict, rule, reason), the same other events (SIP transactions, one-way
# media, summaries: by type and site), the same report verdicts per site,
# and no kernel drop. Skips (77) without root, namespaces or tcpreplay.
# Usage: live_workers.sh SENSOR SRCDIR
set -u
SENSOR=$1 SRC=$2
[ "$(id -u)" -eq 0 ] || { echo "not root: skipped"; exit 77; }
command -v ip >/dev/null || { echo "no iproute2: skipped"; exit 77; }
command -v tcpreplay >/dev/null || { echo "no tcpreplay: skipped"; exit 77; }
TX=ph-lw-tx-$$ RX=ph-lw-rx-$$
T=$(mktemp -d)
SENSOR_PID=""
cleanup() {
    [ -n "$SENSOR_PID" ] && kill -9 "$SENSOR_PID" 2>/dev/null
    for ns in $TX $RX; do
        ip netns pids $ns 2>/dev/null | xargs -r kill -9 2>/dev/null
        ip netns del $ns 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT
ip netns add $TX && ip netns add $RX || { echo "cannot make namespaces: skipped"; exit 77; }
for ns in $TX $RX; do # no router solicitations or MLD reports of their own
    ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add lw0 netns $TX type veth peer name lw1 netns $RX
ip -n $TX link set lw0 up; ip -n $RX link set lw1 up
for x in "$TX lw0" "$RX lw1"; do
    set -- $x
    ip netns exec "$1" ethtool -K "$2" gro off gso off tso off tx off rx off >/dev/null 2>&1
done
CAPS="$SRC/pcaps/lab-sip-twoway-inside.pcap $SRC/pcaps/lab-media-asym-inside.pcap $SRC/pcaps/lab-https-inside.pcap"

for n in 1 2 4; do
    # No `timeout` in front: a background job ignores SIGINT unless the
    # program sets its handler (the sensor does); a watchdog bounds it.
    ip netns exec $RX "$SENSOR" --rules "$SRC/rules" --inventory "$SRC/rules/inventory/lab.yaml" \
        --interface lw1 --workers $n --events "$T/ev-$n.jsonl" --report json \
        --report-file "$T/rep-$n.json" 2>"$T/err-$n" &
    SENSOR_PID=$!
    ( sleep 90; kill -9 $SENSOR_PID ) >/dev/null 2>&1 &
    WATCHDOG=$!
    for _ in $(seq 100); do grep -q "capturing on lw1" "$T/err-$n" && break; sleep 0.1; done
    grep -q "capturing on lw1" "$T/err-$n" || { echo "FAIL: sensor did not start: $(cat "$T/err-$n")"; exit 1; }
    # One after the other, at 4x their own pace (about 6 s in all).
    for c in $CAPS; do
        ip netns exec $TX timeout 30 tcpreplay -q -i lw0 --multiplier=4 "$c" >/dev/null 2>&1
    done
    sleep 1 # the last frames through the ring
    kill -INT $SENSOR_PID
    wait $SENSOR_PID
    echo "$n workers: exit $?"
    SENSOR_PID=""
    pkill -P $WATCHDOG sleep 2>/dev/null; kill $WATCHDOG 2>/dev/null
done

python3 - "$T" <<'PY'
import collections, json, re, sys
t = sys.argv[1]

def summary(n):
    flows, other = collections.Counter(), collections.Counter()
    for line in open("%s/ev-%d.jsonl" % (t, n)):
        e = json.loads(line)
        if e["event_type"] == "flow":
            p = e["pinhole"]
            flows[(e["src_ip"], e.get("src_port"), e["dest_ip"], e.get("dest_port"), e["proto"],
                   e.get("app_proto"), p["verdict"], p.get("rule"), p.get("reason"))] += 1
        elif e["event_type"] != "stats":
            other[(e["event_type"], e.get("site"))] += 1
    rep = json.load(open("%s/rep-%d.json" % (t, n)))
    verdicts = {s["site"]: (s["flows"], s["status"], json.dumps(s["compliance"], sort_keys=True))
                for s in rep["sites"]}
    err = open("%s/err-%d" % (t, n)).read()
    m = re.search(r"(\d+) packets received, (\d+) dropped by the kernel", err)
    return flows, other, verdicts, m and (int(m.group(1)), int(m.group(2)))

fails = passes = 0
def check(what, ok):
    global fails, passes
    print(("ok: " if ok else "FAIL: ") + what)
    passes += ok
    fails += not ok

base = summary(1)
check("one worker: flows judged (%d), other events (%d)" % (sum(base[0].values()), sum(base[1].values())),
      sum(base[0].values()) > 10 and sum(base[1].values()) > 0)
check("one worker: the 682 frames replayed received, no kernel drop (%s)" % (base[3],),
      base[3] is not None and base[3][0] == 682 and base[3][1] == 0)
for n in (2, 4):
    s = summary(n)
    check("%d workers: the same flows, applications and verdicts" % n, s[0] == base[0])
    if s[0] != base[0]:
        print("  only alone:", sorted(base[0] - s[0])[:3])
        print("  only with workers:", sorted(s[0] - base[0])[:3])
    check("%d workers: the same other events by type and site" % n, s[1] == base[1])
    check("%d workers: the same report per site" % n, s[2] == base[2])
    check("%d workers: the same packets received, no kernel drop (%s)" % (n, s[3]),
          s[3] is not None and s[3] == base[3])
print("%d passed, %d failed" % (passes, fails))
sys.exit(1 if fails else 0)
PY
