using System.Globalization;
using RobustCli.Experiments.Config;
using RobustCli.Experiments.Runs;

namespace RobustCli.Experiments.Jobs;

/// <summary>One job of a sweep: its overrides and the config they give.</summary>
public sealed record SweepJob(int Index, IReadOnlyList<(string Path, string Value)> Assignments, RunConfig Config)
{
    public string Label => string.Join(" ", Assignments.Select(a => $"{a.Path}={a.Value}"));
}

/// <summary>
/// A config's sweep: section (key path -> list of values) expanded into the grid of jobs, in key order with the
/// last key varying fastest. Each job is validated when expanded, so a bad value fails before anything runs.
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

    /// <summary>Runs every job in turn and writes one summary CSV across them; returns the worst exit code.</summary>
    public static (int ExitCode, string SummaryCsv) Run(IReadOnlyList<SweepJob> jobs, JobOptions options)
    {
        var name = jobs[0].Config.Name;
        var dir = Path.Combine(options.RunsDir, name);
        Directory.CreateDirectory(dir);
        var csvPath = Path.Combine(dir, $"sweep-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.csv");
        var axes = jobs[0].Assignments.Select(a => a.Path).ToList();
        var metrics = new[] { "best_val_robust_acc", "val_clean_acc", "val_robust_acc", "test_clean_acc", "test_robust_acc" };
        var header = new List<string> { "job" };
        header.AddRange(axes);
        header.AddRange(["status", "run_dir", .. metrics, "final"]);
        File.WriteAllText(csvPath, string.Join(",", header) + "\n");
        var worst = 0;
        foreach (var job in jobs)
        {
            options.Console.WriteLine($"sweep job {job.Index + 1}/{jobs.Count}: {job.Label}");
            var r = TrainingJob.Run(job.Config, options);
            worst = Math.Max(worst, r.ExitCode);
            var s = r.Summary;
            var row = new List<string> { job.Index.ToString(CultureInfo.InvariantCulture) };
            row.AddRange(job.Assignments.Select(a => a.Value));
            row.Add(s.Status);
            row.Add(r.Folder.Path);
            row.Add(F(s.BestValRobustAcc));
            foreach (var m in metrics.Skip(1)) row.Add(F(s.Last.GetValueOrDefault(m)));
            row.Add(string.Join(";", s.Final.Select(kv => $"{kv.Key}={F(kv.Value)}")));
            File.AppendAllText(csvPath, string.Join(",", row.Select(Quote)) + "\n");
        }
        return (worst, csvPath);
    }

    private static string F(double? v) => v.HasValue && double.IsFinite(v.Value) ? v.Value.ToString("G6", CultureInfo.InvariantCulture) : "";
    private static string Quote(string s) => s.Contains(',') || s.Contains('"') ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
