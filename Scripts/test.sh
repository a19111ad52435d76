#!/usr/bin/env bash
# The test command: installs what a fresh Debian/Ubuntu machine lacks, builds, runs the whole suite.
# The Swift suite needs no Python (fixtures are committed; regenerate with Scripts/make_fixtures.py);
# the browser test at the end runs Selenium from its own pinned venv (Scripts/browser-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

source Scripts/install-deps.sh

swift build --build-tests
swift test --skip-build "$@"
# Where the CPU has AVX-512 the products above ran on StableSAM's own kernel; run the kernel and
# model-parity suites again on the OpenBLAS path that other CPUs take.
if [[ $# -eq 0 ]]; then
    STABLESAM_GEMM=openblas swift test --skip-build \
        --filter "GemmTests|KernelTests|SamParityTests|TinyViTTests|RelativePositionTests|StableSAMPluginTests"
    # The browser UI in a real (headless) browser, after the Swift suite: installs chromium,
    # chromium-driver and Selenium when missing, skips with a message where it cannot.
    bash Scripts/browser-test.sh
    # Sharded `batch` on a real single-node Slurm (Debian's slurm-wlm and munge, installed when
    # missing): a 3-task array merged and compared file for file with one process, then a task
    # cancelled mid-sequence and resubmitted. Exit 77 is its "cannot run Slurm here" skip.
    STABLESAM=.build/debug/stablesam bash Scripts/slurm/test-local-slurm.sh || [[ $? -eq 77 ]]
fi
