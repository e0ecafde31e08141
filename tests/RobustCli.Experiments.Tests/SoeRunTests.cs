using System.Globalization;
using RobustCli.Core.Models;
using RobustCli.Experiments.Config;
using RobustCli.Experiments.Jobs;
using RobustCli.Experiments.Runs;
using RobustCli.Tests.Shared;
using RobustCli.Torch.Serialization;

namespace RobustCli.Experiments.Tests;

/// <summary>An SoE run end to end: its metrics columns, its checkpoint, resume, and the config's checks.</summary>
public sealed class SoeRunTests
{
    private static JobOptions Options(string runs, CancellationToken cancel = default, Func<Serilog.ILogger, IProgressReporter>? progress = null) =>
        new(runs, TestPaths.RepoRoot, new StringWriter(), progress, LogToConsole: true, cancel);

    public static string Config(string data, int epochs = 2) =>
        TinyData.Config(data, "soe", epochs).Replace("model: {arch: smallcnn, normalize: none}", "model: {arch: soe, experts: 2, base: smallcnn, normalize: none}");

    [Fact]
    public void AnSoeRunWritesPerExpertColumnsAndResumesAsAnUninterruptedOne()
    {
        var data = TinyData.FashionMnistLike();
        var cfg = ConfigLoader.LoadText(Config(data, epochs: 3), "soe.yaml").Config;
        var straight = TrainingJob.Run(cfg, Options(TestPaths.TempDir()));
        Assert.Equal(0, straight.ExitCode);
        var lines = File.ReadAllLines(straight.Folder.MetricsFile);
        var header = lines[0].Split(',');
        Assert.Equal(["soe_main_loss", "soe_aux_loss", "val_expert0_clean_acc", "val_expert0_adv_acc", "val_expert0_selected_clean", "val_expert0_selected_adv",
            "val_expert1_clean_acc", "val_expert1_adv_acc", "val_expert1_selected_clean", "val_expert1_selected_adv",
            "val_ensemble_clean_acc", "val_ensemble_adv_acc", "val_oracle_clean_acc", "val_oracle_adv_acc"], header.Skip(11));
        foreach (var row in lines.Skip(1).Select(l => l.Split(',')))
        {
            double V(string column) => double.Parse(row[Array.IndexOf(header, column)], CultureInfo.InvariantCulture);
            Assert.Equal(1.0, V("val_expert0_selected_clean") + V("val_expert1_selected_clean"), 9);
            Assert.Equal(1.0, V("val_expert0_selected_adv") + V("val_expert1_selected_adv"), 9);
            // The oracle (some expert right) bounds every expert, the selection and the ensemble.
            foreach (var c in new[] { "val_expert0_clean_acc", "val_expert1_clean_acc", "val_ensemble_clean_acc", "val_clean_acc" })
                Assert.True(V(c) <= V("val_oracle_clean_acc") + 1e-9, c);
            Assert.True(V("val_robust_acc") <= V("val_oracle_adv_acc") + 1e-9);
            Assert.True(V("soe_main_loss") > 0 && V("soe_aux_loss") > 0);
        }
        // summary.json carries the last epoch's columns, the per-expert ones included.
        var last = RunSummary.Load(straight.Folder.SummaryFile).Last;
        Assert.True(last.ContainsKey("val_expert1_adv_acc") && last.ContainsKey("soe_aux_loss") && last.ContainsKey("val_oracle_clean_acc"), string.Join(", ", last.Keys));
        // It learns: the tiny task is easy.
        Assert.True(straight.Summary.Final["clean"] > 0.5, $"clean {straight.Summary.Final["clean"]}");
        // The checkpoint holds experts.{m}.* and rectifiers.{m}.* (PyTorch: an nn.ModuleList of each).
        using (var sd = Weights.Load(straight.Folder.LastCheckpoint))
        {
            Assert.Contains("experts.1.f3.weight", sd.Keys);
            Assert.Contains("rectifiers.1.weight", sd.Keys);
            using var soe = new SynergyOfExperts("smallcnn", 2, 10, 1, null);
            soe.LoadStateDict(sd);
        }

        ResumeCheck.MatchesStraightRun(cfg, straight);
    }

    [Theory]
    [InlineData("model: {arch: soe, experts: 2, base: smallcnn, normalize: none}", "model: {arch: smallcnn, normalize: none}",
        @"soe\.yaml:\d+:\d+: model\.arch: the soe method trains a model\.arch of soe, not smallcnn; to train SoE sub-models of smallcnn, write model: \{arch: soe, base: smallcnn\}")]
    [InlineData("base: smallcnn", "base: smalcnn", @"soe\.yaml:\d+:\d+: model\.base: unknown architecture 'smalcnn'; did you mean 'smallcnn'\?")]
    [InlineData("experts: 2", "experts: 0", @"soe\.yaml:\d+:\d+: model\.experts: must be in \[1, 64\], got 0")]
    [InlineData("base: smallcnn", "base: soe", @"model\.base: an expert cannot itself be an SoE")]
    [InlineData("base: smallcnn", "base: tiny-denoiser", @"model\.base: tiny-denoiser is not a classifier")]
    [InlineData("model: {arch: soe, experts: 2, base: smallcnn, normalize: none}", "model: {arch: smallcnn, normalize: none}",
        @"eval\.final\[1\]: soe-adaptive3 attacks a model that selects among experts \(model\.arch soe\), not smallcnn")]
    public void BadSoeConfigsAreLocatedAndExplained(string from, string to, string pattern)
    {
        var text = Config("/nonexistent").Replace("final: [pgd3, cw3]", "final: [pgd3, soe-adaptive3]").Replace(from, to);
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(text, "soe.yaml"));
        Assert.Matches(pattern, e.Message);
    }
}
