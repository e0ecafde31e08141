#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), runs every test project on the default engine, the binding's and Core's
# tests again on the TorchSharp engine, builds the win-x64 publish, and ends with one line:
#   N passed, N failed
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh" --tests || { echo "0 passed, 1 failed"; exit 1; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
log=$(mktemp)
# The Slurm path on a one-node cluster of its own (daemons started and stopped by the script), beside the xunit
# projects: much of it is waiting on the scheduler. One test, skipped with its reason where the daemons cannot run
# (not root, no Slurm).
slurm_log=$(mktemp)
"$here/tests/slurm/test-slurm.sh" > "$slurm_log" 2>&1 &
slurm_pid=$!
dotnet test "$here/RobustCli.sln" -c Release --no-build 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# dotnet test prints one "Passed!/Failed!  - Failed: F, Passed: P, ..." line per test assembly: "P F" summed.
counts() {
  grep -E '(Passed|Failed)!  - Failed:' "$1" |
    sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+).*/\2 \1/' | awk '{p+=$1; f+=$2} END {print p+0, f+0}'
}
read -r passed failed < <(counts "$log")
assemblies=$(find "$here/tests" -name '*.Tests.csproj' | wc -l)
reported=$(grep -cE '(Passed|Failed)!  - Failed:' "$log")
rm -f "$log"
# A test host that crashed reports no summary line: count it as a failure rather than hide it.
if ((reported < assemblies)); then failed=$((failed + assemblies - reported)); fi
if ((status != 0 && failed == 0)); then failed=1; fi

# The same binding and Core tests on the second engine, TorchSharp 0.107 (libtorch 2.10 from NuGet), built apart
# under build/torchsharp/; then the Windows build users get (a self-contained win-x64 folder on TorchSharp: built
# here, never run here), counted as one test.
ts_log=$(mktemp)
ts_status=0
for project in RobustCli.Torch.Tests RobustCli.Core.Tests; do
  if dotnet build "$here/tests/$project" -c Release -p:Engine=TorchSharp -v quiet -nologo > "$ts_log.build" 2>&1; then
    dotnet test "$here/tests/$project" -c Release -p:Engine=TorchSharp --no-build 2>&1 | sed "s/^/[torchsharp] /" | tee -a "$ts_log" || ts_status=1
  else
    cat "$ts_log.build"
    echo "[torchsharp] $project: the TorchSharp build failed"
    ts_status=1
  fi
done
read -r ts_passed ts_failed < <(counts "$ts_log")
ts_reported=$(grep -cE '(Passed|Failed)!  - Failed:' "$ts_log")
if ((ts_reported < 2)); then ts_failed=$((ts_failed + 2 - ts_reported)); fi
if ((ts_status != 0 && ts_failed == 0)); then ts_failed=1; fi
passed=$((passed + ts_passed)); failed=$((failed + ts_failed))
rm -f "$ts_log" "$ts_log.build"
win="$here/build/win-x64"
rm -rf "$win"
if dotnet publish "$here/src/RobustCli/RobustCli.csproj" -c Release -r win-x64 --self-contained -p:Engine=TorchSharp -o "$win" -v quiet -nologo > /dev/null 2>&1 &&
   [[ -f "$win/robust.exe" && -f "$win/LibTorchSharp.dll" && -f "$win/torch_cpu.dll" && -f "$win/RobustCli.Torch.dll" ]]; then
  echo "win-x64 publish (TorchSharp engine): $(du -sh "$win" | cut -f1) in $win"
  passed=$((passed + 1))
else
  echo "win-x64 publish (TorchSharp engine): FAILED (dotnet publish src/RobustCli -r win-x64 --self-contained -p:Engine=TorchSharp)"
  failed=$((failed + 1))
fi
wait "$slurm_pid"
slurm_status=$?
cat "$slurm_log"
rm -f "$slurm_log"
case $slurm_status in
  0) passed=$((passed + 1)) ;;
  3) echo "slurm test: skipped (see above)" ;;
  *) failed=$((failed + 1)) ;;
esac
echo "$passed passed, $failed failed"
((failed == 0))
