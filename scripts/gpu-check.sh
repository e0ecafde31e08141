#!/usr/bin/env bash
# The device check, in one call on a machine with an NVIDIA GPU and a CUDA PyTorch 2.x (no .NET there):
#   here, first:   ./scripts/gpu-check.sh --prepare      (self-contained publish of the CLI into artifacts/gpu/)
#   there:         ./scripts/gpu-check.sh                (carry artifacts/gpu; writes its logs to $OUT or ./gpu-check/)
# It builds the native shim against the installed PyTorch's libtorch with CUDA, then on `cuda`: the CLI's device
# report, a short training run and an AutoAttack evaluation of it, and `robust bench --device cuda` beside the
# PyTorch reference on the same card. The binding's xunit op tests need the .NET SDK, which the device lacks:
# they run here (CPU), and the GPU run checks the same ops through training and evaluation end to end.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pub="$here/artifacts/gpu"
if [[ "${1:-}" == "--prepare" ]]; then
  dotnet publish "$here/src/RobustCli/RobustCli.csproj" -c Release -r linux-x64 --self-contained true -o "$pub" \
    -p:SkipNativeBuild=true -v quiet -nologo && rm -f "$pub"/librobustcli_native.so && du -sh "$pub"
  exit $?
fi
out="${OUT:-$here/gpu-check}"
mkdir -p "$out"
log() { echo "== $*" | tee -a "$out/summary.txt"; }
torch_dir=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))') || { log "no PyTorch"; exit 1; }
log "PyTorch $(python3 -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0))')"
log "building the shim against $torch_dir with CUDA"
cmake -S "$here/src/Native" -B "$here/build/native-cuda" -DCMAKE_BUILD_TYPE=Release -DRCL_WITH_CUDA=ON -DTORCH_DIR="$torch_dir" >"$out/cmake.log" 2>&1 \
  && cmake --build "$here/build/native-cuda" -j "$(nproc)" >>"$out/cmake.log" 2>&1 || { log "shim build failed (cmake.log)"; tail -30 "$out/cmake.log"; exit 1; }
export RCL_NATIVE_LIB="$here/build/native-cuda/librobustcli_native.so" ROBUSTCLI_HOME="$here"
robust() { "$pub/robust" "$@"; }
step() { local name=$1; shift; log "$name: $*"; local t=$SECONDS; "$@" >"$out/$name.log" 2>&1; local rc=$?; log "$name: exit $rc in $((SECONDS - t)) s"; tail -15 "$out/$name.log"; }
step info robust info
step train robust train --config "$here/configs/quickstart.yaml" --device cuda --runs-dir "$out/runs" --name gpu --no-progress \
  --set data.train_subset=10000 --set train.epochs=1 --set eval.final=[pgd20]
run=$(ls -d "$out"/runs/gpu/*/ 2>/dev/null | head -1)
[[ -n "$run" ]] && step eval robust eval --checkpoint "$run" --attack pgd20 --attack autoattack --n 500 --device cuda --out "$out/eval.csv"
step bench robust bench --device cuda --repeats 5 --epoch-images 0 --json "$out/bench.json"
log "done"
