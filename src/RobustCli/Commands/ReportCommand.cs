using System.CommandLine;
using RobustCli.Experiments.Reports;

namespace RobustCli.Commands;

/// <summary><c>robust report RUN...</c>: runs side by side, as tables (Markdown, LaTeX, CSV) and overlaid curves.</summary>
public static class ReportCommand
{
    public static Command Create()
    {
        var paths = new Argument<DirectoryInfo[]>("runs")
        {
            Description = "Run folders, or folders that hold them (a sweep's, a name's under runs/).", Arity = ArgumentArity.OneOrMore,
        };
        var output = new Option<DirectoryInfo?>("--out")
        {
            Description = "Folder for report.md, report.tex, report.csv and curves.png/.svg (default: <folder>/report for one folder of runs, else ./report).",
        };
        var cmd = new Command("report", """
            Compare runs: method, the config keys that differ between them, clean accuracy, each final attack,
            AutoAttack (also from `robust eval` tables saved in a run folder), the worst case, epochs, wall time and
            device; printed as Markdown and written as Markdown, LaTeX (booktabs) and CSV, with every run's
            validation curves overlaid in one figure. Numbers come only from the runs' files.

            Examples:
              robust report runs/trades-beta
              robust report runs/gat-fmnist-pgd-at/RUN runs/gat-fmnist-mgda/RUN --out paper/table1
            """) { paths, output };
        cmd.SetAction(parse => Guard.Run(parse.InvocationConfiguration.Error, () =>
        {
            var o = parse.InvocationConfiguration.Output;
            var given = parse.GetValue(paths)!;
            var report = RunReport.Load(given.Select(d => d.FullName));
            var folder = parse.GetValue(output)?.FullName
                ?? (given.Length == 1 && !File.Exists(Path.Combine(given[0].FullName, "summary.json")) ? Path.Combine(given[0].FullName, "report") : Path.GetFullPath("report"));
            o.Write(report.ToMarkdown());
            var files = report.Save(folder);
            o.WriteLine();
            o.WriteLine($"{report.Rows.Count} run(s); written to {folder}: {string.Join(", ", files.Select(Path.GetFileName))}");
            return 0;
        }));
        return cmd;
    }
}
