#!/usr/bin/env bash
# GAT's limited-data comparison on Fashion-MNIST (configs/gat-fmnist.yaml: 100 images per class, 20 epochs, the
# same PGD-10 budget): PGD-AT, GAT's own baseline without auxiliary tasks, GAT-ew, GAT-mgda, GAT-mgda with the
# curvature regulariser, and CIFS, each scored on the full test set (clean, PGD-20) and on the first 1,000 test
# images by AutoAttack (AA_N sets how many: AutoAttack on 1,000 points takes about half an hour per model on one
# CPU thread). PARALLEL=2 runs two at a time with one thread each (the same results up to float summation order;
# the img/s column is then per thread). Prints one table row per run.
set -euo pipefail
cd "$(dirname "$0")/.."
# ROBUST names another build of the CLI (a copy, so that rebuilding the tree meanwhile cannot disturb the runs).
ROBUST="${ROBUST:-./robust}"
"$ROBUST" --version > /dev/null
PARALLEL="${PARALLEL:-1}"
RUNS="${RUNS_DIR:-runs}"
THREADS=()
if [ "$PARALLEL" -gt 1 ]; then THREADS=(--set threads=1); fi
AA_N="${AA_N:-1000}"
base=(--config configs/gat-fmnist.yaml --runs-dir "$RUNS" --no-progress --set eval.autoattack_n="$AA_N" "${THREADS[@]}")
cifs=(--set train.method=cifs --set model.arch=cifs-resnet18 --set model.width=16 --set eval.val_attack=cifs-pgd10
      --set 'eval.final=[pgd20,cifs-pgd20,autoattack]')
jobs=(
  "gat-fmnist-pgd-at|--set train.method=pgd-at"
  "gat-fmnist-no-aux|--set train.gat.tasks=[] --set train.gat.weighting=ew"
  "gat-fmnist-ew|--set train.gat.weighting=ew"
  "gat-fmnist-mgda|"
  "gat-fmnist-mgda-curv|--set train.gat.curvature=1"
  "gat-fmnist-cifs|${cifs[*]}"
)
run() {
  local name="${1%%|*}" extra="${1#*|}"
  # shellcheck disable=SC2086
  "$ROBUST" train "${base[@]}" --set name="$name" $extra > "$RUNS/$name.log" 2>&1 || { echo "$name failed: see $RUNS/$name.log" >&2; return 1; }
}
export -f run
export RUNS ROBUST
mkdir -p "$RUNS"
base_q=$(printf '%q ' "${base[@]}")
printf '%s\n' "${jobs[@]}" | xargs -P "$PARALLEL" -I{} bash -c "base=($base_q); $(declare -f run); run \"\$1\"" _ {}
printf '%-22s %7s %7s %9s %14s %7s %6s\n' run clean pgd20 "clean@$AA_N" "autoattack@$AA_N" img/s s/ep
for j in "${jobs[@]}"; do
  name="${j%%|*}"
  dir=$(ls -d "$RUNS/$name"/*/ | tail -1)
  python3 - "$dir" "$name" "$AA_N" <<'PY'
import csv, json, statistics, sys
d, name, n = sys.argv[1], sys.argv[2], sys.argv[3]
f = json.load(open(d + "summary.json"))["final"]
rows = list(csv.DictReader(open(d + "metrics.csv")))
ips = statistics.median(float(r["images_per_s"]) for r in rows)
sec = statistics.median(float(r["seconds"]) for r in rows)
pct = lambda k: f"{100 * f[k]:6.2f}%" if k in f else "     - "
print(f"{name:<22} {pct('clean')} {pct('pgd20')} {pct('clean@' + n):>9} {pct('autoattack@' + n):>14} {ips:7.1f} {sec:6.0f}")
PY
done
