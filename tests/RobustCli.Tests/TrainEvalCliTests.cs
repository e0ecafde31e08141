using System.CommandLine;
using RobustCli.Tests.Shared;

namespace RobustCli.Tests;

/// <summary>The commands end to end on tiny data the tests make: train, eval, runs, config, sweep, resume after a kill.</summary>
public sealed class TrainEvalCliTests
{
    private static string WriteConfig(string yaml)
    {
        var path = Path.Combine(TestPaths.TempDir(), "tiny.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public void TrainThenEvalThenListAndShow()
    {
        var data = TinyData.FashionMnistLike();
        var runs = TestPaths.TempDir();
        var cfg = WriteConfig(TinyData.Config(data));
        var (code, output, err) = InProcessCli.Run("train", "--config", cfg, "--runs-dir", runs, "--no-progress", "--set", "train.epochs=1", "--name", "cli");
        Assert.True(code == 0, err);
        Assert.Contains("run folder: ", output);
        Assert.Contains("epoch 1/1", err); // log lines go to stderr
        var runDir = Directory.GetDirectories(Path.Combine(runs, "cli")).Single();

        var csv = Path.Combine(TestPaths.TempDir(), "eval.csv");
        (code, output, err) = InProcessCli.Run("eval", "--checkpoint", runDir, "--attack", "pgd3", "--attack", "fgsm", "--n", "32", "--out", csv);
        Assert.True(code == 0, err);
        Assert.Contains("worst case", output);
        var rows = File.ReadAllLines(csv);
        Assert.Equal(["attack,accuracy,seconds,n", "clean", "pgd3", "fgsm", "worst_case"], rows.Select((r, i) => i == 0 ? r : r.Split(',')[0]));
        Assert.All(rows.Skip(1), r => Assert.EndsWith(",32", r));

        (code, output, _) = InProcessCli.Run("runs", "list", "--runs-dir", runs);
        Assert.Equal(0, code);
        Assert.Contains("pgd-at", output);
        Assert.Contains("completed", output);
        (code, output, _) = InProcessCli.Run("runs", "show", runDir);
        Assert.Equal(0, code);
        Assert.Contains("status     completed", output);
        Assert.Matches(@"best       epoch 1, validation clean \d+\.\d\d%, robust \d+\.\d\d%", output);
        Assert.Contains("epoch,lr,train_loss", output);
    }

    [Fact]
    public void EvalRunsAutoAttackWithTablesPerSampleRowsAdversarialsAndAResumableState()
    {
        var data = TinyData.FashionMnistLike();
        var runs = TestPaths.TempDir();
        var cfg = WriteConfig(TinyData.Config(data));
        Assert.Equal(0, InProcessCli.Run("train", "--config", cfg, "--runs-dir", runs, "--no-progress", "--set", "train.epochs=1", "--name", "aa").Code);
        var runDir = Directory.GetDirectories(Path.Combine(runs, "aa")).Single();
        var dir = TestPaths.TempDir();
        var (csv, adv, state) = (Path.Combine(dir, "aa.csv"), Path.Combine(dir, "adv.pt"), Path.Combine(dir, "state.json"));
        string[] args = ["eval", "--checkpoint", runDir, "--attack", "pgd3", "--attack", "autoattack", "--version", "custom",
            "--component", "apgd-ce:steps=10", "--component", "fab-t:steps=5,targets=2", "--component", "square:queries=50",
            "--n", "24", "--batch-size", "10", "--out", csv, "--save-adv", adv, "--state", state, "--no-progress"];
        var (code, output, err) = InProcessCli.Run(args);
        Assert.True(code == 0, err);
        Assert.Contains("autoattack-custom ← apgd-ce", output);
        Assert.Contains("largest Linf perturbation", output);
        Assert.True(File.Exists(Path.ChangeExtension(csv, ".json")));
        var rows = File.ReadAllLines(csv).Skip(1).Select(r => r.Split(',')).ToList();
        Assert.Equal(["clean", "pgd3", "autoattack-custom/apgd-ce", "autoattack-custom/fab-t", "autoattack-custom/square", "autoattack-custom", "worst_case"], rows.Select(r => r[0]));
        Assert.All(rows, r => Assert.Equal("24", r[3]));
        var aaAccuracy = rows.Single(r => r[0] == "autoattack-custom")[1];
        Assert.Equal(aaAccuracy, rows.Single(r => r[0] == "autoattack-custom/square")[1]);

        var samples = File.ReadAllLines(Path.ChangeExtension(csv, null) + "-samples.csv");
        Assert.Equal("index,label,clean_pred,pgd3_result,pgd3_pred,pgd3_norm,autoattack-custom_result,autoattack-custom_pred,autoattack-custom_norm", samples[0]);
        Assert.Equal(25, samples.Length);
        var robust = 0;
        foreach (var line in samples.Skip(1))
        {
            var f = line.Split(',');
            var (label, clean, outcome, pred, norm) = (f[1], f[2], f[6], f[7], double.Parse(f[8], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Contains(outcome, new[] { "robust", "misclassified", "apgd-ce", "fab-t", "square" });
            if (outcome == "robust") { robust++; Assert.Equal(label, pred); Assert.Equal(0, norm); }
            else if (outcome == "misclassified") Assert.NotEqual(label, clean);
            else { Assert.NotEqual(label, pred); Assert.InRange(norm, 1e-9, 0.1 + 1e-5); }
        }
        Assert.Equal(double.Parse(aaAccuracy, System.Globalization.CultureInfo.InvariantCulture), robust / 24.0, 6);

        // The JSON record carries the stages and the checks' verdicts.
        using (var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(csv, ".json"))))
        {
            var aa = doc.RootElement.GetProperty("suites").EnumerateArray().Single(e => e.GetProperty("name").GetString() == "autoattack-custom");
            Assert.Equal(["apgd-ce", "fab-t", "square"], aa.GetProperty("stages").EnumerateArray().Select(e => e.GetProperty("attack").GetString()));
            Assert.Equal(robust / 24.0, aa.GetProperty("robust_accuracy").GetDouble(), 6);
            Assert.True(aa.GetProperty("max_perturbation_norm").GetDouble() <= 0.1 + 1e-5);
            Assert.Equal(System.Text.Json.JsonValueKind.Array, doc.RootElement.GetProperty("warnings").ValueKind);
        }

        // The adversarial examples load in PyTorch with the safe loader.
        var back = Path.Combine(dir, "adv.safetensors");
        TestPaths.RunPython("interop.py", "adversarial", adv, back);
        using (var t = RobustCli.Torch.Serialization.SafeTensors.Load(back).Tensors)
        {
            Assert.Equal([24L, 1, 28, 28], t["autoattack-custom"].Shape);
            Assert.Equal(robust, t["autoattack-custom_robust"].ToArray<bool>().Count(b => b));
            Assert.Equal([24L], t["labels"].Shape);
        }

        // The state file makes a rerun resume: nothing left to attack, the same table.
        var (code2, output2, err2) = InProcessCli.Run(args);
        Assert.True(code2 == 0, err2);
        Assert.Contains("resuming from", output2);
        Assert.Equal(File.ReadAllLines(csv).Select(l => string.Join(",", l.Split(',').Take(2))), rows.Select(r => r[0] + "," + r[1]).Prepend("attack,accuracy"));
        // Settings that do not match the state are refused with exit code 2.
        var (code3, _, err3) = InProcessCli.Run([.. args.Select(a => a == "pgd3" ? "pgd5" : a)]);
        Assert.Equal(2, code3);
        Assert.Contains("other settings", err3);
    }

    [Fact]
    public void AKilledEvaluationResumesToTheSameOutcomeAsAnUninterruptedOne()
    {
        var data = TinyData.FashionMnistLike(64, 64);
        var runs = TestPaths.TempDir();
        Assert.Equal(0, InProcessCli.Run("train", "--config", WriteConfig(TinyData.Config(data)), "--runs-dir", runs, "--no-progress", "--set", "train.epochs=1", "--name", "k").Code);
        var runDir = Directory.GetDirectories(Path.Combine(runs, "k")).Single();
        var dir = TestPaths.TempDir();
        string[] Args(string name, string? state) => ["eval", "--checkpoint", runDir, "--attack", "autoattack", "--version", "custom",
            "--component", "apgd-ce:steps=40", "--component", "apgd-t:steps=20,targets=3", "--component", "square:queries=100", "--eps", "0.15",
            "--batch-size", "4", "--out", Path.Combine(dir, name + ".csv"), "--no-progress", .. (state == null ? Array.Empty<string>() : ["--state", state])];
        var (code, _, err) = InProcessCli.Run(Args("straight", null));
        Assert.True(code == 0, err);

        var state = Path.Combine(dir, "state.json");
        // Kill mid-evaluation, once some attack batches are saved.
        CliProcess.KillWhen(Args("killed", state), () =>
        {
            try
            {
                var s = RobustCli.Core.Evaluation.EvaluationState.Load(state);
                return s != null && (s.Suites[0].StagesDone >= 1 || s.Suites[0].Cursor >= 8);
            }
            catch (Exception e) when (e is InvalidDataException or IOException) { return false; }
        }, "the evaluation finished before it could be killed; make it longer");
        (code, var output, err) = InProcessCli.Run(Args("killed", state));
        Assert.True(code == 0, err);
        Assert.Contains("resuming from", output);
        Assert.Equal(File.ReadAllLines(Path.Combine(dir, "straight-samples.csv")), File.ReadAllLines(Path.Combine(dir, "killed-samples.csv")));
        static IEnumerable<string> Accuracies(string f) => File.ReadAllLines(f).Select(l => string.Join(",", l.Split(',').Take(2)));
        Assert.Equal(Accuracies(Path.Combine(dir, "straight.csv")), Accuracies(Path.Combine(dir, "killed.csv")));
    }

    [Fact]
    public void TrainingEndsWithAutoAttackOnAFixedSubset()
    {
        var data = TinyData.FashionMnistLike();
        var yaml = TinyData.Config(data).Replace("final: [pgd3, cw3]",
            "final: [pgd3, 'autoattack:version=custom,attacks=apgd-ce:steps=5+square:queries=20'], autoattack_n: 16");
        var runs = TestPaths.TempDir();
        var (code, _, err) = InProcessCli.Run("train", "--config", WriteConfig(yaml), "--runs-dir", runs, "--no-progress", "--set", "train.epochs=1");
        Assert.True(code == 0, err);
        var runDir = Directory.GetDirectories(Path.Combine(runs, "tiny")).Single();
        var rows = File.ReadAllLines(Path.Combine(runDir, "final_eval.csv")).Skip(1).Select(r => r.Split(',')).ToList();
        Assert.Equal(["clean,48", "pgd3,48", "clean,16", "autoattack-custom/apgd-ce,16", "autoattack-custom/square,16", "autoattack-custom,16"],
            rows.Select(r => r[0] + "," + r[3]));
        var summary = File.ReadAllText(Path.Combine(runDir, "summary.json"));
        Assert.Contains("\"autoattack-custom@16\"", summary);
        var samples = File.ReadAllLines(Path.Combine(runDir, "final_eval_samples.csv"));
        Assert.Equal(49, samples.Length);
        Assert.EndsWith("not_evaluated,-1,NaN", samples[^1]);
        // A misspelt attack in eval.final is a config error, with its line.
        var bad = TinyData.Config(data).Replace("final: [pgd3, cw3]", "final: [pgd3, 'autoattack:versoin=plus']");
        (code, _, err) = InProcessCli.Run("train", "--config", WriteConfig(bad), "--runs-dir", runs, "--no-progress");
        Assert.Equal(2, code);
        Assert.Contains("eval.final[1]", err);
    }

    [Fact]
    public void EvalOfAPyTorchStateDictRunsAutoAttack()
    {
        // A model trained elsewhere: PyTorch's SmallCNN saved through DataParallel ("module." keys, nested).
        var dir = TestPaths.TempDir();
        TestPaths.RunPython("interop.py", "save", "smallcnn", "2", dir);
        var data = TinyData.FashionMnistLike(16, 16);
        var (code, output, err) = InProcessCli.Run("eval", "--checkpoint", Path.Combine(dir, "dataparallel.pt"), "--arch", "smallcnn", "--dataset", "fashion-mnist",
            "--data-path", data, "--eps", "0.1", "--attack", "autoattack:version=custom,attacks=apgd-ce:steps=5+square:queries=10", "--out", Path.Combine(dir, "e.csv"), "--no-progress");
        Assert.True(code == 0, err);
        Assert.Contains("smallcnn on fashion-mnist, 16 test images, eps 0.1", output);
        Assert.Contains("autoattack-custom ← square", output);
        (code, _, err) = InProcessCli.Run("eval", "--checkpoint", Path.Combine(dir, "dataparallel.pt"), "--arch", "preact18", "--dataset", "fashion-mnist",
            "--data-path", data, "--eps", "0.1", "--out", Path.Combine(dir, "e.csv"));
        Assert.Equal(2, code);
    }

    [Fact]
    public void EvalOfAWeightsFileNeedsArchDatasetAndEps()
    {
        var (code, _, err) = InProcessCli.Run("eval", "--checkpoint", Path.Combine(TestPaths.TempDir(), "missing.pt"));
        Assert.Equal(2, code);
        Assert.Contains("no such file or run folder", err);
        var file = Path.Combine(TestPaths.TempDir(), "w.pt");
        // Saved as DataParallel would: every key under "module.", which eval strips as RobustBench does.
        using (var m = new RobustCli.Core.Models.SmallCnn())
        using (var sd = m.StateDict())
            RobustCli.Torch.Serialization.Weights.Save(file, sd.Select(kv => new KeyValuePair<string, RobustCli.Torch.Tensor>("module." + kv.Key, kv.Value)));
        (code, _, err) = InProcessCli.Run("eval", "--checkpoint", file);
        Assert.Equal(2, code);
        Assert.Contains("--dataset", err);
        var data = TinyData.FashionMnistLike();
        (code, var output, err) = InProcessCli.Run("eval", "--checkpoint", file, "--dataset", "fashion-mnist", "--arch", "smallcnn", "--eps", "0.1",
            "--data-path", data, "--n", "16", "--attack", "pgd2", "--out", Path.Combine(TestPaths.TempDir(), "e.csv"));
        Assert.True(code == 0, err);
        Assert.Contains("16 test images, eps 0.1", output);
    }

    [Theory]
    [InlineData("train:\n  epochz: 3\n", "tiny.yaml:2:3: train.epochz: unknown key; did you mean 'epochs'?")]
    [InlineData("train:\n  epochs: ten\n", "tiny.yaml:2:11: train.epochs: expected an integer, got 'ten'")]
    [InlineData("bogus: 1\n", "bogus: unknown key")]
    [InlineData("data: {name: cifar10, path: /nonexistent}\n", "dataset 'cifar10'")]
    public void UserErrorsExitWith2AndAMessageNotAStackTrace(string yaml, string message)
    {
        var (code, _, err) = InProcessCli.Run("train", "--config", WriteConfig(yaml), "--runs-dir", TestPaths.TempDir(), "--no-progress");
        Assert.Equal(2, code);
        Assert.Contains(message, err);
        Assert.DoesNotContain("   at ", err);
        (code, _, err) = InProcessCli.Run("config", "validate", WriteConfig(yaml));
        if (!message.StartsWith("dataset", StringComparison.Ordinal))
        {
            Assert.Equal(2, code);
            Assert.Contains(message.Replace("tiny.yaml", ""), err);
        }
    }

    [Fact]
    public void ConfigShowPrintsEveryDefaultWithSetsApplied()
    {
        var (code, output, _) = InProcessCli.Run("config", "show", Path.Combine(TestPaths.RepoRoot, "configs", "quickstart.yaml"), "--set", "train.epochs=7");
        Assert.Equal(0, code);
        Assert.Contains("epochs: 7", output);
        Assert.Contains("half_cap_until_epoch: 90", output);
        (code, output, _) = InProcessCli.Run("config", "validate", Path.Combine(TestPaths.RepoRoot, "configs", "trades-sweep.yaml"));
        Assert.Equal(0, code);
        Assert.Contains("sweep over train.trades.beta, seed", output);
    }

    [Fact]
    public void SweepDryRunListsTheJobsAndARealSweepWritesOneSummary()
    {
        var data = TinyData.FashionMnistLike(96, 16);
        var cfg = WriteConfig(TinyData.Config(data, "trades", 1, "sweep:\n  train.beta: [1, 6]\n"));
        var (code, output, _) = InProcessCli.Run("sweep", "--config", cfg, "--dry-run");
        Assert.Equal(0, code);
        Assert.Contains("2 job(s):", output);
        Assert.Contains("2. train.beta=6", output);
        var runs = TestPaths.TempDir();
        (code, output, var err) = InProcessCli.Run("sweep", "--config", cfg, "--runs-dir", runs, "--no-progress", "--set", "eval.final=[]");
        Assert.True(code == 0, err);
        // One sweep folder: the grid's configs, a run folder per point, one summary.
        var sweep = Directory.GetDirectories(Path.Combine(runs, "tiny"), "sweep-*").Single();
        var lines = File.ReadAllLines(Path.Combine(sweep, "summary.csv"));
        Assert.StartsWith("job,train.beta,state,epochs_done,epochs_planned,best_val_robust_acc", lines[0]);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("001,6,completed,1,1,", lines[2]);
        Assert.Equal(["000.yaml", "001.yaml"], Directory.GetFiles(Path.Combine(sweep, "jobs")).Select(Path.GetFileName).Order());
        Assert.Equal(2, Directory.GetDirectories(Path.Combine(sweep, "runs")).Length);
        Assert.Contains($"sweep summary: {Path.Combine(sweep, "summary.csv")}", output);
    }

    [Fact]
    public void AKilledRunResumesToTheSameMetricsAsAnUninterruptedOne()
    {
        var data = TinyData.FashionMnistLike(640, 32);
        var cfg = WriteConfig(TinyData.Config(data, "pgd-at", 3));
        var straightRuns = TestPaths.TempDir();
        Assert.Equal(0, InProcessCli.Run("train", "--config", cfg, "--runs-dir", straightRuns, "--no-progress").Code);
        var straight = Directory.GetDirectories(Path.Combine(straightRuns, "tiny")).Single();

        // The real thing: the CLI in its own process, killed once its first epoch is checkpointed.
        var runs = TestPaths.TempDir();
        string? runDir = null;
        CliProcess.KillWhen(["train", "--config", cfg, "--runs-dir", runs, "--no-progress"], () =>
        {
            runDir ??= Directory.Exists(Path.Combine(runs, "tiny")) ? Directory.GetDirectories(Path.Combine(runs, "tiny")).SingleOrDefault() : null;
            return runDir != null && File.Exists(Path.Combine(runDir, "checkpoints", "last.pt"));
        }, "the run finished before it could be killed; make the test data larger");
        Assert.NotNull(runDir);
        var (code, _, err) = InProcessCli.Run("train", "--resume", runDir!, "--no-progress");
        Assert.True(code == 0, err);
        static IEnumerable<string> Rows(string dir) => File.ReadAllLines(Path.Combine(dir, "metrics.csv"))
            .Select(l => string.Join(",", l.Split(',').Where((_, i) => i is not (9 or 10)))); // drop seconds, images/s
        Assert.Equal(Rows(straight), Rows(runDir!));
        Assert.Equal(File.ReadAllText(Path.Combine(straight, "final_eval.csv")).Split('\n').Select(l => string.Join(",", l.Split(',').Take(2))),
            File.ReadAllText(Path.Combine(runDir!, "final_eval.csv")).Split('\n').Select(l => string.Join(",", l.Split(',').Take(2))));
        Assert.Contains("\"status\": \"completed\"", File.ReadAllText(Path.Combine(runDir!, "summary.json")));
    }

    [Fact]
    public void ResumeRefusesNewSettings()
    {
        var (code, _, err) = InProcessCli.Run("train", "--resume", TestPaths.TempDir(), "--set", "train.beta=1");
        Assert.Equal(2, code);
        Assert.Contains("drop --config and --set", err);
    }
}
