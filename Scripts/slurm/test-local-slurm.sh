#!/usr/bin/env bash
# End-to-end test of sharded `stablesam batch` on a real (local, single-node) Slurm cluster.
#
#   Scripts/slurm/test-local-slurm.sh            # opt-in, as root; about 70 s on 2 cores
#
# 1. starts the local cluster (local-cluster.sh; installs slurm-wlm + munge with apt-get when missing);
# 2. builds a 6-sequence dataset of 30-frame sequences from Clips/ (make-dataset.sh);
# 3. reference: one process, `stablesam batch ROOT --out REF --threads 1`;
# 4. a 3-task array of batch-array.sbatch (1 CPU each) + merge.sbatch with afterok, via submit.sh;
#    DIR is compared with REF file for file (see compare_dirs for what may differ);
# 5. the kill test: the array again into a fresh DIR2; array task 1 is scancel'ed in the middle of its
#    second sequence; `batch merge` must then fail naming the unfinished sequences; only index 1 is
#    resubmitted (STABLESAM_SHARDS=3 sbatch --array=1), which must track/resume exactly shard 1's
#    unfinished sequences, skip its finished ones and leave every finished folder untouched; merge,
#    compare with REF again;
# 6. stops the cluster (only if this script started it) on exit.
#
# Exit status: 0 PASS; 1 FAIL; 77 SKIPPED (Slurm cannot be installed or started here, no binary).
#
# Environment:
#   STABLESAM                 binary to test (default: .build/release/stablesam, else .build/debug/stablesam).
#                             It is copied (with its *.resources bundles) into the work dir first, so a
#                             rebuild in place during the test does not change the binary under test.
#   STABLESAM_SLURM_TEST_DIR  work dir (default: a new mktemp -d; kept on FAIL, removed on PASS)
#   TEST_CLIPS, TEST_PER_CLIP, TEST_FRAMES  the dataset (default two_objects,occlusion,exit_reenter; 2; 30)
#   REF_THREADS               --threads of the reference run (default 1, like each array task)
#   KILL_DELAY                seconds from task 1 entering a sequence to its scancel (default: a third
#                             of its fastest sequence in the first array, so it lands mid-sequence)
#   KEEP_CLUSTER=1            leave the cluster running at the end
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
t0=$SECONDS

TEST_CLIPS=${TEST_CLIPS:-two_objects,occlusion,exit_reenter}
TEST_PER_CLIP=${TEST_PER_CLIP:-2}
# 30-frame sequences (1-2 s each on one core) leave the kill test a wide window to cancel mid-sequence.
TEST_FRAMES=${TEST_FRAMES:-30}
REF_THREADS=${REF_THREADS:-1}
SHARDS=3
JOB_TIMEOUT=${JOB_TIMEOUT:-600}   # seconds any one wait may take
KILL_DELAY=${KILL_DELAY:-}        # kill test: seconds from task 1 entering a sequence to the scancel

log() { echo "[test-local-slurm $((SECONDS - t0))s] $*" >&2; }
skip() { echo "SKIPPED: $*" >&2; exit 77; }
failures=()
fail() { echo "FAIL: $*" >&2; failures+=("$*"); }
fatal() { echo "FAIL: $*" >&2; failures+=("$*"); exit 1; }
summary() {   # the final verdict; also printed by the EXIT trap when a fatal error ended the test early
    summarized=1
    if [[ ${#failures[@]} -eq 0 ]]; then
        echo "PASS: test-local-slurm (${#ALL[@]} sequences, $SHARDS shards, kill + resume of shard 1)" >&2
        return 0
    fi
    echo "FAIL: test-local-slurm: ${#failures[@]} failure(s):" >&2
    printf '  - %s\n' "${failures[@]}" >&2
    return 1
}
summarized=0
ALL=()

# --- the binary under test -----------------------------------------------------------------------------
src=${STABLESAM:-}
if [[ -z $src ]]; then
    for c in "$repo/.build/release/stablesam" "$repo/.build/debug/stablesam"; do
        [[ -x $c ]] && { src=$c; break; }
    done
fi
[[ -n $src && -x $src ]] || skip "no stablesam binary (swift build -c release, or set STABLESAM)"
"$src" batch --help >/dev/null 2>&1 || fatal "$src has no working 'batch' subcommand"
command -v jq >/dev/null || {
    [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends jq >/dev/null 2>&1 || true
    command -v jq >/dev/null || skip "jq is needed to compare the JSON files (apt-get install jq)"
}

WORK=${STABLESAM_SLURM_TEST_DIR:-$(mktemp -d /tmp/stablesam-slurm-test.XXXXXX)}
mkdir -p "$WORK/bin" "$WORK/logs"
cp "$src" "$WORK/bin/stablesam"
# SwiftPM resource bundles (the default model) are looked up next to the executable first.
for b in "$(dirname "$src")"/*.resources; do [[ -d $b ]] && cp -R "$b" "$WORK/bin/"; done
BIN=$WORK/bin/stablesam
export STABLESAM=$BIN
log "binary $src -> $BIN; work dir $WORK"

# --- cluster -----------------------------------------------------------------------------------------
started_cluster=0
jobs_submitted=()
cleanup() {
    local rc=$?
    set +e
    for j in "${jobs_submitted[@]}"; do scancel "$j" >/dev/null 2>&1; done
    if [[ $started_cluster -eq 1 && ${KEEP_CLUSTER:-0} != 1 ]]; then
        "$here/local-cluster.sh" stop >/dev/null 2>&1 || echo "warning: local-cluster.sh stop failed" >&2
    fi
    [[ $rc -ne 0 && $rc -ne 77 && $summarized -eq 0 && ${#failures[@]} -gt 0 ]] && summary
    if [[ $rc -eq 0 || $rc -eq 77 ]]; then
        [[ -z ${STABLESAM_SLURM_TEST_DIR:-} ]] && rm -rf "$WORK"
    else
        echo "work dir kept: $WORK (job logs in $WORK/logs, daemon logs in ${STABLESAM_SLURM_STATE:-/tmp/stablesam-slurm}/log)" >&2
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if "$here/local-cluster.sh" status >/dev/null 2>&1; then
    log "local cluster already running, using it (and leaving it running)"
else
    started_cluster=1
    set +e
    "$here/local-cluster.sh" start
    rc=$?
    set -e
    [[ $rc -eq 77 ]] && exit 77   # local-cluster.sh printed "SKIPPED: why"
    [[ $rc -eq 0 ]] || fatal "local-cluster.sh start failed (exit $rc)"
fi
eval "$("$here/local-cluster.sh" env)"
export SLURM_CONF

# --- Slurm helpers (no accounting db: scontrol/squeue only; MinJobAge keeps finished jobs for 10 min) ---
# One "TASK STATE EXITCODE" line per job / array task, e.g. "1 COMPLETED 0:0". A pending remainder of an
# array shows as one line with a range ("[1-2] PENDING 0:0").
job_states() {
    scontrol -o show job "$1" 2>/dev/null | sed -E 's/^JobId=([0-9]+) (ArrayJobId=[0-9]+ ArrayTaskId=([^ ]+) )?.*JobState=([A-Z_]+).* ExitCode=([0-9:]+).*/\3 \4 \5/;s/^ /- /'
}
terminal='^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE)$'
wait_job() {   # JOBID: waits until every task of the job is in a terminal state
    local deadline=$((SECONDS + JOB_TIMEOUT)) states st all
    while ((SECONDS < deadline)); do
        states=$(job_states "$1")
        [[ -n $states ]] || fatal "job $1 unknown to slurmctld (purged?)"
        all=1
        while read -r _ st _; do [[ $st =~ $terminal ]] || all=0; done <<<"$states"
        [[ $all -eq 1 ]] && return 0
        sleep 0.5
    done
    squeue >&2 || true
    fatal "job $1 not finished after ${JOB_TIMEOUT}s"
}
expect_completed() {   # JOBID WHAT LOGGLOB: every task COMPLETED with exit 0, else show the logs
    local bad
    bad=$(job_states "$1" | awk '$2 != "COMPLETED" || $3 != "0:0"')
    if [[ -n $bad ]]; then
        # shellcheck disable=SC2086
        tail -n 30 $3 >&2 || true
        fatal "$2: job $1 tasks not COMPLETED/0:0: $(echo "$bad" | tr '\n' ';')"
    fi
}
submit() {   # VAR sbatch-args...: sbatch --parsable, the job id into VAR, remembered for cleanup
    local var=$1 id
    shift
    id=$(sbatch --parsable "$@") || fatal "sbatch $* failed"
    id=${id%%;*}
    jobs_submitted+=("$id")
    printf -v "$var" '%s' "$id"
}

# --- comparing two output folders ------------------------------------------------------------------
# Every file must exist in both and be byte-equal, except (measured on this binary: a one-process run, a
# 3-shard run + merge, a run with --threads 2 and a SIGTERM'ed + resumed run differ only in these):
#   shard-*-of-*.json          written only by shard runs (DIR), never by the one-process run (REF);
#   <seq>/batch.json           .run.finished (UTC time), .run.wall_seconds, .run.host, .run.resumed and
#                              .run.frames_tracked (frames this process computed: 13 for 12 fresh frames,
#                              fewer after a resume) are dropped;
#   <seq>/summary.json         .timings.{decode_wait_seconds, frames_per_second, frames_processed,
#                              model_seconds, outside_model_share, peak_resident_mb, wall_seconds,
#                              write_wait_seconds} and .keyframes.{tracked_forward, tracked_backward}
#                              (frames tracked by this process) are dropped;
#   any JSON string            that is a path under the output folder (summary.json's .keyframes.prompts)
#                              is compared relative to it.
# Everything else - masks, palette PNGs, frames/*.json, overlay.mp4 (byte-identical across runs here),
# batch-plan.json, report.{json,txt,html}, the evaluation in batch.json - must be byte-equal (JSON that is
# not byte-equal is compared after the normalisation above, keys sorted).
norm_json() {   # FILE OUTDIR
    local filter='.'
    case $1 in
        */batch.json) filter='del(.run.finished, .run.wall_seconds, .run.host, .run.resumed, .run.frames_tracked)' ;;
        */summary.json) filter='del(.timings.decode_wait_seconds, .timings.frames_per_second,
            .timings.frames_processed, .timings.model_seconds, .timings.outside_model_share,
            .timings.peak_resident_mb, .timings.wall_seconds, .timings.write_wait_seconds,
            .keyframes.tracked_forward, .keyframes.tracked_backward)' ;;
    esac
    jq -S --arg out "$2/" "$filter"' | walk(if type == "string" and startswith($out)
        then "<OUT>/" + .[($out | length):] else . end)' "$1"
}
compare_dirs() {   # REF DIR [WARN_REGEX]: prints differences, returns 1 if any outside WARN_REGEX
    local ref=$1 dir=$2 warn=${3:-} bad=0 nwarn=0 f what
    comm -3 <(cd "$ref" && find . -type f | LC_ALL=C sort) \
            <(cd "$dir" && find . -type f ! -name 'shard-*-of-*.json' | LC_ALL=C sort) >"$WORK/comm.txt"
    if [[ -s $WORK/comm.txt ]]; then
        echo "files only in $ref (left) / only in $dir (indented):" >&2
        sed 's/^/    /' "$WORK/comm.txt" | head -n 40 >&2
        bad=1
    fi
    while read -r f; do
        [[ -f $dir/$f ]] || continue
        cmp -s "$ref/$f" "$dir/$f" && continue
        what=""
        case $f in
            *.json)
                diff <(norm_json "$ref/$f" "$ref") <(norm_json "$dir/$f" "$dir") >"$WORK/diff.txt" && continue
                what="JSON, after the normalisation" ;;
            *) what="bytes"; : >"$WORK/diff.txt" ;;
        esac
        if [[ -n $warn && $f =~ $warn ]]; then
            # Only the first such file in full: a resume difference repeats in every later checkpoint.
            nwarn=$((nwarn + 1))
            [[ $nwarn -gt 1 ]] && continue
            echo "WARN: differs ($what): $f" >&2
        else
            echo "differs ($what): $f" >&2
            bad=1
        fi
        head -n 12 "$WORK/diff.txt" | sed 's/^/    /' >&2
    done < <(cd "$ref" && find . -type f | LC_ALL=C sort)
    [[ $nwarn -gt 1 ]] && echo "WARN: ... and $((nwarn - 1)) more files matching $warn differ" >&2
    return $bad
}
# batch's per-sequence result lines -> "seq tracked|resumed|skipped|failed|interrupted". The final line
# of a sequence is "batch: <seq>: done, ...", "done (resumed), ...", "skipped (finished)", "failed: ...",
# "interrupted"; the "starting"/"resuming" progress lines are ignored. ("tracked"/"resumed" are the
# words of the original CLI contract, accepted too.)
seq_lines() {
    sed -nE -e 's/^batch: ([^: ]+): (done \(resumed\)|resumed).*/\1 resumed/p' \
        -e 's/^batch: ([^: ]+): (done|tracked)([ ,].*)?$/\1 tracked/p' \
        -e 's/^batch: ([^: ]+): skipped.*/\1 skipped/p' \
        -e 's/^batch: ([^: ]+): failed.*/\1 failed/p' \
        -e 's/^batch: ([^: ]+): interrupted.*/\1 interrupted/p' "$@"
}

# --- 2. dataset ----------------------------------------------------------------------------------------
ROOT=$WORK/data
"$here/make-dataset.sh" "$repo/Clips" "$ROOT" --frames "$TEST_FRAMES" --clips "$TEST_CLIPS" \
    --max-per-clip "$TEST_PER_CLIP" 2>"$WORK/logs/make-dataset.log" \
    || { cat "$WORK/logs/make-dataset.log" >&2; fatal "make-dataset.sh failed"; }
mapfile -t ALL < "$ROOT/ImageSets/all.txt"
log "dataset: ${#ALL[@]} sequences of $TEST_FRAMES frames: ${ALL[*]}"

# --- 3. reference ------------------------------------------------------------------------------------
REF=$WORK/ref
tr0=$SECONDS
set +e
"$BIN" batch run "$ROOT" --out "$REF" --threads "$REF_THREADS" >"$WORK/logs/ref.out" 2>"$WORK/logs/ref.log"
rc=$?
set -e
ref_s=$((SECONDS - tr0))
log "reference run: exit $rc in ${ref_s}s"
[[ $rc -eq 0 ]] || { cat "$WORK/logs/ref.log" >&2; fatal "reference 'stablesam batch' exited $rc"; }
for f in report.json report.txt report.html; do [[ -f $REF/$f ]] || fail "reference run wrote no $f"; done

# --- 4. array + merge -----------------------------------------------------------------------------------
DIR=$WORK/out
ta0=$SECONDS
ids=$(cd "$WORK/logs" && SBATCH_ARGS="--cpus-per-task=1 --chdir=$WORK/logs --output=$WORK/logs/a-%A_%a.out" \
    "$here/submit.sh" "$SHARDS" "$ROOT" "$DIR") || fatal "submit.sh failed"
read -r A M <<<"$ids"
jobs_submitted+=("$A" "$M")
log "array job $A (${SHARDS} tasks), merge job $M (afterok)"
wait_job "$A"
expect_completed "$A" "array" "$WORK/logs/a-${A}_*.out"
wait_job "$M"
expect_completed "$M" "merge" "$WORK/logs/stablesam-merge-$M.out"
array_s=$((SECONDS - ta0))
log "array + merge done in ${array_s}s"

# Every sequence was tracked by exactly one shard, and the shares cover the dataset.
seq_lines "$WORK"/logs/a-"$A"_*.out | LC_ALL=C sort >"$WORK/a-lines.txt"
[[ $(awk '$2 == "tracked"' "$WORK/a-lines.txt" | wc -l) -eq ${#ALL[@]} ]] \
    && [[ $(awk '{print $1}' "$WORK/a-lines.txt" | LC_ALL=C sort -u) == $(printf '%s\n' "${ALL[@]}" | LC_ALL=C sort) ]] \
    || { cat "$WORK/a-lines.txt" >&2; fail "array: the shards did not track each sequence exactly once"; }
mapfile -t SHARD1 < <(seq_lines "$WORK/logs/a-${A}_1.out" | awk '{print $1}' | LC_ALL=C sort)
[[ ${#SHARD1[@]} -gt 0 ]] || fatal "shard 1 of $SHARDS got no sequence (dataset too small?)"
log "shard 1 = ${SHARD1[*]}"
for i in $(seq 0 $((SHARDS - 1))); do
    [[ -f $DIR/shard-$i-of-$SHARDS.json ]] || fail "no $DIR/shard-$i-of-$SHARDS.json"
done
# shard-I-of-N.json's "sequences" is the share; it must be what the task's log says it tracked.
shard_seqs() { jq -r '.sequences[]' "$1" 2>/dev/null | LC_ALL=C sort | tr '\n' ' '; }
[[ $(shard_seqs "$DIR/shard-1-of-$SHARDS.json") == "$(printf '%s ' "${SHARD1[@]}")" ]] \
    || fail "shard-1-of-$SHARDS.json lists '$(shard_seqs "$DIR/shard-1-of-$SHARDS.json")', its log '${SHARD1[*]}'"
if compare_dirs "$REF" "$DIR"; then log "array output == reference"; else fail "array output differs from the reference"; fi

# --- 5. kill test ------------------------------------------------------------------------------------
DIR2=$WORK/out2
tk0=$SECONDS
mkdir -p "$DIR2"
submit K --array=0-$((SHARDS - 1)) --cpus-per-task=1 --chdir="$WORK/logs" --output="$WORK/logs/k-%A_%a.out" \
    "$here/batch-array.sbatch" "$ROOT" "$DIR2"
log "kill test: array job $K; waiting for task 1 to be inside a sequence"
deadline=$((SECONDS + JOB_TIMEOUT))
until [[ $(job_states "${K}_1" | awk '{print $2}') == RUNNING ]]; do
    ((SECONDS < deadline)) || fatal "task ${K}_1 never started"
    sleep 0.2
done
# A sequence is in progress once its folder exists without batch.json. Wait for one while another of
# shard 1's sequences is already finished (when it has two or more), so that the resubmit has to skip
# one and resume one. Sequences take 1-2 s here: poll the filesystem (cheap) every 50 ms, not slurmctld.
need_done=$(( ${#SHARD1[@]} >= 2 ? 1 : 0 ))
victim=""
while [[ -z $victim ]]; do
    ((SECONDS < deadline)) || fatal "task ${K}_1 never got into a sequence"
    ndone=0 cand=""
    for s in "${SHARD1[@]}"; do
        if [[ -f $DIR2/$s/batch.json ]]; then ndone=$((ndone + 1))
        elif [[ -d $DIR2/$s ]]; then cand=$s; fi
    done
    if [[ -n $cand && $ndone -ge $need_done ]]; then victim=$cand; else sleep 0.05; fi
done
# Cancel a little later, in the middle of the sequence rather than at its first frame. (If the sequence
# finishes meanwhile, the cancel lands in the shard's next one, which serves as well, or after the last
# one, which is reported below as a rare timing failure.)
if [[ -z $KILL_DELAY ]]; then
    # From the first array's "batch: <seq>: done, 30 frames (31 computed) in 1.9 s" lines of task 1.
    KILL_DELAY=$(sed -nE 's/^batch: [^:]+: done.* in ([0-9.]+) s.*/\1/p' "$WORK/logs/a-${A}_1.out" \
        | sort -g | head -n 1 | awk '{d = $1 / 3; if (d > 1) d = 1; printf "%.2f", d}')
    KILL_DELAY=${KILL_DELAY:-0.3}
fi
sleep "$KILL_DELAY"
scancel "${K}_1"
log "scancel ${K}_1 ${KILL_DELAY}s after it entered $victim"
wait_job "$K"
st1=$(job_states "${K}_1" | awk '{print $2}')
[[ $st1 == CANCELLED ]] || fail "task ${K}_1 ended $st1, not CANCELLED"
job_states "$K" | awk '$1 != "1" && ($2 != "COMPLETED" || $3 != "0:0")' | grep -q . \
    && fail "kill test: tasks other than 1 did not complete: $(job_states "$K" | tr '\n' ';')"
# scancel = SIGTERM to the task (batch, exec'ed by batch-array.sbatch), SIGKILL KillWait (10 s) later.
# batch must stop gracefully after its current frame: exit 130 (Slurm records "130:0"; "0:9" would mean
# it was still running at the SIGKILL), with an "interrupted" line in its log.
ec1=$(job_states "${K}_1" | awk '{print $3}')
[[ $ec1 == 130:0 ]] || fail "the cancelled task's exit code is $ec1, not 130:0 (batch's 'interrupted')"
grep -q 'interrupted' "$WORK/logs/k-${K}_1.out" \
    || fail "the cancelled task did not report an interrupted, resumable stop: $(tr '\n' ';' <"$WORK/logs/k-${K}_1.out")"

unfinished=() finished1=() partial=()
for s in "${SHARD1[@]}"; do
    if [[ -f $DIR2/$s/batch.json ]]; then
        finished1+=("$s")
    else
        unfinished+=("$s")
        [[ -d $DIR2/$s ]] && partial+=("$s")
    fi
done
[[ ${#partial[@]} -gt 0 ]] \
    || fatal "kill test: the cancel landed between sequences (nothing to resume; rare timing, run again)"
log "after the cancel, shard 1: unfinished ${unfinished[*]} (partial: ${partial[*]}); finished ${finished1[*]:-none}"

# merge must refuse, name the unfinished sequences, and write no report.
set +e
"$BIN" batch merge "$DIR2" >"$WORK/logs/merge-incomplete.log" 2>&1
rc=$?
set -e
if [[ $rc -eq 0 ]]; then
    fail "batch merge exited 0 with unfinished sequences (${unfinished[*]})"
else
    for s in "${unfinished[@]}"; do
        grep -q -- "$s" "$WORK/logs/merge-incomplete.log" \
            || fail "batch merge (exit $rc) does not name unfinished $s: $(tr '\n' ' ' <"$WORK/logs/merge-incomplete.log")"
    done
fi
for f in report.json report.txt report.html; do
    [[ -e $DIR2/$f ]] && fail "batch merge exited $rc on an incomplete DIR but wrote $f"
done
rm -f "$DIR2"/report.json "$DIR2"/report.txt "$DIR2"/report.html

# Checksums and mtimes of every finished sequence folder, to prove the re-run leaves them alone.
done_before=()
for s in "${ALL[@]}"; do [[ -f $DIR2/$s/batch.json ]] && done_before+=("$s"); done
snapshot() {   # "path mtime size sha256" of every file in the folders finished before the resubmit
    (cd "$DIR2" && find "${done_before[@]}" -type f | LC_ALL=C sort | while read -r f; do
        echo "$f $(stat -c '%.9Y %s' "$f") $(sha256sum <"$f" | cut -c1-64)"; done)
}
snapshot >"$WORK/before.txt"

# Resubmitting a subset without STABLESAM_SHARDS must be refused (N would be guessed wrong).
submit R0 --array=1 --cpus-per-task=1 --chdir="$WORK/logs" --output="$WORK/logs/r0-%A_%a.out" \
    "$here/batch-array.sbatch" "$ROOT" "$DIR2"
wait_job "$R0"
[[ $(job_states "$R0" | awk '{print $2}') == FAILED ]] && grep -q STABLESAM_SHARDS "$WORK/logs/r0-${R0}_1.out" \
    || fail "batch-array.sbatch ran --array=1 without STABLESAM_SHARDS: $(job_states "$R0")"

submit R --array=1 --export=ALL,STABLESAM_SHARDS=$SHARDS --cpus-per-task=1 --chdir="$WORK/logs" \
    --output="$WORK/logs/r-%A_%a.out" "$here/batch-array.sbatch" "$ROOT" "$DIR2"
log "resubmitted index 1 as job $R"
wait_job "$R"
expect_completed "$R" "resubmit" "$WORK/logs/r-${R}_1.out"
seq_lines "$WORK/logs/r-${R}_1.out" | LC_ALL=C sort >"$WORK/r-lines.txt"
got_work=$(awk '$2 == "tracked" || $2 == "resumed" {print $1}' "$WORK/r-lines.txt" | LC_ALL=C sort | tr '\n' ' ')
want_work=$(printf '%s\n' "${unfinished[@]}" | LC_ALL=C sort | tr '\n' ' ')
got_skip=$(awk '$2 == "skipped" {print $1}' "$WORK/r-lines.txt" | LC_ALL=C sort | tr '\n' ' ')
want_skip=$( ((${#finished1[@]})) && printf '%s\n' "${finished1[@]}" | LC_ALL=C sort | tr '\n' ' ' || true)
[[ $got_work == "$want_work" ]] || fail "resubmit tracked/resumed '$got_work', expected shard 1's unfinished '$want_work'"
[[ $got_skip == "$want_skip" ]] || fail "resubmit skipped '$got_skip', expected shard 1's finished '$want_skip'"
awk '$2 == "failed"' "$WORK/r-lines.txt" | grep -q . && fail "resubmit: failed sequences: $(grep failed "$WORK/r-lines.txt")"
# The sequence(s) the cancel interrupted must be resumed, not started over; untouched ones are tracked.
resumed=$(awk '$2 == "resumed" {print $1}' "$WORK/r-lines.txt" | LC_ALL=C sort | tr '\n' ' ')
[[ -n $resumed ]] || fail "resubmit resumed nothing (partial: ${partial[*]}): $(tr '\n' ';' <"$WORK/r-lines.txt")"
for s in $resumed; do
    [[ " ${partial[*]} " == *" $s "* ]] || fail "resubmit resumed $s, which the cancel had not started"
done
# The finished folders of before must be unchanged (same files, bytes and mtimes).
snapshot >"$WORK/after.txt"
if ! diff "$WORK/before.txt" "$WORK/after.txt" >"$WORK/diff.txt"; then
    fail "the resubmit touched finished sequence folders:"
    head -n 20 "$WORK/diff.txt" >&2
fi
# The share is deterministic: the resubmitted task 1 got the same sequences as in the first array.
[[ $(shard_seqs "$DIR2/shard-1-of-$SHARDS.json") == "$(printf '%s ' "${SHARD1[@]}")" ]] \
    || fail "resubmitted shard 1 is '$(shard_seqs "$DIR2/shard-1-of-$SHARDS.json")', first run's '${SHARD1[*]}'"
log "resubmit: $(tr '\n' ' ' <"$WORK/r-lines.txt"); finished folders untouched"

"$BIN" batch merge "$DIR2" >"$WORK/logs/merge2.log" 2>&1 || { cat "$WORK/logs/merge2.log" >&2; fatal "batch merge DIR2 failed"; }
# A resumed sequence's .keyframes/ (batch's resume state, not an output) may differ from an uninterrupted
# run's: reported as WARN lines, not a failure. Its outputs (masks, frames, overlay, JSON) must not.
resumed_re="^\\./($(echo "$resumed" | xargs | tr ' ' '|'))/\\.keyframes/"
if compare_dirs "$REF" "$DIR2" "$resumed_re"; then log "killed + resumed output == reference"; else fail "killed + resumed output differs from the reference"; fi
kill_s=$((SECONDS - tk0))

# --- summary ------------------------------------------------------------------------------------------
echo "----" >&2
echo "reference ${ref_s}s, array+merge ${array_s}s, kill test ${kill_s}s, total $((SECONDS - t0))s" >&2
summary
