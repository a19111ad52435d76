#!/usr/bin/env bash
# `track` throughput against the model-bound rate, on a 720p clip (issue target: frames/s of at
# least 0.9 / (encoder time + decoder time), both from `stablesam bench` in the same run).
#
#   Scripts/bench-track.sh [CHECKPOINT] [FRAMES]
#
# CHECKPOINT defaults to .build-bench/vit_t/model.pth, the random-weight MobileSAM that
# `Scripts/bench-peers.sh --models vit_t` writes (any SAM / MobileSAM .pth or .safetensors works).
# FRAMES (default 48) frames of FFmpeg's testsrc2 pattern at 1280x720 are generated once into
# .build-bench/track/ (needs the ffmpeg command: apt-get install ffmpeg). STABLESAM=/path/stablesam
# skips the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL="${1:-.build-bench/vit_t/model.pth}"
FRAMES="${2:-48}"
[[ -f "$MODEL" ]] || { echo "no checkpoint at $MODEL: run Scripts/bench-peers.sh --models vit_t first, or pass one" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "the ffmpeg command is needed to make the test clip (apt-get install ffmpeg)" >&2; exit 1; }
if [[ -z "${STABLESAM:-}" ]]; then
    swift build -c release --product stablesam >&2
    STABLESAM="$(swift build -c release --show-bin-path)/stablesam"
fi
WORK=.build-bench/track
mkdir -p "$WORK"
CLIP="$WORK/testsrc2_720p_${FRAMES}.mp4"
if [[ ! -f "$CLIP" ]]; then
    ffmpeg -loglevel error -y -f lavfi -i "testsrc2=size=1280x720:rate=24" -frames:v "$FRAMES" \
        -pix_fmt yuv420p -c:v libx264 "$CLIP.tmp.mp4"
    mv "$CLIP.tmp.mp4" "$CLIP"
fi

BENCH_JSON="$("$STABLESAM" bench --model "$MODEL" --runs 3 --json)"
rm -rf "$WORK/out"
LOG="$("$STABLESAM" track "$CLIP" --model "$MODEL" --plugin none --box 400,200,880,520 --out "$WORK/out" 2>&1 | tail -1)"
echo "$LOG"
python3 - "$BENCH_JSON" "$LOG" "$FRAMES" <<'PY'
import json, re, sys
bench, log, frames = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
stage = {s["name"]: s["medianMs"] for s in bench["stages"]}
enc, dec = stage["image encoder"], stage["prompt+decoder+upscale"]
m = re.search(r"tracked (\d+) frames in ([\d.]+) s \(([\d.]+) fps", log)
if not m:
    sys.exit(f"could not read the frame rate from track's last line: {log!r}")
fps = float(m.group(3))
bound = 1000.0 / (enc + dec)
print(f"model {bench['model']}: encoder {enc:.0f} ms + decoder {dec:.1f} ms -> model-bound {bound:.2f} frames/s")
print(f"track on {frames} frames of 1280x720: {fps:.2f} frames/s = {fps / bound * 100:.0f}% of the model-bound rate "
      f"(target >= 90%); peak memory of bench {bench['peakMemoryMB']:.0f} MB")
PY
