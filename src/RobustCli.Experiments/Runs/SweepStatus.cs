using System.Globalization;
using CsvHelper;
using RobustCli.Torch.Serialization;

namespace RobustCli.Experiments.Runs;

/// <summary>Where one grid point stands: its run's status (or pending), epochs, metrics, and what Slurm says of its task.</summary>
public sealed record SweepJobStatus(int Index, string Label, IReadOnlyList<string> Values, string State, int EpochsDone, int EpochsPlanned,
    double? BestValRobust, double? LastValRobust, IReadOnlyDictionary<string, double?> Final, string RunDir, string? Scheduler);

/// <summary>
/// The state of a sweep read from its run folders: a grid point with no run folder yet is pending; otherwise its
/// summary.json says running, completed, failed or interrupted (a run killed outright still says running: the
/// scheduler's word, when there is one, tells them apart). summary.csv holds one row per grid point.
/// </summary>
public static class SweepStatus
{
    public static IReadOnlyList<SweepJobStatus> Read(SweepFolder folder, IReadOnlyDictionary<int, string>? scheduler = null)
    {
        var m = folder.LoadManifest();
        return m.Jobs.Select(j =>
        {
            var dir = folder.RunDir(j.Index);
            var slurm = scheduler != null && scheduler.TryGetValue(j.Index, out var st) ? st : null;
            var values = m.Axes.Select(a => j.Assignments.GetValueOrDefault(a) ?? "").ToList();
            var summaryFile = Path.Combine(dir, "summary.json");
            if (!File.Exists(summaryFile))
                return new SweepJobStatus(j.Index, j.Label, values, "pending", 0, 0, null, null, new Dictionary<string, double?>(), dir, slurm);
            var s = RunSummary.Load(summaryFile);
            return new SweepJobStatus(j.Index, j.Label, values, s.Status, s.EpochsDone, s.EpochsPlanned, s.BestValRobustAcc,
                s.Last.GetValueOrDefault("val_robust_acc"), s.Final, dir, slurm);
        }).ToList();
    }

    /// <summary>summary.csv: job, each axis's value, state, epochs, best and last validation robust accuracy, the final evaluation, the run folder.</summary>
    public static void WriteCsv(SweepFolder folder, IReadOnlyList<SweepJobStatus> rows)
    {
        var axes = folder.LoadManifest().Axes;
        var finals = rows.SelectMany(r => r.Final.Keys).Distinct().ToList();
        AtomicFile.Write(folder.SummaryFile, stream =>
        {
            using var w = new StreamWriter(stream, leaveOpen: true);
            using var csv = CsvWriter.Create(w, new CsvWriterOptions { NewLine = "\n" });
            foreach (var h in new[] { "job" }.Concat(axes).Concat(["state", "epochs_done", "epochs_planned", "best_val_robust_acc", "val_robust_acc"])
                         .Concat(finals.Select(f => "final_" + f)).Append("run_dir"))
                csv.WriteField(h);
            csv.EndRecord();
            foreach (var r in rows)
            {
                csv.WriteField(SweepFolder.JobId(r.Index));
                foreach (var v in r.Values) csv.WriteField(v);
                csv.WriteField(r.State);
                csv.WriteField(r.EpochsDone.ToString(CultureInfo.InvariantCulture));
                csv.WriteField(r.EpochsPlanned.ToString(CultureInfo.InvariantCulture));
                csv.WriteField(F(r.BestValRobust));
                csv.WriteField(F(r.LastValRobust));
                foreach (var f in finals) csv.WriteField(F(r.Final.GetValueOrDefault(f)));
                csv.WriteField(Path.GetRelativePath(folder.Path, r.RunDir));
                csv.EndRecord();
            }
        });
    }

    private static string F(double? v) => v is { } d && double.IsFinite(d) ? d.ToString("G6", CultureInfo.InvariantCulture) : "";
}
