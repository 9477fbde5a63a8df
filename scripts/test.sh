#!/usr/bin/env bash
# Builds pinhole and runs the whole test suite twice: a release build with
# warnings as errors, then an AddressSanitizer + UndefinedBehaviorSanitizer
# build. Installs missing Debian packages first (as root).
# Last, a 30-second smoke run of each libFuzzer target (scripts/fuzz.sh).
# Usage: scripts/test.sh [--quick]   (--quick: the release build's tests only)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)

echo "== release build (-Werror) and tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPINHOLE_WERROR=ON >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

if [ "${1:-}" != "--quick" ]; then
    echo "== AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPINHOLE_WERROR=ON \
        -DPINHOLE_SANITIZE="address;undefined" >/dev/null
    cmake --build build-asan -j "$jobs"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --test-dir build-asan --output-on-failure -j "$jobs"
fi

if [ "${1:-}" != "--quick" ]; then
    echo "== fuzz smoke run"
    bash scripts/fuzz.sh "${PINHOLE_FUZZ_SECONDS:-30}"
fi
