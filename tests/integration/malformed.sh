#!/usr/bin/env bash
# Bad input gets a clear message or a counted skip, never a crash:
# a bad magic number, an empty file, a truncated capture, packets cut by the
# snap length, a corrupt pcapng block, a missing file, a broken inventory.
# Usage: malformed.sh SENSOR SRCDIR
set -u
SENSOR=$1 SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0 passes=0
ok() { passes=$((passes + 1)); echo "ok: $*"; }
bad() { fails=$((fails + 1)); echo "FAIL: $*"; }
run() { # name, expected exit codes (e.g. 2, or 01), then sensor args; output in $T/out, $T/err
    local name=$1 want=$2; shift 2
    rm -f "$T/ev.jsonl" # events are appended to
    "$SENSOR" --rules "$SRC/rules" --inventory "$SRC/rules/inventory/lab.yaml" \
        --events "$T/ev.jsonl" "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ $rc -ge 128 ] || ! [[ $rc =~ ^[$want]$ ]]; then
        bad "$name: exit $rc, expected $want: $(head -c 400 "$T/err")"; return 1
    fi
    return 0
}
expect_err() { # name, pattern
    if grep -q -- "$2" "$T/err"; then ok "$1"; else bad "$1: stderr lacks '$2': $(head -c 400 "$T/err")"; fi
}
stat_of() { python3 -c "
import json,sys
for l in open('$T/ev.jsonl'):
    e=json.loads(l)
    if e['event_type']=='stats':
        v=e['stats']
        for k in sys.argv[1].split('.'): v=v[k]
        print(v)" "$1"; }

PCAP=$SRC/pcaps/lab-https-inside.pcap
N=$(capinfos -Mc "$PCAP" | awk '/Number of packets/ {print $NF}')

printf 'NOTAPCAPFILE-at-all-0123456789abcdef' >"$T/badmagic.pcap"
run "bad magic" 2 --read "$T/badmagic.pcap" && expect_err "bad magic names the file" "badmagic.pcap: not a pcap or pcapng file"

: >"$T/empty.pcap"
run "empty file" 2 --read "$T/empty.pcap" && expect_err "empty file" "empty.pcap: not a pcap"

size=$(stat -c %s "$PCAP")
head -c $((size - 37)) "$PCAP" >"$T/truncated.pcap"
if run "truncated capture" 2 --read "$T/truncated.pcap"; then
    expect_err "truncated capture says where" "truncated.pcap: after packet $((N - 1)): truncated dump file"
    got=$(stat_of decoder.pkts)
    [ "$got" = $((N - 1)) ] && ok "truncated: the $((N - 1)) whole packets are kept" || bad "truncated: $got packets"
    grep -q "Site lab-branch" "$T/out" && ok "truncated: report still written" || bad "truncated: no report"
fi

# Two files: the broken one is reported, the good one is read whole.
if run "bad file beside a good one" 2 --read "$T/badmagic.pcap" --read "$PCAP"; then
    [ "$(stat_of decoder.pkts)" = "$N" ] && ok "good file read whole after a bad one" || bad "packets lost beside a bad file"
fi

editcap -s 40 "$PCAP" "$T/snap40.pcap" >/dev/null
# 40 bytes hold the IP header and the ports only: those packets are skipped,
# counted, and the run says so (what remains may still look compliant).
if run "snaplen 40" 014 --read "$T/snap40.pcap"; then
    expect_err "snaplen 40: the cut is reported" "cut short by the snap length"
    [ "$(stat_of decoder.pkts)" = "$N" ] && ok "snaplen 40: every packet read" || bad "snaplen 40: packets lost"
    l4=$(stat_of pinhole.decode.l4_truncated)
    [ "$l4" -gt 0 ] && ok "snaplen 40: $l4 cut packets counted" || bad "snaplen 40: cut packets not counted"
fi
for s in 54 60 96 128; do
    editcap -s $s "$PCAP" "$T/snap.pcap" >/dev/null
    run "snaplen $s" 14 --read "$T/snap.pcap" && ok "snaplen $s: judged without error"
done

# pcapng: a section header, then a block whose length is not a multiple of 4.
python3 - "$T/corrupt.pcapng" <<'PY'
import struct, sys
shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
idb = struct.pack("<IIHHI", 1, 20, 1, 0, 65535) + struct.pack("<I", 20)
open(sys.argv[1], "wb").write(shb + idb + struct.pack("<II", 6, 27) + b"\0" * 40)
PY
run "corrupt pcapng" 2 --read "$T/corrupt.pcapng" && expect_err "corrupt pcapng says which block" "corrupt.pcapng: after packet 0: block 3: bad block length"

run "missing file" 2 --read "$T/nope.pcap" && expect_err "missing file" "nope.pcap: cannot open"

printf 'sites:\n  - name: x\n    cidrs: [10.0.0.0/8]\nroles:\n  waf:\n    asns: [ASbad]\n' >"$T/inv.yaml"
"$SENSOR" --rules "$SRC/rules" --inventory "$T/inv.yaml" --read "$PCAP" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q "inv.yaml:6: bad ASN 'ASbad'" "$T/err" && ok "broken inventory refused with file:line" \
    || bad "broken inventory: exit $rc: $(cat "$T/err")"
[ -s "$T/out" ] && bad "a report was printed from a half-read table" || ok "nothing judged with a broken table"

echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
