using System.Globalization;
using RobustCli.Core.Models;
using RobustCli.Experiments.Config;
using RobustCli.Experiments.Jobs;
using RobustCli.Experiments.Runs;
using RobustCli.Tests.Plugins;
using RobustCli.Tests.Shared;
using RobustCli.Torch;
using RobustCli.Torch.Serialization;

namespace RobustCli.Experiments.Tests;

/// <summary>Runs through the reshaped Core: plug-in methods, tasks, EMA, clipping, parameter groups, deprecated keys.</summary>
public sealed class FoundationRunTests
{
    private static JobOptions Options(string runs, CancellationToken cancel = default, Func<Serilog.ILogger, IProgressReporter>? progress = null) =>
        new(runs, TestPaths.RepoRoot, new StringWriter(), progress, LogToConsole: false, cancel);

    private static Dictionary<string, string> LastRow(string metrics)
    {
        var lines = File.ReadAllLines(metrics);
        var header = lines[0].Split(',');
        var row = lines[^1].Split(',');
        return header.Zip(row).ToDictionary(p => p.First, p => p.Second);
    }

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public void AToyMethodRegisteredFromATestTrainsWithItsOwnOptionsAndColumns()
    {
        Toys.Register();
        var data = TinyData.FashionMnistLike();
        var yaml = TinyData.Config(data, "toy-noise", epochs: 3).Replace("noilin: {tau: 1}", "toy_noise: {noise: 0.3}");
        var loaded = ConfigLoader.LoadText(yaml, "toy.yaml");
        Assert.Equal(0.3, loaded.Config.Train.MethodOptions["toy-noise"].Double("noise"));
        Assert.Contains("toy_noise:\n    noise: 0.3", ConfigLoader.ToYaml(loaded.Config));
        // A run that does not use the plug-in writes no section for it, so its config.yaml loads where the plug-in is absent.
        Assert.DoesNotContain("toy_noise", ConfigLoader.ToYaml(ConfigLoader.LoadText(TinyData.Config(data), "plain.yaml").Config));
        var r = TrainingJob.Run(loaded.Config, Options(TestPaths.TempDir()));
        Assert.True(r.ExitCode == 0, r.Summary.Error);
        var row = LastRow(r.Folder.MetricsFile);
        Assert.Equal("0.3", row["toy_noise"]);
        Assert.True(D(row["val_clean_acc"]) > 0.5, $"the toy method did not learn: {row["val_clean_acc"]}");
        // A typo in its options is a located error naming the closest key.
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(yaml.Replace("noise: 0.3", "nosie: 0.3"), "toy.yaml"));
        Assert.Matches(@"toy\.yaml:\d+:\d+: train\.toy_noise\.nosie: unknown key; did you mean 'noise'\?", e.Message);
        Assert.Contains("train.toy_noise.noise: must be in [0, 1]", Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(yaml, "toy.yaml", ["train.toy_noise.noise=2"])).Message);
    }

    [Fact]
    public void AMethodThatOwnsItsStepCombinesGradientsThroughTheLoopsApply()
    {
        Toys.Register();
        var data = TinyData.FashionMnistLike();
        var cfg = ConfigLoader.LoadText(TinyData.Config(data, "toy-two-task", epochs: 3), "t.yaml", ["eval.final=[]", "train.grad_clip=5"]).Config;
        var r = TrainingJob.Run(cfg, Options(TestPaths.TempDir()));
        Assert.True(r.ExitCode == 0, r.Summary.Error);
        var row = LastRow(r.Folder.MetricsFile);
        Assert.InRange(D(row["mgda_alpha"]), 0, 1);
        Assert.True(D(row["val_clean_acc"]) > 0.5, $"did not learn: {row["val_clean_acc"]}");
    }

    [Fact]
    public void DenoisingTrainsEvaluatesAndWritesPsnr()
    {
        var data = TinyData.FashionMnistLike(256, 32);
        var yaml = TinyData.Config(data, "pgd-at", epochs: 4)
            .Replace("model: {arch: smallcnn, normalize: none}", "model: {arch: tiny-denoiser, normalize: none, features: 16, layers: 3}\ntask: {name: denoise, sigma: 51, clip_observation: false, eval_sigmas: [51]}")
            .Replace("optimizer: {name: adam, lr: 0.002, weight_decay: 0}", "optimizer: {name: adam, lr: 0.005, weight_decay: 0}")
            .Replace("attack: {eps: 0.1, step: 0.05, steps: 2}", "attack: {eps: 0.02, step: 0.01, steps: 2}")
            .Replace("final: [pgd3, cw3]", "final: [pgd3, fgsm]");
        var cfg = ConfigLoader.LoadText(yaml, "d.yaml").Config;
        var r = TrainingJob.Run(cfg, Options(TestPaths.TempDir()));
        Assert.True(r.ExitCode == 0, r.Summary.Error);
        var header = File.ReadAllLines(r.Folder.MetricsFile)[0];
        Assert.StartsWith("epoch,lr,train_loss,train_clean_psnr,train_adv_psnr,val_clean_psnr,val_robust_psnr,test_clean_psnr,test_robust_psnr,seconds,images_per_s", header);
        var rows = File.ReadAllLines(r.Folder.MetricsFile).Skip(1).Select(l => l.Split(',')).ToList();
        // The observation itself (y = x + 0.2 N(0, 1), clamped when scored) is about 14-15 dB; the denoiser must beat it.
        var noisyPsnr = 10 * Math.Log10(1 / (0.2 * 0.2));
        var last = LastRow(r.Folder.MetricsFile);
        Assert.True(D(last["val_clean_psnr"]) > noisyPsnr + 2, $"val PSNR {last["val_clean_psnr"]} dB, the noisy input is about {noisyPsnr:F1} dB");
        Assert.True(D(last["val_robust_psnr"]) < D(last["val_clean_psnr"]), "an attack lowers the PSNR: " + File.ReadAllText(r.Folder.MetricsFile));
        Assert.True(D(rows[^1][5]) > D(rows[0][5]) - 0.5, "PSNR does not fall over training");
        var final = File.ReadAllLines(r.Folder.FinalEvalFile);
        Assert.Equal("condition,sigma,observation_sigma,psnr,ssim,seconds,n", final[0]);
        Assert.Equal(["noise-free", "gaussian", "pgd3", "fgsm"], final.Skip(1).Select(l => l.Split(',')[0]));
        Assert.True(r.Summary.Final["psnr pgd3@51"] < r.Summary.Final["psnr gaussian@51"]);
        Assert.Equal("val_robust_psnr", r.Summary.SelectedBy);
        Assert.Equal("image,condition,sigma,psnr,ssim", File.ReadAllLines(Path.Combine(r.Folder.Path, "final_eval_samples.csv"))[0]);
        // Classification-only pieces are refused for this task, with the place and what would do.
        Assert.Contains("cw3", Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(yaml.Replace("final: [pgd3, fgsm]", "final: [pgd3, cw3]"), "d.yaml")).Message);
        Assert.Contains("trades does not train the denoise task", Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(yaml, "d.yaml", ["train.method=trades"])).Message);
        Assert.Contains("smallcnn is not a model for the denoise task", Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(yaml.Replace("arch: tiny-denoiser, normalize: none, features: 16, layers: 3", "arch: smallcnn"), "d.yaml")).Message);
    }

    [Fact]
    public void EmaIsEvaluatedCheckpointedAndResumedExactly()
    {
        var data = TinyData.FashionMnistLike();
        var cfg = ConfigLoader.LoadText(TinyData.Config(data, "pgd-at", epochs: 3), "e.yaml",
            ["train.ema.decay=0.9", "train.ema.warmup=true", "train.grad_clip=1", "eval.final=[pgd3]"]).Config;
        var straight = TrainingJob.Run(cfg, Options(TestPaths.TempDir()));
        Assert.True(straight.ExitCode == 0, straight.Summary.Error);
        var ema = straight.Folder.EmaCheckpoint;
        Assert.True(File.Exists(ema));
        using (var model = new SmallCnn())
        using (var sd = Weights.Load(ema)) model.LoadStateDict(sd);
        // The EMA differs from the last weights, and robust eval of the run measures it.
        using (var last = Weights.Load(straight.Folder.LastCheckpoint))
        using (var averaged = Weights.Load(ema))
            Assert.NotEqual(last["f3.weight"].ToArray<float>(), averaged["f3.weight"].ToArray<float>());
        using (var w = Checkpoint.EvaluatedWeights(straight.Folder.BestCheckpoint, out var isEma)) Assert.True(isEma);
        Assert.Contains("validation on the EMA weights", File.ReadAllText(straight.Folder.LogFile));

        using var cts = new CancellationTokenSource();
        var runs = TestPaths.TempDir();
        var stopped = TrainingJob.Run(cfg, Options(runs, cts.Token, _ => new CancelAfter(1, cts)));
        Assert.Equal("interrupted", stopped.Summary.Status);
        var resumed = TrainingJob.Run(cfg, Options(runs), stopped.Folder.Path);
        Assert.Equal(0, resumed.ExitCode);
        static List<string> Rows(string p) => File.ReadAllLines(p).Skip(1).Select(l => string.Join(',', l.Split(',').Take(9))).ToList();
        Assert.Equal(Rows(straight.Folder.MetricsFile), Rows(resumed.Folder.MetricsFile));
        Assert.Equal(straight.Summary.Final, resumed.Summary.Final);
    }

    private sealed class CancelAfter(int epochs, CancellationTokenSource cts) : IProgressReporter
    {
        public void EpochStart(int epoch, int total, int batches) { }
        public void Batch(int epoch, int batch, int batches, double loss, double ips) { }
        public void EpochEnd(RobustCli.Core.Training.EpochMetrics m, int total) { if (m.Epoch >= epochs) cts.Cancel(); }
    }

    [Fact]
    public void OldFlatKeysStillWorkWithAWarningNamingTheNewKey()
    {
        var l = ConfigLoader.LoadText("train: {method: trades, beta: 3}\n", "c.yaml");
        Assert.Equal(3.0, l.Config.Train.MethodOptions["trades"].Double("beta"));
        Assert.Contains(l.Warnings, w => w.StartsWith("c.yaml:1:25: train.beta is deprecated: write train.trades.beta", StringComparison.Ordinal));
        var f = ConfigLoader.LoadText("train: {method: fgsm-rs}\n", "c.yaml", ["train.fgsm_alpha=0.05"]);
        Assert.Equal(0.05, f.Config.Train.MethodOptions["fgsm-rs"].NullableDouble("alpha"));
        Assert.Contains(f.Warnings, w => w.Contains("train.fgsm_rs.alpha"));
        // The new key wins over the old one, and neither is written back.
        var both = ConfigLoader.LoadText("train: {method: trades, beta: 3, trades: {beta: 1}}\n", "c.yaml");
        Assert.Equal(1.0, both.Config.Train.MethodOptions["trades"].Double("beta"));
        Assert.DoesNotContain("\n  beta:", ConfigLoader.ToYaml(both.Config));
        Assert.Equal(1.0, ConfigLoader.LoadText(ConfigLoader.ToYaml(both.Config), "again.yaml").Config.Train.MethodOptions["trades"].Double("beta"));
    }

    [Fact]
    public void TheCleanAccuracyPassIsASwitch()
    {
        var data = TinyData.FashionMnistLike(128, 32);
        var on = TrainingJob.Run(ConfigLoader.LoadText(TinyData.Config(data, "pgd-at", epochs: 1), "c.yaml", ["eval.final=[]"]).Config, Options(TestPaths.TempDir()));
        var off = TrainingJob.Run(ConfigLoader.LoadText(TinyData.Config(data, "pgd-at", epochs: 1), "c.yaml", ["eval.final=[]", "train.log_clean_accuracy=false"]).Config, Options(TestPaths.TempDir()));
        Assert.NotEqual("", LastRow(on.Folder.MetricsFile)["train_clean_acc"]);
        Assert.Equal("", LastRow(off.Folder.MetricsFile)["train_clean_acc"]);
        Assert.NotEqual("", LastRow(off.Folder.MetricsFile)["train_adv_acc"]);
        // The clean pass changes no weight: both runs end with the same adversarial accuracy and loss.
        Assert.Equal(LastRow(on.Folder.MetricsFile)["train_loss"], LastRow(off.Folder.MetricsFile)["train_loss"]);
    }

    [Fact]
    public void ParameterGroupsComeFromTheConfig()
    {
        var data = TinyData.FashionMnistLike(64, 16);
        var frozen = ConfigLoader.LoadText(TinyData.Config(data, "standard", epochs: 1), "c.yaml",
            ["eval.final=[]", "train.param_groups=[{prefix: c1., lr_scale: 0}, {prefix: f3., lr_scale: 2}]"]).Config;
        var r = TrainingJob.Run(frozen, Options(TestPaths.TempDir()));
        Assert.True(r.ExitCode == 0, r.Summary.Error);
        // lr_scale 0 leaves c1 at its initial values: compare with a model built from the same seed.
        torch.ManualSeed(3);
        using var init = new SmallCnn();
        using var sd = Weights.Load(r.Folder.LastCheckpoint);
        Assert.Equal(init.StateDict()["c1.weight"].ToArray<float>(), sd["c1.weight"].ToArray<float>());
        Assert.NotEqual(init.StateDict()["f3.weight"].ToArray<float>(), sd["f3.weight"].ToArray<float>());
        var bad = ConfigLoader.LoadText(TinyData.Config(data, "standard", epochs: 1), "c.yaml", ["train.param_groups=[{prefix: head., lr_scale: 2}]"]).Config;
        Assert.Contains("no parameter name starts with 'head.'", Assert.Throws<ConfigException>(() => TrainingJob.Run(bad, Options(TestPaths.TempDir()))).Message);
    }
}
