#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for
# SECONDS (default 60) on seeds from pcaps/ and rules/ (for the collector's
# message path: batches of the events the sensor writes for the lab
# captures). A crash fails the run and leaves the input in
# build-fuzz/crash-* (or timeout-*: an input that took over 10 s, a hang):
# minimize it and keep it as a regression case. Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DPINHOLE_FUZZ=ON -DPINHOLE_TESTS=OFF >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target fuzz_decode fuzz_capture fuzz_rules fuzz_sip fuzz_websocket \
    fuzz_dns fuzz_collector pinhole-sensor >/dev/null
C=build-fuzz/corpus
mkdir -p $C/decode $C/capture $C/rules $C/sip $C/websocket $C/dns $C/collector
cp pcaps/*.pcap pcaps/*.pcapng $C/capture/
# The same capture through each tunnel a remote mirror uses (decode_tunnel.c).
cc -O1 -o build-fuzz/gen-tunnel tests/tools/gen_tunnel.c
for t in gre gre-teb erspan1 erspan2 erspan3 vxlan geneve mpls; do
    build-fuzz/gen-tunnel pcaps/lab-https-inside.pcap "$C/capture/tunnel-$t.pcap" "$t"
done
# Frames of a real capture, plain and tunneled, as decode seeds.
for f in pcaps/lab-https-inside.pcap "$C"/capture/tunnel-*.pcap; do
    python3 - "$f" "$C/decode" "$(basename "$f" .pcap)" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read(); off, i = 24, 0
while off + 16 <= len(d) and i < 64:
    n = struct.unpack("<I", d[off + 8:off + 12])[0]
    open("%s/%s-f%03d" % (sys.argv[2], sys.argv[3], i), "wb").write(b"\x00" + d[off + 16:off + 16 + n])
    off += 16 + n; i += 1
PY
done
for f in rules/*.yaml; do { printf '\x00'; cat "$f"; } >"$C/rules/$(basename "$f")"; done
for f in rules/inventory/*.yaml; do { printf '\x01'; cat "$f"; } >"$C/rules/inv-$(basename "$f")"; done
# SIP messages from the lab's own captures (UDP payloads starting like SIP).
python3 - "$C/sip" pcaps/lab-sip-*-inside.pcap <<'PY'
import struct, sys
out, n = sys.argv[1], 0
for path in sys.argv[2:]:
    d = open(path, "rb").read(); off = 24
    while off + 16 <= len(d) and n < 200:
        cl = struct.unpack("<I", d[off + 8:off + 12])[0]
        frame = d[off + 16:off + 16 + cl]; off += 16 + cl
        if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
            continue
        ihl = (frame[14] & 15) * 4
        payload = frame[14 + ihl + 8:]
        if payload[:1].isupper() or payload.startswith(b"SIP/2.0"):
            open("%s/lab%03d" % (out, n), "wb").write(b"\x00" + payload); n += 1
PY
# DNS responses from the DNS lab (UDP payloads from port 53), as UDP and
# as TCP segments (with the 2-byte length).
python3 - "$C/dns" pcaps/lab-dns.pcap <<'PY'
import struct, sys
out, n = sys.argv[1], 0
d = open(sys.argv[2], "rb").read(); off = 24
while off + 16 <= len(d):
    cl = struct.unpack("<I", d[off + 8:off + 12])[0]
    frame = d[off + 16:off + 16 + cl]; off += 16 + cl
    if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        continue
    ihl = (frame[14] & 15) * 4
    udp = frame[14 + ihl:]
    if struct.unpack(">H", udp[0:2])[0] not in (53, 5353):
        continue
    p = udp[8:]
    open("%s/udp%02d" % (out, n), "wb").write(b"\x00" + p)
    open("%s/tcp%02d" % (out, n), "wb").write(b"\x01" + struct.pack(">H", len(p)) + p)
    n += 1
PY
for f in tests/data/sip/*.txt; do
    { printf '\x00'; cat "$f"; } >"$C/sip/dgram-$(basename "$f")"
    { printf '\x01'; cat "$f" "$f"; } >"$C/sip/stream-$(basename "$f")"
done
# SIP over WebSocket: tests/data/websocket/*.bin, conversations in the
# target's record format, and one built from the lab's SIP messages.
cp tests/data/websocket/*.bin $C/websocket/
python3 tests/data/websocket/make_seeds.py "$C/websocket" "$C"/sip/lab00*
# Collector messages: batches of the events the sensor writes for lab captures.
for cap in lab-https-inside lab-sip-portchange-inside lab-sip-alg-inside lab-sip-oneway-inside; do
    ASAN_OPTIONS=detect_leaks=0 build-fuzz/sensor/pinhole-sensor --rules rules \
        --inventory rules/inventory/lab.yaml --read "pcaps/$cap.pcap" --report none \
        --events "$C/$cap.jsonl" 2>/dev/null || true
done
python3 - "$C/collector" "$C"/*.jsonl <<'PY'
import json, sys
out, n = sys.argv[1], 0
for path in sys.argv[2:]:
    lines = open(path).read().splitlines()
    for i in range(0, len(lines), 3):
        batch = lines[i:i + 3]
        head = {"link": 1, "kind": "events", "sensor": "fuzz", "epoch": "e1", "first": i + 1,
                "count": len(batch), "base": 1}
        open("%s/b%03d" % (out, n), "wb").write(json.dumps(head).encode() + b"\0" +
                                                 "\n".join(batch).encode())
        n += 1
PY
rm -f "$C"/*.jsonl
for t in decode capture rules sip websocket dns collector; do
    echo "== fuzz_$t for ${secs}s"
    if ! build-fuzz/tests/fuzz/fuzz_$t -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -max_len=262144 \
            -print_final_stats=1 -artifact_prefix=build-fuzz/ "$C/$t" >build-fuzz/fuzz_$t.log 2>&1; then
        tail -40 build-fuzz/fuzz_$t.log
        echo "fuzz_$t: crash (input saved as build-fuzz/crash-*)"
        exit 1
    fi
    grep -E "^stat::(number_of_executed_units|peak_rss_mb)" build-fuzz/fuzz_$t.log | tr '\n' ' '
    echo
done
echo "fuzzing: no crash"
