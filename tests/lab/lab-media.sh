#!/usr/bin/env bash
# Records the media lab captures (one-way audio) into pcaps/.
#
#   ph-med-phone (phone 192.168.60.10) -- ph-med-fw (routed, no NAT:
#   192.168.60.1 / 203.0.113.2) -- ph-med-prov (provider 203.0.113.51)
#
# GROUND TRUTH: filled in below.
#
# Usage: lab-media.sh [OUTDIR [SCENARIO]]; SCENARIO is one of asym,
# asym-oneway, lateoffer, hold, t38, early, short (default: all of them).
# All traffic stays inside the namespaces made here; removed on exit.
set -euo pipefail
OUT=$(realpath "${1:-$(dirname "$0")/../../pcaps}")
ONLY=${2:-all}
SCENARIOS="asym asym-oneway lateoffer hold t38 early short"
case " $SCENARIOS all " in *" $ONLY "*) ;; *) echo "unknown scenario $ONLY" >&2; exit 2;; esac
want() { [ "$ONLY" = all ] || [ "$ONLY" = "$1" ]; }
HERE=$(realpath "$(dirname "$0")")
mkdir -p "$OUT"
P=ph-med-phone F=ph-med-fw V=ph-med-prov
PH=192.168.60.10 PR=203.0.113.51
. "$HERE/netns.sh"
WORK=
cleanup() {
    set +e
    ns_remove $P $F $V
    [ -n "$WORK" ] && rm -rf "$WORK"
}
trap cleanup EXIT
cleanup; WORK=$(mktemp -d /tmp/pinhole-media.XXXXXX)
chmod 755 "$WORK"

for ns in $P $F $V; do ip netns add $ns; in_ns $ns ip link set lo up; done
ip link add med0 netns $P type veth peer name fw-in netns $F
ip link add fw-out netns $F type veth peer name prov0 netns $V
for x in "$P med0" "$F fw-in" "$F fw-out" "$V prov0"; do
    set -- $x
    in_ns $1 sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    in_ns $1 ethtool -K $2 gro off gso off tso off tx off rx off >/dev/null 2>&1 || true
done
in_ns $P ip addr add $PH/24 dev med0
in_ns $P ip link set med0 up
in_ns $P ip route add default via 192.168.60.1
in_ns $F ip addr add 192.168.60.1/24 dev fw-in
in_ns $F ip addr add 203.0.113.2/24 dev fw-out
in_ns $F ip link set fw-in up; in_ns $F ip link set fw-out up
in_ns $F sysctl -qw net.ipv4.ip_forward=1
in_ns $V ip addr add $PR/24 dev prov0
in_ns $V ip link set prov0 up
in_ns $V ip route add 192.168.60.0/24 via 203.0.113.2

PY=$(command -v python3)
LOG=$WORK/media.log
# rtp_play.py in the phone's or the provider's namespace (sipp runs it).
rtp() { echo "$PY $HERE/rtp_play.py --log $LOG $*"; }

# The phone's link (inside) and the provider's side of the firewall
# (outside), recorded in the firewall's namespace (ip netns exec execs
# tcpdump: $! is its pid).
TD=()
record_start() { # name
    ip netns exec $F tcpdump -i fw-in -s 0 -U -w "$WORK/$1-inside.pcap" "udp or icmp" 2>/dev/null &
    TD+=($!)
    ip netns exec $F tcpdump -i fw-out -s 0 -U -w "$WORK/$1-outside.pcap" "udp or icmp" 2>/dev/null &
    TD+=($!)
    sleep 1.5
}
record_stop() { # name
    # The media tools outlive sipp by their linger time: wait for them.
    local i
    for i in $(seq 100); do
        [ -z "$(ip netns pids $P; ip netns pids $V)" ] && break
        sleep 0.2
    done
    sleep 0.5
    kill -INT "${TD[@]}" 2>/dev/null || true
    wait "${TD[@]}" 2>/dev/null || true
    TD=()
    cp "$WORK/$1-inside.pcap" "$OUT/lab-media-$1-inside.pcap"
    cp "$WORK/$1-outside.pcap" "$OUT/lab-media-$1-outside.pcap"
    echo "== $1"; cat "$LOG"; : >"$LOG"
}

# One call: the provider's sipp (ANSWER, keys in PK) answers the phone's
# (CALL, keys in CK), which hangs up PAUSE ms after its ACK.
PK=() CK=()
call() { # name answer.xml call.xml pause-ms
    record_start "$1"
    in_ns $V timeout 40 sipp -sf "$HERE/$2" -i $PR -p 5065 -mi $PR -mp 6000 -m 1 \
        -timeout 30s -trace_err -error_file "$WORK/$1-uas.err" "${PK[@]}" \
        >"$WORK/$1-uas.out" 2>&1 &
    local uas=$!
    sleep 0.5
    in_ns $P timeout 40 sipp -sf "$HERE/$3" -i $PH -p 5060 -mi $PH -mp 6000 -s 200 -m 1 -l 1 \
        -d "$4" -timeout 30s -trace_err -error_file "$WORK/$1-uac.err" "${CK[@]}" $PR:5065 \
        >"$WORK/$1-uac.out" 2>&1 ||
        { echo "phone's sipp in $1 ended with an error:"; tail -5 "$WORK/$1-uac.out" "$WORK/$1-uac.err" 2>/dev/null; }
    wait $uas || { echo "provider's sipp in $1 ended with an error:"; tail -5 "$WORK/$1-uas.out" "$WORK/$1-uas.err" 2>/dev/null; }
    record_stop "$1"
    PK=() CK=()
}

# L16 at 16 kHz, 20 ms packets: 320 samples, 640 bytes.
L16="--pt 96 --ts-step 320 --payload 640"
asym_keys() {
    PK=(-key prov_port 20000 -key pt 96 -key rtpmap L16/16000
        -key prov_cmd "$(rtp --bind $PR:20000 --to $PH:30002 $L16 --ssrc 0x5A5A0001 --seq 20000 --count 150 --linger 1.5)")
    CK=(-key phone_port 30002 -key pt 96 -key rtpmap L16/16000 -key pre_cmd true
        -key phone_cmd "$(rtp --bind $PH:30000 --sink $PH:30002 --to $PR:20000 $L16 --ssrc 0x0A0A0001 --seq 300 --count 150 --linger 1.5)")
}
if want asym; then
    asym_keys
    call asym media-answer.xml media-call.xml 4000
fi
ls -l "$OUT"/lab-media-*.pcap
