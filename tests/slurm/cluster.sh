#!/usr/bin/env bash
# A one-node Slurm cluster on this machine for the tests: munged, slurmctld and slurmd with a minimal slurm.conf
# (localhost, every core, no cgroups, no accounting database), all state under one folder. cred_expire=10 also
# shortens the wait before a requeued job may start again (Slurm's default: 121 s).
#   source tests/slurm/cluster.sh; cluster_start DIR; ... sbatch/squeue with SLURM_CONF set ...; cluster_stop
# cluster_start returns 3 (and says why) where the daemons cannot run: not root, Slurm or munge not installed.
set -uo pipefail

cluster_start() {
  local dir="$1"
  if [ "$(id -u)" != 0 ]; then echo "slurm cluster: needs root to start munged, slurmctld and slurmd" >&2; return 3; fi
  for tool in munged slurmctld slurmd sbatch squeue scontrol; do
    if ! command -v "$tool" >/dev/null; then echo "slurm cluster: $tool is not installed (apt-get install slurm-wlm munge)" >&2; return 3; fi
  done
  mkdir -p "$dir"/{state,spool,munge,logs}
  CLUSTER_DIR="$(cd "$dir" && pwd)"
  export SLURM_CONF="$CLUSTER_DIR/slurm.conf"
  local host cpus mem
  host="$(hostname -s)"
  cpus="$(nproc)"
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
  # A key of our own, so nothing of the machine's munge setup is touched.
  dd if=/dev/urandom of="$CLUSTER_DIR/munge/munge.key" bs=1024 count=1 status=none
  chmod 600 "$CLUSTER_DIR/munge/munge.key"
  export MUNGE_SOCKET="$CLUSTER_DIR/munge/munge.socket"
  munged --force --key-file="$CLUSTER_DIR/munge/munge.key" --socket="$MUNGE_SOCKET" \
    --pid-file="$CLUSTER_DIR/munge/munged.pid" --log-file="$CLUSTER_DIR/munge/munged.log" --seed-file="$CLUSTER_DIR/munge/munged.seed" \
    || { echo "slurm cluster: munged did not start" >&2; return 3; }
  local port=$(( 20000 + RANDOM % 20000 ))
  cat > "$SLURM_CONF" <<CONF
ClusterName=robustcli
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$(( port + 1 ))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET,cred_expire=10
CredType=cred/munge
StateSaveLocation=$CLUSTER_DIR/state
SlurmdSpoolDir=$CLUSTER_DIR/spool
SlurmctldPidFile=$CLUSTER_DIR/slurmctld.pid
SlurmdPidFile=$CLUSTER_DIR/slurmd.pid
SlurmctldLogFile=$CLUSTER_DIR/logs/slurmctld.log
SlurmdLogFile=$CLUSTER_DIR/logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
KillWait=30
MinJobAge=3600
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  slurmctld -i -f "$SLURM_CONF" || { echo "slurm cluster: slurmctld did not start; see $CLUSTER_DIR/logs/slurmctld.log" >&2; cluster_stop; return 3; }
  slurmd -f "$SLURM_CONF" || { echo "slurm cluster: slurmd did not start; see $CLUSTER_DIR/logs/slurmd.log" >&2; cluster_stop; return 3; }
  local i
  for i in $(seq 1 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^idle'; then return 0; fi
    sleep 1
  done
  echo "slurm cluster: the node never became idle:" >&2
  sinfo >&2; tail -20 "$CLUSTER_DIR/logs/slurmctld.log" "$CLUSTER_DIR/logs/slurmd.log" >&2
  cluster_stop
  return 3
}

cluster_stop() {
  [ -n "${CLUSTER_DIR:-}" ] || return 0
  local f
  for f in slurmd.pid slurmctld.pid munge/munged.pid; do
    if [ -f "$CLUSTER_DIR/$f" ]; then kill "$(cat "$CLUSTER_DIR/$f")" 2>/dev/null || true; fi
  done
  sleep 1
  for f in slurmd.pid slurmctld.pid munge/munged.pid; do
    if [ -f "$CLUSTER_DIR/$f" ]; then kill -9 "$(cat "$CLUSTER_DIR/$f")" 2>/dev/null || true; fi
  done
}
