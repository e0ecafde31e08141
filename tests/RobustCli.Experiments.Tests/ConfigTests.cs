using RobustCli.Experiments.Config;
using RobustCli.Tests.Shared;

namespace RobustCli.Experiments.Tests;

public sealed class ConfigTests
{
    private static ConfigException Bad(string yaml, params string[] sets) =>
        Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(yaml, "c.yaml", sets));

    [Fact]
    public void TypoNamesFileLineColumnKeyAndTheClosestKey()
    {
        var e = Bad("name: x\ntrain:\n  epochz: 3\n");
        Assert.StartsWith("c.yaml:3:3: train.epochz: unknown key; did you mean 'epochs'?", e.Message);
        Assert.Contains("Valid keys here: method, epochs", e.Message);
    }

    [Fact]
    public void WrongTypesSayWhatWasExpected()
    {
        Assert.StartsWith("c.yaml:2:11: train.epochs: expected an integer, got 'ten'", Bad("train:\n  epochs: ten\n").Message);
        Assert.StartsWith("c.yaml:1:15: attack.eps: expected a number", Bad("attack: {eps: abc}\n").Message);
        Assert.Contains("train.schedule.milestones: expected a list", Bad("train: {schedule: {milestones: 5}}\n").Message);
        Assert.Contains("data.flip: expected true or false", Bad("data: {flip: maybe}\n").Message);
        Assert.Contains("c.yaml:1:1: a config must be a mapping", Bad("- a\n- b\n").Message);
        Assert.Contains("invalid YAML", Bad("train: [unclosed\n").Message);
    }

    [Fact]
    public void UnknownTopLevelKeyAndBadValuesWithSuggestions()
    {
        Assert.Contains("modle: unknown key; did you mean 'model'?", Bad("modle: {arch: wrn}\n").Message);
        Assert.Contains("c.yaml:1:14: data.name: 'cifar-10' is not one of", Bad("data: {name: cifar-10}\n").Message);
        Assert.Contains("did you mean 'cifar10'?", Bad("data: {name: cifar-10}\n").Message);
        Assert.Contains("train.method: 'trade' is not one of", Bad("train: {method: trade}\n").Message);
        Assert.Contains("pixel units", Bad("attack: {eps: 8}\n").Message);
        Assert.Contains("eval.final[1]: unknown attack 'pgdx'", Bad("eval: {final: [pgd20, pgdx]}\n").Message);
        Assert.Contains("train.epochs: must be at least 1", Bad("train: {epochs: 0}\n").Message);
    }

    [Fact]
    public void SetOverridesAreValidatedTheSameWay()
    {
        var c = ConfigLoader.LoadText("train: {beta: 6}\n", "c.yaml", ["train.beta=3", "train.schedule.milestones=[50, 75]", "attack.eps=8/255", "data.flip=true"]).Config;
        Assert.Equal(3.0, c.Train.Beta);
        Assert.Equal([50, 75], c.Train.Schedule.Milestones);
        Assert.Equal(8.0 / 255, c.Attack.Eps, 15);
        Assert.True(c.Data.Flip);
        Assert.StartsWith("--set train.beta=abc: train.beta: expected a number", Bad("", "train.beta=abc").Message);
        Assert.Contains("--set train.betta=3: unknown key 'train.betta'; did you mean 'beta'?", Bad("", "train.betta=3").Message);
        Assert.Contains("expected key.path=value", Bad("", "train.beta").Message);
    }

    [Fact]
    public void ResolvedYamlLoadsBackToTheSameConfig()
    {
        var c = ConfigLoader.LoadText("train: {method: noilin, noilin: {tau: 4}}\nattack: {eps: 8/255}\n", "c.yaml").Config;
        var yaml = ConfigLoader.ToYaml(c);
        Assert.Contains("half_cap_until_epoch: 90", yaml);
        Assert.Equal(yaml, ConfigLoader.ToYaml(ConfigLoader.LoadText(yaml, "again.yaml").Config));
    }

    [Fact]
    public void EveryShippedConfigIsValid()
    {
        var files = Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "configs"), "*.yaml");
        Assert.Contains(files, f => f.EndsWith("quickstart.yaml", StringComparison.Ordinal));
        foreach (var f in new[] { "noilin", "pgd-at", "trades", "mart", "fat", "fgsm-rs" })
            Assert.Equal(f == "noilin" ? "noilin" : f, ConfigLoader.Load(Path.Combine(TestPaths.RepoRoot, "configs", f + ".yaml")).Config.Train.Method);
        foreach (var f in files) ConfigLoader.Load(f);
    }

    [Fact]
    public void SweepExpandsToTheGridInOrder()
    {
        var path = Path.Combine(TestPaths.TempDir(), "s.yaml");
        File.WriteAllText(path, "name: s\ntrain: {method: trades}\nsweep:\n  train.beta: [1, 3, 6]\n  seed: [0, 1]\n");
        var jobs = RobustCli.Experiments.Jobs.Sweep.Expand(path, ["train.epochs=2"]);
        Assert.Equal(6, jobs.Count);
        Assert.Equal("train.beta=1 seed=0", jobs[0].Label);
        Assert.Equal("train.beta=6 seed=1", jobs[5].Label);
        Assert.Equal([1.0, 1, 3, 3, 6, 6], jobs.Select(j => j.Config.Train.Beta));
        Assert.Equal([0, 1, 0, 1, 0, 1], jobs.Select(j => j.Config.Seed));
        Assert.All(jobs, j => Assert.Equal(2, j.Config.Train.Epochs));
        File.WriteAllText(path, "sweep:\n  train.beta: [1, x]\n");
        Assert.Contains("--set train.beta=x", Assert.Throws<ConfigException>(() => RobustCli.Experiments.Jobs.Sweep.Expand(path, [])).Message);
        File.WriteAllText(path, "sweep:\n  train.beta: 3\n");
        Assert.Contains("expected a non-empty list", Assert.Throws<ConfigException>(() => RobustCli.Experiments.Jobs.Sweep.Expand(path, [])).Message);
    }
}
