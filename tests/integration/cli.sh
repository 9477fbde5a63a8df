#!/usr/bin/env bash
# The programs' command lines: --version on each (the project version, and
# nothing created), every --help option in the man page, every profile and
# inventory key in pinhole-rules(5), pinhole-keygen's
# option parsing (an option or a path is never taken for a key name), the
# modes of the key files, the mode of what the sensor writes (umask 027:
# 0640), a secret key readable by others refused with what to run, and the
# version header's fallback when the source is not a git checkout (a
# tarball).
# Usage: cli.sh SENSOR COLLECTOR KEYGEN SRCDIR VERSION
set -u
SENSOR=$1 COLLECTOR=$2 KEYGEN=$3 SRC=$4 VERSION=$5
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$T" || exit 1

for p in "$SENSOR" "$COLLECTOR" "$KEYGEN"; do
    name=$(basename "$p")
    out=$("$p" --version) || fail "$name --version: exit $?"
    [[ $out == "$name $VERSION"* ]] || fail "$name --version printed '$out'"
    "$p" --help | grep -q -- --version || fail "$name --help does not list --version"
done
[ -z "$(ls -A)" ] || fail "--version created files: $(ls -A)"

# Every option of --help is described in the program's man page source.
for p in "$SENSOR" "$COLLECTOR" "$KEYGEN"; do
    name=$(basename "$p")
    page=$(ls "$SRC/docs/man/$name".[18].scd) || fail "no man page for $name"
    for opt in $("$p" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        grep -q -- "\*$opt\*" "$page" || fail "$page does not describe $opt"
    done
done

# Every key the profile and inventory loader accepts (its keys[] tables) is
# described in pinhole-rules(5), the formats' one home (scdoc escapes '_').
page=$SRC/docs/man/pinhole-rules.5.scd
keys=$(awk '/keys\[\] = \{/ { on = 1 } on { print } /NULL\}/ { on = 0 }' "$SRC/common/rules_parse.c" |
    grep -o '"[a-z_]*"' | tr -d '"' | sort -u)
[ "$(echo "$keys" | wc -l)" -gt 20 ] || fail "found only these loader keys: $keys"
for k in $keys; do
    grep -q -- "\*${k//_/\\\\_}\*" "$page" || fail "pinhole-rules.5 does not describe the key '$k'"
done

for bad in -x .hidden a/b ../up ''; do
    "$KEYGEN" -- "$bad" keys 2>err && fail "keygen accepted the name '$bad'"
    grep -q "is not a key name" err || fail "keygen '$bad': $(cat err)"
done
"$KEYGEN" --bogus 2>/dev/null; [ $? -eq 2 ] || fail "keygen --bogus: not a usage error"
"$KEYGEN" a b c 2>/dev/null; [ $? -eq 2 ] || fail "keygen with three arguments: not a usage error"
rm -f err
[ -z "$(ls -A)" ] || fail "refused names created files: $(ls -A)"

"$KEYGEN" branch keys >line || fail "keygen branch keys"
grep -q '^branch .\{40\}$' line || fail "keygen printed '$(cat line)'"
[ "$(stat -c %a keys/branch.key)" = 600 ] || fail "branch.key mode $(stat -c %a keys/branch.key)"
[ "$(stat -c %a keys/branch.pub)" = 644 ] || fail "branch.pub mode $(stat -c %a keys/branch.pub)"

umask 022 # the programs set their own
"$SENSOR" --rules "$SRC/rules" --inventory "$SRC/rules/inventory/lab.yaml" \
    --read "$SRC/pcaps/lab-https-inside.pcap" --events ev.jsonl --report-file report.txt
[ $? -eq 1 ] || fail "sensor on lab-https-inside: exit not 1"
for f in ev.jsonl report.txt; do
    [ "$(stat -c %a $f)" = 640 ] || fail "sensor wrote $f with mode $(stat -c %a $f)"
done
"$KEYGEN" collector keys >/dev/null || fail "keygen collector keys"
chmod 644 keys/branch.key
"$SENSOR" --rules "$SRC/rules" --inventory "$SRC/rules/inventory/lab.yaml" \
    --read "$SRC/pcaps/lab-https-inside.pcap" --report none --publish tcp://127.0.0.1:9 \
    --collector-key keys/collector.pub --key keys/branch.key 2>err
[ $? -eq 2 ] || fail "sensor with a key readable by all: exit not 2"
grep -q "keys/branch.key: .*open to group or others (mode 0644).*chmod 600 keys/branch.key" err ||
    fail "the refusal does not say what to do: $(cat err)"

mkdir tarball
cmake -DSRC="$T/tarball" -DOUT="$T/v.h" -DVERSION="$VERSION" -P "$SRC/common/version.cmake" ||
    fail "version.cmake outside git"
grep -q "PINHOLE_VERSION \"$VERSION\"" v.h && grep -q 'PINHOLE_GIT_DESCRIBE ""' v.h ||
    fail "version header outside git: $(cat v.h)"
echo "ok"
