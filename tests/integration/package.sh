#!/usr/bin/env bash
# The Debian package (scripts/package.sh), built into BUILD_DIR and
# unpacked with dpkg-deb -x into a scratch root; nothing is installed on
# this machine.
#  - control: name, version, Depends from dpkg-shlibdeps (libpcap, libzmq,
#    libcap-ng ...) and adduser; the postinst makes the user pinhole; the
#    files under /etc are conffiles.
#  - contents: the three programs, the shipped profiles (all of rules/),
#    the example inventory, four man pages (every option of --help in its
#    program's page; pinhole-rules(5) for the file formats), the logrotate file (postrotate, no copytruncate), both systemd
#    units, the sysusers file.
#  - running: in a private mount namespace (unshare --mount), the package's
#    /usr is laid over the host's with a read-only overlay, so the programs
#    are where the package puts them, /usr/bin/pinhole-sensor, and find
#    their default rules at the compiled-in /usr/share/pinhole/rules;
#    the host's /usr is untouched (the overlay ends with the namespace).
#    There the units pass systemd-analyze verify with no complaint, the
#    installed sensor on pcaps/lab-https-inside.pcap with the lab inventory
#    and no --rules gives exit 1 and the same report as the build's sensor
#    with --rules rules/, and the collector's --check loads the defaults.
# Skips (77) without dpkg-deb, or (for the run) without root or overlayfs.
# Usage: package.sh SRCDIR BUILD_DIR VERSION SENSOR
set -u
SRC=$1 B=$2 VERSION=$3 SENSOR=$4
command -v dpkg-deb >/dev/null || { echo "no dpkg-deb: skipped"; exit 77; }
command -v dpkg-shlibdeps >/dev/null || { echo "no dpkg-shlibdeps (dpkg-dev): skipped"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
DEB=$(PINHOLE_JOBS=2 bash "$SRC/scripts/package.sh" "$B" | tail -1)
[ -f "$DEB" ] || fail "scripts/package.sh made no package"
[ "$(basename "$DEB")" = "pinhole_${VERSION}_$(dpkg --print-architecture).deb" ] ||
    fail "package named $(basename "$DEB")"

# control
ctl() { dpkg-deb -f "$DEB" "$1"; }
[ "$(ctl Package)" = pinhole ] && [ "$(ctl Version)" = "$VERSION" ] || fail "control: $(ctl Package) $(ctl Version)"
for dep in adduser libc6 libpcap0.8 libzmq5 libcap-ng0 libsqlite3-0 libmicrohttpd12 libjson-c5 \
        libyaml-0-2 libmaxminddb0 libndpi; do
    ctl Depends | grep -q "\(^\|, \)$dep" || fail "Depends lacks $dep: $(ctl Depends)"
done
dpkg-deb -e "$DEB" "$T/control"
tr -d '\\\n' <"$T/control/postinst" | grep -q "adduser --system --group .* --quiet pinhole" ||
    fail "postinst makes no user"
sort "$T/control/conffiles" >"$T/conffiles"
printf '%s\n' /etc/logrotate.d/pinhole /etc/pinhole/collector.conf /etc/pinhole/sensor.conf |
    diff - "$T/conffiles" || fail "conffiles"
echo "ok: control ($(ctl Depends | tr ',' '\n' | wc -l) dependencies)"

# contents
R=$T/root
dpkg-deb -x "$DEB" "$R"
for f in usr/bin/pinhole-sensor usr/bin/pinhole-collector usr/bin/pinhole-keygen \
        usr/share/man/man8/pinhole-sensor.8 usr/share/man/man8/pinhole-collector.8 \
        usr/share/man/man1/pinhole-keygen.1 usr/share/man/man5/pinhole-rules.5 \
        etc/logrotate.d/pinhole \
        etc/pinhole/sensor.conf etc/pinhole/collector.conf usr/lib/sysusers.d/pinhole.conf \
        usr/lib/systemd/system/pinhole-sensor@.service \
        usr/lib/systemd/system/pinhole-collector.service usr/share/doc/pinhole/service.md; do
    [ -s "$R/$f" ] || fail "the package has no $f"
done
for f in "$SRC"/rules/*.yaml; do
    cmp -s "$f" "$R/usr/share/pinhole/rules/$(basename "$f")" || fail "rules: $(basename "$f")"
done
[ "$(ls "$R/usr/share/pinhole/rules" | wc -l)" = "$(ls "$SRC"/rules/*.yaml | wc -l)" ] ||
    fail "rules: $(ls "$R/usr/share/pinhole/rules")"
cmp -s "$SRC/rules/inventory/example.yaml" "$R/usr/share/pinhole/examples/inventory.yaml" ||
    fail "no example inventory"
# The dashboard is in the collector itself: each web/ file's longest line.
for f in "$SRC"/web/*; do
    line=$(awk 'length > n { n = length; l = $0 } END { print l }' "$f")
    grep -aqF -- "$line" "$R/usr/bin/pinhole-collector" || fail "the collector lacks web/${f##*/}"
done
grep -q '^\.TH "pinhole-rules" "5"' "$R/usr/share/man/man5/pinhole-rules.5" ||
    fail "pinhole-rules.5: no .TH line"
for p in pinhole-sensor.8 pinhole-collector.8 pinhole-keygen.1; do
    page=$R/usr/share/man/man${p##*.}/$p
    grep -q "^\.TH \"${p%.*}\" \"${p##*.}\"" "$page" || fail "$p: no .TH line"
    for opt in $("$R/usr/bin/${p%.*}" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        grep -q -- "\\\\fB$opt\\\\fR" "$page" || fail "$p does not describe $opt"
    done
done
L=$R/etc/logrotate.d/pinhole
for f in events-\*.jsonl report-\*.txt alerts.jsonl; do
    grep -qF "/var/log/pinhole/$f" "$L" || fail "logrotate: no $f"
done
grep -q copytruncate "$L" && fail "logrotate: copytruncate"
[ "$(grep -c postrotate "$L")" = 2 ] || fail "logrotate: postrotate"
if command -v logrotate >/dev/null; then
    # A forced rotation with the shipped file, its paths moved to $T/log
    # and root for pinhole; the postrotate commands record themselves.
    mkdir "$T/log"
    sed -e "s#/var/log/pinhole/#$T/log/#g" -e 's/^\( *su \).*/\1root root/' \
        -e "s#^\( *\)systemctl reload \(.*\) >/dev/null.*#\1echo \2 >>$T/log/reloads#" \
        "$L" >"$T/logrotate.conf"
    for f in events-eth1.jsonl events-eth2.jsonl report-eth1.txt alerts.jsonl; do
        echo line >"$T/log/$f"
    done
    logrotate -f -s "$T/state" "$T/logrotate.conf" 2>"$T/err" || fail "logrotate: $(cat "$T/err")"
    for f in events-eth1.jsonl events-eth2.jsonl report-eth1.txt alerts.jsonl; do
        [ ! -e "$T/log/$f" ] && [ "$(cat "$T/log/$f.1")" = line ] || fail "logrotate: $f not moved"
    done
    printf '%s\n' 'pinhole-sensor@*.service' pinhole-collector.service | diff - "$T/log/reloads" ||
        fail "logrotate: the reloads"
    echo "ok: logrotate moves the files and reloads the services"
fi
for u in pinhole-sensor@.service pinhole-collector.service; do
    grep -q "^User=pinhole$" "$R/usr/lib/systemd/system/$u" || fail "$u: not User=pinhole"
done
echo "ok: contents"

# running, from the package's /usr
[ "$(id -u)" -eq 0 ] || { echo "not root: the installed programs are not run: skipped"; exit 77; }
inside() { unshare --mount --propagation private sh -c \
    'mount -t overlay pinhole-deb -o "lowerdir=$0/usr:/usr" /usr && exec "$@"' "$R" "$@"; }
inside true 2>"$T/err" || { echo "no overlay in a mount namespace: skipped: $(cat "$T/err")"; exit 77; }
inside systemd-analyze verify --man=no pinhole-collector.service pinhole-sensor@eth1.service \
    >"$T/verify" 2>&1 || fail "systemd-analyze verify: $(cat "$T/verify")"
[ ! -s "$T/verify" ] || fail "systemd-analyze verify: $(cat "$T/verify")"
[[ "$(inside /usr/bin/pinhole-sensor --version)" == "pinhole-sensor $VERSION"* ]] ||
    fail "installed --version: $(inside /usr/bin/pinhole-sensor --version)"
inside /usr/bin/pinhole-sensor --inventory "$SRC/rules/inventory/lab.yaml" \
    --read "$SRC/pcaps/lab-https-inside.pcap" >"$T/installed.txt" 2>"$T/err"
rc=$?
[ $rc -eq 1 ] || fail "installed sensor: exit $rc: $(cat "$T/err")"
grep -q "^Site lab-branch: NOT COMPLIANT" "$T/installed.txt" || fail "report: $(cat "$T/installed.txt")"
"$SENSOR" --rules "$SRC/rules" --inventory "$SRC/rules/inventory/lab.yaml" \
    --read "$SRC/pcaps/lab-https-inside.pcap" >"$T/build.txt" 2>/dev/null
diff "$T/build.txt" "$T/installed.txt" || fail "the installed sensor's report differs"
inside /usr/bin/pinhole-collector --inventory "$SRC/rules/inventory/lab.yaml" --plain --check \
    >"$T/check" 2>&1 || fail "installed collector --check: $(cat "$T/check")"
if [ ! -e /usr/share/pinhole ]; then # and outside, the default is not there
    "$R/usr/bin/pinhole-sensor" --inventory "$SRC/rules/inventory/lab.yaml" --check \
        >/dev/null 2>"$T/err" && fail "the default rules were found outside the namespace"
    grep -q "/usr/share/pinhole/rules" "$T/err" || fail "error without the default: $(cat "$T/err")"
fi
echo "ok: installed sensor with the default rules: $(grep '^Site lab-branch' "$T/installed.txt")"
