using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using RobustCli.Experiments.Config;
using RobustCli.Experiments.Jobs;
using RobustCli.Experiments.Runs;
using Spectre.Console;

namespace RobustCli.Commands;

/// <summary><c>robust sweep</c>: the grid of a config's sweep: section in a sweep folder, here (one by one or side by side) or as a Slurm job array.</summary>
public static class SweepCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config", "-c") { Description = "YAML config with a sweep: section." };
        var sets = SharedOptions.Set();
        var dryRun = new Option<bool>("--dry-run") { Description = "List the jobs and exit." };
        var runsDir = SharedOptions.RunsDir();
        var dir = new Option<DirectoryInfo?>("--dir") { Description = "The sweep folder (default: a new runs/<name>/sweep-<time>-<id>); the same command with the same --dir continues a sweep." };
        var jobsOption = new Option<int>("--jobs", "-j") { Description = "Grid points run side by side, each a process with cores / N threads (and, with GPUs, one GPU each).", DefaultValueFactory = _ => 1 };
        var noProgress = SharedOptions.NoProgress();
        var slurm = new SlurmOptions();
        var cmd = new Command("sweep", """
            Run every job of a config's sweep: section (a grid over key paths) in a sweep folder: jobs/NNN.yaml holds each
            grid point's config, runs/NNN its run, summary.csv one row per point. Each job starts, continues after a kill,
            or skips its completed run, so running the same sweep again (same --dir) finishes it.

            sweep:
              train.trades.beta: [1, 3, 6]
              seed: [0, 1, 2]

            Examples:
              robust sweep --config configs/trades-sweep.yaml --dry-run
              robust sweep --config configs/trades-sweep.yaml --jobs 2
              robust sweep --config configs/trades-sweep.yaml --slurm --partition gpu --gpus 1 --time 12:00:00 --submit
              robust sweep status runs/trades-sweep/sweep-20261207-101500-1a2b3c
            """)
        {
            config, sets, dryRun, runsDir, dir, jobsOption, noProgress,
        };
        foreach (var o in slurm.All) cmd.Options.Add(o);
        cmd.Subcommands.Add(StatusCommand());
        cmd.SetAction(parse => Guard.Run(parse.InvocationConfiguration.Error, () =>
        {
            var o = parse.InvocationConfiguration.Output;
            var file = parse.GetValue(config) ?? throw new ConfigException("give --config FILE (a config with a sweep: section), or robust sweep status SWEEP_DIR");
            slurm.CheckUsed(parse);
            var n = parse.GetValue(jobsOption);
            if (n < 1) throw new ConfigException($"--jobs {n}: must be >= 1");
            if (n > 1 && parse.GetValue(slurm.Slurm)) throw new ConfigException("--jobs runs grid points side by side here; with --slurm the cluster does (--max-parallel limits it)");
            var given = parse.GetValue(sets)!.ToList();
            var jobs = Sweep.Expand(file.FullName, given);
            o.WriteLine($"{jobs.Count} job(s):");
            foreach (var j in jobs) o.WriteLine($"  {j.Index + 1}. {(j.Label.Length == 0 ? "(the base config)" : j.Label)}");
            if (parse.GetValue(dryRun)) return 0;
            // The cluster settings are checked before any folder is written.
            var slurmSettings = parse.GetValue(slurm.Slurm) ? ConfigLoader.Load(file.FullName, given.Concat(slurm.Sets(parse))).Slurm : null;
            var runs = SharedOptions.ResolveRunsDir(parse.GetValue(runsDir));
            var folder = parse.GetValue(dir) is { } d ? SweepFolder.At(d.FullName) : SweepFolder.CreateNew(runs, jobs[0].Config.Name);
            folder.WriteGrid(jobs, file.FullName, given);
            o.WriteLine($"sweep folder: {folder.Path}");
            if (slurmSettings != null)
                return WriteSlurm(parse, o, slurm, slurmSettings, folder, jobs);
            int code;
            if (n == 1)
                code = ProgressDisplay.RunJob(parse, SharedOptions.Options(parse, runsDir), parse.GetValue(noProgress), opts => Sweep.Run(folder, jobs, opts));
            else
            {
                var gpus = RobustCli.Torch.torch.Cuda.IsAvailable ? RobustCli.Torch.torch.Cuda.DeviceCount : 0;
                code = Sweep.RunParallel(folder, jobs, n, gpus, CliLauncher.Current(), o, Interruption.Token);
            }
            Print(o, folder, SweepStatus.Read(folder));
            o.WriteLine($"sweep summary: {folder.SummaryFile}");
            return code;
        }));
        return cmd;
    }

    private static int WriteSlurm(ParseResult parse, TextWriter o, SlurmOptions slurm, SlurmConfig settings, SweepFolder folder, IReadOnlyList<SweepJob> jobs)
    {
        var (array, report) = SlurmFiles.WriteSweep(folder, jobs.Count, settings, CliLauncher.Current(), jobs[0].Config.Name);
        o.WriteLine($"wrote {array} ({jobs.Count} array tasks) and {report} (summary and report once they ended)");
        if (!parse.GetValue(slurm.Submit))
        {
            o.WriteLine($"submit: id=$(sbatch --parsable {Shell.Quote(array)}) && sbatch --dependency=afterany:$id {Shell.Quote(report)}");
            return 0;
        }
        var manifest = folder.LoadManifest();
        manifest.SlurmArrayJob = SlurmOptions.Sbatch(array);
        manifest.SlurmReportJob = SlurmOptions.Sbatch(report, "afterany:" + manifest.SlurmArrayJob);
        folder.SaveManifest(manifest);
        o.WriteLine($"submitted job array {manifest.SlurmArrayJob} and report job {manifest.SlurmReportJob}");
        o.WriteLine($"status: robust sweep status {Shell.Quote(folder.Path)}");
        return 0;
    }

    private static Command StatusCommand()
    {
        var folderArg = new Argument<DirectoryInfo>("sweep") { Description = "A sweep folder (runs/<name>/sweep-<time>-<id>)." };
        var noScheduler = new Option<bool>("--no-scheduler") { Description = "Read only the run folders (do not ask squeue and sacct)." };
        var cmd = new Command("status", """
            What a sweep's grid points did: per point its state (pending, running, completed, failed, interrupted), epochs,
            validation robust accuracy and final results, read from the run folders; with a submitted job array, also
            what Slurm says of each task (squeue, sacct). Rewrites summary.csv.
            """)
        {
            folderArg, noScheduler,
        };
        cmd.SetAction(parse => Guard.Run(parse.InvocationConfiguration.Error, () =>
        {
            var o = parse.InvocationConfiguration.Output;
            var folder = SweepFolder.Open(parse.GetValue(folderArg)!.FullName);
            var manifest = folder.LoadManifest();
            IReadOnlyDictionary<int, string>? scheduler = null;
            if (!parse.GetValue(noScheduler) && manifest.SlurmArrayJob is { } id) scheduler = SchedulerStates(id);
            var rows = SweepStatus.Read(folder, scheduler);
            SweepStatus.WriteCsv(folder, rows);
            Print(o, folder, rows);
            var counts = rows.GroupBy(r => r.State).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}");
            o.WriteLine($"{rows.Count} grid point(s): {string.Join(", ", counts)}; {folder.SummaryFile}");
            return rows.All(r => r.State == "completed") ? 0 : rows.Any(r => r.State is "failed") ? 1 : 0;
        }));
        return cmd;
    }

    private static void Print(TextWriter o, SweepFolder folder, IReadOnlyList<SweepJobStatus> rows)
    {
        var axes = folder.LoadManifest().Axes;
        var table = new Table().AddColumn("job");
        foreach (var a in axes) table.AddColumn(Markup.Escape(a));
        table.AddColumn("state").AddColumn(new TableColumn("epochs").RightAligned()).AddColumn(new TableColumn("best val robust").RightAligned());
        var finals = rows.SelectMany(r => r.Final.Keys).Distinct().ToList();
        foreach (var f in finals) table.AddColumn(new TableColumn(Markup.Escape(f)).RightAligned());
        var withScheduler = rows.Any(r => r.Scheduler != null);
        if (withScheduler) table.AddColumn("slurm");
        foreach (var r in rows)
        {
            var cells = new List<string> { SweepFolder.JobId(r.Index) };
            cells.AddRange(r.Values.Select(Markup.Escape));
            cells.Add(r.State);
            cells.Add(r.EpochsPlanned == 0 ? "" : $"{r.EpochsDone}/{r.EpochsPlanned}");
            cells.Add(Pct(r.BestValRobust));
            cells.AddRange(finals.Select(f => Pct(r.Final.GetValueOrDefault(f))));
            if (withScheduler) cells.Add(Markup.Escape(r.Scheduler ?? ""));
            table.AddRow(cells.ToArray());
        }
        RunsCommand.Plain(o).Write(table);
    }

    private static string Pct(double? v) => v is { } d && double.IsFinite(d) ? (100 * d).ToString("F2", CultureInfo.InvariantCulture) + "%" : "";

    /// <summary>Array task index → Slurm's state of it: squeue for tasks queued or running, sacct for those that ended (when accounting is on).</summary>
    private static IReadOnlyDictionary<int, string> SchedulerStates(string arrayJob)
    {
        var states = new Dictionary<int, string>();
        void Take(string? output)
        {
            foreach (var line in (output ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var parts = line.Split(line.Contains('|') ? '|' : ' ', 2, StringSplitOptions.TrimEntries);
                if (parts.Length < 2) continue;
                var id = parts[0];
                var us = id.IndexOf('_');
                if (us < 0 || !id.StartsWith(arrayJob + "_", StringComparison.Ordinal)) continue;
                if (int.TryParse(id[(us + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var task)) states[task] = parts[1].ToLowerInvariant();
            }
        }
        Take(Tool("sacct", "-n", "-P", "-X", "-j", arrayJob, "-o", "JobID,State"));
        Take(Tool("squeue", "-h", "-r", "-j", arrayJob, "-o", "%i %T"));
        return states;
    }

    /// <summary>A scheduler tool's output, or null when it is not installed or fails (no accounting, job long gone).</summary>
    private static string? Tool(string name, params string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo(name) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd();
            p.StandardError.ReadToEnd();
            if (!p.WaitForExit(30_000)) { p.Kill(); return null; }
            return p.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; }
    }
}
