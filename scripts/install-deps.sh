#!/usr/bin/env bash
# Installs every build, test and lab dependency of pinhole from Debian 12
# packages. Idempotent: installs only what is missing. Run as root.
set -euo pipefail

PKGS=(
    build-essential cmake pkg-config clang libclang-rt-14-dev
    libpcap-dev libndpi-dev libmaxminddb-dev libzmq3-dev
    libyaml-dev libjson-c-dev libsqlite3-dev libpq-dev libmicrohttpd-dev libsimdjson-dev
    libsodium-dev libxxhash-dev libssl-dev libcap-ng-dev scdoc logrotate dpkg-dev systemd util-linux
    libmaxmind-db-writer-perl mmdb-bin
    tcpdump tshark nginx-light curl openssl python3 python3-jsonschema prometheus postgresql
    iproute2 iptables nftables ethtool conntrack libndpi-bin kamailio sip-tester tcpreplay
    dnsmasq-base chromium
)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#PKGS[@]} packages present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing ${missing[*]}; run as root" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
