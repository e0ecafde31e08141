using System.CommandLine;
using System.Globalization;
using RobustCli.Experiments.Plots;
using RobustCli.Experiments.Runs;
using Spectre.Console;

namespace RobustCli.Commands;

/// <summary><c>robust runs list|show</c>: what has been run, and one run's summary.</summary>
public static class RunsCommand
{
    public static Command Create()
    {
        var runsDir = SharedOptions.RunsDir();
        var list = new Command("list", "A table of runs: name, method, dataset, status, best validation (clean, robust) and final test accuracy.") { runsDir };
        list.SetAction(parse => Guard.Run(parse.InvocationConfiguration.Error, () =>
        {
            var o = parse.InvocationConfiguration.Output;
            var root = SharedOptions.ResolveRunsDir(parse.GetValue(runsDir));
            var table = new Table().AddColumns("run", "method", "dataset", "arch", "status", "epochs", "best val clean", "best val robust", "final clean", "final robust");
            var files = Directory.Exists(root) ? Directory.GetFiles(root, "summary.json", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal).ToList() : [];
            foreach (var f in files)
            {
                var s = RunSummary.Load(f);
                var robust = s.Final.Where(kv => kv.Key is not ("clean" or "worst_case")).Select(kv => $"{kv.Key} {Score(s, kv.Value)}");
                table.AddRow(Markup.Escape(Path.GetRelativePath(root, Path.GetDirectoryName(f)!)), s.Method, s.Dataset, s.Arch, s.Status,
                    $"{s.EpochsDone}/{s.EpochsPlanned}", Score(s, s.BestValCleanAcc), Score(s, s.BestValRobustAcc), Score(s, s.Final.GetValueOrDefault("clean")), Markup.Escape(string.Join(", ", robust)));
            }
            Plain(o).Write(table);
            o.WriteLine($"{files.Count} run(s) under {root}");
            return 0;
        }));
        var dir = new Argument<DirectoryInfo>("run-dir") { Description = "A run folder." };
        var show = new Command("show", "One run's summary, its metrics and where its plots are.") { dir };
        show.SetAction(parse => Guard.Run(parse.InvocationConfiguration.Error, () =>
        {
            var o = parse.InvocationConfiguration.Output;
            var run = RunFolder.Open(parse.GetValue(dir)!.FullName);
            if (!File.Exists(run.SummaryFile)) throw new FileNotFoundException($"{run.Path} has no summary.json yet");
            var s = RunSummary.Load(run.SummaryFile);
            o.WriteLine($"run        {run.Path}");
            o.WriteLine($"status     {s.Status}{(s.Error != null ? ": " + s.Error : "")}");
            o.WriteLine($"method     {s.Method} on {s.Dataset} with {s.Arch}, seed {s.Seed}, device {s.Device}");
            o.WriteLine($"epochs     {s.EpochsDone}/{s.EpochsPlanned}, wall {s.WallSeconds:F0}s, {(s.Engine is "" or null ? "" : s.Engine + " engine, ")}libtorch {s.LibTorchVersion}");
            o.WriteLine($"best       epoch {s.BestEpoch?.ToString(CultureInfo.InvariantCulture) ?? "-"}, validation clean {Score(s, s.BestValCleanAcc)}, robust {Score(s, s.BestValRobustAcc)} (by {s.SelectedBy})");
            o.WriteLine("last       " + string.Join(", ", s.Last.Select(kv => $"{kv.Key} {(kv.Key == "train_loss" ? kv.Value?.ToString("F4", CultureInfo.InvariantCulture) ?? "-" : Score(s, kv.Value))}")));
            if (s.Final.Count > 0) o.WriteLine("final      " + string.Join(", ", s.Final.Select(kv => $"{kv.Key} {Score(s, kv.Value)}")));
            var plots = Directory.Exists(run.PlotsDir) ? Directory.GetFiles(run.PlotsDir, "*.png").Order(StringComparer.Ordinal).ToList() : [];
            if (plots.Count > 0)
                o.WriteLine($"plots      {run.PlotsDir}{Path.DirectorySeparatorChar} {string.Join(", ", plots.Select(Path.GetFileNameWithoutExtension))} (.png, .svg)");
            if (File.Exists(run.MetricsFile))
            {
                o.WriteLine();
                o.WriteLine(File.ReadAllText(run.MetricsFile).TrimEnd());
            }
            return 0;
        }));
        var dirs = new Argument<DirectoryInfo[]>("run-dirs") { Description = "Run folders.", Arity = ArgumentArity.OneOrMore };
        var plot = new Command("plot", "Redraw runs' curves from their metrics.csv into plots/ (a training run draws them at each epoch's end).") { dirs };
        plot.SetAction(parse => Guard.Run(parse.InvocationConfiguration.Error, () =>
        {
            var o = parse.InvocationConfiguration.Output;
            foreach (var d in parse.GetValue(dirs)!)
            {
                var run = RunFolder.Open(d.FullName);
                if (!File.Exists(run.MetricsFile)) throw new FileNotFoundException($"{run.Path} has no metrics.csv: nothing to draw");
                var summary = File.Exists(run.SummaryFile) ? RunSummary.Load(run.SummaryFile) : null;
                var title = summary == null ? Path.GetFileName(Path.GetDirectoryName(run.Path))! : $"{summary.Name} ({summary.Method})";
                var files = Figure.SaveAll(TrainingCurves.Build(MetricsTable.Load(run.MetricsFile), title), run.PlotsDir);
                o.WriteLine($"{run.PlotsDir}: {string.Join(", ", files.Select(Path.GetFileName))}");
            }
            return 0;
        }));
        return new Command("runs", """
            List runs, show one, or redraw their curves.

            Examples:
              robust runs list
              robust runs list --runs-dir /data/runs
              robust runs show runs/quickstart/20261122-024547-c7664e
              robust runs plot runs/quickstart/*/
            """) { list, show, plot };
    }

    /// <summary>A console over any writer, wide enough that tables are not squeezed when output is redirected.</summary>
    internal static IAnsiConsole Plain(TextWriter o)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(o), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 240;
        return console;
    }

    /// <summary>A score as the run's task reports it (accuracies as percentages, PSNR in dB); a task no longer registered, as a number.</summary>
    private static string Score(RunSummary s, double? v)
    {
        if (!RobustCli.Core.Tasks.Tasks.Registry.TryGet(s.Task ?? "", out var r))
            return v is { } d && double.IsFinite(d) ? d.ToString("G6", CultureInfo.InvariantCulture) : "-";
        var task = r.Create(new RobustCli.Core.Tasks.TaskBuild(r.Options.Defaults));
        return task.Format(task.Score, v ?? double.NaN);
    }

}
