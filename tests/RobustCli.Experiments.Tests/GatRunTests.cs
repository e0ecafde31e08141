using System.Globalization;
using RobustCli.Core.Models;
using RobustCli.Experiments.Config;
using RobustCli.Experiments.Jobs;
using RobustCli.Experiments.Runs;
using RobustCli.Tests.Shared;

namespace RobustCli.Experiments.Tests;

/// <summary>A GAT run end to end: its heads and columns, resume, the limited-data protocol, and the config's checks.</summary>
public sealed class GatRunTests
{
    private static JobOptions Options(string runs, CancellationToken cancel = default, Func<Serilog.ILogger, IProgressReporter>? progress = null) =>
        new(runs, TestPaths.RepoRoot, new StringWriter(), progress, LogToConsole: true, cancel);

    public static string Config(string data, int epochs = 3, string gat = "{tasks: [rotation, macro], weighting: mgda, curvature: 0.5}") =>
        TinyData.Config(data, "gat", epochs)
            .Replace("model: {arch: smallcnn, normalize: none}", "model: {arch: multitask-resnet18, width: 4, normalize: none}")
            .Replace("  noilin: {tau: 1}", $"  noilin: {{tau: 1}}\n  gat: {gat}");

    [Fact]
    public void AGatRunWritesTaskLossesAndWeightsKeepsItsHeadsAndResumesExactly()
    {
        var data = TinyData.FashionMnistLike(128, 32);
        var cfg = ConfigLoader.LoadText(Config(data), "gat.yaml").Config;
        var straight = TrainingJob.Run(cfg, Options(TestPaths.TempDir()));
        Assert.True(straight.ExitCode == 0, straight.Summary.Error);
        var rows = File.ReadAllLines(straight.Folder.MetricsFile);
        var header = rows[0].Split(',');
        string[] terms = ["main", "macro", "jigsaw", "rotation", "curvature"];
        Assert.Equal([.. terms.Select(t => $"gat_{t}_loss"), .. terms.Select(t => $"gat_w_{t}"), "gat_mgda_unconverged"], header.Skip(11));
        var last = rows[^1].Split(',');
        double Col(string c) => double.TryParse(last[Array.IndexOf(header, c)], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN;
        // The tasks trained have losses and MGDA weights on the simplex; jigsaw, not trained, has neither.
        foreach (var t in new[] { "main", "macro", "rotation", "curvature" }) Assert.True(Col($"gat_{t}_loss") > 0, $"{t} loss");
        Assert.Equal(1.0, new[] { "main", "macro", "rotation", "curvature" }.Sum(t => Col($"gat_w_{t}")), 6);
        Assert.True(double.IsNaN(Col("gat_jigsaw_loss")) && double.IsNaN(Col("gat_w_jigsaw")));
        Assert.Equal(0, Col("gat_mgda_unconverged"));

        // The checkpoint holds the heads under the official names, and the run's config rebuilds them.
        using (var sd = Checkpoint.EvaluatedWeights(straight.Folder.LastCheckpoint, out _))
        {
            var keys = sd.Select(kv => kv.Key).ToList();
            Assert.Contains("task_to_decoder.class_object#multilabel.fc.weight", keys);
            Assert.Equal(new long[] { 3, 32 }, sd["task_to_decoder.class_object#macro.fc.weight"].Shape);
            Assert.Equal(new long[] { 4, 32 }, sd["task_to_decoder.rotation.fc.weight"].Shape);
        }
        var model = (MultiTaskNetwork)ComponentFactory.Model(cfg.Model, Core.Data.DatasetCatalog.Get("fashion-mnist"), 1, cfg);
        Assert.Equal(["logits", "macro", "rotation"], model.OutputNames);

        ResumeCheck.MatchesStraightRun(cfg, straight);
    }

    [Fact]
    public void PerClassKeepsTheFirstImagesOfEachClass()
    {
        var data = TinyData.FashionMnistLike(300, 20);
        var c = ConfigLoader.LoadText(TinyData.Config(data) + "\n", "p.yaml", ["data.per_class=7"]).Config;
        var run = ComponentFactory.LoadData(c.Data, TestPaths.RepoRoot);
        Assert.Equal(70, run.Train.Count);
        Assert.All(Enumerable.Range(0, 10), k => Assert.Equal(7, Enumerable.Range(0, run.Train.Count).Count(i => run.Train.Label(i) == k)));
        // train_subset applies after it.
        c = ConfigLoader.LoadText(TinyData.Config(data), "p.yaml", ["data.per_class=7", "data.train_subset=20"]).Config;
        Assert.Equal(20, ComponentFactory.LoadData(c.Data, TestPaths.RepoRoot).Train.Count);
    }

    [Fact]
    public void BadGatConfigsAreLocatedAndExplained()
    {
        var data = TinyData.FashionMnistLike(64, 16);
        var yaml = Config(data);
        string Error(string text, params string[] sets) => Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(text, "gat.yaml", sets)).Message;
        Assert.Matches(@"gat\.yaml:\d+:\d+: model\.arch: the gat method trains a model\.arch of multitask-resnet18 or multitask-resnet50 or multitask-wrn, not smallcnn",
            Error(yaml.Replace("arch: multitask-resnet18, width: 4", "arch: smallcnn")));
        Assert.Matches(@"train\.gat\.tasks: 'rotaton' is not one of macro, jigsaw, rotation; did you mean 'rotation'\?",
            Error(yaml.Replace("tasks: [rotation, macro]", "tasks: [rotaton]")));
        Assert.Matches(@"train\.gat\.tasks: expected a list of distinct names from macro, jigsaw, rotation",
            Error(yaml.Replace("tasks: [rotation, macro]", "tasks: rotation")));
        Assert.Matches(@"train\.gat\.tasks: 'rotation' is listed twice", Error(yaml.Replace("tasks: [rotation, macro]", "tasks: [rotation, rotation]")));
        Assert.Matches(@"train\.gat\.curvature: the curvature regulariser compares two tasks' gradients",
            Error(yaml.Replace("tasks: [rotation, macro]", "tasks: []")));
        Assert.Matches(@"train\.gat\.weighting: 'pareto' is not one of ew, mgda", Error(yaml, "train.gat.weighting=pareto"));
        // A dataset without class groups has no macro task.
        Assert.Matches(@"train\.gat\.tasks: the macro task needs class groups, and svhn has none",
            Error(yaml.Replace("name: fashion-mnist", "name: svhn")));
        // --set takes a list too.
        var none = ConfigLoader.LoadText(yaml, "gat.yaml", ["train.gat.tasks=[]", "train.gat.curvature=0"]).Config;
        Assert.Empty(none.Train.MethodOptions["gat"].Names("tasks"));
        Assert.Matches(@"data\.per_class: must be", Error(yaml, "data.per_class=-1"));
    }
}
