#!/usr/bin/env bash
# GAT's training speed beside PyTorch eager on the same machine, alternating repeat by repeat so both sides see the
# same load: a one-epoch `robust train` of configs/gat-fmnist.yaml on 640 Fashion-MNIST images (10 batches of 64;
# no validation, no clean-accuracy pass, no final attack; its metrics.csv images_per_s) beside
# scripts/bench/reference_gat_step.py doing the same steps on synthetic images (6 timed steps after a warm-up).
# Variants: GAT without auxiliary tasks, GAT-ew and GAT-mgda (rotation + jigsaw), GAT-mgda with the curvature
# regulariser (two more passes and a double backward: the mgda+curvature row against the mgda row is its cost).
# Environment: THREADS (2), REPEATS (3), ROBUST (./robust), PYTHON (/usr/bin/python3), VARIANTS (the names to run,
# default all: "no-aux ew mgda mgda+curvature").
# Prints, per variant, the median img/s of each side and their ratio (ours / PyTorch).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROBUST="${ROBUST:-./robust}"
PYTHON="${PYTHON:-/usr/bin/python3}"
THREADS="${THREADS:-2}"
REPEATS="${REPEATS:-3}"
"$ROBUST" --version > /dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# name | our --set overrides | the reference's environment
variants=(
  "no-aux|--set train.gat.tasks=[] --set train.gat.weighting=ew|TASKS= WEIGHTING=ew CURVATURE=0"
  "ew|--set train.gat.weighting=ew|TASKS=rotation,jigsaw WEIGHTING=ew CURVATURE=0"
  "mgda|--set train.gat.weighting=mgda|TASKS=rotation,jigsaw WEIGHTING=mgda CURVATURE=0"
  "mgda+curvature|--set train.gat.curvature=1|TASKS=rotation,jigsaw WEIGHTING=mgda CURVATURE=1"
)
if [ -n "${VARIANTS:-}" ]; then
  kept=()
  for v in "${variants[@]}"; do for k in $VARIANTS; do [ "${v%%|*}" = "$k" ] && kept+=("$v"); done; done
  variants=("${kept[@]}")
fi
declare -A ours theirs
for r in $(seq "$REPEATS"); do
  for v in "${variants[@]}"; do
    IFS='|' read -r name sets env <<< "$v"
    # shellcheck disable=SC2086
    "$ROBUST" train --config configs/gat-fmnist.yaml --runs-dir "$work/runs" --no-progress --set name="$name" \
      --set threads="$THREADS" --set data.per_class=64 --set data.val_size=0 --set train.epochs=1 \
      --set train.log_clean_accuracy=false --set eval.final=[] $sets > "$work/log" 2>&1 \
      || { cat "$work/log" >&2; exit 1; }
    dir=$(ls -d "$work/runs/$name"/*/ | tail -1)
    ours[$name]+="$("$PYTHON" -c 'import csv,sys; print(list(csv.DictReader(open(sys.argv[1])))[-1]["images_per_s"])' "$dir/metrics.csv") "
    rm -rf "$work/runs"
    # shellcheck disable=SC2086
    theirs[$name]+="$(env THREADS="$THREADS" $env "$PYTHON" scripts/bench/reference_gat_step.py) "
  done
done
printf '%-16s %14s %14s %6s\n' variant "RobustCli img/s" "PyTorch img/s" ratio
for v in "${variants[@]}"; do
  name="${v%%|*}"
  "$PYTHON" - "$name" "${ours[$name]}" "${theirs[$name]}" <<'PY'
import statistics, sys
name, a, b = sys.argv[1], [float(v) for v in sys.argv[2].split()], [float(v) for v in sys.argv[3].split()]
ma, mb = statistics.median(a), statistics.median(b)
print(f"{name:<16} {ma:14.1f} {mb:14.1f} {ma / mb:6.2f}   (ours {a}, PyTorch {b})")
PY
done
