#!/usr/bin/env bash
# Records the HTTPS / firewall lab captures into pcaps/.
#
# Builds three network namespaces joined by veth pairs:
#
#   ph-site (192.168.50.10, .11)  --  ph-fw (NAT + filter)  --  ph-cloud
#        site LAN 192.168.50.0/24        203.0.113.1             203.0.113.0/24
#
# ph-cloud runs nginx with TLS on several addresses and server names (the
# Device Manager, WAF, blob storage, PBX configuration service); ph-site runs
# curl with SNI against them and an nginx of its own (the phone's REST API,
# reached from the Device Manager through a port forward). The firewall
# (iptables in ph-fw) blocks some flows in each way a real one does: DROP,
# REJECT with tcp-reset, REJECT with icmp-admin-prohibited, and a DROP of
# large packets that lets TCP through but stops the TLS ClientHello.
#
# Captures (tcpdump, offloads off so frames are wire-sized):
#   pcaps/lab-https-inside.pcap   on the firewall's LAN port (site view)
#   pcaps/lab-https-outside.pcap  on the firewall's WAN port (provider view)
#   pcaps/lab-https-mirror.pcap   both ends of the LAN link merged: every
#                                 packet twice, as a SPAN port copying ingress
#                                 and egress sends it
#   pcaps/lab-https-site-sll2.pcap, -sll.pcap  the phone host's own view on
#                                 "any" (Linux cooked v2 and v1)
# The derived captures (one-sided, VLAN-tagged, mixed link types) are made
# from these by tests/lab/derive.sh.
#
# All traffic stays inside the namespaces made here; they are removed on exit.
# Run as root: tests/lab/lab-https.sh [OUTDIR]
set -euo pipefail

OUT=$(realpath "${1:-$(dirname "$0")/../../pcaps}")
WORK=$(mktemp -d /tmp/pinhole-lab.XXXXXX)
NS_SITE=ph-site NS_FW=ph-fw NS_CLOUD=ph-cloud
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

cleanup() {
    set +e
    for ns in $NS_SITE $NS_FW $NS_CLOUD; do
        if ip netns list | grep -qw "$ns"; then
            ip netns pids "$ns" | xargs -r kill 2>/dev/null
            sleep 0.2
            ip netns pids "$ns" | xargs -r kill -9 2>/dev/null
            ip netns del "$ns"
        fi
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
cleanup; WORK=$(mktemp -d /tmp/pinhole-lab.XXXXXX)

# --- topology -------------------------------------------------------------
for ns in $NS_SITE $NS_FW $NS_CLOUD; do ip netns add $ns; in_ns $ns ip link set lo up; done
ip link add site0 netns $NS_SITE type veth peer name fw-in netns $NS_FW
ip link add fw-out netns $NS_FW type veth peer name cloud0 netns $NS_CLOUD
quiet_offloads() { in_ns "$1" ethtool -K "$2" gro off gso off tso off tx off rx off >/dev/null 2>&1 || true; }
quiet_offloads $NS_SITE site0; quiet_offloads $NS_FW fw-in
quiet_offloads $NS_FW fw-out; quiet_offloads $NS_CLOUD cloud0

in_ns $NS_SITE ip addr add 192.168.50.10/24 dev site0
in_ns $NS_SITE ip addr add 192.168.50.11/24 dev site0
in_ns $NS_SITE ip link set site0 up
in_ns $NS_SITE ip route add default via 192.168.50.1
in_ns $NS_FW ip addr add 192.168.50.1/24 dev fw-in
in_ns $NS_FW ip addr add 203.0.113.1/24 dev fw-out
in_ns $NS_FW ip link set fw-in up
in_ns $NS_FW ip link set fw-out up
in_ns $NS_FW sysctl -qw net.ipv4.ip_forward=1
for a in 10 20 30 31 40 50 51; do in_ns $NS_CLOUD ip addr add 203.0.113.$a/24 dev cloud0; done
in_ns $NS_CLOUD ip link set cloud0 up
in_ns $NS_CLOUD ip route add default via 203.0.113.1

# --- firewall ---------------------------------------------------------------
fw() { in_ns $NS_FW iptables "$@"; }
fw -t nat -A POSTROUTING -o fw-out -j MASQUERADE
# Port forwards: the Device Manager reaches the phone's REST API.
fw -t nat -A PREROUTING -i fw-out -p tcp --dport 443 -j DNAT --to-destination 192.168.50.10:443
fw -t nat -A PREROUTING -i fw-out -p tcp --dport 80 -j DNAT --to-destination 192.168.50.10:80
fw -A FORWARD -p tcp -d 203.0.113.40 --dport 8445 -j DROP
fw -A FORWARD -p tcp -d 203.0.113.40 --dport 8446 -j REJECT --reject-with tcp-reset
fw -A FORWARD -p tcp -d 203.0.113.40 --dport 8447 -j REJECT --reject-with icmp-admin-prohibited
fw -A FORWARD -p tcp -d 203.0.113.31 --dport 443 -m length --length 200:65535 -j DROP
fw -A FORWARD -p udp -d 203.0.113.50 --dport 5065 -j DROP

# --- servers ----------------------------------------------------------------
# One certificate per server name, as real services have.
cert() { # name, SAN list
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$1" -addext "subjectAltName=$2" \
        -keyout "$WORK/$1.key" -out "$WORK/$1.pem" 2>/dev/null
}
cert dm "DNS:dm.lab.example"
cert waf "DNS:waf.lab.example"
cert blob "DNS:*.blob.core.windows.net"
cert phone "DNS:phone.lab.example"
tls() { echo "ssl_certificate $WORK/$1.pem; ssl_certificate_key $WORK/$1.key;"; }
nginx_conf() { # name, server blocks
    cat > "$WORK/$1.conf" <<CONF
worker_processes 1;
pid $WORK/$1.pid;
error_log $WORK/$1.err;
daemon on;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $WORK/$1-body;
    default_type text/plain;
    $2
}
CONF
}
nginx_conf cloud "
    server { listen 203.0.113.10:443 ssl; server_name dm.lab.example; $(tls dm) return 200 'device manager\n'; }
    server { listen 203.0.113.10:80; server_name dm.lab.example; return 200 'plaintext\n'; }
    server { listen 203.0.113.20:443 ssl; server_name waf.lab.example; $(tls waf) return 200 'waf\n'; }
    server { listen 203.0.113.30:443 ssl; server_name ~blob; $(tls blob) return 200 'firmware\n'; }
    server { listen 203.0.113.31:443 ssl; server_name ~blob; $(tls blob) return 200 'firmware\n'; }
    server { listen 203.0.113.40:8445; listen 203.0.113.40:8446; listen 203.0.113.40:8447;
             return 200 'pbx config\n'; }"
nginx_conf site "
    server { listen 192.168.50.10:443 ssl; server_name phone.lab.example; $(tls phone) return 200 'rest ok\n'; }
    server { listen 192.168.50.10:80; return 200 'rest plaintext\n'; }"
in_ns $NS_CLOUD nginx -c "$WORK/cloud.conf"
in_ns $NS_SITE nginx -c "$WORK/site.conf"
# The outbound proxy at .51: answers each SIP OPTIONS with 200 OK (bounded).
cat > "$WORK/sipecho.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("203.0.113.51", 5065)); s.settimeout(20)
for _ in range(4):
    try:
        data, peer = s.recvfrom(4096)
    except socket.timeout:
        break
    lines = data.decode(errors="replace").split("\r\n")
    hdrs = [l for l in lines if l.split(":")[0] in ("Via", "From", "To", "Call-ID", "CSeq")]
    s.sendto(("SIP/2.0 200 OK\r\n" + "\r\n".join(hdrs) + "\r\nContent-Length: 0\r\n\r\n").encode(), peer)
PY
in_ns $NS_CLOUD timeout 30 python3 "$WORK/sipecho.py" >/dev/null 2>&1 &
sleep 0.5

# --- capture ----------------------------------------------------------------
in_ns $NS_FW tcpdump -i fw-in -s 0 -U -w "$WORK/inside.pcap" 2>/dev/null &
in_ns $NS_FW tcpdump -i fw-out -s 0 -U -w "$WORK/outside.pcap" 2>/dev/null &
in_ns $NS_SITE tcpdump -i site0 -s 0 -U -w "$WORK/site0.pcap" 2>/dev/null &
# The same LAN traffic seen from the phone's own host, on Linux cooked
# captures (SLL2, the default of "any", and SLL v1).
in_ns $NS_SITE tcpdump -i any -s 0 -U -w "$WORK/site-any-sll2.pcap" 2>/dev/null &
in_ns $NS_SITE tcpdump -i any -y LINUX_SLL -s 0 -U -w "$WORK/site-any-sll.pcap" 2>/dev/null &
sleep 1.5

# --- traffic ----------------------------------------------------------------
C="timeout 10 curl -sk -o /dev/null --max-time 5"
site() { in_ns $NS_SITE "$@" || true; }
cloud() { in_ns $NS_CLOUD "$@" || true; }
sip_options() { # from-ip to-ip
    in_ns $NS_SITE timeout 5 python3 - "$1" "$2" <<'PY' || true
import socket, sys, time
src, dst = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 5060)); s.settimeout(1.0)
msg = ("OPTIONS sip:proxy@%s:5065 SIP/2.0\r\nVia: SIP/2.0/UDP %s:5060;branch=z9hG4bK-lab%d;rport\r\n"
       "From: <sip:100@lab.example>;tag=1\r\nTo: <sip:proxy@lab.example>\r\nCall-ID: lab-%d@%s\r\n"
       "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
for i in range(2):
    s.sendto((msg % (dst, src, i, i, src)).encode(), (dst, 5065))
    try:
        s.recvfrom(4096)
    except socket.timeout:
        pass
PY
}
# Allowed: endpoint -> device manager, WAF, blob (SNI), each with TLS.
site $C --resolve dm.lab.example:443:203.0.113.10 https://dm.lab.example/
site $C --resolve waf.lab.example:443:203.0.113.20 https://waf.lab.example/
site $C --interface 192.168.50.11 --resolve acmefw.blob.core.windows.net:443:203.0.113.30 \
    https://acmefw.blob.core.windows.net/firmware.img
# Blocked: PBX configuration ports 8445 (DROP), 8446 (RST), 8447 (ICMP 3/13).
site $C --connect-timeout 4 http://203.0.113.40:8445/
site $C --connect-timeout 4 http://203.0.113.40:8446/
site $C --connect-timeout 4 http://203.0.113.40:8447/
# Blocked: the TLS ClientHello to this blob host is dropped: handshake never completes.
site $C --max-time 4 --resolve stuck.blob.core.windows.net:443:203.0.113.31 \
    https://stuck.blob.core.windows.net/config.xml
# SIP OPTIONS to the outbound proxy: .51 answers, .50 is dropped (no response).
sip_options 192.168.50.10 203.0.113.51
sip_options 192.168.50.10 203.0.113.50
# Unexpected: plaintext HTTP from the endpoint to the device manager.
site $C --resolve dm.lab.example:80:203.0.113.10 http://dm.lab.example/
# Inbound through the port forward: the device manager's REST actions, over
# HTTPS (allowed) and over plaintext HTTP (a violation of HTTPS-only).
cloud $C --interface 203.0.113.10 --resolve phone.lab.example:443:203.0.113.1 https://phone.lab.example/restart
cloud $C --interface 203.0.113.10 http://203.0.113.1/collect-logs
sleep 2
# Last: an attempt the capture ends on (its outcome is not known yet).
site timeout 1 curl -s -o /dev/null --connect-timeout 1 http://203.0.113.40:8445/late
sleep 0.5

# --- finish -----------------------------------------------------------------
for ns in $NS_FW $NS_SITE; do in_ns $ns pkill -INT tcpdump || true; done
sleep 1
mkdir -p "$OUT"
cp "$WORK/inside.pcap" "$OUT/lab-https-inside.pcap"
cp "$WORK/outside.pcap" "$OUT/lab-https-outside.pcap"
cp "$WORK/site-any-sll2.pcap" "$OUT/lab-https-site-sll2.pcap"
cp "$WORK/site-any-sll.pcap" "$OUT/lab-https-site-sll.pcap"
mergecap -F pcap -w "$OUT/lab-https-mirror.pcap" "$WORK/inside.pcap" "$WORK/site0.pcap"
"$(dirname "$0")/derive.sh" "$OUT"
ls -l "$OUT"/lab-https-*.pcap
