using System.CommandLine;
using System.Globalization;
using RobustCli.Tests.Shared;

namespace RobustCli.Tests;

/// <summary>robust eval on a CIFS model: the joint-loss attack through the masks, and its refusal elsewhere.</summary>
public sealed class CifsCliTests
{
    [Fact]
    public void EvalAttacksTheJointLossOfACifsModelAndRefusesItForOthers()
    {
        var data = TinyData.FashionMnistLike(128, 32);
        var dir = TestPaths.TempDir();
        var config = Path.Combine(dir, "cifs.yaml");
        File.WriteAllText(config, TinyData.Config(data, "cifs", 2).Replace("model: {arch: smallcnn, normalize: none}", "model: {arch: cifs-resnet18, width: 8, normalize: none}")
            .Replace("final: [pgd3, cw3]", "final: []").Replace("name: tiny", "name: tiny-cifs"));
        var plain = Path.Combine(dir, "plain.yaml");
        File.WriteAllText(plain, TinyData.Config(data, "standard", 1).Replace("final: [pgd3, cw3]", "final: []"));
        var runs = TestPaths.TempDir();
        foreach (var c in new[] { config, plain })
        {
            var (code, _, err) = InProcessCli.Run("train", "--config", c, "--runs-dir", runs, "--no-progress");
            Assert.True(code == 0, err);
        }
        var cifs = Directory.GetDirectories(Path.Combine(runs, "tiny-cifs")).Single();
        var csv = Path.Combine(dir, "eval.csv");
        var (rc, output, error) = InProcessCli.Run("eval", "--checkpoint", cifs, "--attack", "cifs-pgd5", "--attack", "cifs-pgd5:joint=false", "--out", csv);
        Assert.True(rc == 0, error + output);
        double Acc(string name) => double.Parse(File.ReadAllLines(csv).First(l => l.StartsWith(name + ",", StringComparison.Ordinal)).Split(',')[1], CultureInfo.InvariantCulture);
        Assert.True(Acc("cifs-pgd5") <= Acc("clean") && Acc("cifs-pgd5:joint=false") <= Acc("clean"));
        var tiny = Directory.GetDirectories(Path.Combine(runs, "tiny")).Single();
        (rc, _, error) = InProcessCli.Run("eval", "--checkpoint", tiny, "--attack", "cifs-pgd5");
        Assert.Equal(2, rc);
        Assert.Contains("CIFS probes", error);
    }
}
