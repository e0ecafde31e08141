#!/usr/bin/env bash
# The Slurm path end to end on a one-node cluster started here (tests/slurm/cluster.sh):
#   1. robust sweep --slurm --submit trains a 3-point TRADES grid as a job array; one task is cancelled with scancel
#      mid-run, another gets the time-limit signal and requeues itself; the same command resubmits, the cancelled
#      task resumes, the others are left alone; the report job runs after each array;
#   2. robust eval --slurm --shards 2 --submit evaluates a model as two array tasks and merges them;
#   3. the results equal local runs: every run's metrics (but timings) and final evaluation, sample by sample, and
#      the merged evaluation equals the unsharded one.
# Exit 0: passed; 3: skipped (the daemons cannot run here; the reason is printed); anything else: failed.
#   ROBUST=path/to/robust (default: the CLI built beside the tests)   KEEP=1 keeps the folder
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
robust="${ROBUST:-$here/tests/RobustCli.Tests/bin/Release/net10.0/robust}"
[ -x "$robust" ] || { echo "slurm test: $robust not built (dotnet build RobustCli.sln -c Release)" >&2; exit 1; }
# shellcheck source=tests/slurm/cluster.sh
source "$here/tests/slurm/cluster.sh"
work="$(mktemp -d /tmp/robustcli-slurm.XXXXXX)"
cleanup() { cluster_stop; if [ "${KEEP:-0}" != 1 ]; then rm -rf "$work"; else echo "kept $work"; fi; }
trap cleanup EXIT
t0=$(date +%s)
cluster_start "$work/cluster"
rc=$?
if [ "$rc" = 3 ]; then echo "slurm test: skipped"; exit 3; fi
[ "$rc" = 0 ] || exit 1
echo "slurm test: one-node cluster up in $(( $(date +%s) - t0 )) s ($(nproc) cores)"
fail() { echo "slurm test: FAILED: $*" >&2; for f in "$work"/sweep/logs/*.out "$work"/eval/logs/*.out; do [ -f "$f" ] && { echo "== $f" >&2; tail -20 "$f" >&2; }; done; exit 1; }

# Wait until every job of the cluster has left the queue (at most $1 seconds).
drain() {
  local limit=$1 start
  start=$(date +%s)
  while [ -n "$(squeue -h 2>/dev/null)" ]; do
    (( $(date +%s) - start > limit )) && { squeue; fail "jobs still queued after $limit s"; }
    sleep 1
  done
}

cat > "$work/sweep.yaml" <<YAML
name: slurm-sweep
seed: 1
device: cpu
data: {name: fashion-mnist, val_size: 40, train_subset: 480, test_subset: 64}
model: {arch: smallcnn, normalize: none}
train:
  method: trades
  epochs: 2
  batch_size: 32
  optimizer: {name: adam, lr: 0.002, weight_decay: 0}
  schedule: {name: constant}
attack: {eps: 0.1, step: 0.05, steps: 2}
eval: {val_attack: pgd3, test_attack: pgd3, final: [pgd3, cw3]}
checkpoint: {every_steps: 3, every_minutes: 0}
slurm: {cpus_per_task: 1, mem: 1G, time: "20:00"}
sweep:
  train.trades.beta: [1, 3, 6]
YAML

# 1. The sweep as a job array, one task cancelled mid-run.
t1=$(date +%s)
"$robust" sweep --config "$work/sweep.yaml" --dir "$work/sweep" --slurm --submit > "$work/submit1.txt" || fail "robust sweep --slurm --submit: $(cat "$work/submit1.txt")"
array=$(sed -n 's/^submitted job array \([0-9]*\) .*/\1/p' "$work/submit1.txt")
[ -n "$array" ] || fail "no job id in: $(cat "$work/submit1.txt")"
echo "slurm test: submitted sweep array $array"
start=$(date +%s)
until grep -q "checkpoint inside epoch 1" "$work/sweep/runs/001/log.txt" 2>/dev/null; do
  (( $(date +%s) - start > 300 )) && fail "task 1 wrote no mid-epoch checkpoint in 300 s"
  [ -z "$(squeue -h 2>/dev/null)" ] && fail "the array ended before task 1 wrote a mid-epoch checkpoint"
  sleep 0.2
done
scancel "${array}_1"
echo "slurm test: cancelled task ${array}_1 after its first mid-epoch checkpoint"
# Task 2 gets what Slurm sends the batch shell near the time limit (--signal=B:USR1): the run checkpoints, stops,
# and the task requeues itself, to continue from its checkpoint when it runs again.
start=$(date +%s)
until grep -q "checkpoint inside epoch 1" "$work/sweep/runs/002/log.txt" 2>/dev/null; do
  (( $(date +%s) - start > 300 )) && fail "task 2 wrote no mid-epoch checkpoint in 300 s"
  sleep 0.2
done
scancel --signal=USR1 --batch "${array}_2"
echo "slurm test: sent task ${array}_2 the time-limit signal after its first mid-epoch checkpoint"
drain 600
grep -q "time limit near" "$work/sweep/logs/slurm-sweep-${array}_2.out" || fail "task 2 did not requeue itself on USR1"
grep -q "resuming epoch" "$work/sweep/runs/002/log.txt" || fail "the requeued task 2 did not resume from its mid-epoch checkpoint"
grep -q '"status": "completed"' "$work/sweep/runs/002/summary.json" || fail "the requeued task 2 did not complete"
echo "slurm test: task ${array}_2 requeued itself and completed"
grep -q '"status": "interrupted"' "$work/sweep/runs/001/summary.json" || fail "the cancelled task's run is not marked interrupted: $(cat "$work/sweep/runs/001/summary.json")"
[ -f "$work/sweep/summary.csv" ] || fail "the report job wrote no summary.csv"
"$robust" sweep status "$work/sweep" | tail -1
"$robust" sweep --config "$work/sweep.yaml" --dir "$work/sweep" --slurm --submit > "$work/submit2.txt" || fail "resubmission: $(cat "$work/submit2.txt")"
drain 600
t_sweep=$(( $(date +%s) - t1 ))
"$robust" sweep status "$work/sweep" > "$work/status.txt" || fail "sweep status after the resubmission: $(cat "$work/status.txt")"
grep -q "3 grid point(s): 3 completed" "$work/status.txt" || fail "not every grid point completed: $(cat "$work/status.txt")"
grep -q "resuming epoch" "$work/sweep/runs/001/log.txt" || fail "task 1 did not resume from its mid-epoch checkpoint"
grep -q "already completed" "$work/sweep/logs/slurm-sweep-"*_0.out || fail "the resubmitted task 0 did not leave its completed run alone"
[ -f "$work/sweep/report/report.md" ] || fail "the report job wrote no report"
echo "slurm test: sweep (3 points: one cancelled and resumed after resubmission, one requeued by itself) done in $t_sweep s"

# The same grid here, one job after another on one thread, as the tasks ran.
OMP_NUM_THREADS=1 "$robust" sweep --config "$work/sweep.yaml" --dir "$work/local" --no-progress > "$work/local.txt" 2>&1 || fail "local sweep: $(tail "$work/local.txt")"

same() {  # same CSV but for the named columns
  /usr/bin/python3 - "$@" <<'PY'
import csv, sys
a, b, drop = sys.argv[1], sys.argv[2], set(sys.argv[3:])
def rows(p):
    with open(p) as f:
        r = list(csv.reader(f))
    keep = [i for i, h in enumerate(r[0]) if h not in drop]
    return [[row[i] for i in keep if i < len(row)] for row in r]
ra, rb = rows(a), rows(b)
if ra != rb:
    print(f"{a} and {b} differ:\n{ra}\n{rb}")
    sys.exit(1)
PY
}
for j in 000 001 002; do
  same "$work/sweep/runs/$j/metrics.csv" "$work/local/runs/$j/metrics.csv" seconds images_per_s || fail "job $j: metrics differ from the local run"
  same "$work/sweep/runs/$j/final_eval.csv" "$work/local/runs/$j/final_eval.csv" seconds || fail "job $j: final evaluation differs from the local run"
  cmp -s "$work/sweep/runs/$j/final_eval_samples.csv" "$work/local/runs/$j/final_eval_samples.csv" || fail "job $j: per-sample final evaluation differs"
done
echo "slurm test: the three runs equal local runs (metrics, final evaluation per sample)"

# 2. A sharded evaluation through its generated scripts, and its merge.
t2=$(date +%s)
attacks=(--n 200 --attack pgd3 --attack autoattack --version custom --component apgd-ce:steps=10 --component square:queries=50)
"$robust" eval --checkpoint "$work/sweep/runs/002" "${attacks[@]}" --slurm --shards 2 --cpus 1 --mem 1G --time 20:00 --submit --out "$work/eval" > "$work/submit3.txt" \
  || fail "robust eval --slurm: $(cat "$work/submit3.txt")"
drain 600
t_eval=$(( $(date +%s) - t2 ))
[ -f "$work/eval/all.csv" ] || fail "the merge job wrote no all.csv"
OMP_NUM_THREADS=1 "$robust" eval --checkpoint "$work/sweep/runs/002" "${attacks[@]}" --out "$work/whole.csv" --no-progress > "$work/whole.txt" || fail "local eval: $(cat "$work/whole.txt")"
cmp -s "$work/eval/all-samples.csv" "$work/whole-samples.csv" || fail "the merged shards differ from the whole evaluation, per sample"
same "$work/eval/all.csv" "$work/whole.csv" seconds || fail "the merged summary differs from the whole evaluation"
echo "slurm test: 2-shard evaluation and merge done in $t_eval s; equal to the unsharded evaluation per sample"
echo "slurm test: passed in $(( $(date +%s) - t0 )) s"
