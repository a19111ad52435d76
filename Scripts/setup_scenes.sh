#!/usr/bin/env bash
# Installs what the scene generator and the base-model recipe need on top of Scripts/setup_python.sh:
# the Debian photo-wallpaper packages the scenes are made from (see Scripts/scenes/SOURCES.md),
# ffmpeg (clip mp4s), and the pinned Python extras of Scripts/requirements-train.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS="plasma-workspace-wallpapers mate-backgrounds lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 ffmpeg"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing
fi

VENV="${VENV:-.venv-scripts}"
[ -x "$VENV/bin/python" ] || Scripts/setup_python.sh
"$VENV/bin/pip" install --no-deps -r Scripts/requirements-train.txt
"$VENV/bin/python" -c "import sys; sys.path.insert(0, 'Scripts/scenes'); from sources import load_sources; \
print('scene sources ok:', len(load_sources(max_side=64, split='all')), 'photos')"
