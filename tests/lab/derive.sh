#!/usr/bin/env bash
# Makes the derived lab captures from the recorded ones (tests/lab/lab-https.sh
# calls it; it can be run again on its own). Usage: derive.sh PCAPDIR
#   lab-https-onesided.pcap  only the packets the site's hosts sent: an
#                            asymmetric mirror that copies one direction
#   lab-https-qinq.pcap      every frame with QinQ tags (outer 100, inner 50)
#   lab-https-mixed.pcapng   the firewall's Ethernet view and the phone host's
#                            SLL2 view in one pcapng: two interfaces with
#                            different link types
#   lab-sip-silentphone-inside.pcap  the two-way call (tests/lab/lab-sip.sh)
#                            without the phone's RTP: a call whose outbound
#                            media never leaves (a phone muted by a broken
#                            firewall rule on its way out), seen inside
set -euo pipefail
D=$(realpath "$1")
HERE=$(dirname "$0")
tcpdump -r "$D/lab-https-inside.pcap" -w "$D/lab-https-onesided.pcap" \
    'src net 192.168.50.0/24 and not src host 192.168.50.1' 2>/dev/null
python3 "$HERE/vlan-tag.py" "$D/lab-https-inside.pcap" "$D/lab-https-qinq.pcap" 100 50
mergecap -F pcapng -w "$D/lab-https-mixed.pcapng" "$D/lab-https-inside.pcap" "$D/lab-https-site-sll2.pcap"
[ -f "$D/lab-sip-twoway-inside.pcap" ] &&
    tcpdump -r "$D/lab-sip-twoway-inside.pcap" -w "$D/lab-sip-silentphone-inside.pcap" \
        'not (udp and src host 192.168.60.10 and src port 16384)' 2>/dev/null
