#!/usr/bin/env bash
# The browser test of `stablesam serve` (Scripts/browser_test.py): installs Debian's chromium and
# chromium-driver when missing, Selenium (pinned, Scripts/requirements-browser.txt) into
# .venv-browser/, and runs it on the built debug binary. Where no browser can be installed (no
# apt-get, not root, no package source) it says so and exits 0: a skip, not a pass.
# Usage: Scripts/browser-test.sh [--screenshots DIR]    (after `swift build`)
set -euo pipefail
cd "$(dirname "$0")/.."

skip() { echo "browser test SKIPPED: $1" >&2; exit 0; }

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    command -v apt-get >/dev/null || skip "no chromium/chromedriver and no apt-get to install them"
    SUDO=""
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null && sudo -n true 2>/dev/null || skip "chromium and chromium-driver are missing and installing them needs root"
        SUDO="sudo -n"
    fi
    echo "installing chromium and chromium-driver (Debian packages)" >&2
    $SUDO apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null \
        || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null; } \
        || skip "apt-get could not install chromium and chromium-driver"
fi

if ! .venv-browser/bin/python -c "import selenium" 2>/dev/null; then
    python3 -m venv .venv-browser || skip "python3 cannot create a virtual environment (install python3-venv)"
    .venv-browser/bin/pip install --quiet --no-deps -r Scripts/requirements-browser.txt \
        || skip "pip could not install Selenium from Scripts/requirements-browser.txt"
fi

BIN="${STABLESAM:-.build/debug/stablesam}"
[[ -x "$BIN" ]] || { echo "$BIN is not built: run swift build first" >&2; exit 1; }
exec .venv-browser/bin/python Scripts/browser_test.py --stablesam "$BIN" "$@"
