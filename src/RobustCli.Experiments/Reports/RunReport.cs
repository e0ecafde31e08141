using System.Globalization;
using System.Text;
using CsvHelper;
using RobustCli.Experiments.Plots;
using RobustCli.Experiments.Runs;
using RobustCli.Torch.Serialization;
using ScottPlot;

namespace RobustCli.Experiments.Reports;

/// <summary>
/// A comparison of runs: one row per run with its method, the config keys that differ between the runs (the swept
/// ones), clean accuracy, each final attack, AutoAttack, the worst case, epochs, wall time and device, as a Markdown
/// table, a LaTeX table (booktabs) and a CSV, plus the runs' validation curves overlaid in one figure. Every number
/// is read from the runs' files (<see cref="ReportRow"/>); a run that lacks a result shows a dash.
/// </summary>
public sealed class RunReport
{
    public IReadOnlyList<ReportRow> Rows { get; }
    /// <summary>The config keys whose values differ between the runs that have them, in file order.</summary>
    public IReadOnlyList<string> SweptKeys { get; }
    /// <summary>The result columns: clean accuracies, then attacks, then AutoAttack, then worst cases, each in order of first appearance.</summary>
    public IReadOnlyList<string> ResultKeys { get; }

    // The run's name tells runs apart without being a setting; the method has its own column.
    private static readonly HashSet<string> NotSettings = ["name", "train.method"];

    public RunReport(IReadOnlyList<ReportRow> rows)
    {
        if (rows.Count == 0) throw new ArgumentException("a report needs at least one run");
        Rows = rows;
        var keys = rows.SelectMany(r => r.Config.Keys).Distinct().Where(k => !NotSettings.Contains(k)).ToList();
        // Among the runs that have the key: a method's option is no setting of a run of another method.
        SweptKeys = keys.Where(k => rows.Where(r => r.Config.ContainsKey(k)).Select(r => r.Config[k]).Distinct().Count() > 1).ToList();
        var results = rows.SelectMany(r => r.Results.Select(x => x.Key)).Distinct().ToList();
        // Clean, the attacks, AutoAttack, the worst case; then the hypocritical risk, a share of the mistakes (no robust accuracy).
        int Rank(string k) => k.StartsWith("clean", StringComparison.Ordinal) ? 0 : k.StartsWith("worst_case", StringComparison.Ordinal) ? 3
            : k.StartsWith("hypocritical_risk", StringComparison.Ordinal) ? 4 : k.StartsWith("autoattack", StringComparison.Ordinal) ? 2 : 1;
        ResultKeys = results.Select((k, i) => (k, i)).OrderBy(p => Rank(p.k)).ThenBy(p => p.i).Select(p => p.k).ToList();
    }

    /// <summary>
    /// The runs named: run folders themselves, or folders searched for run folders (a sweep's, a name's, runs/),
    /// each listed once, in the order given and, within a folder, by path.
    /// </summary>
    public static RunReport Load(IEnumerable<string> paths)
    {
        var rows = new List<ReportRow>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in paths)
        {
            var full = System.IO.Path.GetFullPath(p);
            if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"{p}: no such folder (name run folders or folders that hold them)");
            var runs = File.Exists(System.IO.Path.Combine(full, "summary.json")) ? [full]
                : Directory.GetFiles(full, "summary.json", SearchOption.AllDirectories).Select(f => System.IO.Path.GetDirectoryName(f)!)
                    .Where(d => File.Exists(System.IO.Path.Combine(d, "config.yaml"))).Order(StringComparer.Ordinal).ToList();
            if (runs.Count == 0) throw new FileNotFoundException($"{p}: no run folder (one with summary.json and config.yaml) in it");
            var root = runs.Count == 1 && runs[0] == full ? System.IO.Path.GetDirectoryName(System.IO.Path.GetDirectoryName(full)!)! : full;
            foreach (var r in runs)
                if (seen.Add(r)) rows.Add(ReportRow.Load(r, System.IO.Path.GetRelativePath(root, r)));
        }
        return new RunReport(rows);
    }

    private IEnumerable<(string Header, Func<ReportRow, string> Text, Func<ReportRow, string> Raw)> Columns()
    {
        yield return ("run", r => r.Run, r => r.Run);
        yield return ("method", r => r.Summary.Method, r => r.Summary.Method);
        foreach (var k in SweptKeys) yield return (k, r => r.Config.GetValueOrDefault(k) ?? "-", r => r.Config.GetValueOrDefault(k) ?? "");
        foreach (var k in ResultKeys)
            yield return (k, r => r[k] is { } v ? Percent(v, r) : "-", r => r[k] is { } v ? v.ToString("G6", CultureInfo.InvariantCulture) : "");
        yield return ("epochs", r => $"{r.Summary.EpochsDone}/{r.Summary.EpochsPlanned}", r => r.Summary.EpochsDone.ToString(CultureInfo.InvariantCulture));
        yield return ("wall (min)", r => (r.Summary.WallSeconds / 60).ToString("F1", CultureInfo.InvariantCulture),
            r => r.Summary.WallSeconds.ToString("F1", CultureInfo.InvariantCulture));
        yield return ("device", r => r.Summary.Device, r => r.Summary.Device);
    }

    // Scores that are fractions (accuracies) in percent; others (a denoiser's PSNR and SSIM) as they are.
    private static string Percent(double v, ReportRow r) =>
        IsFraction(r) ? (100 * v).ToString("F2", CultureInfo.InvariantCulture) : v.ToString("G4", CultureInfo.InvariantCulture);

    private static bool IsFraction(ReportRow r) => RobustCli.Core.Tasks.Tasks.Registry.TryGet(r.Summary.Task ?? "", out var t)
        && t.Create(new RobustCli.Core.Tasks.TaskBuild(t.Options.Defaults)).ScoreIsFraction;

    private string Unit => (Rows.All(IsFraction) ? "Accuracies in %." : "Accuracies in %; other scores (PSNR in dB, SSIM) as measured.") +
        (ResultKeys.Any(k => k.StartsWith("hypocritical_risk", StringComparison.Ordinal))
            ? " hypocritical_risk: the share of the misclassified test points that hypocritical perturbations within eps make look correct (%)." : "");

    public string ToMarkdown()
    {
        var cols = Columns().ToList();
        var sb = new StringBuilder();
        sb.Append("| ").AppendJoin(" | ", cols.Select(c => c.Header)).Append(" |\n");
        sb.Append('|').AppendJoin('|', cols.Select((c, i) => i < 2 + SweptKeys.Count || c.Header == "device" ? " --- " : " ---: ")).Append("|\n");
        foreach (var r in Rows) sb.Append("| ").AppendJoin(" | ", cols.Select(c => c.Text(r).Replace("|", "\\|"))).Append(" |\n");
        sb.Append('\n').Append(Unit).Append(" A key@N column was measured on the first N test images.\n");
        return sb.ToString();
    }

    public string ToLatex()
    {
        var cols = Columns().ToList();
        var sb = new StringBuilder();
        var align = string.Concat(cols.Select((c, i) => i < 2 + SweptKeys.Count || c.Header == "device" ? "l" : "r"));
        sb.Append("% robust report: ").Append(Unit).Append(" A key@N column was measured on the first N test images.\n");
        sb.Append("\\begin{tabular}{").Append(align).Append("}\n\\toprule\n");
        sb.AppendJoin(" & ", cols.Select(c => Tex(c.Header))).Append(" \\\\\n\\midrule\n");
        foreach (var r in Rows) sb.AppendJoin(" & ", cols.Select(c => Tex(c.Text(r)))).Append(" \\\\\n");
        sb.Append("\\bottomrule\n\\end{tabular}\n");
        return sb.ToString();
    }

    private static string Tex(string s)
    {
        var sb = new StringBuilder();
        foreach (var ch in s)
            sb.Append(ch switch
            {
                '\\' => "\\textbackslash{}", '_' => "\\_", '%' => "\\%", '&' => "\\&", '#' => "\\#", '$' => "\\$", '{' => "\\{", '}' => "\\}",
                '~' => "\\textasciitilde{}", '^' => "\\textasciicircum{}", _ => ch.ToString(),
            });
        return sb.ToString();
    }

    /// <summary>Machine-readable: accuracies as fractions, wall time in seconds, epochs done.</summary>
    public string ToCsv()
    {
        var cols = Columns().ToList();
        using var w = new StringWriter();
        using (var csv = CsvWriter.Create(w, new CsvWriterOptions { NewLine = "\n" }, leaveOpen: true))
        {
            foreach (var c in cols) csv.WriteField(c.Header == "wall (min)" ? "wall_seconds" : c.Header);
            csv.EndRecord();
            foreach (var r in Rows)
            {
                foreach (var c in cols) csv.WriteField(c.Raw(r));
                csv.EndRecord();
            }
        }
        return w.ToString();
    }

    /// <summary>Every run's validation clean and robust curves (accuracy, or the task's score) in one figure.</summary>
    public Figure Curves()
    {
        var plot = TrainingCurves.NewPlot("validation curves", "validation score");
        var classification = true;
        for (var i = 0; i < Rows.Count; i++)
        {
            var file = System.IO.Path.Combine(Rows[i].Path, "metrics.csv");
            if (!File.Exists(file)) continue;
            var t = MetricsTable.Load(file);
            var epochs = t["epoch"].ToArray();
            foreach (var (column, shade) in t.ScoreColumns.Where(c => c.StartsWith("val_", StringComparison.Ordinal) && t.HasValues(c)).Select((c, k) => (c, k)))
            {
                classification &= column.EndsWith("_acc", StringComparison.Ordinal);
                var s = TrainingCurves.Series(plot, epochs, t[column], column.EndsWith("_acc", StringComparison.Ordinal) ? 100 : 1, $"{Rows[i].Run}: {column}");
                // A run's hue in two shades: dark for clean, light for robust.
                s.Color = TrainingCurves.Paired.GetColor(2 * (i % 10) + Math.Min(shade, 1));
            }
        }
        plot.YLabel(classification ? "validation accuracy (%)" : "validation score");
        return new Figure("curves", plot);
    }

    /// <summary>Writes report.md, report.tex, report.csv and curves.png/.svg into the folder; returns the files.</summary>
    public IReadOnlyList<string> Save(string folder)
    {
        Directory.CreateDirectory(folder);
        var files = new List<string>();
        foreach (var (name, text) in new[] { ("report.md", ToMarkdown()), ("report.tex", ToLatex()), ("report.csv", ToCsv()) })
        {
            var path = System.IO.Path.Combine(folder, name);
            var bytes = Encoding.UTF8.GetBytes(text);
            AtomicFile.Write(path, s => s.Write(bytes));
            files.Add(path);
        }
        files.AddRange(Curves().Save(folder));
        return files;
    }
}
