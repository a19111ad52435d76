#!/usr/bin/env bash
# Replays every checkpoint and JSON input of the fuzz corpus (Scripts/fuzz/corpus, seeds and
# Tests/TestSupport/Fixtures/fuzz) through the real CLI under a 3 GB address-space limit:
# no input may make the tool fail to allocate, trap or die of a signal; a clean error is fine.
#
#   Scripts/fuzz/prlimit_check.sh [path/to/stablesam]     (default: .build/release/stablesam)
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-.build/release/stablesam}
[ -x "$BIN" ] || { echo "no $BIN: swift build -c release first" >&2; exit 1; }
LIMIT=3000000000
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ffmpeg -v error -nostdin -y -f lavfi -i testsrc=size=64x48:rate=10 -frames:v 3 -c:v libx264 -pix_fmt yuv420p "$WORK/clip.mp4"
ffmpeg -v error -nostdin -y -i "$WORK/clip.mp4" -frames:v 1 "$WORK/image.png"
TINY=Tests/TestSupport/Fixtures/sam_tiny_win.pth
runs=0; bad=0; ran=0
check() {  # kind file command...
    local kind=$1 file=$2; shift 2
    runs=$((runs + 1))
    local out rc
    out=$(prlimit --as=$LIMIT "$@" 2>&1); rc=$?
    [ $rc -eq 0 ] && ran=$((ran + 1))
    # 127: the loader could not even map the binary's libraries inside the limit.
    if [ $rc -ge 127 ] || grep -qiE "failed to allocate|fatal error|out of memory|std::bad_alloc|failed to map" <<<"$out"; then
        bad=$((bad + 1))
        echo "FAIL ($kind, exit $rc): $file"; echo "$out" | tail -3 | cut -c1-300
    fi
}
for dir in Scripts/fuzz/corpus Scripts/fuzz/seeds Tests/TestSupport/Fixtures/fuzz; do
    for kind in pth safetensors zip; do
        [ -d "$dir/$kind" ] || continue
        for f in "$dir/$kind"/*; do
            [ -f "$f" ] || continue
            check "$kind" "$f" "$BIN" segment "$WORK/image.png" --model "$f" --box 2,2,40,30 --out "$WORK/seg"
        done
    done
    for f in "$dir"/objects/*; do
        [ -f "$f" ] || continue
        rm -rf "$WORK/t"; check objects "$f" "$BIN" track "$WORK/clip.mp4" --objects "$f" --model "$TINY" --quiet --out "$WORK/t"
    done
    for f in "$dir"/prompts/*; do
        [ -f "$f" ] || continue
        rm -rf "$WORK/t"; check prompts "$f" "$BIN" track "$WORK/clip.mp4" --prompts "$f" --model "$TINY" --quiet --out "$WORK/t"
    done
done
echo "$runs inputs under prlimit --as=$LIMIT: $ran ran to the end, $((runs - ran - bad)) refused with a clean error, $bad failed to allocate, trapped or died"
[ $bad -eq 0 ]
