using System.CommandLine;
using System.Globalization;
using RobustCli.Tests.Shared;

namespace RobustCli.Tests;

/// <summary>A GAT run from the command line: trained, then evaluated from its folder with its heads rebuilt.</summary>
public sealed class GatCliTests
{
    [Fact]
    public void EvalRebuildsTheMultiTaskModelOfAGatRunAndScoresItsMainTask()
    {
        var data = TinyData.FashionMnistLike(128, 32);
        var dir = TestPaths.TempDir();
        var config = Path.Combine(dir, "gat.yaml");
        File.WriteAllText(config, TinyData.Config(data, "gat", 2)
            .Replace("model: {arch: smallcnn, normalize: none}", "model: {arch: multitask-resnet18, normalize: none}")
            .Replace("  noilin: {tau: 1}", "  noilin: {tau: 1}\n  gat: {tasks: [rotation, jigsaw, macro], weighting: ew}")
            .Replace("final: [pgd3, cw3]", "final: [pgd3]").Replace("name: tiny", "name: tiny-gat"));
        var runs = TestPaths.TempDir();
        var (code, _, err) = InProcessCli.Run("train", "--config", config, "--runs-dir", runs, "--no-progress");
        Assert.True(code == 0, err);
        var run = Directory.GetDirectories(Path.Combine(runs, "tiny-gat")).Single();
        var csv = Path.Combine(dir, "eval.csv");
        // The final evaluation measures the weights training ended with (last.pt); best.pt can be another epoch's.
        var (rc, output, error) = InProcessCli.Run("eval", "--checkpoint", run, "--which", "last", "--attack", "pgd3", "--out", csv);
        Assert.True(rc == 0, error + output);
        double Acc(string file, string name) =>
            double.Parse(File.ReadAllLines(file).First(l => l.StartsWith(name + ",", StringComparison.Ordinal)).Split(',')[1], CultureInfo.InvariantCulture);
        // The same main head on the same test images: the clean accuracy the run reported.
        Assert.Equal(Acc(Path.Combine(run, "final_eval.csv"), "clean"), Acc(csv, "clean"), 6);
        Assert.True(Acc(csv, "pgd3") <= Acc(csv, "clean"));

        // The weights file alone, without its run's config (the default width, as an official ResNet-18 has): the heads are read from its keys.
        var bare = Path.Combine(dir, "gat-last.pt");
        File.Copy(Path.Combine(run, "checkpoints", "last.pt"), bare);
        var csv2 = Path.Combine(dir, "bare.csv");
        (rc, output, error) = InProcessCli.Run("eval", "--checkpoint", bare, "--arch", "multitask-resnet18", "--dataset", "fashion-mnist",
            "--data-path", data, "--n", "48", "--eps", "0.1", "--attack", "pgd3", "--out", csv2);
        Assert.True(rc == 0, error + output);
        Assert.Equal(Acc(csv, "clean"), Acc(csv2, "clean"), 6);
    }
}
