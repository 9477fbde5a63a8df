#!/usr/bin/env bash
# Installs what is missing (Debian 12, as root), builds pinhole, and audits
# the bundled lab capture (a branch site seen from its firewall's LAN port)
# against the bundled profiles and sample inventory: prints the per-site
# compliance report. The events go to build/demo-events.jsonl.
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
echo "(exit status $status: 0 compliant, 1 not compliant, 2 error, 3 no site observed;"
echo " events in build/demo-events.jsonl)"
[ $status -le 1 ]
