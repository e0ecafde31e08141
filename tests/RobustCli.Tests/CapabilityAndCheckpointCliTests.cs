using System.Globalization;
using RobustCli.Core.Models;
using RobustCli.Tests.Plugins;
using RobustCli.Tests.Shared;
using RobustCli.Torch.Serialization;

namespace RobustCli.Tests;

/// <summary>
/// Declared capabilities: a toy model with two named outputs and a toy attack that requires one of them, registered
/// from the tests, are refused and accepted by config validation and robust eval with no line about them in generic
/// code. And robust eval --which best|last on a run folder.
/// </summary>
public sealed class CapabilityAndCheckpointCliTests
{
    private static double Row(string csv, string name) => double.Parse(
        File.ReadAllLines(csv).First(l => l.StartsWith(name + ",", StringComparison.Ordinal)).Split(',')[1], CultureInfo.InvariantCulture);

    [Fact]
    public void AnAttackNeedingAnOutputIsRefusedWhereTheModelLacksItAndRunsWhereItHasIt()
    {
        Toys.RegisterCapabilities();
        var data = TinyData.FashionMnistLike();
        var dir = TestPaths.TempDir();

        // Refused before training: the config's model does not offer the aux head the attack reads.
        var plain = Path.Combine(dir, "plain.yaml");
        File.WriteAllText(plain, TinyData.Config(data, epochs: 1).Replace("final: [pgd3, cw3]", "final: [pgd3, toy-aux]"));
        var (code, _, err) = InProcessCli.Run("config", "validate", plain);
        Assert.Equal(2, code);
        Assert.Matches(@"plain\.yaml:\d+:\d+: eval\.final\[1\]: toy-aux attacks a model with an aux head \(model\.arch toy-two-output\), not smallcnn", err);
        File.WriteAllText(plain, TinyData.Config(data, epochs: 1).Replace("test_attack: pgd3", "test_attack: toy-aux"));
        (code, _, err) = InProcessCli.Run("config", "validate", plain);
        Assert.Equal(2, code);
        Assert.Contains("eval.test_attack: toy-aux attacks a model with an aux head (model.arch toy-two-output), not smallcnn", err);

        // Accepted, trained and evaluated where the model offers it.
        var toy = Path.Combine(dir, "toy.yaml");
        File.WriteAllText(toy, TinyData.Config(data, epochs: 2).Replace("arch: smallcnn", "arch: toy-two-output")
            .Replace("final: [pgd3, cw3]", "final: [pgd3, toy-aux]").Replace("test_attack: pgd3", "test_attack: toy-aux"));
        (code, _, err) = InProcessCli.Run("config", "validate", toy);
        Assert.True(code == 0, err);
        var runs = TestPaths.TempDir();
        (code, _, err) = InProcessCli.Run("train", "--config", toy, "--runs-dir", runs, "--no-progress");
        Assert.True(code == 0, err);
        var run = Directory.GetDirectories(Path.Combine(runs, "tiny")).Single();
        var final = Path.Combine(run, "final_eval.csv");
        Assert.True(Row(final, "clean") > 0.5, File.ReadAllText(final));
        Assert.True(Row(final, "toy-aux") <= Row(final, "clean"), File.ReadAllText(final));
        var csv = Path.Combine(dir, "eval.csv");
        (code, _, err) = InProcessCli.Run("eval", "--checkpoint", run, "--attack", "toy-aux", "--out", csv, "--which", "last", "--seed", "3", "--n", "48");
        Assert.True(code == 0, err);
        Assert.Equal(Row(final, "clean"), Row(csv, "clean"), 6);
        Assert.Equal(Row(final, "toy-aux"), Row(csv, "toy-aux"), 6);

        // Refused at load: a weights file of a model without the head, and a view of one output of the toy model.
        var weights = Path.Combine(dir, "smallcnn.pt");
        using (var m = ModelFactory.Create(new ModelSpec("smallcnn", 10, 1, null))) Weights.Save(weights, m);
        (code, _, err) = InProcessCli.Run("eval", "--checkpoint", weights, "--arch", "smallcnn", "--dataset", "fashion-mnist", "--data-path", data,
            "--eps", "0.1", "--attack", "toy-aux");
        Assert.Equal(2, code);
        Assert.Contains("--attack toy-aux: it attacks a model with an aux head (model.arch toy-two-output), not smallcnn", err);
        (code, _, err) = InProcessCli.Run("eval", "--checkpoint", run, "--attack", "toy-aux", "--output", "aux");
        Assert.Equal(2, code);
        Assert.Contains("it attacks a model with an aux head (model.arch toy-two-output), not its output aux", err);
    }

    [Fact]
    public void WhichPicksTheBestOrTheLastCheckpointAndSaysSo()
    {
        var run = InProcessCli.TinyPgdAtRun;
        var dir = TestPaths.TempDir();
        var last = Path.Combine(dir, "last.csv");
        var (code, output, err) = InProcessCli.Run("eval", "--checkpoint", run, "--attack", "pgd3", "--which", "last", "--seed", "3", "--out", last);
        Assert.True(code == 0, err);
        Assert.Contains("last.pt (last checkpoint)", output);
        Assert.Contains("\"which\": \"last\"", File.ReadAllText(Path.ChangeExtension(last, ".json")));
        // The last checkpoint is the model the run's own final evaluation measured: the same numbers.
        var final = Path.Combine(run, "final_eval.csv");
        Assert.Equal(Row(final, "clean"), Row(last, "clean"), 6);
        Assert.Equal(Row(final, "pgd3"), Row(last, "pgd3"), 6);

        var best = Path.Combine(dir, "best.csv");
        (code, output, err) = InProcessCli.Run("eval", "--checkpoint", run, "--attack", "pgd3", "--out", best);
        Assert.True(code == 0, err);
        Assert.Contains("best.pt (best checkpoint)", output);
        Assert.Contains("\"which\": \"best\"", File.ReadAllText(Path.ChangeExtension(best, ".json")));

        (code, _, err) = InProcessCli.Run("eval", "--checkpoint", Path.Combine(run, "checkpoints", "last.pt"), "--which", "last");
        Assert.Equal(2, code);
        Assert.Contains("--which last: picks a run folder's checkpoint", err);
        (code, _, err) = InProcessCli.Run("eval", "--checkpoint", run, "--which", "first");
        Assert.Equal(2, code);
        Assert.Contains("--which first: expected best or last", err);
    }

    [Fact]
    public void OptimizersAndSchedulesAreRegistriesWithDeclaredOptions()
    {
        var (code, output, err) = InProcessCli.Run("config", "list", "optimizers");
        Assert.True(code == 0, err);
        Assert.Contains("sgd: stochastic gradient descent", output);
        Assert.Contains("train.optimizer.momentum (default 0.9", output);
        Assert.Contains("adamw: AdamW", output);
        (code, output, err) = InProcessCli.Run("config", "list", "schedules");
        Assert.True(code == 0, err);
        Assert.Contains("onecycle: piecewise linear", output);
        Assert.Contains("train.schedule.peak_fraction (default 0.4", output);
        Assert.Contains("train.schedule.milestones", output);
        // An optimizer registered from outside is named in a config like a built-in one.
        RobustCli.Core.Training.Optimizers.Registry.Register(RobustCli.Core.Training.Optimizers.Sgd with { Name = "toy-sgd" });
        var data = TinyData.FashionMnistLike(64, 16);
        var config = Path.Combine(TestPaths.TempDir(), "c.yaml");
        File.WriteAllText(config, TinyData.Config(data, epochs: 1).Replace("name: adam, lr: 0.002", "name: toy-sgd, lr: 0.002"));
        (code, _, err) = InProcessCli.Run("config", "validate", config);
        Assert.True(code == 0, err);
        File.WriteAllText(config, TinyData.Config(data, epochs: 1).Replace("name: adam, lr: 0.002", "name: adamm, lr: 0.002"));
        (code, _, err) = InProcessCli.Run("config", "validate", config);
        Assert.Equal(2, code);
        Assert.Contains("train.optimizer.name: 'adamm' is not one of sgd, adam, adamw", err);
        Assert.Contains("did you mean 'adam'?", err);
    }

    [Fact]
    public void AToyTaskTrainsEvaluatesAndIsReportedWithNoLineInGenericCode()
    {
        Toys.RegisterTask();
        var data = TinyData.FashionMnistLike(512, 64);
        var dir = TestPaths.TempDir();
        var config = Path.Combine(dir, "toy-task.yaml");
        File.WriteAllText(config, TinyData.Config(data, "toy-fit", epochs: 3).Replace("arch: smallcnn", "arch: toy-regressor")
            .Replace("final: [pgd3, cw3]", "final: [pgd3]").Replace("name: tiny", "name: tiny\ntask: {name: toy-regression}"));
        var (code, output, err) = InProcessCli.Run("config", "validate", config);
        Assert.True(code == 0, err);
        var runs = TestPaths.TempDir();
        (code, output, err) = InProcessCli.Run("train", "--config", config, "--runs-dir", runs, "--no-progress");
        Assert.True(code == 0, err + output);
        var run = Directory.GetDirectories(Path.Combine(runs, "tiny")).Single();
        var metrics = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        Assert.Contains("val_robust_neg_mse", metrics[0]);
        // It learns: the training error falls from the first epoch to the last.
        var column = Array.IndexOf(metrics[0].Split(','), "train_clean_neg_mse");
        double Train(int epoch) => double.Parse(metrics[epoch].Split(',')[column], CultureInfo.InvariantCulture);
        Assert.True(Train(3) > Train(1), string.Join("\n", metrics));
        // The final evaluation: the task's own rows, and the attack hurts.
        var final = File.ReadAllLines(Path.Combine(run, "final_eval.csv"));
        Assert.Equal("attack,neg_mse,seconds,n", final[0]);
        Assert.Equal(["clean", "pgd3"], final.Skip(1).Select(r => r.Split(',')[0]));
        Assert.True(Row(Path.Combine(run, "final_eval.csv"), "pgd3") < Row(Path.Combine(run, "final_eval.csv"), "clean"), string.Join("\n", final));
        Assert.Equal(1 + 48, File.ReadAllLines(Path.Combine(run, "final_eval_samples.csv")).Length);
        // robust eval measures the last checkpoint the same way.
        var csv = Path.Combine(dir, "eval.csv");
        (code, output, err) = InProcessCli.Run("eval", "--checkpoint", run, "--which", "last", "--attack", "pgd3", "--out", csv, "--seed", "0");
        Assert.True(code == 0, err + output);
        Assert.Contains("neg_mse", output);
        Assert.Equal(Row(Path.Combine(run, "final_eval.csv"), "clean"), Row(csv, "clean"), 6);
        Assert.Contains("\"scores\"", File.ReadAllText(Path.ChangeExtension(csv, ".json")));
        // robust report shows it beside its swept keys.
        var reportDir = Path.Combine(dir, "report");
        (code, output, err) = InProcessCli.Run("report", run, "--out", reportDir);
        Assert.True(code == 0, err + output);
        var md = File.ReadAllText(Directory.GetFiles(reportDir, "*.md").Single());
        Assert.Contains("toy-fit", md);
        Assert.Contains("pgd3", md);
        // Flags that only a robust accuracy takes are refused with the task named.
        (code, _, err) = InProcessCli.Run("eval", "--checkpoint", run, "--attack", "pgd3", "--shard", "1/2");
        Assert.Equal(2, code);
        Assert.Contains("the toy-regression task's evaluation is not a robust accuracy", err);
    }
}
