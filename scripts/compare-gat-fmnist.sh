#!/usr/bin/env bash
# GAT's limited-data comparison on Fashion-MNIST (configs/gat-fmnist.yaml: 100 images per class, 20 epochs, the
# same PGD-10 budget): PGD-AT, GAT's own baseline without auxiliary tasks, GAT-ew, GAT-mgda, GAT-mgda with the
# curvature regulariser, and CIFS. Each run ends with PGD-20 on the full test set (CIFS with its official joint-loss
# attack, cifs-pgd20, which is the stronger one on it); then `robust eval` runs AutoAttack on the first AA_N test images (default 1,000), version AA_VERSION
# (default standard; AA_VERSION=fast runs the custom APGD-CE + APGD-T, AA_VERSION=untargeted APGD-CE + APGD-DLR: on
# one CPU thread the standard version's FAB-T and Square take about 20 minutes per 200 points, APGD-T's nine target
# classes about 12, APGD-CE + APGD-DLR about 8 minutes per 1,000).
# PARALLEL=2 runs two at a time with one thread each (the same results up to float summation order; img/s is then
# per thread). ROBUST names another build of the CLI (a copy, so rebuilding the tree meanwhile cannot disturb the
# runs). Prints one table row per run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROBUST="${ROBUST:-./robust}"
"$ROBUST" --version > /dev/null
PARALLEL="${PARALLEL:-1}"
RUNS="${RUNS_DIR:-runs}"
AA_N="${AA_N:-1000}"
AA_VERSION="${AA_VERSION:-standard}"
THREADS=()
EVAL_THREADS=0
if [ "$PARALLEL" -gt 1 ]; then THREADS=(--set threads=1); EVAL_THREADS=1; fi
# The longest first, so two at a time finish together.
jobs=(
  "gat-fmnist-cifs|--set train.method=cifs --set model.arch=cifs-resnet18 --set model.width=16 --set eval.val_attack=cifs-pgd10 --set eval.final=[cifs-pgd20]"
  "gat-fmnist-mgda-curv|--set train.gat.curvature=1 --set eval.final=[pgd20]"
  "gat-fmnist-mgda|--set eval.final=[pgd20]"
  "gat-fmnist-ew|--set train.gat.weighting=ew --set eval.final=[pgd20]"
  "gat-fmnist-pgd-at|--set train.method=pgd-at --set eval.final=[pgd20]"
  "gat-fmnist-no-aux|--set train.gat.tasks=[] --set train.gat.weighting=ew --set eval.final=[pgd20]"
)
# ONLY="pgd-at mgda" keeps the named runs (the part after gat-fmnist-) and leaves the others out.
if [ -n "${ONLY:-}" ]; then
  kept=()
  for j in "${jobs[@]}"; do
    name="${j%%|*}"
    for o in $ONLY; do [ "$name" = "gat-fmnist-$o" ] && kept+=("$j"); done
  done
  jobs=("${kept[@]}")
fi
mkdir -p "$RUNS"
# Run again, it keeps what is done: a completed run is not trained again, an AutoAttack result not recomputed.
latest() { ls -d "$RUNS/$1"/*/ 2>/dev/null | tail -1; }
one() {
  local name="${1%%|*}" extra="${1#*|}" dir aa=(--version "$AA_VERSION")
  dir=$(latest "$name")
  if [ -z "$dir" ] || ! grep -q '"status": "completed"' "$dir/summary.json" 2>/dev/null; then
    # shellcheck disable=SC2086
    "$ROBUST" train --config configs/gat-fmnist.yaml --runs-dir "$RUNS" --no-progress "${THREADS[@]}" --set name="$name" $extra \
      > "$RUNS/$name.log" 2>&1 || { echo "$name failed: see $RUNS/$name.log" >&2; return 1; }
    dir=$(latest "$name")
  fi
  [ -s "$dir/autoattack.csv" ] && return 0
  case "$AA_VERSION" in
    fast) aa=(--version custom --component apgd-ce --component apgd-t) ;;
    untargeted) aa=(--version custom --component apgd-ce --component apgd-dlr) ;;
  esac
  # The model the final evaluation measured (a run folder alone would name best.pt).
  "$ROBUST" eval --checkpoint "$dir/checkpoints/last.pt" --attack autoattack "${aa[@]}" --n "$AA_N" --threads "$EVAL_THREADS" --no-progress --out "$dir/autoattack.csv" \
    > "$RUNS/$name.aa.log" 2>&1 || { echo "$name: AutoAttack failed: see $RUNS/$name.aa.log" >&2; return 1; }
}
export -f one latest
export ROBUST RUNS AA_N AA_VERSION EVAL_THREADS
printf '%s\n' "${jobs[@]}" | THREADS_S="${THREADS[*]:-}" xargs -P "$PARALLEL" -I{} bash -c 'THREADS=($THREADS_S); one "$1"' _ {}
printf '%-22s %7s %7s %10s %9s %12s %7s %6s\n' run clean pgd20 cifs-pgd20 "clean@$AA_N" "AA-$AA_VERSION" img/s s/ep
for j in "${jobs[@]}"; do
  name="${j%%|*}"
  dir=$(latest "$name")
  python3 - "$dir" "$name" <<'PY'
import csv, json, statistics, sys
d, name = sys.argv[1], sys.argv[2]
f = json.load(open(d + "summary.json"))["final"]
aa = {r["attack"]: float(r["accuracy"]) for r in csv.DictReader(open(d + "autoattack.csv"))}
rows = list(csv.DictReader(open(d + "metrics.csv")))
ips = statistics.median(float(r["images_per_s"]) for r in rows)
sec = statistics.median(float(r["seconds"]) for r in rows)
pct = lambda v: f"{100 * v:6.2f}%" if v is not None else "     - "
robust = [v for k, v in aa.items() if k != "clean" and "/" not in k]
print(f"{name:<22} {pct(f['clean'])} {pct(f.get('pgd20'))} {pct(f.get('cifs-pgd20')):>10} {pct(aa['clean']):>9} {pct(min(robust)):>12} {ips:7.1f} {sec:6.0f}")
PY
done
