using System.Globalization;
using RobustCli.Experiments.Config;
using RobustCli.Experiments.Jobs;
using RobustCli.Experiments.Runs;
using RobustCli.Tests.Shared;

namespace RobustCli.Experiments.Tests;

/// <summary>Denoising runs end to end on picture folders: HAT learns, evaluates with PSNR/SSIM, resumes exactly; bad configs are explained.</summary>
public sealed class DenoisingRunTests
{
    private static JobOptions Options(string runs, CancellationToken cancel = default, Func<Serilog.ILogger, IProgressReporter>? progress = null) =>
        new(runs, TestPaths.RepoRoot, new StringWriter(), progress, LogToConsole: true, cancel);

    /// <summary>bsd400 read from a temporary folder of synthetic pictures, tested on a set12 folder of others.</summary>
    public static string Config(string method = "hat", int epochs = 3)
    {
        var train = TinyPictures.Folder(6, 40, seed: 1);
        var test = TinyPictures.Folder(3, 36, seed: 2);
        return $"""
            name: tiny-hat
            seed: 0
            task: {"{"}name: denoise, sigma: [0, 55], eval_sigmas: [25]{"}"}
            data: {"{"}name: bsd400, path: {train}, test_set: set12, test_path: {test}, val_size: 1, patch_size: 24, repeat: 64{"}"}
            model: {"{"}arch: dncnn, depth: 4, features: 12, normalize: none{"}"}
            train:
              method: {method}
              epochs: {epochs}
              batch_size: 16
              optimizer: {"{"}name: adam, lr: 0.003, weight_decay: 0{"}"}
              schedule: {"{"}name: constant{"}"}
            eval: {"{"}batch_size: 4, val_attack: obsatk3, test_attack: obsatk3, test_every: 2, final: [obsatk3, gaussian-noise]{"}"}
            """;
    }

    [Fact]
    public void HatOnPictureFoldersLearnsEvaluatesAndResumesAsAnUninterruptedRun()
    {
        var cfg = ConfigLoader.LoadText(Config(), "hat.yaml").Config;
        var straight = TrainingJob.Run(cfg, Options(TestPaths.TempDir()));
        Assert.True(straight.ExitCode == 0, straight.Summary.Error);
        var lines = File.ReadAllLines(straight.Folder.MetricsFile);
        var header = lines[0].Split(',');
        Assert.Equal(["hat_obs_loss", "hat_adv_loss"], header.Skip(11));
        double V(string[] row, string column) => row[Array.IndexOf(header, column)] is { Length: > 0 } v ? double.Parse(v, CultureInfo.InvariantCulture) : double.NaN;
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        // 5 training pictures x 64 patches per epoch.
        Assert.All(rows, r => Assert.True(V(r, "hat_adv_loss") > 0 && V(r, "hat_obs_loss") > V(r, "hat_adv_loss")));
        // The noisy input at sigma 25 is about 20.2 dB; the denoiser beats it on the validation picture, and ObsAtk costs something.
        Assert.True(V(rows[^1], "val_clean_psnr") > 21, $"val PSNR {V(rows[^1], "val_clean_psnr")}");
        Assert.True(V(rows[^1], "val_robust_psnr") < V(rows[^1], "val_clean_psnr"));
        Assert.True(double.IsFinite(V(rows[1], "test_robust_psnr")) && double.IsNaN(V(rows[0], "test_robust_psnr")), "test_every: 2");
        var final = File.ReadAllLines(straight.Folder.FinalEvalFile);
        Assert.Equal("condition,sigma,observation_sigma,psnr,ssim,seconds,n", final[0]);
        Assert.Equal(["noise-free,0,0", "gaussian,25,25", "obsatk3,25,20", "gaussian-noise,25,20"], final.Skip(1).Select(l => string.Join(",", l.Split(',').Take(3))));
        Assert.All(final.Skip(1), l => Assert.EndsWith(",3", l));
        var s = straight.Summary.Final;
        Assert.True(s["psnr obsatk3@25"] < s["psnr gaussian@25"] + 3, string.Join(", ", s));
        Assert.InRange(s["ssim gaussian@25"]!.Value, 0.05, 1.0);
        var samples = File.ReadAllLines(Path.Combine(straight.Folder.Path, "final_eval_samples.csv"));
        Assert.Equal("image,condition,sigma,psnr,ssim", samples[0]);
        Assert.Equal(1 + 4 * 3, samples.Length);
        Assert.StartsWith("pic00.png,noise-free,0,", samples[1]);

        // Killed after the first epoch and resumed: the same rows (patches and noise are drawn per seed, epoch and sample).
        ResumeCheck.MatchesStraightRun(cfg, straight);
    }

    [Theory]
    [InlineData("standard")]
    [InlineData("vanilla-at")]
    public void NormalAndVanillaAdversarialTrainingRunOnTheSameData(string method)
    {
        var cfg = ConfigLoader.LoadText(Config(method, epochs: 3), "d.yaml", ["eval.final=[obsatk3]", "eval.test_every=0"]).Config;
        var r = TrainingJob.Run(cfg, Options(TestPaths.TempDir()));
        Assert.True(r.ExitCode == 0, r.Summary.Error);
        Assert.True(r.Summary.Final["psnr gaussian@25"] > 21, string.Join(", ", r.Summary.Final));
        Assert.DoesNotContain("hat_obs_loss", File.ReadAllLines(r.Folder.MetricsFile)[0]);
    }

    [Theory]
    [InlineData("name: bsd400", "name: fashion-mnist", @"data\.test_set: a test set of pictures goes with a training set of pictures")]
    [InlineData("name: denoise", "name: classification", @"data\.name: bsd400 is a folder of pictures without labels: it trains the denoise task")]
    [InlineData("method: hat", "method: trades", @"train\.method: trades does not train the denoise task; methods that do: standard, pgd-at, hat, vanilla-at")]
    [InlineData("test_set: set12", "test_set: set13", @"data\.test_set: 'set13' is not one of .*did you mean 'set12'\?")]
    [InlineData("sigma: [0, 55]", "sigma: [55, 0]", @"task\.sigma: an interval is \[low, high\] with low <= high")]
    [InlineData("final: [obsatk3, gaussian-noise]", "final: [obsatk3, cw20]", @"eval\.final\[1\]: attack 'cw20' attacks classifiers only")]
    [InlineData("arch: dncnn, depth: 4", "arch: dncnn, depth: 2", @"model\.depth: must be at least 3, got 2")]
    public void BadDenoisingConfigsAreLocatedAndExplained(string from, string to, string pattern)
    {
        var original = Config();
        var yaml = original.Replace(from, to);
        Assert.NotEqual(original, yaml);
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(yaml, "hat.yaml"));
        Assert.Matches(pattern, e.Message);
    }

    [Fact]
    public void ObsAtkIsRefusedForAClassifierAndTheRecipesLoad()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(TinyData.Config(TinyData.FashionMnistLike()).Replace("final: [pgd3, cw3]", "final: [pgd3, obsatk5]"), "c.yaml"));
        Assert.Contains("attacks denoisers", e.Message);
        foreach (var recipe in new[] { "hat.yaml", "hat-color.yaml", "hat-quickstart.yaml" })
        {
            var c = ConfigLoader.Load(Path.Combine(TestPaths.RepoRoot, "configs", recipe)).Config;
            Assert.Equal("denoise", c.Task.Name);
            Assert.Equal("hat", c.Train.Method);
        }
        var gray = ConfigLoader.Load(Path.Combine(TestPaths.RepoRoot, "configs", "hat.yaml")).Config;
        Assert.Equal((0.0, 55.0), gray.Task.Options!.Range("sigma"));
        Assert.Equal(1.0, gray.Train.MethodOptions["hat"].Double("alpha"));
        Assert.Equal(2.0, ConfigLoader.Load(Path.Combine(TestPaths.RepoRoot, "configs", "hat-color.yaml")).Config.Train.MethodOptions["hat"].Double("alpha"));
        // The range survives the resolved config.yaml a run writes.
        var again = ConfigLoader.LoadText(ConfigLoader.ToYaml(gray), "again.yaml").Config;
        Assert.Equal((0.0, 55.0), again.Task.Options!.Range("sigma"));
    }

    [Fact]
    public void AMissingPictureSetNamesWhereItLookedBeforeARunFolderExists()
    {
        var runs = TestPaths.TempDir();
        var yaml = System.Text.RegularExpressions.Regex.Replace(Config().Replace("test_set: set12", "test_set: kodak24"), "test_path: [^,]+,", "test_path: /nonexistent/kodak,");
        var cfg = ConfigLoader.LoadText(yaml, "hat.yaml").Config;
        var e = Assert.Throws<RobustCli.Core.Data.DatasetNotFoundException>(() => TrainingJob.Run(cfg, Options(runs)));
        Assert.Contains("kodak24", e.Message);
        Assert.Contains("kodim01.png", e.Message);
        Assert.Empty(Directory.GetDirectories(runs));
    }
}
