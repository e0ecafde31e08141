using System.Globalization;
using RobustCli.Experiments.Reports;
using RobustCli.Experiments.Runs;
using RobustCli.Tests.Shared;

namespace RobustCli.Experiments.Tests;

/// <summary>robust report over fixed run folders gives exactly the golden tables (tests/RobustCli.Experiments.Tests/golden).</summary>
public sealed class RunReportTests
{
    private static readonly string Golden = Path.Combine(TestPaths.RepoRoot, "tests", "RobustCli.Experiments.Tests", "golden");

    // A resolved config lists every method's section; a report must show only the run's own method's options.
    private static string Config(string name, string method, double beta, int seed, int epochs) => $"""
        name: {name}
        seed: {seed}
        data:
          name: fashion-mnist
          per_class: 0
        train:
          method: {method}
          epochs: {epochs}
          optimizer:
            name: sgd
            lr: 0.1
          trades:
            beta: {beta.ToString(CultureInfo.InvariantCulture)}
          mart:
            beta: 6
        eval:
          final: [pgd20, cw20]
        """;

    private static string Run(string root, string name, string stamp, string method, double beta, int seed, Dictionary<string, double?> final,
        string device = "cpu", double wall = 600, int epochs = 2, string? evalCsv = null)
    {
        var dir = Path.Combine(root, name, stamp);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.yaml"), Config(name, method, beta, seed, epochs));
        new RunSummary
        {
            Status = "completed", Name = name, Method = method, Dataset = "fashion-mnist", Arch = "smallcnn", Seed = seed, Device = device,
            EpochsDone = epochs, EpochsPlanned = epochs, Final = final, WallSeconds = wall, LibTorchVersion = "1.13.0",
        }.Save(Path.Combine(dir, "summary.json"));
        var rows = final.Where(kv => !kv.Key.Contains('@')).Select(kv => $"{kv.Key},{kv.Value?.ToString("G6", CultureInfo.InvariantCulture)},1.0,10000");
        File.WriteAllText(Path.Combine(dir, "final_eval.csv"), string.Join("\n", ["attack,accuracy,seconds,n", .. rows]) + "\n");
        File.WriteAllText(Path.Combine(dir, "metrics.csv"),
            "epoch,lr,train_loss,train_clean_acc,train_adv_acc,val_clean_acc,val_robust_acc,test_clean_acc,test_robust_acc,seconds,images_per_s\n" +
            $"1,0.1,1.5,0.5,0.25,0.5,0.25,,,10,100\n2,0.01,1.25,0.75,0.375,0.625,{(0.25 + beta / 64).ToString(CultureInfo.InvariantCulture)},,,10,100\n");
        if (evalCsv != null) File.WriteAllText(Path.Combine(dir, "eval-20260101-000000.csv"), evalCsv);
        return dir;
    }

    /// <summary>A TRADES β sweep of two runs (one with an AutoAttack evaluation and the hypocritical risk measured afterwards by robust eval) and a PGD-AT run.</summary>
    internal static string Runs()
    {
        var root = TestPaths.TempDir();
        var sweep = Path.Combine(root, "trades-beta");
        Run(sweep, "trades", "20260101-000000-aaaaaa", "trades", 1, 0,
            new() { ["clean"] = 0.8125, ["pgd20"] = 0.5, ["cw20"] = 0.4875, ["worst_case"] = 0.475, ["clean@1000"] = 0.81, ["autoattack@1000"] = 0.455 });
        Run(sweep, "trades", "20260101-010000-bbbbbb", "trades", 6, 0,
            new() { ["clean"] = 0.75, ["pgd20"] = 0.5625, ["cw20"] = 0.55, ["worst_case"] = 0.5375 }, device: "cuda:0", wall: 90,
            evalCsv: "attack,accuracy,seconds,n\nclean,0.75,1.0,10000\nautoattack/apgd-ce,0.53,10.0,10000\nautoattack/apgd-t,0.52,90.0,10000\nautoattack,0.52,100.0,10000\nhypocritical_risk,0.4,3.8,10000\n");
        Run(sweep, "pgd-at", "20260101-020000-cccccc", "pgd-at", 6, 1,
            new() { ["clean"] = 0.7, ["pgd20"] = 0.5, ["cw20"] = null, ["worst_case"] = 0.5 }, wall: 1234.5, epochs: 3);
        return sweep;
    }

    [Fact]
    public void TheTablesOfFixedRunsEqualTheGoldenFiles()
    {
        var report = RunReport.Load([Runs()]);
        Assert.Equal(["seed", "train.epochs", "train.trades.beta"], report.SweptKeys);
        Assert.Equal(["clean", "clean@1000", "pgd20", "cw20", "autoattack@1000", "autoattack", "worst_case", "hypocritical_risk"], report.ResultKeys);
        // ROBUSTCLI_UPDATE_GOLDEN=1 rewrites the golden files from this report (then read the diff before committing it).
        if (Environment.GetEnvironmentVariable("ROBUSTCLI_UPDATE_GOLDEN") == "1")
            foreach (var (file, text) in new[] { ("report.md", report.ToMarkdown()), ("report.tex", report.ToLatex()), ("report.csv", report.ToCsv()) })
                File.WriteAllText(Path.Combine(Golden, file), text);
        Assert.Equal(File.ReadAllText(Path.Combine(Golden, "report.md")), report.ToMarkdown());
        Assert.Equal(File.ReadAllText(Path.Combine(Golden, "report.tex")), report.ToLatex());
        Assert.Equal(File.ReadAllText(Path.Combine(Golden, "report.csv")), report.ToCsv());
    }

    [Fact]
    public void RunsNamedOneByOneAndTwiceAreListedOnceInTheGivenOrder()
    {
        var sweep = Runs();
        var runs = Directory.GetDirectories(Path.Combine(sweep, "trades")).Order(StringComparer.Ordinal).ToList();
        var report = RunReport.Load([runs[1], runs[0], runs[1], sweep]);
        Assert.Equal(["trades/20260101-010000-bbbbbb", "trades/20260101-000000-aaaaaa", "pgd-at/20260101-020000-cccccc"], report.Rows.Select(r => r.Run));
    }

    [Fact]
    public void TheOverlaidCurvesHoldEveryRunsValidationCurves()
    {
        var report = RunReport.Load([Runs()]);
        var figure = report.Curves();
        var curves = figure.Plot.GetPlottables<ScottPlot.Plottables.Scatter>().ToArray();
        Assert.Equal(6, curves.Length);
        Assert.Equal("trades/20260101-010000-bbbbbb: val_robust_acc", curves[5].LegendText);
        // β = 6: 0.25 + 6/64 at epoch 2, in percent.
        Assert.Equal([(1.0, 25.0), (2.0, 100 * (0.25 + 6 / 64.0))], curves[5].Data.GetScatterPoints().Select(c => (c.X, c.Y)));
        var dir = TestPaths.TempDir();
        var files = report.Save(dir);
        Assert.Equal(["report.md", "report.tex", "report.csv", "curves.png", "curves.svg"], files.Select(Path.GetFileName));
        Assert.Equal(TrainingCurvesTests.PngSignature, File.ReadAllBytes(Path.Combine(dir, "curves.png"))[..8]);
    }
}
