using RobustCli.Experiments.Config;
using RobustCli.Experiments.Jobs;
using RobustCli.Tests.Shared;

namespace RobustCli.Experiments.Tests;

/// <summary>The resume check every method's run test makes: killed after an epoch, resumed, the same run.</summary>
internal static class ResumeCheck
{
    /// <summary>metrics.csv's rows without the timing columns (seconds, images_per_s).</summary>
    public static List<string[]> Metrics(string path) =>
        File.ReadAllLines(path).Skip(1).Select(l => l.Split(',')).Select(c => c.Take(9).Concat(c.Skip(11)).ToArray()).ToList();

    /// <summary>Runs <paramref name="cfg"/> again, stops it after its first epoch, resumes it, and asserts it ends as <paramref name="straight"/> did.</summary>
    public static void MatchesStraightRun(RunConfig cfg, JobResult straight)
    {
        using var cts = new CancellationTokenSource();
        var runs = TestPaths.TempDir();
        var stopped = TrainingJob.Run(cfg, new JobOptions(runs, TestPaths.RepoRoot, new StringWriter(), _ => new RunTests.CancelAfter(1, cts), LogToConsole: true, cts.Token));
        Assert.Equal("interrupted", stopped.Summary.Status);
        var resumed = TrainingJob.Run(cfg, new JobOptions(runs, TestPaths.RepoRoot, new StringWriter(), null, LogToConsole: true), stopped.Folder.Path);
        Assert.Equal(0, resumed.ExitCode);
        Assert.Equal(Metrics(straight.Folder.MetricsFile), Metrics(resumed.Folder.MetricsFile));
        Assert.Equal(straight.Summary.Final, resumed.Summary.Final);
    }
}
