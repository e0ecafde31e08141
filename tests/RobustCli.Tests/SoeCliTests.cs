using System.CommandLine;
using System.Globalization;
using RobustCli.Tests.Shared;

namespace RobustCli.Tests;

/// <summary>robust train and eval on an SoE: its outputs, the adaptive attack, transfer between runs.</summary>
public sealed class SoeCliTests
{
    private static double Acc(string csv, string name) =>
        double.Parse(File.ReadAllLines(csv).First(l => l.StartsWith(name + ",", StringComparison.Ordinal)).Split(',')[1], CultureInfo.InvariantCulture);

    [Fact]
    public void EvalReadsAnExpertTheEnsembleTransfersAndAttacksTheSelection()
    {
        var data = TinyData.FashionMnistLike();
        var dir = TestPaths.TempDir();
        var soeConfig = Path.Combine(dir, "soe.yaml");
        File.WriteAllText(soeConfig, TinyData.Config(data, "soe", 2).Replace("model: {arch: smallcnn, normalize: none}", "model: {arch: soe, experts: 2, base: smallcnn, normalize: none}")
            .Replace("name: tiny", "name: tiny-soe"));
        var plainConfig = Path.Combine(dir, "plain.yaml");
        File.WriteAllText(plainConfig, TinyData.Config(data, "pgd-at", 2));
        var runs = TestPaths.TempDir();
        foreach (var c in new[] { soeConfig, plainConfig })
        {
            var (code, _, err) = InProcessCli.Run("train", "--config", c, "--runs-dir", runs, "--no-progress");
            Assert.True(code == 0, err);
        }
        var soe = Directory.GetDirectories(Path.Combine(runs, "tiny-soe")).Single();
        var plain = Directory.GetDirectories(Path.Combine(runs, "tiny")).Single();

        var selected = Path.Combine(dir, "selected.csv");
        var (rc, output, error) = InProcessCli.Run("eval", "--checkpoint", soe, "--attack", "pgd3", "--attack", "soe-adaptive3", "--n", "48", "--out", selected);
        Assert.True(rc == 0, error);
        Assert.True(Acc(selected, "soe-adaptive3") <= Acc(selected, "clean"));
        foreach (var output_ in new[] { "expert0", "expert1", "ensemble" })
        {
            var csv = Path.Combine(dir, output_ + ".csv");
            (rc, output, error) = InProcessCli.Run("eval", "--checkpoint", soe, "--attack", "pgd3", "--n", "48", "--output", output_, "--out", csv);
            Assert.True(rc == 0, error);
            Assert.Contains($"soe/{output_} on fashion-mnist", output);
            Assert.DoesNotContain("train mode", output + error);
        }
        // Transfer: examples crafted on the plain run, answered by the SoE; and the same examples saved and read back.
        var transfer = Path.Combine(dir, "transfer.csv");
        var saved = Path.Combine(dir, "adv.safetensors");
        (rc, output, error) = InProcessCli.Run("eval", "--checkpoint", soe, "--attack", "pgd3", "--n", "48", "--transfer-from", plain, "--out", transfer, "--save-adv", saved);
        Assert.True(rc == 0, error);
        Assert.Contains("transfer: examples from", output);
        var again = Path.Combine(dir, "again.csv");
        (rc, _, error) = InProcessCli.Run("eval", "--checkpoint", soe, "--attack", "pgd3", "--n", "48", "--transfer-from", saved, "--out", again);
        Assert.True(rc == 0, error);
        Assert.Equal(Acc(transfer, "pgd3"), Acc(again, "pgd3"));
        Assert.Equal(Acc(selected, "clean"), Acc(transfer, "clean"));

        foreach (var (args, message) in new (string[], string)[]
                 {
                     (["--output", "scores"], "has no such output of logits; it has logits, expert0, expert1, ensemble"),
                     (["--output", "expert0", "--attack", "soe-adaptive3"], "attacks a model that selects among experts"),
                     (["--transfer-from", Path.Combine(dir, "missing")], "no such file or run folder"),
                     (["--transfer-from", plain, "--state", Path.Combine(dir, "s.json")], "not resumable"),
                 })
        {
            (rc, _, error) = InProcessCli.Run(["eval", "--checkpoint", soe, "--n", "8", .. args]);
            Assert.Equal(2, rc);
            Assert.Contains(message, error);
        }
        (rc, _, error) = InProcessCli.Run("eval", "--checkpoint", plain, "--n", "8", "--output", "expert0");
        Assert.Equal(2, rc);
        Assert.Contains("has one output", error);
    }
}
