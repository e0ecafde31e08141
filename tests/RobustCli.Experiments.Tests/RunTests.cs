using System.Globalization;
using RobustCli.Core.Models;
using RobustCli.Experiments.Config;
using RobustCli.Experiments.Jobs;
using RobustCli.Experiments.Runs;
using RobustCli.Tests.Shared;
using RobustCli.Torch;
using RobustCli.Torch.Serialization;

namespace RobustCli.Experiments.Tests;

public sealed class RunTests
{
    private static JobOptions Options(string runs, CancellationToken cancel = default, Func<Serilog.ILogger, IProgressReporter>? progress = null) =>
        new(runs, TestPaths.RepoRoot, new StringWriter(), progress, LogToConsole: true, cancel);

    [Fact]
    public void RunsStartedAtOnceNeverShareAFolder()
    {
        var runs = TestPaths.TempDir();
        var folders = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 32, _ => folders.Add(RunFolder.Create(runs, "same").Path));
        Assert.Equal(32, folders.Distinct().Count());
    }

    [Fact]
    public void TrainingWritesTheRunFolder()
    {
        var data = TinyData.FashionMnistLike();
        var runs = TestPaths.TempDir();
        var cfg = ConfigLoader.LoadText(TinyData.Config(data, "noilin"), "tiny.yaml").Config;
        var r = TrainingJob.Run(cfg, Options(runs));
        Assert.Equal(0, r.ExitCode);
        var f = r.Folder;
        Assert.StartsWith(Path.Combine(runs, "tiny") + "/", f.Path);
        foreach (var file in new[] { f.ConfigFile, f.MetricsFile, f.LogFile, f.SummaryFile, f.LastCheckpoint, f.BestCheckpoint, f.FinalEvalFile })
            Assert.True(File.Exists(file), file + " missing");
        // final_eval.csv shares robust eval's format.
        Assert.Equal(["attack,accuracy,seconds,n", "clean", "pgd3", "cw3", "worst_case"],
            File.ReadAllLines(f.FinalEvalFile).Select((l, i) => i == 0 ? l : l.Split(',')[0]));
        var lines = File.ReadAllLines(f.MetricsFile);
        Assert.Equal(3, lines.Length);
        Assert.EndsWith(",noise_rate", lines[0]);
        Assert.StartsWith("epoch,lr,train_loss,train_clean_acc,train_adv_acc,val_clean_acc,val_robust_acc,test_clean_acc,test_robust_acc,seconds,images_per_s", lines[0]);
        Assert.All(lines.Skip(1), l => Assert.Equal(12, l.Split(',').Length));
        var s = RunSummary.Load(f.SummaryFile);
        Assert.Equal(("completed", 2, "noilin"), (s.Status, s.EpochsDone, s.Method));
        Assert.Equal(["clean", "pgd3", "cw3", "worst_case"], s.Final.Keys);
        Assert.True(s.Final["worst_case"] <= Math.Min(s.Final["pgd3"]!.Value, s.Final["cw3"]!.Value));
        Assert.Equal(torch.LibTorchVersion, s.LibTorchVersion);
        Assert.Contains("epoch 2/2", File.ReadAllText(f.LogFile));
        // The checkpoint's weights load with the generic loader (PyTorch: torch.load(path)["model"]).
        using var model = new SmallCnn();
        using (var sd = Weights.Load(f.LastCheckpoint)) model.LoadStateDict(sd);
        Assert.Empty(Directory.GetFiles(f.Path, "*.tmp-*", SearchOption.AllDirectories));
        // The curves of the last epoch: accuracy, loss and NoiLIn's noise rate, each as PNG and SVG.
        Assert.Equal(["accuracy.png", "accuracy.svg", "loss.png", "loss.svg", "method-noise-rate.png", "method-noise-rate.svg"],
            Directory.GetFiles(f.PlotsDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(TrainingCurvesTests.PngSignature, File.ReadAllBytes(Path.Combine(f.PlotsDir, "accuracy.png"))[..8]);
    }

    private static List<string[]> Metrics(string path) => ResumeCheck.Metrics(path);

    [Theory]
    [InlineData("pgd-at")]
    [InlineData("noilin")]
    public void AnInterruptedRunResumedEndsAsAnUninterruptedOne(string method)
    {
        var data = TinyData.FashionMnistLike();
        var cfg = ConfigLoader.LoadText(TinyData.Config(data, method, epochs: 3), "tiny.yaml").Config;
        var straight = TrainingJob.Run(cfg, Options(TestPaths.TempDir()));
        Assert.Equal(0, straight.ExitCode);

        using var cts = new CancellationTokenSource();
        var runs = TestPaths.TempDir();
        var stopped = TrainingJob.Run(cfg, Options(runs, cts.Token, _ => new CancelAfter(1, cts)));
        Assert.Equal("interrupted", stopped.Summary.Status);
        Assert.Single(Metrics(stopped.Folder.MetricsFile));
        var resumed = TrainingJob.Run(cfg, Options(runs), stopped.Folder.Path);
        Assert.Equal(0, resumed.ExitCode);
        Assert.Equal(stopped.Folder.Path, resumed.Folder.Path);
        Assert.Equal(Metrics(straight.Folder.MetricsFile), Metrics(resumed.Folder.MetricsFile));
        Assert.Equal(straight.Summary.Final, resumed.Summary.Final);
        Assert.Equal(straight.Summary.BestEpoch, resumed.Summary.BestEpoch);
    }

    [Fact]
    public void AnInterruptedFinalAutoAttackResumesWhereItStopped()
    {
        var data = TinyData.FashionMnistLike();
        var yaml = TinyData.Config(data).Replace("final: [pgd3, cw3]",
            "final: [pgd3, 'autoattack:version=custom,attacks=apgd-ce:steps=20+square:queries=60'], autoattack_n: 24");
        var cfg = ConfigLoader.LoadText(yaml, "tiny.yaml", ["train.epochs=1", "eval.batch_size=4"]).Config;
        var straight = TrainingJob.Run(cfg, Options(TestPaths.TempDir()));
        Assert.Equal(0, straight.ExitCode);

        using var cts = new CancellationTokenSource();
        var runs = TestPaths.TempDir();
        var stopped = TrainingJob.Run(cfg, Options(runs, cts.Token, _ => new CancelInFinal("autoattack-custom/apgd-ce", cts)));
        Assert.Equal("interrupted", stopped.Summary.Status);
        var state = Path.Combine(stopped.Folder.Path, "final_eval_state_autoattack.json");
        Assert.True(File.Exists(state), "the final evaluation saved its progress");
        var resumed = TrainingJob.Run(cfg, Options(runs), stopped.Folder.Path);
        Assert.Equal(0, resumed.ExitCode);
        Assert.Contains("resuming from", File.ReadAllText(resumed.Folder.LogFile));
        Assert.Equal(straight.Summary.Final, resumed.Summary.Final);
        Assert.Equal(File.ReadAllLines(Path.Combine(straight.Folder.Path, "final_eval_samples.csv")),
            File.ReadAllLines(Path.Combine(resumed.Folder.Path, "final_eval_samples.csv")));
        Assert.False(File.Exists(state), "the state goes once the evaluation is written");
    }

    private sealed class CancelInFinal(string what, CancellationTokenSource cts) : IProgressReporter
    {
        public void EpochStart(int epoch, int total, int batches) { }
        public void Batch(int epoch, int batch, int batches, double loss, double ips) { }
        public void EpochEnd(RobustCli.Core.Training.EpochMetrics m, int total) { }
        public void Final(string stage, int done, int total) { if (stage.Contains(what) && done > 0) cts.Cancel(); }
    }

    internal sealed class CancelAfter(int epochs, CancellationTokenSource cts) : IProgressReporter
    {
        public void EpochStart(int epoch, int total, int batches) { }
        public void Batch(int epoch, int batch, int batches, double loss, double ips) { }
        public void EpochEnd(RobustCli.Core.Training.EpochMetrics m, int total) { if (m.Epoch >= epochs) cts.Cancel(); }
    }

    [Fact]
    public void ResumeDropsARowWrittenAfterTheLastCheckpoint()
    {
        var path = Path.Combine(TestPaths.TempDir(), "metrics.csv");
        File.WriteAllText(path, "epoch,lr\n1,0.1\n2,0.1\n3,0.1\n");
        using (MetricsCsv.Open(path, [], keepEpochs: 2)) { }
        Assert.Equal(["epoch,lr", "1,0.1", "2,0.1"], File.ReadAllLines(path));
    }

    [Fact]
    public void ADivergingLossStopsTheRunWithAClearMessage()
    {
        var data = TinyData.FashionMnistLike();
        var cfg = ConfigLoader.LoadText(TinyData.Config(data, "standard"), "tiny.yaml",
            ["train.optimizer.name=sgd", "train.optimizer.lr=1e30", "train.optimizer.momentum=0"]).Config;
        var r = TrainingJob.Run(cfg, Options(TestPaths.TempDir()));
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("failed", r.Summary.Status);
        Assert.Contains("the training loss became", r.Summary.Error);
        Assert.Contains("epoch 1", r.Summary.Error);
    }

    [Fact]
    public void AMissingDatasetFailsBeforeAnyRunFolderExists()
    {
        var runs = TestPaths.TempDir();
        var cfg = ConfigLoader.LoadText("data: {name: cifar10, path: /nonexistent}\n", "c.yaml").Config;
        Assert.Throws<RobustCli.Core.Data.DatasetNotFoundException>(() => TrainingJob.Run(cfg, Options(runs)));
        Assert.Empty(Directory.GetFileSystemEntries(runs));
    }

    [Fact]
    public void EveryMethodTrainsOnTheTinyData()
    {
        var data = TinyData.FashionMnistLike(256, 32);
        foreach (var method in RobustCli.Core.Training.Methods.Registry.All.Where(r => r.Tasks.Contains("classification") && !r.Name.StartsWith("toy", StringComparison.Ordinal)).Select(r => r.Name))
        {
            // CIFS's masks start near-uniform (2/C per channel), which starves the final layer at first: it gets more epochs.
            var epochs = method == "cifs" ? 15 : 5;
            var text = TinyData.Config(data, method, epochs: epochs);
            // A method that trains a kind of model (soe) gets it, with the tiny config's architecture inside.
            if (RobustCli.Core.Training.Methods.Registry.Get(method).Models?.Contains("soe") == true)
                text = text.Replace("model: {arch: smallcnn, normalize: none}", "model: {arch: soe, experts: 2, base: smallcnn, normalize: none}");
            if (RobustCli.Core.Training.Methods.Registry.Get(method).Models?.Contains("cifs-resnet18") == true)
                text = text.Replace("model: {arch: smallcnn, normalize: none}", "model: {arch: cifs-resnet18, width: 8, normalize: none}");
            // GAT trains a multi-task model; rotation keeps the tiny data's bands (as columns), where jigsaw would scatter them.
            if (RobustCli.Core.Training.Methods.Registry.Get(method).Models?.Contains("multitask-resnet18") == true)
                text = text.Replace("model: {arch: smallcnn, normalize: none}", "model: {arch: multitask-resnet18, width: 8, normalize: none}")
                    .Replace("  noilin: {tau: 1}", "  noilin: {tau: 1}\n  gat: {tasks: [rotation]}");
            var cfg = ConfigLoader.LoadText(text, "tiny.yaml", ["eval.final=[]", "train.fat.tau_milestones=[0]"]).Config;
            var r = TrainingJob.Run(cfg, Options(TestPaths.TempDir()));
            Assert.True(r.ExitCode == 0, $"{method}: {r.Summary.Error}");
            var rows = File.ReadAllLines(r.Folder.MetricsFile);
            var header = rows[0].Split(',');
            var last = rows[^1].Split(',');
            double Col(string c) => double.Parse(last[Array.IndexOf(header, c)], CultureInfo.InvariantCulture);
            Assert.True(Col("train_loss") > 0, $"{method}: no training loss");
            // Ten classes: chance is 10%. Every method must learn the tiny data's row bands well above it, clean and under attack.
            Assert.True(Col("val_clean_acc") > 0.5, $"{method} did not learn: validation clean accuracy {Col("val_clean_acc"):P1} after {epochs} epochs");
            Assert.True(Col("val_robust_acc") > 0.3, $"{method} did not learn robustly: validation PGD-3 accuracy {Col("val_robust_acc"):P1}");
        }
    }
}
