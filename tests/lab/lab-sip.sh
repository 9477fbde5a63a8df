#!/usr/bin/env bash
# Records the SIP / NAT lab captures into pcaps/.
#
#   ph-voip (phones 192.168.60.10, .11) -- ph-nat (NAT 192.168.60.1 / 203.0.113.2) -- ph-prov
#                                                                   kamailio on 203.0.113.50:5065
#
# kamailio (tests/lab/kamailio.cfg) is the registrar / outbound proxy; sipp
# (tests/lab/register.xml) plays phones that register three times, 3 s apart,
# asking for rport. The NAT is iptables MASQUERADE in ph-nat:
#   consistent:  default MASQUERADE, UDP mappings kept 30 s: every REGISTER of
#                a phone leaves from the same public port;
#   portchange:  MASQUERADE --random-fully with a 1 s UDP conntrack timeout:
#                the mapping is gone between REGISTERs and comes back on a new
#                random port (the "inconsistent NAT" of the hosted-PBX guide).
#                Then the provider (sipp at 203.0.113.51:5065) sends an INVITE
#                for phone 100 to its first public mapping: the NAT has
#                dropped it and answers with ICMP port unreachable.
# In each run phone 100 registers (three times), phone 101 registers, and
# phone 100 then "reboots": a new sipp run, a new Call-ID, the same port.
# Captures: pcaps/lab-sip-{consistent,portchange}-{inside,outside}.pcap
# Then the same with the kernel's SIP ALG on: pcaps/lab-sip-alg-{inside,outside}.pcap
#
# Then calls, with the NAT off (routed, so that the answerer's RTP reaches the
# phone's SDP address): sipp (tests/lab/call.xml) calls a sipp answerer at
# 203.0.113.51:5065 that echoes RTP (-rtp_echo, media port 20000) and sends
# 4 s of G.711 (the packaged g711a.pcap). First call: two-way media. Second:
# the firewall drops RTP coming in from the provider: one-way media.
# Captures: pcaps/lab-sip-{twoway,oneway}-{inside,outside}.pcap
#
# Then a phone behind the port-changing NAT that never registers
# (tests/lab/natcall.xml): OPTIONS to the proxy, a call (404, ACK), 3 s of
# quiet (longer than the NAT keeps the mapping), another call. Every request
# asks for rport, so kamailio's answers carry received=/rport=: the NAT shows
# in calls alone. Captures: pcaps/lab-sip-natcall-{inside,outside}.pcap
#
# Usage: lab-sip.sh [OUTDIR [SECTION]]; SECTION is registers, alg, calls or
# natcall (default: all of them, which records every capture anew).
# All traffic stays inside the namespaces made here; removed on exit.
set -euo pipefail
OUT=$(realpath "${1:-$(dirname "$0")/../../pcaps}")
ONLY=${2:-all}
want() { [ "$ONLY" = all ] || [ "$ONLY" = "$1" ]; }
HERE=$(realpath "$(dirname "$0")")
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/pinhole-sip.XXXXXX)
P=ph-voip F=ph-nat V=ph-prov
. "$HERE/netns.sh"
cleanup() {
    set +e
    ns_remove $P $F $V
    rm -rf "$WORK"
}
trap cleanup EXIT
cleanup; WORK=$(mktemp -d /tmp/pinhole-sip.XXXXXX)

for ns in $P $F $V; do ip netns add $ns; in_ns $ns ip link set lo up; done
ip link add voip0 netns $P type veth peer name nat-in netns $F
ip link add nat-out netns $F type veth peer name prov0 netns $V
for x in "$P voip0" "$F nat-in" "$F nat-out" "$V prov0"; do
    set -- $x; in_ns $1 ethtool -K $2 gro off gso off tso off tx off rx off >/dev/null 2>&1 || true
done
in_ns $P ip addr add 192.168.60.10/24 dev voip0
in_ns $P ip addr add 192.168.60.11/24 dev voip0
in_ns $P ip link set voip0 up
in_ns $P ip route add default via 192.168.60.1
in_ns $F ip addr add 192.168.60.1/24 dev nat-in
in_ns $F ip addr add 203.0.113.2/24 dev nat-out
in_ns $F ip link set nat-in up; in_ns $F ip link set nat-out up
in_ns $F sysctl -qw net.ipv4.ip_forward=1
in_ns $V ip addr add 203.0.113.50/24 dev prov0
in_ns $V ip addr add 203.0.113.51/24 dev prov0
in_ns $V ip link set prov0 up
in_ns $V ip route add default via 203.0.113.2

in_ns $V kamailio -f "$HERE/kamailio.cfg" -P "$WORK/kamailio.pid" -Y "$WORK" -w "$WORK" \
    >"$WORK/kamailio.log" 2>&1
sleep 1

register() { # phone-ip user
    in_ns $P timeout 20 sipp -sf "$HERE/register.xml" -i "$1" -p 5060 -s "$2" -m 1 -l 1 \
        -timeout 15s -trace_err -error_file "$WORK/sipp-$2.err" 203.0.113.50:5065 \
        >"$WORK/sipp-$2.out" 2>&1 || { echo "sipp for $2 ended with an error:"; tail -5 "$WORK/sipp-$2.out" "$WORK"/sipp-$2*.err 2>/dev/null; }
}

# Both sides of the NAT recorded as lab-sip-NAME-{inside,outside}.pcap.
record_start() { # name bpf
    in_ns $F tcpdump -i nat-in -s 0 -U -w "$WORK/$1-inside.pcap" "$2" 2>/dev/null &
    in_ns $F tcpdump -i nat-out -s 0 -U -w "$WORK/$1-outside.pcap" "$2" 2>/dev/null &
    sleep 1.5
}
record_stop() { # name
    sleep 1
    in_ns $F pkill -INT tcpdump || true
    sleep 1
    cp "$WORK/$1-inside.pcap" "$OUT/lab-sip-$1-inside.pcap"
    cp "$WORK/$1-outside.pcap" "$OUT/lab-sip-$1-outside.pcap"
}

run() { # name [call-old-mapping]
    local name=$1
    in_ns $F conntrack -F >/dev/null 2>&1 || true
    record_start "$name" "udp or icmp"
    register 192.168.60.10 100 &
    local first=$!
    sleep 0.3
    # The public mapping of phone 100's first REGISTER, as the provider saw it.
    local old
    old=$(in_ns $F conntrack -L -p udp --orig-src 192.168.60.10 2>/dev/null |
        sed -n 's/.*dst=203.0.113.2 sport=5065 dport=\([0-9]*\).*/\1/p' | head -1)
    sleep 0.2
    register 192.168.60.11 101
    wait $first || true
    if [ -n "${2:-}" ] && [ -n "$old" ]; then
        # An incoming call that the provider sends to the mapping it knows,
        # which the NAT has since dropped: the call is lost.
        in_ns $V timeout 8 sipp -sn uac -i 203.0.113.51 -p 5065 -s 100 -m 1 -l 1 -timeout 4s \
            -recv_timeout 3000 "203.0.113.2:$old" >/dev/null 2>&1 || true
    fi
    sleep 1
    register 192.168.60.10 100   # the reboot: a new Call-ID
    record_stop "$name"
}

if want registers; then
in_ns $F iptables -t nat -A POSTROUTING -o nat-out -j MASQUERADE
run consistent
in_ns $F iptables -t nat -F POSTROUTING
in_ns $F iptables -t nat -A POSTROUTING -o nat-out -j MASQUERADE --random-fully
in_ns $F sysctl -qw net.netfilter.nf_conntrack_udp_timeout=1
in_ns $F sysctl -qw net.netfilter.nf_conntrack_udp_timeout_stream=1
run portchange call-old-mapping
fi

# SIP ALG: the kernel's SIP helper (nf_conntrack_sip / nf_nat_sip) attached to
# the proxy's port; MASQUERADE as in the consistent run. The helper rewrites
# the private addresses in the SIP it forwards.
if want alg; then
in_ns $F iptables -t nat -F POSTROUTING
in_ns $F sysctl -qw net.netfilter.nf_conntrack_udp_timeout=30
in_ns $F sysctl -qw net.netfilter.nf_conntrack_udp_timeout_stream=120
in_ns $F iptables -t nat -A POSTROUTING -o nat-out -j MASQUERADE
in_ns $F iptables -t raw -A PREROUTING -p udp --dport 5065 -j CT --helper sip
run alg
in_ns $F iptables -t raw -F PREROUTING
fi

# --- a phone that only places calls, behind the port-changing NAT ------------
if want natcall; then
in_ns $F iptables -t nat -F POSTROUTING
in_ns $F iptables -t nat -A POSTROUTING -o nat-out -j MASQUERADE --random-fully
in_ns $F sysctl -qw net.netfilter.nf_conntrack_udp_timeout=1
in_ns $F sysctl -qw net.netfilter.nf_conntrack_udp_timeout_stream=1
in_ns $F conntrack -F >/dev/null 2>&1 || true
record_start natcall "udp or icmp"
in_ns $P timeout 30 sipp -sf "$HERE/natcall.xml" -i 192.168.60.10 -p 5060 -mi 192.168.60.10 \
    -mp 16384 -s 100 -m 1 -l 1 -timeout 25s 203.0.113.50:5065 >"$WORK/natcall.out" 2>&1 ||
    { echo "sipp natcall ended with an error:"; tail -5 "$WORK/natcall.out"; }
record_stop natcall
fi

# --- calls -------------------------------------------------------------------
want calls || { ls -l "$OUT"/lab-sip-*.pcap; exit 0; }
in_ns $F iptables -t nat -F POSTROUTING
in_ns $F sysctl -qw net.netfilter.nf_conntrack_udp_timeout=30
in_ns $V ip route add 192.168.60.0/24 via 203.0.113.2
in_ns $V timeout 60 sipp -sn uas -i 203.0.113.51 -p 5065 -mi 203.0.113.51 -mp 20000 -rtp_echo \
    -bg >/dev/null 2>&1 || true
sleep 1
call() { # name
    record_start "$1" udp
    in_ns $P timeout 30 sipp -sf "$HERE/call.xml" -i 192.168.60.10 -p 5060 -mi 192.168.60.10 \
        -mp 16384 -s 200 -m 1 -l 1 -timeout 25s 203.0.113.51:5065 >"$WORK/call-$1.out" 2>&1 ||
        { echo "sipp call $1 ended with an error:"; tail -5 "$WORK/call-$1.out"; }
    record_stop "$1"
}
call twoway
in_ns $F iptables -A FORWARD -p udp -s 203.0.113.51 --sport 20000:20001 -j DROP
call oneway
ls -l "$OUT"/lab-sip-*.pcap
