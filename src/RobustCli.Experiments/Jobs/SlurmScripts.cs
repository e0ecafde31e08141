using System.Globalization;
using System.Text;
using RobustCli.Experiments.Config;
using RobustCli.Experiments.Runs;

namespace RobustCli.Experiments.Jobs;

/// <summary>
/// The batch scripts robust writes for Slurm: a job array that trains a sweep's grid points (task i trains
/// jobs/i.yaml into runs/i, continuing after a preemption, a requeue or a resubmission), the sweep's summary and report
/// as a job that waits for the array, a job array that evaluates the shards of one evaluation, and the merge after it.
/// Every path in them is absolute, so they run from any folder. Slurm opens a task's output file before its script
/// runs: the callers create the logs folder when they write the scripts.
/// </summary>
public static class SlurmScripts
{
    public static string TrainArray(SweepFolder folder, int jobs, SlurmConfig s, CliLauncher robust, string name)
    {
        var b = Header(name, s, Path.Combine(folder.LogsDir, "%x-%A_%a.out"), $"0-{jobs - 1}{(s.MaxParallel > 0 ? "%" + s.MaxParallel.ToString(CultureInfo.InvariantCulture) : "")}", requeue: true, supervised: true);
        b.Append($"""
            # Array task i trains grid point i (jobs/NNN.yaml, NNN = i zero-padded) into runs/NNN. The command starts the run, or continues it
            # from its last checkpoint (a preempted, requeued or resubmitted task), or does nothing once it completed.
            job=$(printf '%03d' "$SLURM_ARRAY_TASK_ID")
            {Q(robust)} train --config {Shell.Quote(folder.JobsDir)}/"$job.yaml" --run-dir {Shell.Quote(folder.RunsDir)}/"$job" --no-progress &
            {Supervise()}
            """);
        return b.ToString();
    }

    /// <summary>After the array (afterany): the sweep's summary.csv and its report.</summary>
    public static string Report(SweepFolder folder, SlurmConfig s, CliLauncher robust, string name)
    {
        var light = Light(s);
        var b = Header(name + "-report", light, Path.Combine(folder.LogsDir, "%x-%j.out"), null, requeue: false);
        b.Append($"""
            # Runs after every array task ended, whatever their outcome: the table of the grid, then the report of its runs.
            {Q(robust)} sweep status {Shell.Quote(folder.Path)} --no-scheduler
            exec {Q(robust)} report {Shell.Quote(folder.RunsDir)} --out {Shell.Quote(folder.ReportDir)}

            """);
        return b.ToString();
    }

    /// <summary>Shard K of N per array task (task K−1), each writing shard-K.csv (with -samples.csv and .json) in <paramref name="outDir"/>.</summary>
    public static string EvalArray(string outDir, int shards, IReadOnlyList<string> evalArgs, SlurmConfig s, CliLauncher robust, string name)
    {
        var b = Header(name, s, Path.Combine(outDir, "logs", "%x-%A_%a.out"), $"0-{shards - 1}{(s.MaxParallel > 0 ? "%" + s.MaxParallel.ToString(CultureInfo.InvariantCulture) : "")}", requeue: true);
        b.Append($"""
            # Array task K-1 evaluates shard K of {shards}; with --state it resumes where a preempted or requeued task stopped.
            k=$((SLURM_ARRAY_TASK_ID + 1))
            exec {Q(robust)} eval {string.Join(" ", evalArgs.Select(Shell.Quote))} --shard "$k/{shards}" --out {Shell.Quote(outDir)}/"shard-$k.csv" --state {Shell.Quote(outDir)}/"shard-$k.state.json" --no-progress

            """);
        return b.ToString();
    }

    /// <summary>After the shards (afterok): robust eval merge into all.csv.</summary>
    public static string EvalMerge(string outDir, int shards, SlurmConfig s, CliLauncher robust, string name)
    {
        var b = Header(name + "-merge", Light(s), Path.Combine(outDir, "logs", "%x-%j.out"), null, requeue: false);
        var files = string.Join(" ", Enumerable.Range(1, shards).Select(k => Shell.Quote(Path.Combine(outDir, $"shard-{k}.csv"))));
        b.Append($"""
            exec {Q(robust)} eval merge {Shell.Quote(Path.Combine(outDir, "all.csv"))} {files}

            """);
        return b.ToString();
    }

    private static string Q(CliLauncher robust) => robust.CommandLine;

    /// <summary>The summary and merge jobs: one core, a little memory and time, the same partition and account.</summary>
    private static SlurmConfig Light(SlurmConfig s) => new()
    {
        Partition = s.Partition, Account = s.Account, Qos = s.Qos, CpusPerTask = 1, Mem = "4G", Time = "1:00:00", Sbatch = s.Sbatch, Setup = s.Setup,
    };

    /// <param name="requeue">Let Slurm requeue the task (preemption, node failure): its command continues where it stopped.</param>
    /// <param name="supervised">The task's shell supervises the run and requeues it before the time limit (<see cref="Supervise"/>).</param>
    private static StringBuilder Header(string name, SlurmConfig s, string output, string? array, bool requeue, bool supervised = false)
    {
        var b = new StringBuilder("#!/bin/bash\n");
        b.Append("# Written by robust (RobustCli); submit with sbatch, or let robust sweep --submit / robust eval --submit do it.\n");
        void Line(string option) => b.Append("#SBATCH ").Append(option).Append('\n');
        Line($"--job-name={Shell.Quote(name)}");
        if (array != null) Line($"--array={array}");
        if (s.Partition != null) Line($"--partition={Shell.Quote(s.Partition)}");
        if (s.Account != null) Line($"--account={Shell.Quote(s.Account)}");
        if (s.Qos != null) Line($"--qos={Shell.Quote(s.Qos)}");
        Line("--nodes=1");
        Line("--ntasks=1");
        Line($"--cpus-per-task={s.CpusPerTask.ToString(CultureInfo.InvariantCulture)}");
        Line($"--mem={s.Mem}");
        Line($"--time={s.Time}");
        if (s.Gpus > 0) Line($"--gres=gpu:{s.Gpus.ToString(CultureInfo.InvariantCulture)}");
        Line($"--output={Shell.Quote(output)}");
        Line("--open-mode=append");
        if (requeue) Line("--requeue");
        if (supervised && s.RequeueBeforeEnd > 0) Line($"--signal=B:USR1@{(s.RequeueBeforeEnd * 60).ToString(CultureInfo.InvariantCulture)}");
        foreach (var o in s.Sbatch) Line(o);
        b.Append("set -uo pipefail\n");
        b.Append("export OMP_NUM_THREADS=\"${SLURM_CPUS_PER_TASK:-1}\"\n");
        foreach (var l in s.Setup) b.Append(l).Append('\n');
        return b;
    }

    /// <summary>
    /// The shell waits for the run it started in the background, so it can pass signals on: SIGTERM (scancel,
    /// preemption) stops the run after a checkpoint; USR1, sent the configured minutes before the time limit, does
    /// the same and puts the task back in the queue to continue in a new allocation.
    /// </summary>
    private static string Supervise() => """
        child=$!
        requeue=0
        trap 'kill -TERM "$child" 2>/dev/null' TERM
        trap 'requeue=1; kill -TERM "$child" 2>/dev/null' USR1
        code=0
        wait "$child" || code=$?
        # A trapped signal ends the wait early: wait again until the run itself has exited.
        while kill -0 "$child" 2>/dev/null; do code=0; wait "$child" || code=$?; done
        if [ "$requeue" = 1 ]; then
          echo "robust: time limit near; the run checkpointed and the task goes back in the queue"
          scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
          exit 0
        fi
        exit "$code"

        """;
}
