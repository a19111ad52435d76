#!/usr/bin/env bash
# Builds a small DAVIS-layout dataset from the bundled clips, without Python: each clip is cut into
# consecutive segments of K frames, and each segment becomes one sequence.
#
#   Scripts/slurm/make-dataset.sh CLIPS_DIR OUT [--frames K] [--clips a,b,...] [--max-per-clip M]
#
#   CLIPS_DIR       folder of clips, each CLIPS_DIR/<name>/clip.mp4 + CLIPS_DIR/<name>/Annotations/NNNNN.png
#                   (the project's Clips/: 4 clips of 60 frames, 480x270, palette PNG ground truth)
#   OUT             the dataset root to create (must not exist or be empty)
#   --frames K      frames per sequence (default 12). A last segment shorter than K is dropped, so every
#                   sequence has exactly K frames.
#   --clips LIST    only these clips (comma-separated names; default: every folder with a clip.mp4)
#   --max-per-clip M  at most the first M segments of each clip (default: all)
#
# Writes, for a segment starting at frame S of clip <name>, the sequence <name>_<SSS> (S zero-padded to 3
# digits, e.g. two_objects_000, two_objects_012):
#   OUT/JPEGImages/<seq>/00000.jpg ...   frames S..S+K-1 decoded with ffmpeg, renumbered from 0
#   OUT/Annotations/<seq>/00000.png ...  the clip's ground truth for the same frames, copied byte for byte
#                                        (palette PNGs, index = object id), renumbered from 0
#   OUT/ImageSets/all.txt                the sequence names, one a line, sorted
# and checks that every sequence has as many JPEGs as PNGs.
#
# Objects may be absent from a segment's first frame (exit_reenter has objects leaving the frame): the
# annotations are copied as they are, as in DAVIS where an object can appear after frame 0.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
die() { echo "make-dataset: error: $*" >&2; exit 1; }

[[ $# -ge 2 ]] || usage
CLIPS=$1 OUT=$2
shift 2
K=12 ONLY="" MAXPER=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --frames) K=${2:?--frames needs a value}; shift 2 ;;
        --clips) ONLY=${2:?--clips needs a value}; shift 2 ;;
        --max-per-clip) MAXPER=${2:?--max-per-clip needs a value}; shift 2 ;;
        -h|--help) usage ;;
        *) die "unknown argument: $1" ;;
    esac
done
[[ $K =~ ^[1-9][0-9]*$ ]] || die "--frames must be a positive integer, got '$K'"
[[ $MAXPER =~ ^[0-9]+$ ]] || die "--max-per-clip must be a non-negative integer, got '$MAXPER'"
[[ -d $CLIPS ]] || die "no such clips folder: $CLIPS"
command -v ffmpeg >/dev/null || die "ffmpeg not found (apt-get install ffmpeg)"
if [[ -e $OUT ]] && [[ -n $(ls -A "$OUT") ]]; then die "$OUT exists and is not empty"; fi

if [[ -n $ONLY ]]; then
    IFS=, read -r -a names <<<"$ONLY"
else
    names=()
    for d in "$CLIPS"/*/; do [[ -f $d/clip.mp4 ]] && names+=("$(basename "$d")"); done
fi
[[ ${#names[@]} -gt 0 ]] || die "no clips (CLIPS_DIR/<name>/clip.mp4) in $CLIPS"

mkdir -p "$OUT/JPEGImages" "$OUT/Annotations" "$OUT/ImageSets"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

seqs=()
for name in "${names[@]}"; do
    clip=$CLIPS/$name
    [[ -f $clip/clip.mp4 ]] || die "no $clip/clip.mp4"
    [[ -d $clip/Annotations ]] || die "no $clip/Annotations"
    # Decode every frame once (-vsync passthrough: one JPEG per coded frame, no duplicated or dropped
    # frames, so JPEG n is annotation n), then move them into segments. -q:v 2 is near-lossless JPEG.
    rm -rf "$tmp/frames" && mkdir "$tmp/frames"
    ffmpeg -nostdin -v error -i "$clip/clip.mp4" -vsync passthrough -q:v 2 -start_number 0 \
        "$tmp/frames/%05d.jpg"
    nframes=$(find "$tmp/frames" -name '*.jpg' | wc -l)
    nann=$(find "$clip/Annotations" -maxdepth 1 -name '[0-9][0-9][0-9][0-9][0-9].png' | wc -l)
    [[ $nframes -eq $nann ]] || die "$name: clip.mp4 has $nframes frames but Annotations has $nann PNGs"
    nseg=$((nframes / K))
    [[ $MAXPER -gt 0 && $MAXPER -lt $nseg ]] && nseg=$MAXPER
    for ((s = 0; s < nseg; s++)); do
        start=$((s * K))
        seq=$(printf '%s_%03d' "$name" "$start")
        mkdir "$OUT/JPEGImages/$seq" "$OUT/Annotations/$seq"
        for ((i = 0; i < K; i++)); do
            src=$(printf '%05d' $((start + i)))
            dst=$(printf '%05d' "$i")
            [[ -f $clip/Annotations/$src.png ]] || die "$name: missing Annotations/$src.png"
            mv "$tmp/frames/$src.jpg" "$OUT/JPEGImages/$seq/$dst.jpg"
            cp "$clip/Annotations/$src.png" "$OUT/Annotations/$seq/$dst.png"
        done
        seqs+=("$seq")
    done
    echo "make-dataset: $name: $nframes frames -> $nseg sequence(s) of $K frames" >&2
done

printf '%s\n' "${seqs[@]}" | LC_ALL=C sort >"$OUT/ImageSets/all.txt"

# The check the brief asks for: as many frames as annotations in every sequence.
while read -r seq; do
    nj=$(find "$OUT/JPEGImages/$seq" -name '*.jpg' | wc -l)
    na=$(find "$OUT/Annotations/$seq" -name '*.png' | wc -l)
    [[ $nj -eq $na && $nj -eq $K ]] || die "$seq: $nj JPEGs, $na PNGs (expected $K each)"
done <"$OUT/ImageSets/all.txt"
echo "make-dataset: wrote $(wc -l <"$OUT/ImageSets/all.txt") sequences of $K frames to $OUT" >&2
