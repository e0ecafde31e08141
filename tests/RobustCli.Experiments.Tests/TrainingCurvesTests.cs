using System.Xml.Linq;
using RobustCli.Experiments.Plots;
using RobustCli.Experiments.Runs;
using RobustCli.Tests.Shared;
using ScottPlot;
using ScottPlot.Plottables;

namespace RobustCli.Experiments.Tests;

public sealed class TrainingCurvesTests
{
    public static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    // Three epochs of a NoiLIn-like run with a test evaluation at the last one only, and GAT-like method columns.
    private const string Header =
        "epoch,lr,train_loss,train_clean_acc,train_adv_acc,val_clean_acc,val_robust_acc,test_clean_acc,test_robust_acc,seconds,images_per_s,noise_rate,gat_main_loss,gat_rotation_loss,gat_w_main,gat_w_rotation,unused_column";
    private static readonly string[] Rows =
    [
        "1,0.1,2.25,0.3,0.2,0.25,0.15,,,10.5,100,0.05,1.5,1.25,0.5,0.5,",
        "2,0.05,1.5,0.5,0.3,0.5,0.25,,,10.25,101,0.1,1.0,0.75,0.25,0.75,",
        "3,0.01,1.25,0.6,0.4,0.625,0.3,0.625,0.25,10.75,99,0.2,0.75,0.5,0.125,0.875,",
    ];

    private static MetricsTable Table(params string[] rows)
    {
        var path = Path.Combine(TestPaths.TempDir(), "metrics.csv");
        File.WriteAllText(path, string.Join("\n", [Header, .. rows]) + "\n");
        return MetricsTable.Load(path);
    }

    private static Scatter[] Curves(Figure f) => f.Plot.GetPlottables<Scatter>().ToArray();

    private static (double X, double Y)[] Points(Scatter s) => s.Data.GetScatterPoints().Select(c => (c.X, c.Y)).ToArray();

    [Fact]
    public void TheTableSplitsScoreAndMethodColumnsAndReadsEmptyCellsAsNaN()
    {
        var t = Table(Rows);
        Assert.Equal(3, t.Rows);
        Assert.Equal(["train_clean_acc", "train_adv_acc", "val_clean_acc", "val_robust_acc", "test_clean_acc", "test_robust_acc"], t.ScoreColumns);
        Assert.Equal(["noise_rate", "gat_main_loss", "gat_rotation_loss", "gat_w_main", "gat_w_rotation", "unused_column"], t.MethodColumns);
        Assert.True(double.IsNaN(t["test_clean_acc"][0]));
        Assert.Equal(0.625, t["test_clean_acc"][2]);
        Assert.False(t.HasValues("unused_column"));
    }

    [Fact]
    public void AConstantLearningRateIsDrawnOnAnAxisFromZeroToTwiceItAndEpochTicksAreWhole()
    {
        var rows = Rows.Select(r => { var f = r.Split(','); f[1] = "0.001"; return string.Join(",", f); }).ToArray();
        var accuracy = TrainingCurves.Build(Table(rows), "tiny")[0];
        accuracy.Plot.RenderInMemory(Figure.Width, Figure.Height);
        // Not ScottPlot's -1..1 for a span of zero, where 0.001 reads as 0.
        Assert.Equal(0, accuracy.Plot.Axes.Right.Range.Min, 12);
        Assert.Equal(0.002, accuracy.Plot.Axes.Right.Range.Max, 12);
        var ticks = accuracy.Plot.Axes.Bottom.TickGenerator.Ticks.Where(t => t.IsMajor).Select(t => t.Position).ToList();
        Assert.NotEmpty(ticks);
        Assert.All(ticks, x => Assert.Equal(Math.Round(x), x, 9));
    }

    [Fact]
    public void TheFiguresHoldTheMetricsValues()
    {
        var figures = TrainingCurves.Build(Table(Rows), "tiny");
        Assert.Equal(["accuracy", "loss", "method-noise-rate", "method-losses", "method-task-weights"], figures.Select(f => f.Name));

        var accuracy = Curves(figures[0]);
        Assert.Equal(["train_clean_acc", "train_adv_acc", "val_clean_acc", "val_robust_acc", "test_clean_acc", "test_robust_acc", "learning rate"],
            accuracy.Select(s => s.LegendText));
        // Accuracies in percent against epoch; the test columns only where they were measured.
        Assert.Equal([(1.0, 25.0), (2.0, 50.0), (3.0, 62.5)], Points(accuracy[2]));
        Assert.Equal([(3.0, 62.5)], Points(accuracy[4]));
        Assert.Equal([(3.0, 25.0)], Points(accuracy[5]));
        // Validation clean and robust share a hue in two shades; no curve uses a path effect (SVG drops them).
        Assert.Equal((TrainingCurves.Paired.GetColor(2), TrainingCurves.Paired.GetColor(3)), (accuracy[2].Color, accuracy[3].Color));
        Assert.NotEqual(accuracy[2].Color, accuracy[3].Color);
        Assert.All(accuracy, s => Assert.Equal(LinePattern.Solid.Name, s.LinePattern.Name));
        // The learning rate is drawn against the right axis, in its own units.
        var plot = figures[0].Plot;
        Assert.Same(plot.Axes.Right, accuracy[6].Axes.YAxis);
        Assert.All(accuracy[..6], s => Assert.NotSame(plot.Axes.Right, s.Axes.YAxis));
        Assert.Equal([(1.0, 0.1), (2.0, 0.05), (3.0, 0.01)], Points(accuracy[6]));

        Assert.Equal([(1.0, 2.25), (2.0, 1.5), (3.0, 1.25)], Points(Curves(figures[1])[0]));
        Assert.Equal(["gat_main_loss", "gat_rotation_loss"], Curves(figures[3]).Select(s => s.LegendText));
        Assert.Equal([(1.0, 0.5), (2.0, 0.75), (3.0, 0.875)], Points(Curves(figures[4])[1]));
    }

    [Fact]
    public void DenoisingScoresArePlottedInDecibels()
    {
        var path = Path.Combine(TestPaths.TempDir(), "metrics.csv");
        File.WriteAllText(path, "epoch,lr,train_loss,train_clean_psnr,train_adv_psnr,val_clean_psnr,val_robust_psnr,test_clean_psnr,test_robust_psnr,seconds,images_per_s\n" +
                                "1,0.001,0.01,25.5,22.25,26,23,,,5,10\n");
        var f = TrainingCurves.Build(MetricsTable.Load(path), "dn")[0];
        Assert.Equal("scores", f.Name);
        Assert.Equal([(1.0, 26.0)], Points(Curves(f)[2]));
        Assert.Equal("PSNR (dB)", f.Plot.Axes.Left.Label.Text);
    }

    [Fact]
    public void FilesAreValidPngAndSvgAndChangeWithTheData()
    {
        var dir = TestPaths.TempDir();
        var files = Figure.SaveAll(TrainingCurves.Build(Table(Rows), "tiny"), dir);
        Assert.Equal(10, files.Count);
        var png = File.ReadAllBytes(Path.Combine(dir, "accuracy.png"));
        Assert.Equal(PngSignature, png[..8]);
        // The IHDR chunk carries the size the figure was drawn at.
        Assert.Equal(Figure.Width, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16, 4)));
        Assert.Equal(Figure.Height, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20, 4)));
        var svg = XDocument.Load(Path.Combine(dir, "accuracy.svg"));
        Assert.Equal("svg", svg.Root!.Name.LocalName);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp-*"));

        var changed = TestPaths.TempDir();
        Figure.SaveAll(TrainingCurves.Build(Table([.. Rows[..2], Rows[2].Replace("0.625,0.3,0.625", "0.875,0.3,0.625")]), "tiny"), changed);
        Assert.NotEqual(png, File.ReadAllBytes(Path.Combine(changed, "accuracy.png")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "loss.png")), File.ReadAllBytes(Path.Combine(changed, "loss.png")));
    }
}
