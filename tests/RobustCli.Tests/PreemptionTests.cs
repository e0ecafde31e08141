using System.Text;
using RobustCli.Tests.Shared;
using Xunit.Abstractions;

namespace RobustCli.Tests;

/// <summary>
/// Runs killed with SIGKILL at any moment — before the first checkpoint, inside an epoch, between epochs, during the
/// final evaluation and AutoAttack, at random instants — and started again with the same command end exactly as an
/// uninterrupted run: the same metrics rows (but the seconds), the same final evaluation, sample by sample.
/// </summary>
public sealed class PreemptionTests(ITestOutputHelper output)
{
    private static string WriteConfig(string yaml)
    {
        var path = Path.Combine(TestPaths.TempDir(), "tiny.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>3 epochs of 19 batches, a mid-epoch checkpoint every 4 batches, and AutoAttack's APGD-CE, APGD-T and Square at the end: something to kill at every stage.</summary>
    private static string PreemptibleConfig(string method = "pgd-at")
    {
        var data = TinyData.FashionMnistLike(640, 32);
        return WriteConfig(TinyData.Config(data, method, 3, "checkpoint: {every_steps: 4, every_minutes: 0}")
            .Replace("final: [pgd3, cw3]", "final: [pgd3, cw3, 'autoattack:version=custom,attacks=apgd-ce:steps=20+apgd-t:targets=3,steps=20+square:queries=100'], autoattack_n: 8"));
    }

    private static string[] Train(string cfg, string dir) => ["train", "--config", cfg, "--run-dir", dir, "--no-progress"];

    private static string Log(string dir) => Read(Path.Combine(dir, "log.txt"));

    private static string Read(string path)
    {
        try
        {
            using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return new StreamReader(s).ReadToEnd();
        }
        catch (IOException) { return ""; }
    }

    /// <summary>The run's results without its timings: metrics rows but seconds and images/s, the final evaluation, per sample, and the final accuracies.</summary>
    private static string Outcome(string dir)
    {
        var lines = File.ReadAllLines(Path.Combine(dir, "metrics.csv"));
        var header = lines[0].Split(',');
        var timing = new HashSet<int>(header.Select((h, i) => (h, i)).Where(t => t.h is "seconds" or "images_per_s").Select(t => t.i));
        var rows = lines.Select(l => string.Join(",", l.Split(',').Where((_, i) => !timing.Contains(i))));
        var final = File.ReadAllLines(Path.Combine(dir, "final_eval.csv")).Select(l => string.Join(",", l.Split(',').Where((_, i) => i != 2)));
        var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json"))).RootElement;
        Assert.Equal("completed", summary.GetProperty("status").GetString());
        return string.Join("\n", [.. rows, "--", .. final, "--", .. File.ReadAllLines(Path.Combine(dir, "final_eval_samples.csv")), "--",
            summary.GetProperty("final").ToString(), summary.GetProperty("best_val_robust_acc").ToString()]);
    }

    [Fact]
    public void ARunKilledAtEveryStageAndAtRandomMomentsEndsAsAnUninterruptedOne()
    {
        var cfg = PreemptibleConfig();
        var straight = Path.Combine(TestPaths.TempDir(), "straight");
        var t0 = DateTime.UtcNow;
        var (code, said) = CliProcess.Run(Train(cfg, straight));
        Assert.True(code == 0, said);
        var total = (DateTime.UtcNow - t0).TotalSeconds;
        var expected = Outcome(straight);
        Assert.Contains("checkpoint inside epoch 2 after batch 8/19", Log(straight));

        // One folder killed at each stage in turn, restarted with the same command after each kill.
        var staged = Path.Combine(TestPaths.TempDir(), "staged");
        var stages = new (string Name, Func<bool> Ready)[]
        {
            ("before the first checkpoint", () => File.Exists(Path.Combine(staged, "config.yaml")) && !File.Exists(Path.Combine(staged, "checkpoints", "last.pt"))),
            ("inside epoch 1, after a mid-epoch checkpoint", () => Log(staged).Contains("checkpoint inside epoch 1 after batch 8/", StringComparison.Ordinal)),
            ("between epochs 1 and 2", () => Read(Path.Combine(staged, "metrics.csv")).Count(c => c == '\n') >= 2),
            ("inside epoch 2", () => Log(staged).Contains("checkpoint inside epoch 2 after batch 12/", StringComparison.Ordinal)),
            ("inside epoch 3, between checkpoints", () => Log(staged).Contains("checkpoint inside epoch 3 after batch 4/", StringComparison.Ordinal)),
            ("during the final evaluation", () => Log(staged).Contains("final evaluation of the last model", StringComparison.Ordinal)),
            ("during AutoAttack", () => File.Exists(Path.Combine(staged, "final_eval_state_autoattack.json"))),
        };
        var killed = 0;
        foreach (var (name, ready) in stages)
        {
            var log = new StringBuilder();
            if (CliProcess.KillWhen(Train(cfg, staged), ready, log)) killed++;
            else output.WriteLine($"finished before it could be killed {name}:\n{log}");
        }
        (code, said) = CliProcess.Run(Train(cfg, staged));
        Assert.True(code == 0, said);
        Assert.True(killed >= 5, $"only {killed} of {stages.Length} kills landed before the run finished");
        var resumedLog = Log(staged);
        Assert.Contains("no checkpoint yet", resumedLog);
        Assert.Contains("resuming epoch 1 after batch 8", resumedLog);
        Assert.Equal(expected, Outcome(staged));

        // And at random instants (the seed is printed, so a failure can be replayed).
        var seed = Environment.TickCount;
        output.WriteLine($"random kill instants from seed {seed}; uninterrupted run {total:F1} s");
        var rng = new Random(seed);
        var random = Path.Combine(TestPaths.TempDir(), "random");
        for (var k = 0; k < 4; k++)
        {
            // Each restart has less left to do: later instants are drawn from a shorter span, so most land.
            var at = DateTime.UtcNow.AddSeconds(rng.NextDouble() * total / (k + 1));
            var log = new StringBuilder();
            var hit = CliProcess.KillWhen(Train(cfg, random), () => DateTime.UtcNow >= at, log);
            output.WriteLine($"kill {k + 1}: {(hit ? "killed" : "finished first")}");
        }
        (code, said) = CliProcess.Run(Train(cfg, random));
        Assert.True(code == 0, said);
        Assert.Equal(expected, Outcome(random));

        // A completed run is left alone by the same command.
        (code, said) = CliProcess.Run(Train(cfg, staged));
        Assert.True(code == 0, said);
        Assert.Contains("already completed", said);
    }

    [Theory]
    [InlineData("gat")]
    [InlineData("trades")]
    public void AMidEpochCheckpointResumesToTheSameEpochRow(string method)
    {
        // Methods that keep running sums over an epoch (GAT's per-task losses) must carry them through the checkpoint.
        var data = TinyData.FashionMnistLike(320, 16);
        var extra = "checkpoint: {every_steps: 3, every_minutes: 0}";
        var yaml = TinyData.Config(data, method, 2, extra).Replace("final: [pgd3, cw3]", "final: [pgd3]");
        if (method == "gat")
            yaml = yaml.Replace("model: {arch: smallcnn, normalize: none}", "model: {arch: multitask-resnet18, width: 4, normalize: none}")
                .Replace("  noilin: {tau: 1}", "  noilin: {tau: 1}\n  gat: {tasks: [rotation, macro], weighting: mgda}");
        var cfg = WriteConfig(yaml);
        var straight = Path.Combine(TestPaths.TempDir(), "straight");
        var (code, said) = CliProcess.Run(Train(cfg, straight));
        Assert.True(code == 0, said);
        var resumed = Path.Combine(TestPaths.TempDir(), "resumed");
        CliProcess.KillWhen(Train(cfg, resumed), () => Log(resumed).Contains("checkpoint inside epoch 2 after batch 3/", StringComparison.Ordinal),
            "the run finished before its mid-epoch checkpoint");
        (code, said) = CliProcess.Run(Train(cfg, resumed));
        Assert.True(code == 0, said);
        Assert.Contains("resuming epoch 2 after batch", Log(resumed));
        Assert.Equal(Outcome(straight), Outcome(resumed));
    }

    [Fact]
    public void ResumeOfARunWithNoCheckpointStartsItInItsFolder()
    {
        var data = TinyData.FashionMnistLike(96, 16);
        var cfg = WriteConfig(TinyData.Config(data, "pgd-at", 1).Replace("final: [pgd3, cw3]", "final: [pgd3]"));
        var runs = TestPaths.TempDir();
        // A run folder as a kill before the first checkpoint leaves it: the config, nothing else.
        var dir = Path.Combine(runs, "tiny", "20261207-000000-abcdef");
        Directory.CreateDirectory(dir);
        File.Copy(cfg, Path.Combine(dir, "config.yaml"));
        var (code, _, err) = InProcessCli.Run("train", "--resume", dir, "--no-progress");
        Assert.True(code == 0, err);
        Assert.True(File.Exists(Path.Combine(dir, "checkpoints", "last.pt")));
        Assert.Equal(2, File.ReadAllLines(Path.Combine(dir, "metrics.csv")).Length);
    }

    [Fact]
    public void RunDirRefusesAFolderHoldingAnotherConfigsRun()
    {
        var data = TinyData.FashionMnistLike(96, 16);
        var cfg = WriteConfig(TinyData.Config(data, "pgd-at", 1).Replace("final: [pgd3, cw3]", "final: [pgd3]"));
        var dir = Path.Combine(TestPaths.TempDir(), "run");
        Assert.Equal(0, InProcessCli.Run(Train(cfg, dir)).Code);
        var (code, _, err) = InProcessCli.Run([.. Train(cfg, dir), "--set", "train.epochs=2"]);
        Assert.Equal(2, code);
        Assert.Contains("holds a run of another config", err);
        Assert.Contains("epochs: 1", err);
        (code, _, err) = InProcessCli.Run([.. Train(cfg, dir), "--resume", dir]);
        Assert.Equal(2, code);
        Assert.Contains("drop --resume", err);
    }
}
