#!/usr/bin/env bash
# Records pcaps/lab-dns.pcap: a server known only by its DNS name.
#
# Two network namespaces joined by one veth pair:
#
#   pd-site (192.168.50.10, the phone)  --  pd-cloud (203.0.113.40 the PBX,
#                                                     203.0.113.53 dnsmasq)
#
# 1. The phone resolves pbx.lab.example with the glibc stub resolver
#    (getaddrinfo; /etc/netns/pd-site/resolv.conf points at dnsmasq), which
#    answers with a CNAME to sip.lab.example and its A, TTL 300.
# 2. It opens plain TCP to the answered address, port 8445 (no TLS, no SNI,
#    no HTTP Host): the PBX configuration service answers and closes.
# 3. An mDNS announcement (224.0.0.251:5353, sent from the phone's address)
#    says pbx.lab.example is 203.0.113.41, and the phone opens TCP 8445
#    there too (nobody is there: the SYN goes unanswered). Any host may claim any name on mDNS: this name
#    must give neither a role nor an SNI.
#
# Captured with tcpdump on the phone's interface. All traffic stays inside
# the namespaces made here; they are removed on exit.
# Run as root: tests/lab/lab-dns.sh [OUTDIR]
set -euo pipefail

OUT=$(realpath "${1:-$(dirname "$0")/../../pcaps}")
NS_SITE=pd-site NS_CLOUD=pd-cloud
WORK=""
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

cleanup() {
    set +e
    for ns in $NS_SITE $NS_CLOUD; do
        if ip netns list | grep -qw "$ns"; then
            ip netns pids "$ns" | xargs -r kill 2>/dev/null
            sleep 0.2
            ip netns pids "$ns" | xargs -r kill -9 2>/dev/null
            ip netns del "$ns"
        fi
    done
    rm -rf "/etc/netns/$NS_SITE"
    [ -n "$WORK" ] && rm -rf "$WORK"
}
trap cleanup EXIT
cleanup
WORK=$(mktemp -d /tmp/pinhole-labdns.XXXXXX)

# --- topology -------------------------------------------------------------
for ns in $NS_SITE $NS_CLOUD; do ip netns add $ns; in_ns $ns ip link set lo up; done
ip link add site0 netns $NS_SITE type veth peer name cloud0 netns $NS_CLOUD
for x in "$NS_SITE site0" "$NS_CLOUD cloud0"; do
    set -- $x
    in_ns "$1" ethtool -K "$2" gro off gso off tso off tx off rx off >/dev/null 2>&1 || true
    in_ns "$1" ip link set "$2" up
done
in_ns $NS_SITE ip addr add 192.168.50.10/24 dev site0
in_ns $NS_SITE ip route add 203.0.113.0/24 dev site0
in_ns $NS_SITE ip route add 224.0.0.0/4 dev site0
in_ns $NS_CLOUD ip addr add 203.0.113.40/24 dev cloud0
in_ns $NS_CLOUD ip addr add 203.0.113.53/24 dev cloud0
in_ns $NS_CLOUD ip route add 192.168.50.0/24 dev cloud0
# 203.0.113.41 is nobody: a static neighbour lets the phone's SYN out.
in_ns $NS_SITE ip neigh add 203.0.113.41 dev site0 \
    lladdr "$(in_ns $NS_CLOUD cat /sys/class/net/cloud0/address)"
mkdir -p /etc/netns/$NS_SITE
printf 'nameserver 203.0.113.53\noptions timeout:1 attempts:1\n' >/etc/netns/$NS_SITE/resolv.conf
printf '127.0.0.1 localhost\n' >"$WORK/hosts"
cp "$WORK/hosts" /etc/netns/$NS_SITE/hosts

# --- servers ----------------------------------------------------------------
in_ns $NS_CLOUD dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
    --listen-address=203.0.113.53 --port=53 --user=root --pid-file="$WORK/dnsmasq.pid" \
    --host-record=sip.lab.example,203.0.113.40 --cname=pbx.lab.example,sip.lab.example \
    --local-ttl=300 --log-facility=- >"$WORK/dnsmasq.log" 2>&1 &
# The PBX configuration service: reads a line, answers one, closes.
in_ns $NS_CLOUD timeout 30 python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("203.0.113.40", 8445)); s.listen(1)
c, _ = s.accept(); c.recv(100); c.sendall(b"CONFIG v1 ok\n"); c.close()
' &
sleep 1

# --- capture ----------------------------------------------------------------
in_ns $NS_SITE tcpdump -i site0 -U -s 0 -w "$WORK/lab-dns.pcap" >/dev/null 2>&1 &
TCPDUMP=$!
sleep 1

in_ns $NS_SITE timeout 20 python3 - <<'PY'
import socket, struct, time
# 1. Resolve (glibc, real DNS to dnsmasq) and connect to the answer.
addr = socket.getaddrinfo("pbx.lab.example", 8445, socket.AF_INET, socket.SOCK_STREAM)[0][4]
assert addr[0] == "203.0.113.40", addr
c = socket.create_connection(addr, timeout=5)
c.sendall(b"GETCONFIG 100\n"); c.recv(100); c.close()
time.sleep(0.5)
# 3. An mDNS response (RFC 6762) claiming pbx.lab.example is 203.0.113.41.
name = b"".join(bytes([len(l)]) + l for l in b"pbx.lab.example".split(b".")) + b"\0"
msg = struct.pack(">HHHHHH", 0, 0x8400, 0, 1, 0, 0) + name + \
      struct.pack(">HHIH", 1, 0x8001, 120, 4) + socket.inet_aton("203.0.113.41")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
u.sendto(msg, ("224.0.0.251", 5353))
time.sleep(0.5)
try:
    socket.create_connection(("203.0.113.41", 8445), timeout=2).close()
except OSError:
    pass  # nobody there: the flow's verdict is not what this lab is about
time.sleep(0.5)
PY
sleep 1
kill $TCPDUMP; wait $TCPDUMP 2>/dev/null || true
cp "$WORK/lab-dns.pcap" "$OUT/lab-dns.pcap"
echo "wrote $OUT/lab-dns.pcap"
