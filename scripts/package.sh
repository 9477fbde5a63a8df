#!/usr/bin/env bash
# Builds the Debian package pinhole_VERSION_ARCH.deb: a release build for
# the prefix /usr (the programs' default --rules is then
# /usr/share/pinhole/rules) in BUILD_DIR, then `cpack -G DEB`, which takes
# the dependencies from dpkg-shlibdeps. Prints the package's path last.
# Usage: scripts/package.sh [BUILD_DIR]   (default: build-deb in the source tree)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
B=$(realpath -m "${1:-$REPO/build-deb}")
cd "$REPO"
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
    -DPINHOLE_TESTS=OFF -DPINHOLE_SANITIZE= -DPINHOLE_FUZZ=OFF >/dev/null
cmake --build "$B" -j "${PINHOLE_JOBS:-$(nproc)}" >/dev/null
rm -f "$B"/pinhole_*.deb
(cd "$B" && cpack -G DEB >/dev/null)
ls "$B"/pinhole_*.deb
