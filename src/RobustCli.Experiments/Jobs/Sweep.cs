using System.Diagnostics;
using System.Runtime.InteropServices;
using RobustCli.Experiments.Config;
using RobustCli.Experiments.Runs;

namespace RobustCli.Experiments.Jobs;

/// <summary>One job of a sweep: its overrides and the config they give.</summary>
public sealed record SweepJob(int Index, IReadOnlyList<(string Path, string Value)> Assignments, RunConfig Config)
{
    public string Label => string.Join(" ", Assignments.Select(a => $"{a.Path}={a.Value}"));
}

/// <summary>
/// A config's sweep: section (key path -> list of values) expanded into the grid of jobs, in key order with the last
/// key varying fastest, and run in a <see cref="SweepFolder"/>: one after another in this process, or N side by side
/// as processes of their own with the cores (and GPUs) divided between them. Every job is
/// robust train --config jobs/NNN.yaml --run-dir runs/NNN, so running a sweep again continues it.
/// </summary>
public static class Sweep
{
    public static IReadOnlyList<SweepJob> Expand(string configPath, IReadOnlyList<string> sets)
    {
        var text = File.ReadAllText(configPath);
        var loaded = ConfigLoader.LoadText(text, configPath, sets);
        if (loaded.Sweep.Count == 0) return [new SweepJob(0, [], loaded.Config)];
        var combos = new List<List<(string, string)>> { new() };
        foreach (var axis in loaded.Sweep)
            combos = combos.SelectMany(c => axis.Values.Select(v => new List<(string, string)>(c) { (axis.Path, v) })).ToList();
        return combos.Select((c, i) => new SweepJob(i, c,
            ConfigLoader.LoadText(text, configPath, sets.Concat(c.Select(a => $"{a.Item1}={a.Item2}"))).Config)).ToList();
    }

    /// <summary>The arguments of one grid point's job: train it in its own run folder, or continue it there.</summary>
    public static IReadOnlyList<string> TrainArguments(SweepFolder folder, int index) =>
        ["train", "--config", folder.JobConfig(index), "--run-dir", folder.RunDir(index), "--no-progress"];

    /// <summary>Runs every job in turn in this process; stops at an interruption. Returns the worst exit code.</summary>
    public static int Run(SweepFolder folder, IReadOnlyList<SweepJob> jobs, JobOptions options)
    {
        var worst = 0;
        foreach (var job in jobs)
        {
            if (options.Cancel.IsCancellationRequested) return Math.Max(worst, 130);
            options.Console.WriteLine($"sweep job {job.Index + 1}/{jobs.Count}: {(job.Label.Length == 0 ? "(the base config)" : job.Label)}");
            var r = TrainingJob.RunIn(ConfigLoader.Load(folder.JobConfig(job.Index)).Config, options, folder.RunDir(job.Index));
            worst = Math.Max(worst, r.ExitCode);
        }
        SweepStatus.WriteCsv(folder, SweepStatus.Read(folder));
        return worst;
    }

    /// <summary>
    /// Runs the jobs <paramref name="parallel"/> at a time, each a process of its own writing logs/NNN.out, with
    /// OMP_NUM_THREADS = cores / parallel (at least 1) and, with GPUs, one GPU per job (CUDA_VISIBLE_DEVICES).
    /// An interruption (SIGTERM, Ctrl-C) is passed on to the jobs, which checkpoint and stop.
    /// </summary>
    public static int RunParallel(SweepFolder folder, IReadOnlyList<SweepJob> jobs, int parallel, int gpus, CliLauncher launcher, TextWriter console,
        CancellationToken cancel)
    {
        Directory.CreateDirectory(folder.LogsDir);
        var threads = Math.Max(1, Environment.ProcessorCount / parallel);
        console.WriteLine($"{jobs.Count} job(s), {parallel} at a time, {threads} thread(s) each{(gpus > 0 ? $", one of {gpus} GPU(s) each" : "")}; logs in {folder.LogsDir}");
        var running = new List<(SweepJob Job, Process Process, int Slot, StreamWriter Log)>();
        var pending = new Queue<SweepJob>(jobs);
        var worst = 0;
        var freeSlots = new SortedSet<int>(Enumerable.Range(0, parallel));
        using var registration = cancel.Register(() =>
        {
            lock (running) foreach (var r in running) Terminate(r.Process);
        });
        while (pending.Count > 0 || running.Count > 0)
        {
            while (pending.Count > 0 && running.Count < parallel && !cancel.IsCancellationRequested)
            {
                var job = pending.Dequeue();
                var slot = freeSlots.Min;
                freeSlots.Remove(slot);
                var psi = new ProcessStartInfo(launcher.Executable) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (var a in launcher.Prefix.Concat(TrainArguments(folder, job.Index))) psi.ArgumentList.Add(a);
                psi.Environment["OMP_NUM_THREADS"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (gpus > 0) psi.Environment["CUDA_VISIBLE_DEVICES"] = (slot % gpus).ToString(System.Globalization.CultureInfo.InvariantCulture);
                var log = new StreamWriter(Path.Combine(folder.LogsDir, SweepFolder.JobId(job.Index) + ".out"), append: true) { AutoFlush = true };
                var p = Process.Start(psi)!;
                p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (log) log.WriteLine(e.Data); };
                p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (log) log.WriteLine(e.Data); };
                p.BeginOutputReadLine();
                p.BeginErrorReadLine();
                lock (running) running.Add((job, p, slot, log));
                console.WriteLine($"sweep job {job.Index + 1}/{jobs.Count} started (pid {p.Id}): {(job.Label.Length == 0 ? "(the base config)" : job.Label)}");
            }
            if (running.Count == 0) break;
            var done = running.FirstOrDefault(r => r.Process.HasExited);
            if (done.Process == null)
            {
                Thread.Sleep(100);
                continue;
            }
            // Waits for the output to drain too; only then is the log closed.
            done.Process.WaitForExit();
            lock (done.Log) done.Log.Dispose();
            lock (running) running.Remove(done);
            freeSlots.Add(done.Slot);
            var code = done.Process.ExitCode;
            done.Process.Dispose();
            worst = Math.Max(worst, code);
            console.WriteLine($"sweep job {done.Job.Index + 1}/{jobs.Count} {(code == 0 ? "completed" : $"ended with exit code {code}")}: {SweepFolder.JobId(done.Job.Index)}");
        }
        SweepStatus.WriteCsv(folder, SweepStatus.Read(folder));
        return cancel.IsCancellationRequested ? Math.Max(worst, 130) : worst;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    /// <summary>SIGTERM: the job checkpoints after its batch and exits (SIGKILL would lose the batch under way).</summary>
    private static void Terminate(Process p)
    {
        try
        {
            if (!p.HasExited && (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() || kill(p.Id, 15) != 0)) p.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { }
    }
}
