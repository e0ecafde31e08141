using System.CommandLine;
using System.Globalization;
using RobustCli.Experiments.Jobs;
using RobustCli.Tests.Shared;

namespace RobustCli.Tests;

/// <summary>robust eval --eps-sweep / --steps-sweep / --restarts-sweep on a trained tiny model.</summary>
public sealed class RobustnessCurveCliTests
{
    private static List<(double Value, string Attack, double Accuracy)> Read(string csv) =>
        File.ReadAllLines(csv).Skip(1).Select(l => l.Split(','))
            .Select(f => (double.Parse(f[0], CultureInfo.InvariantCulture), f[1], double.Parse(f[2], CultureInfo.InvariantCulture))).ToList();

    [Fact]
    public void TheEpsCurveOfAnHonestModelStartsAtCleanAccuracyFallsAndReachesAboutZero()
    {
        var dir = TestPaths.TempDir();
        var csv = Path.Combine(dir, "eps.csv");
        var (code, output, err) = InProcessCli.Run("eval", "--checkpoint", InProcessCli.TinyPgdAtRun, "--attack", "pgd10", "--eps-sweep", "0,0.05,0.1,0.3,1", "--out", csv, "--no-progress");
        Assert.True(code == 0, err + output);
        var points = Read(csv);
        Assert.Equal(10, points.Count);
        var clean = points.First(p => p.Attack == "clean").Accuracy;
        var pgd = points.Where(p => p.Attack == "pgd10").ToList();
        Assert.Equal([0, 0.05, 0.1, 0.3, 1], pgd.Select(p => p.Value));
        Assert.Equal(clean, pgd[0].Accuracy, 6);
        for (var i = 1; i < pgd.Count; i++) Assert.True(pgd[i].Accuracy <= pgd[i - 1].Accuracy, $"robust accuracy rose with eps: {string.Join(", ", pgd)}");
        // With the whole pixel box as budget, nothing stays robust.
        Assert.True(pgd[^1].Accuracy < 0.05, $"{pgd[^1].Accuracy} at eps 1");
        Assert.True(File.Exists(Path.Combine(dir, "eps.png")) && File.Exists(Path.Combine(dir, "eps.svg")));
        Assert.Contains("│ 0.3 ", output);
    }

    [Fact]
    public void StepsAndRestartsCurvesGiveEachAttackItsOption()
    {
        var dir = TestPaths.TempDir();
        var csv = Path.Combine(dir, "steps.csv");
        var (code, output, err) = InProcessCli.Run("eval", "--checkpoint", InProcessCli.TinyPgdAtRun, "--attack", "pgd3:alpha=0.02", "--steps-sweep", "1,3,10", "--out", csv, "--no-progress");
        Assert.True(code == 0, err + output);
        var pgd = Read(csv).Where(p => p.Attack == "pgd3:alpha=0.02").ToList();
        Assert.Equal([1, 3, 10], pgd.Select(p => p.Value));
        // Ten steps of 0.02 reach the boundary of the 0.1 ball; one step cannot.
        Assert.True(pgd[2].Accuracy <= pgd[0].Accuracy, string.Join(", ", pgd));

        (code, _, err) = InProcessCli.Run("eval", "--checkpoint", InProcessCli.TinyPgdAtRun, "--attack", "fgsm", "--steps-sweep", "1,2", "--out", Path.Combine(dir, "bad.csv"), "--no-progress");
        Assert.Equal(2, code);
        Assert.Contains("unknown option(s) steps", err);
        (code, _, err) = InProcessCli.Run("eval", "--checkpoint", InProcessCli.TinyPgdAtRun, "--attack", "pgd3", "--restarts-sweep", "1,2.5", "--no-progress");
        Assert.Equal(2, code);
        Assert.Contains("--restarts-sweep", err);
        (code, _, err) = InProcessCli.Run("eval", "--checkpoint", InProcessCli.TinyPgdAtRun, "--attack", "pgd3", "--eps-sweep", "0,1", "--steps-sweep", "1,2", "--no-progress");
        Assert.Equal(2, code);
        Assert.Contains("one robustness curve at a time", err);
    }

    [Fact]
    public void AStepsValueIsAppendedToTheAttacksOwnOptions()
    {
        var template = new EvaluationRequest("run", ["pgd20", "cw20:kappa=5"], 0.1, 0, 64, null, null, null, "cpu", null);
        Assert.Equal(["pgd20:steps=50", "cw20:kappa=5,steps=50"], RobustnessCurve.At(template, CurveParameter.Steps, 50).Attacks);
        Assert.Equal(["pgd20:restarts=3", "cw20:kappa=5,restarts=3"], RobustnessCurve.At(template, CurveParameter.Restarts, 3).Attacks);
        Assert.Equal(0.25, RobustnessCurve.At(template, CurveParameter.Eps, 0.25).Eps);
        Assert.Equal(["8/255", "0.1", "0"], new[] { 8 / 255.0, 0.1, 0 }.Select(v => RobustnessCurve.Format(CurveParameter.Eps, v)));
    }
}
