#!/usr/bin/env bash
# The test command: installs what a fresh Debian/Ubuntu machine lacks, builds, runs the whole suite.
# Python is never needed here; fixtures are committed (regenerate with Scripts/make_fixtures.py).
set -euo pipefail
cd "$(dirname "$0")/.."

source Scripts/install-deps.sh

swift build --build-tests
swift test --skip-build "$@"
