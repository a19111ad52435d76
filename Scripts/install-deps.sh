#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks for building and running StableSAM (sourced by
# test.sh and demo.sh): OpenBLAS, FFmpeg's -dev packages and CLI, pkg-config, OpenEXR's C and C++
# libraries (soft-matte EXRs), the C++ standard library's headers (the COpenEXRImf target); and the
# EXR readers the tests check those files with (exrheader from `openexr`, oiiotool from
# `openimageio-tools`); and checks for Swift.
need=()
for pkg in pkg-config libopenblas-dev libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ffmpeg \
           libopenexr-dev openexr openimageio-tools; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
# Swift's clang++ compiles the C++ target against libstdc++'s headers (libstdc++-<gcc version>-dev,
# which g++ brings for the distribution's default gcc).
dpkg-query -W -f='${Status}\n' 'libstdc++-*-dev' 2>/dev/null | grep -q "install ok installed" || need+=(g++)
if ((${#need[@]})); then
    echo "installing: ${need[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift not found: install Swift 6 (https://swift.org/install) and retry" >&2; exit 1; }
