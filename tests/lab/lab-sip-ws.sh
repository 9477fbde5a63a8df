#!/usr/bin/env bash
# Records pcaps/lab-sip-ws.pcap: SIP over WebSocket (RFC 7118) and SIP over
# TLS between two namespaces over real TCP connections.
#
#   ph-wsc (phone 192.168.60.10, site lab-voip;   ---- ph-wss (203.0.113.50)
#           192.168.50.10, site lab-branch)
#
# tests/lab/ws_sip.py plays both ends (standard-library Python: the
# WebSocket framing is its own, the TCP and TLS are the kernel's and
# OpenSSL's): one WebSocket session (REGISTER, INVITE over two segments,
# ACK fragmented with a ping between, BYE, close) on port 8080, then one
# SIP-over-TLS REGISTER on 5061 (a throwaway self-signed certificate) from
# 192.168.50.10, so lab-branch sees SIP only encrypted while lab-voip sees
# it in clear (inventory: rules/inventory/lab.yaml).
# tshark decodes the capture independently (tests/integration/lab_sip_ws.py).
# All traffic stays inside the namespaces made here; removed on exit.
set -euo pipefail
OUT=$(realpath "${1:-$(dirname "$0")/../../pcaps}")
HERE=$(realpath "$(dirname "$0")")
WORK=$(mktemp -d /tmp/pinhole-ws.XXXXXX)
C=ph-wsc S=ph-wss
. "$HERE/netns.sh"
cleanup() {
    set +e
    ns_remove $C $S
    rm -rf "$WORK"
}
trap cleanup EXIT
cleanup; WORK=$(mktemp -d /tmp/pinhole-ws.XXXXXX)

for ns in $C $S; do ip netns add $ns; in_ns $ns ip link set lo up; done
ip link add wsc0 netns $C type veth peer name wss0 netns $S
in_ns $C ethtool -K wsc0 gro off gso off tso off tx off rx off >/dev/null 2>&1 || true
in_ns $S ethtool -K wss0 gro off gso off tso off tx off rx off >/dev/null 2>&1 || true
in_ns $C ip addr add 192.168.60.10/32 dev wsc0
in_ns $C ip addr add 192.168.50.10/32 dev wsc0
in_ns $S ip addr add 203.0.113.50/32 dev wss0
in_ns $C ip link set wsc0 up
in_ns $S ip link set wss0 up
in_ns $C ip route add 203.0.113.50/32 dev wsc0
in_ns $S ip route add 192.168.60.10/32 dev wss0
in_ns $S ip route add 192.168.50.10/32 dev wss0

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=sip.lab.example \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
in_ns $C timeout 30 tcpdump -i wsc0 -U -s 0 -w "$WORK/ws.pcap" tcp >/dev/null 2>&1 &
TD=$!
WS_SIP_CERT_DIR=$WORK in_ns $S timeout 30 python3 "$HERE/ws_sip.py" server 203.0.113.50 &
sleep 1
in_ns $C timeout 20 python3 "$HERE/ws_sip.py" client 203.0.113.50 192.168.50.10
sleep 1
kill $TD; wait $TD || true
cp "$WORK/ws.pcap" "$OUT/lab-sip-ws.pcap"
echo "wrote $OUT/lab-sip-ws.pcap"
