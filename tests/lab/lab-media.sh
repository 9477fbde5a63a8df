#!/usr/bin/env bash
# Records the media lab captures (one-way audio) into pcaps/.
#
#   ph-med-phone (phone 192.168.60.10) -- ph-med-fw (routed, no NAT:
#   192.168.60.1 / 203.0.113.2) -- ph-med-prov (provider 203.0.113.51)
#
# SIP calls whose media is tricky, for the one-way audio test
# (tests/integration/lab_media.py). sipp does the signalling: the phone
# (UAC, 192.168.60.10:5060) calls the provider (UAS, 203.0.113.51:5065) with
# the scenarios tests/lab/media-*.xml; sipp's exec actions start
# tests/lab/rtp_play.py at the right moments for the RTP (or UDPTL), so that
# ports, payload types and clocks are exactly the scenario's. Every port that
# receives media has a socket bound: no ICMP in any capture. Recorded at the
# phone's link (fw-in in the firewall's namespace):
# pcaps/lab-media-NAME-inside.pcap; outside (fw-out) only where the two
# differ: asym-oneway. Media starts 0.3 s after the ACK (or the 183), one
# packet every 20 ms. Ground truth, counted with tshark on the captures
# (times from the INVITE; the script prints these counts on every run):
#
#   asym         RFC 4961 asymmetric RTP, L16/16000 (PT 96, rtpmap), 640-byte
#                payloads, timestamps +320 a packet. Phone's SDP: audio 30002,
#                it sends from 30000; provider's SDP 20000, sends from 20000.
#                30000 -> 20000: 140 packets 0.57-3.35 s; 20000 -> 30002: 140
#                packets 0.61-3.39 s; INVITE/100/200/ACK, BYE at 4.02 s, 200.
#                Call-ID 1-5241@192.168.60.10. Two-way: no alarm; jitter at
#                16 kHz ~0.05 ms (tshark), ~20 ms if computed at 8 kHz.
#   asym-oneway  asym, but the firewall drops UDP 203.0.113.51 -> .10:30002.
#                Inside: 30000 -> 20000 140 packets 0.53-3.31 s and nothing
#                toward the phone. Outside: that, and 20000 -> 30002 140
#                packets 0.51-3.29 s. BYE at 4.02 s. Call-ID 1-5550@... .
#                Inside: one rtp_one_way, missing inbound, site lab-voip;
#                outside: no alarm (both directions pass by).
#   lateoffer    INVITE without SDP; the 200 OK offers audio 20000 (PCMA,
#                PCMU); the ACK answers audio 30000 (PCMA). Symmetric:
#                30000 -> 20000 150 packets 0.61-3.59 s, 20000 -> 30000 150
#                packets 0.57-3.54 s; BYE at 4.03 s. Call-ID 1-5940@... .
#                No alarm; the media flow is the call's RTP.
#   hold         PCMA 30000 <-> 20000: 100 packets each way 0.60-2.58 s.
#                Re-INVITE (CSeq 2) at 2.51 s: phone audio 30010 a=sendonly,
#                answered 20000 a=recvonly. Then 30010 -> 20000 150 packets
#                3.00-5.98 s (music on hold), nothing toward the phone; BYE
#                (CSeq 3) at 6.02 s. Call-ID 1-6405@... . No alarm.
#   t38          PCMA 30000 <-> 20000: 100 packets each way 0.52-2.54 s.
#                Re-INVITE from the provider (its CSeq 1) at 2.51 s:
#                m=image 20020 udptl t38, answered m=image 30020. UDPTL
#                (2-byte sequence from 0, 45-byte payloads, first byte 0x00):
#                30020 -> 20020 150 packets 3.10-6.08 s, 20020 -> 30020 5
#                packets 3.01-5.41 s; BYE at 6.32 s. Call-ID 1-8035@... .
#                No alarm.
#   early        183 with SDP (audio 20000) at once; ringback 20000 -> 30000
#                100 packets 0.48-2.46 s; 200 OK at 2.81 s; then only the
#                phone: 30000 -> 20000 150 packets 3.27-6.25 s; BYE at 6.32 s.
#                Call-ID 1-9107@... . One-way after the answer: one
#                rtp_one_way, missing inbound (early media does not count).
#   short        Answered; 30000 -> 20000 25 packets 0.51-0.99 s, the
#                provider sends nothing; BYE at 1.02 s. Call-ID 1-9853@... .
#                No alarm: under 2 s of media time after the answer.
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
    # Outside is the same traffic as inside, except where the firewall drops.
    local v vs=inside
    if [ "$1" = asym-oneway ]; then
        cp "$WORK/$1-outside.pcap" "$OUT/lab-media-$1-outside.pcap"
        vs="inside outside"
    fi
    echo "== $1"; cat "$LOG"; : >"$LOG"
    for v in $vs; do
        echo "-- $v: $(tshark -r "$OUT/lab-media-$1-$v.pcap" -Y icmp 2>/dev/null | wc -l) ICMP"
        # Packets per direction of each UDP 5-tuple, with the first and last time.
        tshark -r "$OUT/lab-media-$1-$v.pcap" -Y "udp && !sip" -T fields -e frame.time_relative \
            -e ip.src -e udp.srcport -e ip.dst -e udp.dstport 2>/dev/null |
            awk '{k=$2":"$3" -> "$4":"$5; if(!(k in n)) f[k]=$1; n[k]++; l[k]=$1}
                 END {for (k in n) printf "%s %d packets %.2f-%.2f s\n", k, n[k], f[k], l[k]}' | sort
        tshark -r "$OUT/lab-media-$1-$v.pcap" -Y sip -T fields -e frame.time_relative -e ip.src \
            -e sip.Method -e sip.Status-Code -e sip.CSeq 2>/dev/null | tr '\t' ' '
    done
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
        -key prov_cmd "$(rtp --bind $PR:20000 --to $PH:30002 $L16 --ssrc 0x5A5A0001 --seq 20000 --count 140 --linger 1.5)")
    CK=(-key phone_port 30002 -key pt 96 -key rtpmap L16/16000 -key pre_cmd true
        -key phone_cmd "$(rtp --bind $PH:30000 --sink $PH:30002 --to $PR:20000 $L16 --ssrc 0x0A0A0001 --seq 300 --count 140 --linger 1.5)")
}
if want asym; then
    asym_keys
    call asym media-answer.xml media-call.xml 4000
fi
if want asym-oneway; then
    in_ns $F iptables -A FORWARD -p udp -s $PR -d $PH --dport 30002 -j DROP
    asym_keys
    call asym-oneway media-answer.xml media-call.xml 4000
    in_ns $F iptables -D FORWARD -p udp -s $PR -d $PH --dport 30002 -j DROP
fi
if want lateoffer; then
    PK=(-key prov_port 20000
        -key prov_cmd "$(rtp --bind $PR:20000 --to $PH:30000 --ssrc 0x5A5A0002 --seq 20000 --count 150 --linger 1.5)")
    CK=(-key phone_port 30000
        -key phone_cmd "$(rtp --bind $PH:30000 --to $PR:20000 --ssrc 0x0A0A0002 --seq 300 --count 150 --linger 1.5)")
    call lateoffer media-lateoffer-answer.xml media-lateoffer-call.xml 4000
fi
if want hold; then
    # The provider's port stays bound through the hold: it sinks the phone's
    # music on hold.
    PK=(-key prov_port 20000
        -key prov_cmd "$(rtp --bind $PR:20000 --to $PH:30000 --ssrc 0x5A5A0003 --seq 20000 --count 100 --linger 6.5)")
    CK=(-key phone_port 30000 -key hold_port 30010
        -key phone_cmd "$(rtp --bind $PH:30000 --to $PR:20000 --ssrc 0x0A0A0003 --seq 300 --count 100 --linger 1.5)"
        -key hold_cmd "$(rtp --bind $PH:30010 --to $PR:20000 --ssrc 0x0A0A0013 --seq 5000 --count 150 --linger 1)")
    call hold media-hold-answer.xml media-hold-call.xml 0
fi
if want t38; then
    UDPTL="--udptl --payload 40 --seq 0"
    PK=(-key prov_port 20000 -key fax_port 20020
        -key prov_cmd "$(rtp --bind $PR:20000 --to $PH:30000 --ssrc 0x5A5A0004 --seq 20000 --count 100 --linger 1.5)"
        -key fax_cmd "$(rtp --bind $PR:20020 --to $PH:30020 $UDPTL --count 5 --interval 0.6 --linger 2)")
    CK=(-key phone_port 30000 -key fax_port 30020
        -key phone_cmd "$(rtp --bind $PH:30000 --to $PR:20000 --ssrc 0x0A0A0004 --seq 300 --count 100 --linger 1.5)"
        -key fax_cmd "$(rtp --bind $PH:30020 --to $PR:20020 $UDPTL --count 150 --linger 1.5)")
    call t38 media-t38-answer.xml media-t38-call.xml 0
fi
if want early; then
    # The phone's port is bound from its INVITE on (a sink for the ringback);
    # its own RTP after the answer binds it again (SO_REUSEPORT).
    PK=(-key prov_port 20000
        -key ring_cmd "$(rtp --bind $PR:20000 --to $PH:30000 --ssrc 0x5A5A0005 --seq 20000 --count 100 --linger 6.5)")
    CK=(-key phone_port 30000 -key pt 8 -key rtpmap PCMA/8000
        -key pre_cmd "$(rtp --bind $PH:30000 --delay 0 --linger 4)"
        -key phone_cmd "$(rtp --bind $PH:30000 --to $PR:20000 --ssrc 0x0A0A0005 --seq 300 --count 150 --linger 1)")
    call early media-early-answer.xml media-call.xml 3500
fi
if want short; then
    PK=(-key prov_port 20000 -key pt 8 -key rtpmap PCMA/8000
        -key prov_cmd "$(rtp --bind $PR:20000 --delay 0 --linger 2.5)")
    CK=(-key phone_port 30000 -key pt 8 -key rtpmap PCMA/8000 -key pre_cmd true
        -key phone_cmd "$(rtp --bind $PH:30000 --to $PR:20000 --ssrc 0x0A0A0006 --seq 300 --count 25 --linger 0.5)")
    call short media-answer.xml media-call.xml 1000
fi
ls -l "$OUT"/lab-media-*.pcap
