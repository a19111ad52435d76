#!/usr/bin/env bash
# Fuzzes StableSAM's parsers of untrusted files with libFuzzer + AddressSanitizer.
#
#   Scripts/fuzz/run.sh [--seconds N] [target ...]     (default: 450 s for each of the 8 targets)
#
# Targets (Sources/FuzzTargets): zip pickle pth safetensors config rle objects prompts.
# Seeds come from the official code (Scripts/fuzz/make_seeds.py, needs Scripts/setup_python.sh);
# the growing corpus stays in Scripts/fuzz/corpus/<target>, crash inputs in
# Scripts/fuzz/crashes/<target>/ (a fix's regression file goes to
# Tests/TestSupport/Fixtures/fuzz/<target>/, which the suite replays). Each target runs in
# libFuzzer's fork mode, so a crash is recorded and fuzzing goes on; the summary lists
# executions, coverage (edges, features) and crashes per target, also in Scripts/fuzz/logs/.
# Limits: 2.5 GB RSS and malloc per input, 10 s per input (an allocation the input cannot back,
# or a hang, counts as a crash).
set -euo pipefail
cd "$(dirname "$0")"
HERE=$(pwd)
ROOT=$(cd ../.. && pwd)
SECONDS_PER=450
TARGETS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) SECONDS_PER=$2; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) TARGETS+=("$1"); shift ;;
    esac
done
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(zip pickle pth safetensors config rle objects prompts)

PY="$ROOT/.venv-scripts/bin/python"
if [ ! -d seeds ]; then
    [ -x "$PY" ] || { echo "no $PY: run Scripts/setup_python.sh first (the seeds come from the official code)" >&2; exit 1; }
    GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736 "$PY" -W ignore make_seeds.py seeds
fi

# SwiftPM gives an executable its own `main`, so libFuzzer comes as its no-main runtime and the
# harness calls LLVMFuzzerRunDriver; -sanitize=fuzzer would link a second main.
RT=$(ls /opt/swift/usr/lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a 2>/dev/null | head -1 || true)
[ -n "$RT" ] || RT=$(find / -name 'libclang_rt.fuzzer_no_main-x86_64.a' 2>/dev/null | head -1)
[ -n "$RT" ] || { echo "libclang_rt.fuzzer_no_main-x86_64.a not found: the Swift toolchain's clang runtime is needed" >&2; exit 1; }
swift build -c debug -Xswiftc -sanitize=address \
    -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table -Xlinker "$RT" 2>&1 \
    | grep -v "Cannot export local symbol" | tail -3
BIN="$HERE/.build/debug/stablesam-fuzz"

mkdir -p logs
SUMMARY="logs/summary-$(date -u +%Y%m%dT%H%M%S).txt"
printf '%-12s %8s %12s %8s %8s %8s %8s\n' target seconds executions edges features corpus crashes | tee "$SUMMARY"
for t in "${TARGETS[@]}"; do
    mkdir -p "corpus/$t" "crashes/$t"
    log="logs/$t.log"
    # ASan's leak check is off: a rejected input's error path legitimately leaves memo cycles
    # (a pickle list appended to itself) that are freed with the process.
    ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=0 STABLESAM_FUZZ_TARGET=$t \
        "$BIN" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
        -max_total_time="$SECONDS_PER" -rss_limit_mb=2500 -malloc_limit_mb=2500 -timeout=10 -max_len=1048576 \
        -artifact_prefix="crashes/$t/" "corpus/$t" "seeds/$t" > "$log" 2>&1 || true
    last=$(grep -E '^#[0-9]+: cov: ' "$log" | tail -1 || true)
    execs=$(grep -oE 'exec/s [0-9]+' "$log" | tail -1 >/dev/null; grep -E '^#[0-9]+: cov: ' "$log" | tail -1 | sed -E 's/^#([0-9]+):.*/\1/' || true)
    edges=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$last")
    features=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$last")
    corpus=$(ls "corpus/$t" | wc -l)
    crashes=$(ls "crashes/$t" | wc -l)
    printf '%-12s %8s %12s %8s %8s %8s %8s\n' "$t" "$SECONDS_PER" "${execs:-?}" "${edges:-?}" "${features:-?}" "$corpus" "$crashes" | tee -a "$SUMMARY"
done
echo "crash inputs: $HERE/crashes/<target>/ (replay one: STABLESAM_FUZZ_TARGET=T $BIN FILE)"
