#!/usr/bin/env bash
# Installs what is missing (Debian 12, as root), builds pinhole, and
# 1. audits the bundled lab capture (a branch site seen from its firewall's
#    LAN port) against the bundled profiles and sample inventory: prints the
#    per-site compliance report (events in build/demo-events.jsonl);
# 2. runs a collector on loopback (CURVE keys made in build/demo/) and has
#    three sensors publish to it: the inside and outside views of lab-branch
#    and a phone site, lab-voip; prints each site's compliance from the
#    collector's HTTP API and the dashboard's URL, and (on a terminal) keeps
#    the collector running until Enter is pressed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
set +e
./build/sensor/pinhole-sensor \
    --rules rules \
    --inventory rules/inventory/lab.yaml \
    --geoip tests/data/lab-asn.mmdb \
    --read pcaps/lab-https-inside.pcap \
    --events build/demo-events.jsonl
status=$?
set -e
echo "(exit status $status: 0 compliant, 1 not compliant, 2 error, 3 no site observed, 4 incomplete;"
echo " events in build/demo-events.jsonl)"
[ $status -le 1 ] || [ $status -eq 4 ]

echo
echo "== a collector and three sensors on loopback"
D=build/demo
rm -rf "$D" && mkdir -p "$D/keys" "$D/allow"
for n in collector branch-inside branch-outside voip; do
    ./build/collector/pinhole-keygen "$n" "$D/keys" >/dev/null
done
cp "$D"/keys/branch-*.pub "$D"/keys/voip.pub "$D/allow/"
port=${PINHOLE_DEMO_PORT:-17701} http=${PINHOLE_DEMO_HTTP:-17780}
./build/collector/pinhole-collector --rules rules --inventory rules/inventory/lab.yaml \
    --listen "tcp://127.0.0.1:$port" --http "127.0.0.1:$http" --db "$D/collector.db" \
    --key "$D/keys/collector.key" --allow "$D/allow" --alerts "$D/alerts.jsonl" \
    2>"$D/collector.log" &
collector=$!
trap 'kill $collector 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$http/health" >/dev/null && break
    kill -0 $collector 2>/dev/null || { cat "$D/collector.log"; exit 1; }
    sleep 0.1
done
for cap in branch-inside:lab-https-inside branch-outside:lab-https-outside voip:lab-sip-portchange-inside; do
    ./build/sensor/pinhole-sensor --rules rules --inventory rules/inventory/lab.yaml \
        --geoip tests/data/lab-asn.mmdb --read "pcaps/${cap#*:}.pcap" --report none \
        --sensor "${cap%%:*}" --publish "tcp://127.0.0.1:$port" \
        --collector-key "$D/keys/collector.pub" --key "$D/keys/${cap%%:*}.key" 2>&1 |
        grep -o 'published.*' || true
done
curl -s "http://127.0.0.1:$http/api/sites" | python3 -c '
import json, sys
for s in json.load(sys.stdin)["sites"]:
    print("  %-11s %-14s flows %-3d rules failing %d, NAT %s" % (s["site"],
          s.get("status", "?").replace("_", " ").upper() if s["observed"] else "not observed",
          s["flows"], s["rules_failing"], s["nat"]))'
echo "(API: /api/sites/lab-branch, /api/sensors, /api/events, /metrics on 127.0.0.1:$http"
echo " while it runs; alerts in $D/alerts.jsonl; state in $D/collector.db)"
echo
echo "Dashboard: http://127.0.0.1:$http/"
echo "  (from another machine: ssh -L $http:127.0.0.1:$http THIS-HOST, then the same URL)"
if [ -t 0 ] && [ -z "${PINHOLE_DEMO_NO_WAIT:-}" ]; then
    read -r -p "Press Enter to stop the collector. " _ || true
fi
kill -TERM $collector; wait $collector || true
trap - EXIT
