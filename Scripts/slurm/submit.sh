#!/usr/bin/env bash
# Submits a sharded `stablesam batch` run and its merge in one go:
#
#   Scripts/slurm/submit.sh N ROOT DIR [batch args...]
#
# = an N-task array of batch-array.sbatch, and merge.sbatch with --dependency=afterok on it. Prints the two
# job ids ("ARRAY_ID MERGE_ID"). Extra sbatch options for the array go in SBATCH_ARGS (word-split), e.g.
#   SBATCH_ARGS="--partition=cpu --cpus-per-task=4 --time=4:00:00" Scripts/slurm/submit.sh 16 /data/davis /scratch/out
# sbatch also reads its usual SBATCH_* input variables (SBATCH_PARTITION, SBATCH_ACCOUNT, ...), which
# apply to both jobs. STABLESAM (the binary) is passed to the jobs through the environment.
set -euo pipefail
[[ $# -ge 3 ]] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
N=$1 ROOT=$2 DIR=$3
shift 3
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "submit: N must be a positive integer, got '$N'" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
# Absolute paths: the jobs may start in another working directory than this shell.
ROOT=$(realpath -m "$ROOT") DIR=$(realpath -m "$DIR")
mkdir -p "$DIR"
# shellcheck disable=SC2086
array=$(sbatch --parsable ${SBATCH_ARGS:-} --array=0-$((N - 1)) --export=ALL,STABLESAM_SHARDS="$N" \
    "$here/batch-array.sbatch" "$ROOT" "$DIR" "$@")
array=${array%%;*}   # --parsable prints "jobid[;cluster]"
merge=$(sbatch --parsable --dependency=afterok:"$array" "$here/merge.sbatch" "$DIR")
merge=${merge%%;*}
echo "$array $merge"
