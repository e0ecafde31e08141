using RobustCli.Tests.Shared;

namespace RobustCli.Tests;

/// <summary>
/// What robust writes for Slurm (the scripts of a fixed sweep and of a sharded evaluation, against golden files) and
/// the sweep folder run here: side by side (--jobs) as one by one, rerun to completion, and its status.
/// The cluster itself runs in tests/slurm/test-slurm.sh.
/// </summary>
public sealed class ClusterTests
{
    private static readonly string Golden = Path.Combine(TestPaths.RepoRoot!, "tests", "RobustCli.Tests", "golden");

    private static string Config(string data, string extra) =>
        TinyData.Config(data, "trades", 1, extra).Replace("final: [pgd3, cw3]", "final: [pgd3]");

    /// <summary>The file with the folder and the CLI's path made placeholders, equal to its golden copy (ROBUSTCLI_UPDATE_GOLDEN=1 rewrites it).</summary>
    private static void AssertGolden(string file, params (string Text, string Placeholder)[] replace)
    {
        var text = File.ReadAllText(file);
        foreach (var (t, p) in replace) text = text.Replace(t, p);
        var golden = Path.Combine(Golden, Path.GetFileName(file));
        if (Environment.GetEnvironmentVariable("ROBUSTCLI_UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Golden);
            File.WriteAllText(golden, text);
        }
        Assert.Equal(File.ReadAllText(golden), text);
        // And it is a shell script bash accepts.
        var (code, said) = Run("bash", "-n", file);
        Assert.True(code == 0, said);
    }

    private static (int Code, string Said) Run(string exe, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var said = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, said);
    }

    private static string Robust => RobustCli.Experiments.Jobs.CliLauncher.Current().CommandLine;

    [Fact]
    public void TheScriptsOfAFixedSweepEqualTheGoldenFiles()
    {
        var data = TinyData.FashionMnistLike(64, 16);
        var cfg = Path.Combine(TestPaths.TempDir(), "sweep.yaml");
        File.WriteAllText(cfg, Config(data, """
            slurm: {partition: gpu, account: robust-lab, gpus: 1, cpus_per_task: 8, mem: 32G, time: "12:00:00", sbatch: [--constraint=a100], setup: [module load cuda/12.1]}
            sweep:
              train.trades.beta: [1, 3, 6]
            """));
        var dir = Path.Combine(TestPaths.TempDir(), "sweep");
        var (code, output, err) = InProcessCli.Run("sweep", "--config", cfg, "--dir", dir, "--slurm", "--max-parallel", "2", "--time", "6:00:00");
        Assert.True(code == 0, err + output);
        Assert.Contains("submit: id=$(sbatch --parsable", output);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(dir, "jobs"), "*.yaml").Length);
        AssertGolden(Path.Combine(dir, "slurm", "train-array.sbatch"), (dir, "<SWEEP>"), (Robust, "<ROBUST>"));
        AssertGolden(Path.Combine(dir, "slurm", "report.sbatch"), (dir, "<SWEEP>"), (Robust, "<ROBUST>"));
        // Each grid point's config is the sweep's with its value, and no cluster settings (a run is not its resources).
        var job = File.ReadAllText(Path.Combine(dir, "jobs", "002.yaml"));
        Assert.Contains("beta: 6", job);
        Assert.DoesNotContain("partition", job);
        // The same command again keeps the folder; another grid in it is refused.
        Assert.Equal(0, InProcessCli.Run("sweep", "--config", cfg, "--dir", dir, "--slurm").Code);
        (code, _, err) = InProcessCli.Run("sweep", "--config", cfg, "--dir", dir, "--slurm", "--set", "train.epochs=2");
        Assert.Equal(2, code);
        Assert.Contains("holds another sweep", err);
        (code, output, _) = InProcessCli.Run("sweep", "status", dir);
        Assert.Equal(0, code);
        Assert.Contains("3 grid point(s): 3 pending", output);
    }

    [Fact]
    public void TheScriptsOfAShardedEvaluationEqualTheGoldenFiles()
    {
        var run = InProcessCli.TinyPgdAtRun;
        var dir = Path.Combine(TestPaths.TempDir(), "aa");
        var (code, output, err) = InProcessCli.Run("eval", "--checkpoint", run, "--attack", "autoattack", "--n", "40", "--seed", "3",
            "--slurm", "--shards", "4", "--gpus", "1", "--time", "4:00:00", "--partition", "gpu", "--out", dir);
        Assert.True(code == 0, err + output);
        AssertGolden(Path.Combine(dir, "eval-array.sbatch"), (dir, "<OUT>"), (run, "<RUN>"), (Robust, "<ROBUST>"));
        AssertGolden(Path.Combine(dir, "merge.sbatch"), (dir, "<OUT>"), (Robust, "<ROBUST>"));
    }

    [Fact]
    public void ASweepSideBySideEndsAsOneByOneAndARerunFinishesNothingTwice()
    {
        var data = TinyData.FashionMnistLike(128, 16);
        var cfg = Path.Combine(TestPaths.TempDir(), "sweep.yaml");
        File.WriteAllText(cfg, Config(data, "sweep:\n  train.trades.beta: [1, 6]\n"));
        var parallel = Path.Combine(TestPaths.TempDir(), "parallel");
        var (code, output, err) = InProcessCli.Run("sweep", "--config", cfg, "--dir", parallel, "--jobs", "2", "--set", "threads=1");
        Assert.True(code == 0, err + output);
        Assert.Contains("2 at a time, 1 thread(s) each", output);
        Assert.Contains("sweep job 2/2 started", output);
        var sequential = Path.Combine(TestPaths.TempDir(), "sequential");
        (code, output, err) = InProcessCli.Run("sweep", "--config", cfg, "--dir", sequential, "--no-progress", "--set", "threads=1");
        Assert.True(code == 0, err + output);
        foreach (var j in new[] { "000", "001" })
        {
            static string[] Rows(string dir) => File.ReadAllLines(Path.Combine(dir, "metrics.csv")).Select(l => string.Join(",", l.Split(',').Where((_, i) => i is not (9 or 10)))).ToArray();
            Assert.Equal(Rows(Path.Combine(sequential, "runs", j)), Rows(Path.Combine(parallel, "runs", j)));
            Assert.Equal(File.ReadAllText(Path.Combine(sequential, "runs", j, "final_eval_samples.csv")), File.ReadAllText(Path.Combine(parallel, "runs", j, "final_eval_samples.csv")));
        }
        var summary = File.ReadAllLines(Path.Combine(parallel, "summary.csv"));
        Assert.StartsWith("job,train.trades.beta,state,epochs_done,epochs_planned,best_val_robust_acc,val_robust_acc,final_clean,final_pgd3,run_dir", summary[0]);
        Assert.StartsWith("001,6,completed,1,1,", summary[2]);
        // Again: both runs completed, so both jobs leave them alone.
        (code, _, err) = InProcessCli.Run("sweep", "--config", cfg, "--dir", parallel, "--jobs", "2", "--set", "threads=1");
        Assert.True(code == 0, err);
        Assert.Contains("already completed", File.ReadAllText(Path.Combine(parallel, "logs", "001.out")));
        (code, output, _) = InProcessCli.Run("sweep", "status", parallel);
        Assert.Equal(0, code);
        Assert.Contains("2 grid point(s): 2 completed", output);
    }
}
