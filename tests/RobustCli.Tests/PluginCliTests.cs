using System.CommandLine;
using RobustCli.Tests.Plugins;
using RobustCli.Tests.Shared;

namespace RobustCli.Tests;

/// <summary>A method and an attack registered from the test project work in every command, like the built-in ones.</summary>
public sealed class PluginCliTests
{
    [Fact]
    public void ToyMethodAndToyAttackInValidateShowTrainAndEval()
    {
        Toys.Register();
        var data = TinyData.FashionMnistLike();
        var dir = TestPaths.TempDir();
        var config = Path.Combine(dir, "toy.yaml");
        File.WriteAllText(config, TinyData.Config(data, "toy-noise", epochs: 2).Replace("noilin: {tau: 1}", "toy_noise: {noise: 0.25}")
            .Replace("final: [pgd3, cw3]", "final: [pgd3, 'toy-noise:strength=0.5']"));

        var (code, output, err) = InProcessCli.Run("config", "validate", config);
        Assert.True(code == 0, err);
        Assert.Contains("toy-noise on fashion-mnist", output);
        (code, output, err) = InProcessCli.Run("config", "show", config);
        Assert.True(code == 0, err);
        Assert.Contains("  toy_noise:\n    noise: 0.25\n", output);
        (code, output, _) = InProcessCli.Run("config", "list", "methods");
        Assert.Contains("toy-noise: cross entropy on noisy inputs", output);
        Assert.Contains("train.toy_noise.noise (default 0.5; a number in [0, 1])", output);
        (code, output, _) = InProcessCli.Run("config", "list", "attacks");
        Assert.Contains("toy-noise:strength (default 1; a number in [0, 1])", output);

        var bad = Path.Combine(dir, "typo.yaml");
        File.WriteAllText(bad, File.ReadAllText(config).Replace("noise: 0.25", "noize: 0.25"));
        (code, _, err) = InProcessCli.Run("config", "validate", bad);
        Assert.Equal(2, code);
        Assert.Matches(@"typo\.yaml:\d+:\d+: train\.toy_noise\.noize: unknown key; did you mean 'noise'\?", err);
        (code, _, err) = InProcessCli.Run("eval", "--checkpoint", config, "--attack", "toy-noise:strenght=1", "--dataset", "fashion-mnist", "--arch", "smallcnn", "--eps", "0.1");
        Assert.Equal(2, code);
        Assert.Contains("unknown option(s) strenght; did you mean 'strength'?", err);

        var runs = TestPaths.TempDir();
        (code, output, err) = InProcessCli.Run("train", "--config", config, "--runs-dir", runs, "--no-progress");
        Assert.True(code == 0, err);
        var run = Directory.GetDirectories(Path.Combine(runs, "tiny")).Single();
        Assert.Contains("toy_noise", File.ReadAllLines(Path.Combine(run, "metrics.csv"))[0]);
        Assert.Contains("toy-noise:strength=0.5", File.ReadAllText(Path.Combine(run, "config.yaml")));
        Assert.Contains("toy-noise", string.Join("\n", File.ReadAllLines(Path.Combine(run, "final_eval.csv"))));

        var csv = Path.Combine(dir, "eval.csv");
        (code, output, err) = InProcessCli.Run("eval", "--checkpoint", run, "--attack", "toy-noise:strength=0.5", "--attack", "pgd3", "--n", "32", "--out", csv);
        Assert.True(code == 0, err);
        // An attack given with options is named as written.
        Assert.Equal(["attack,accuracy,seconds,n", "clean", "toy-noise:strength=0.5", "pgd3", "worst_case"], File.ReadAllLines(csv).Select((r, i) => i == 0 ? r : r.Split(',')[0]));
        // Random noise of half the budget breaks fewer points than PGD on the same model.
        double Acc(string name) => double.Parse(File.ReadAllLines(csv).First(l => l.StartsWith(name + ",", StringComparison.Ordinal)).Split(',')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(Acc("toy-noise:strength=0.5") >= Acc("pgd3"));
    }
}
