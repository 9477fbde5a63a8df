#!/usr/bin/env bash
# Exit statuses as README.md and the man pages document them, in every path:
# one table, each row a program, its arguments, the status it must exit
# with and a fragment its output (stdout and stderr) must hold.
#   pinhole-sensor:    0 every observed site compliant, 1 a site is not,
#                      2 usage, configuration, input or output error,
#                      3 no site observed, 4 incomplete (nothing failed,
#                      but a rule is not verified yet).
#   pinhole-collector: 0 stopped by a signal (or --check, --help, --version
#                      done), 2 usage, configuration or start-up error.
# Usage: exit_status.sh SENSOR COLLECTOR SRCDIR
set -u
SENSOR=$1 COLLECTOR=$2 SRC=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
fails=0 rows=0

# Files the rows refer to.
LAB=$SRC/rules/inventory/lab.yaml
PCAP=$SRC/pcaps/lab-https-inside.pcap           # lab-branch: not compliant
GOOD=$SRC/pcaps/lab-sip-consistent-inside.pcap  # lab-voip: incomplete (nothing failed)
# Compliant: the tiny profile (tests/data/profiles/tiny) with its config
# rule waived, on the portal flows of the HTTPS lab capture.
TINY=$SRC/tests/data/profiles/tiny
sed 's/^    roles:$/    waive: [TINY-CONFIG]\n    roles:/' "$TINY/inventory/tiny.yaml" >tiny-waived.yaml
CT=(--rules "$TINY/tiny.yaml" --inventory tiny-waived.yaml -r "$PCAP" --filter "host 203.0.113.10")
printf 'sites:\n  - name: x\n    cidrs: [10.0.0.0/8]\nroles:\n  waf:\n    asns: [ASbad]\n' >bad-inv.yaml
printf 'NOTAPCAPFILE-at-all-0123456789abcdef' >bad-magic.pcap
mkdir -p ro && chmod 555 ro
FREE_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
S=(--rules "$SRC/rules" --inventory "$LAB" --geoip "$SRC/tests/data/lab-asn.mmdb")
C=(--rules "$SRC/rules" --inventory "$LAB" --http off --db "$T/c.db")

# row NAME STATUS FRAGMENT PROGRAM ARGS... (stdin is /dev/null unless the
# arguments end with "< FILE" given as the two words STDIN FILE)
row() {
    local name=$1 want=$2 frag=$3; shift 3
    local args=() in=/dev/null out=/dev/stdout
    while [ $# -gt 0 ]; do
        case $1 in
            STDIN) in=$2; shift 2 ;;
            STDOUT) out=$2; shift 2 ;;
            *) args+=("$1"); shift ;;
        esac
    done
    rows=$((rows + 1))
    if [ "$out" = /dev/stdout ]; then
        "${args[@]}" <"$in" >out.txt 2>&1
    else
        "${args[@]}" <"$in" >"$out" 2>out.txt
    fi
    local rc=$?
    if [ $rc -ne "$want" ]; then
        echo "FAIL: $name: exit $rc, documented $want: $(tail -c 300 out.txt)"
        fails=$((fails + 1))
    elif ! grep -qF -- "$frag" out.txt; then
        echo "FAIL: $name: exit $rc, but the output lacks '$frag': $(tail -c 300 out.txt)"
        fails=$((fails + 1))
    else
        echo "ok: $name: $rc"
    fi
}

# --- pinhole-sensor ------------------------------------------------------
row "sensor: unknown option" 2 "unrecognized option '--bogus'" "$SENSOR" --bogus
row "sensor: -R (before -r was --read)" 2 "invalid option -- 'R'" "$SENSOR" "${S[@]}" -R "$PCAP"
row "sensor: no --inventory" 2 "--inventory is required" "$SENSOR" -r "$PCAP"
row "sensor: neither -r nor -i" 2 "give -r/--read FILE" "$SENSOR" "${S[@]}"
row "sensor: -i given the inventory" 2 "-i is --interface" "$SENSOR" --rules "$SRC/rules" -i "$LAB" -r "$PCAP"
row "sensor: stray argument" 2 "unexpected argument 'extra'" "$SENSOR" "${S[@]}" -r "$PCAP" extra
row "sensor: bad --report" 2 "--report must be text, json or none" "$SENSOR" "${S[@]}" -r "$PCAP" --report xml
row "sensor: bad --max-flows" 2 "--max-flows: 'many'" "$SENSOR" "${S[@]}" -r "$PCAP" --max-flows many
row "sensor: --key without --publish" 2 "go with --publish" "$SENSOR" "${S[@]}" -r "$PCAP" --key k
row "sensor: -r - twice" 2 "standard input can be read only once" "$SENSOR" "${S[@]}" -r - -r - STDIN "$PCAP"
row "sensor: missing rules directory" 2 "$T/no-rules: No such file or directory" \
    "$SENSOR" --rules "$T/no-rules" --inventory "$LAB" -r "$PCAP"
row "sensor: missing inventory" 2 "$T/no-inv.yaml" "$SENSOR" --rules "$SRC/rules" --inventory "$T/no-inv.yaml" -r "$PCAP"
row "sensor: bad inventory" 2 "bad-inv.yaml:6: bad ASN 'ASbad'" \
    "$SENSOR" --rules "$SRC/rules" --inventory bad-inv.yaml -r "$PCAP"
row "sensor: missing capture" 2 "no.pcap: cannot open: No such file or directory" "$SENSOR" "${S[@]}" -r no.pcap
row "sensor: not a capture" 2 "bad-magic.pcap: not a pcap or pcapng file" "$SENSOR" "${S[@]}" -r bad-magic.pcap
row "sensor: a directory as capture" 2 "a directory, not a capture" "$SENSOR" "${S[@]}" -r "$SRC/rules"
row "sensor: empty standard input" 2 "standard input: not a pcap or pcapng file (empty)" \
    "$SENSOR" "${S[@]}" -r -
row "sensor: bad file beside a good one" 2 "bad-magic.pcap: not a pcap" \
    "$SENSOR" "${S[@]}" -r "$GOOD" -r bad-magic.pcap
row "sensor: unwritable --report-file" 2 "cannot write the report" \
    "$SENSOR" "${S[@]}" -r "$PCAP" --report-file "$T/no-dir/report.txt"
if [ "$(id -u)" != 0 ]; then # root writes into a 0555 directory all the same
    row "sensor: unwritable --report-file (read-only directory)" 2 "cannot write the report" \
        "$SENSOR" "${S[@]}" -r "$PCAP" --report-file "$T/ro/report.txt" --events "$T/ev-early.jsonl"
    # Found before any packet is read: no events were written.
    [ -e "$T/ev-early.jsonl" ] && { echo "FAIL: events written before the report file was checked"; fails=$((fails + 1)); }
fi
row "sensor: report to a full standard output" 2 "standard output: cannot write the report" \
    "$SENSOR" "${S[@]}" -r "$PCAP" STDOUT /dev/full
row "sensor: unwritable --events" 2 "no-dir/ev.jsonl: cannot write" \
    "$SENSOR" "${S[@]}" -r "$PCAP" --events "$T/no-dir/ev.jsonl"
row "sensor: events to a full disk" 2 "/dev/full: writing the events failed" \
    "$SENSOR" "${S[@]}" -r "$GOOD" --events /dev/full
row "sensor: events to a full disk, 2 workers" 2 "/dev/full: writing the events failed" \
    "$SENSOR" "${S[@]}" -r "$GOOD" --events /dev/full --workers 2
row "sensor: events to a full standard output" 2 "standard output: writing the events failed" \
    "$SENSOR" "${S[@]}" -r "$GOOD" --events - --report-file "$T/r.txt" STDOUT /dev/full
row "sensor: compliant run" 0 "Overall: COMPLIANT" "$SENSOR" "${CT[@]}"
row "sensor: non-compliant run" 1 "Overall: NOT COMPLIANT" "$SENSOR" "${S[@]}" -r "$PCAP"
row "sensor: incomplete run" 4 "Overall: INCOMPLETE" "$SENSOR" "${S[@]}" -r "$GOOD"
row "sensor: incomplete run from standard input" 4 "Overall: INCOMPLETE" "$SENSOR" "${S[@]}" -r - STDIN "$GOOD"
row "sensor: no site observed" 3 "Overall: NO SITE OBSERVED" \
    "$SENSOR" "${S[@]}" -r "$PCAP" --filter "host 198.51.100.99"
row "sensor: a failed publish with a spool keeps the verdict's status" 1 \
    "events spooled in $T/spool (sent next run)" \
    "$SENSOR" "${S[@]}" -r "$PCAP" --report none --publish "tcp://127.0.0.1:$FREE_PORT" --plain \
    --publish-timeout 1 --spool "$T/spool"
row "sensor: a failed publish without a spool loses events" 2 \
    "events not delivered (lost: no --spool)" \
    "$SENSOR" "${S[@]}" -r "$PCAP" --report none --publish "tcp://127.0.0.1:$FREE_PORT" --plain \
    --publish-timeout 1
row "sensor: --check ok" 0 "ok: " "$SENSOR" "${S[@]}" --check
row "sensor: --check bad inventory" 2 "bad-inv.yaml:6: bad ASN 'ASbad'" \
    "$SENSOR" --rules "$SRC/rules" --inventory bad-inv.yaml --check
row "sensor: --check missing rules" 2 "No such file or directory" \
    "$SENSOR" --rules "$T/no-rules" --inventory "$LAB" --check
row "sensor: --version" 0 "pinhole-sensor " "$SENSOR" --version
row "sensor: -V" 0 "pinhole-sensor " "$SENSOR" -V
row "sensor: --help" 0 "usage: pinhole-sensor" "$SENSOR" --help
row "sensor: -h" 0 "-r, --read FILE" "$SENSOR" -h

# --- pinhole-collector ---------------------------------------------------
row "collector: unknown option" 2 "unrecognized option '--bogus'" "$COLLECTOR" --bogus
row "collector: -r (no short option for --rules)" 2 "invalid option -- 'r'" \
    "$COLLECTOR" -r "$SRC/rules" --inventory "$LAB" --plain
row "collector: no --inventory" 2 "--inventory is required" "$COLLECTOR" --plain
row "collector: neither CURVE keys nor --plain" 2 "give --key and --allow" "$COLLECTOR" "${C[@]}"
row "collector: missing rules directory" 2 "No such file or directory" \
    "$COLLECTOR" --rules "$T/no-rules" --inventory "$LAB" --plain --check
row "collector: bad inventory" 2 "bad-inv.yaml:6: bad ASN 'ASbad'" \
    "$COLLECTOR" --rules "$SRC/rules" --inventory bad-inv.yaml --plain --http off --db "$T/c.db"
row "collector: bad --sync" 2 "--sync must be full or normal" "$COLLECTOR" "${C[@]}" --plain --sync maybe
row "collector: missing key file" 2 "no-key.key" \
    "$COLLECTOR" "${C[@]}" --key "$T/no-key.key" --allow "$T" --listen "tcp://127.0.0.1:$FREE_PORT"
row "collector: unwritable --db" 2 "no-dir/c.db" \
    "$COLLECTOR" --rules "$SRC/rules" --inventory "$LAB" --plain --http off --db "$T/no-dir/c.db" \
    --listen "tcp://127.0.0.1:$FREE_PORT"
row "collector: --check ok" 0 "ok: " "$COLLECTOR" "${C[@]}" --plain --check
row "collector: --check with a key file missing" 2 "no-key.key" \
    "$COLLECTOR" "${C[@]}" --key "$T/no-key.key" --allow "$T" --check
row "collector: --check bad inventory" 2 "bad-inv.yaml:6: bad ASN 'ASbad'" \
    "$COLLECTOR" --rules "$SRC/rules" --inventory bad-inv.yaml --plain --check
row "collector: --version" 0 "pinhole-collector " "$COLLECTOR" --version
row "collector: --help" 0 "usage: pinhole-collector" "$COLLECTOR" --help

echo "$rows rows, $fails failed"
[ $fails -eq 0 ]
