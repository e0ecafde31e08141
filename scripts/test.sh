#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), runs every test project, and ends with one line:
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
# dotnet test prints one "Passed!/Failed!  - Failed: F, Passed: P, ..." line per test assembly.
read -r passed failed < <(grep -E '(Passed|Failed)!  - Failed:' "$log" |
  sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+).*/\2 \1/' | awk '{p+=$1; f+=$2} END {print p+0, f+0}')
assemblies=$(find "$here/tests" -name '*.Tests.csproj' | wc -l)
reported=$(grep -cE '(Passed|Failed)!  - Failed:' "$log")
rm -f "$log"
# A test host that crashed reports no summary line: count it as a failure rather than hide it.
if ((reported < assemblies)); then failed=$((failed + assemblies - reported)); fi
if ((status != 0 && failed == 0)); then failed=1; fi
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
