#!/usr/bin/env bash
# The test command: installs what a fresh Debian/Ubuntu machine lacks, builds, runs the whole suite.
# Python is never needed here; fixtures are committed (regenerate with Scripts/make_fixtures.py).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in pkg-config libopenblas-dev libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ffmpeg; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ((${#need[@]})); then
    echo "installing: ${need[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

command -v swift >/dev/null || { echo "swift not found: install Swift 6 (https://swift.org/install) and retry" >&2; exit 1; }

swift build --build-tests
swift test --skip-build "$@"
