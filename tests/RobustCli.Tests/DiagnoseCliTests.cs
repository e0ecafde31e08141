using System.CommandLine;
using RobustCli.Commands;
using RobustCli.Core.Attacks;
using RobustCli.Core.Evaluation;
using RobustCli.Experiments.Jobs;
using RobustCli.Tests.Shared;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Tests;

/// <summary>robust diagnose passes an honest PGD-AT model and flags the same model behind a gradient-masking input layer.</summary>
public sealed class DiagnoseCliTests
{
    /// <summary>Rounds the input to 8 gray levels before the model: a non-differentiable step whose gradient is zero.</summary>
    private sealed class Quantizing : Module
    {
        private readonly Module inner;
        public Quantizing(Module inner) { this.inner = RegisterModule("inner", inner); }
        public override Tensor Forward(Tensor x)
        {
            using var scaled = x.Mul(7);
            using var rounded = scaled.Round();
            using var q = rounded.Div(7);
            return inner.Forward(q);
        }
    }

    /// <summary>
    /// A nearest-centroid linear classifier (score_c = s·(μ_c·x − ½|μ_c|²)): honest by construction — PGD is optimal
    /// on it, its softmax never saturates at this scale, and nothing is random or quantized.
    /// </summary>
    private sealed class Centroids : Module
    {
        private readonly Linear fc;
        public Centroids(RobustCli.Core.Data.ImageDataset data, int classes, float scale = 0.5f)
        {
            var d = data.Channels * data.Height * data.Width;
            var w = new float[classes * d];
            var b = new float[classes];
            for (var c = 0; c < classes; c++)
            {
                var members = Enumerable.Range(0, data.Count).Where(i => data.Labels[i] == c).ToList();
                for (var k = 0; k < d; k++)
                    w[c * d + k] = members.Count == 0 ? 0 : members.Average(i => data.Pixels[i * d + k] / 255f);
                b[c] = -0.5f * scale * Enumerable.Range(0, d).Sum(k => w[c * d + k] * w[c * d + k]);
                for (var k = 0; k < d; k++) w[c * d + k] *= scale;
            }
            fc = RegisterModule("fc", new Linear(d, classes));
            using (torch.NoGrad())
            {
                using var wt = torch.From<float>(w, [classes, d]);
                using var bt = torch.From<float>(b, [classes]);
                fc.Weight.Copy_(wt);
                fc.Bias!.Copy_(bt);
            }
        }
        public override Tensor Forward(Tensor x)
        {
            using var f = x.Flatten(1);
            return fc.Forward(f);
        }
    }

    private static IReadOnlyDictionary<string, DiagnosisCheck> Diagnose(Module model, RobustCli.Core.Data.ImageDataset data, double eps) =>
        MaskingDiagnosis.Run(model, data, 10, new MaskingDiagnosis.Options(eps, Norm.Linf, 64, Device.CPU, SquareQueries: 300)).ToDictionary(c => c.Name);

    private static RobustCli.Core.Data.ImageDataset TestPoints() =>
        RobustCli.Core.Data.DatasetCatalog.Load("fashion-mnist", train: false, TinyData.FashionMnistLike(64, 64), TestPaths.RepoRoot).Take(64);

    [Fact]
    public void AnHonestModelPassesEveryCheck()
    {
        var data = TestPoints();
        using var model = new Centroids(data, 10);
        var checks = Diagnose(model, data, 0.1);
        Assert.All(checks.Values, c => Assert.True(c.Passed, $"{c.Name}: {c.Measured}"));
    }

    [Fact]
    public void AQuantizingInputLayerIsFlaggedAsMaskingGradients()
    {
        var data = TestPoints();
        using var masked = new Quantizing(new Centroids(data, 10));
        var checks = Diagnose(masked, data, 0.1);
        // Every input gradient is zero, so PGD from the clean point never moves, even with the whole box as budget.
        Assert.False(checks["gradients"].Passed, checks["gradients"].Measured);
        Assert.Contains("100.0% exactly zero", checks["gradients"].Measured);
        Assert.False(checks["large-eps"].Passed, checks["large-eps"].Measured);
        var curve = checks["large-eps"].Curve!;
        Assert.All(curve.Accuracy.Single().Value, a => Assert.Equal(curve.Accuracy.Single().Value[0], a));
        Assert.True(checks["randomness"].Passed);
    }

    [Fact]
    public void ATransferAttackFromAnHonestModelExposesTheQuantizedOneAndPassesAnHonestTwin()
    {
        var data = TestPoints();
        using var honest = new Centroids(data, 10);
        using var masked = new Quantizing(new Centroids(data, 10));
        // At 0.4 the honest model's own PGD breaks most points (at 0.1 these easy points are all robust).
        MaskingDiagnosis.Options Options(Module source) => new(0.4, Norm.Linf, 64, Device.CPU, SquareQueries: 50) { TransferSource = source, TransferName = "the honest model" };
        var check = MaskingDiagnosis.Run(masked, data, 10, Options(honest)).Single(c => c.Name == "transfer");
        // White-box PGD cannot move the quantized model (zero gradients); the honest model's examples can.
        Assert.False(check.Passed, check.Measured);
        using var twin = new Centroids(data, 10);
        check = MaskingDiagnosis.Run(honest, data, 10, Options(twin)).Single(c => c.Name == "transfer");
        Assert.True(check.Passed, check.Measured);
        Assert.DoesNotContain(MaskingDiagnosis.Run(honest, data, 10, new MaskingDiagnosis.Options(0.1, Norm.Linf, 64, Device.CPU, SquareQueries: 50)), c => c.Name == "transfer");
    }

    /// <summary>
    /// From the command line, the tiny PGD-AT run: trained to 100% on easy synthetic data, its softmax saturates so
    /// that a third of its input gradients are exactly zero, and Square beats PGD — masking by saturation, which
    /// the command reports with exit code 3, its table, and its files.
    /// </summary>
    [Fact]
    public void ASaturatedModelFailsFromTheCommandLineWithExitCodeThree()
    {
        var outDir = TestPaths.TempDir();
        var (code, output, err) = InProcessCli.Run("diagnose", InProcessCli.TinyPgdAtRun, "--n", "64", "--square-queries", "300", "--out", outDir,
            "--transfer-from", InProcessCli.TinyPgdAtRun);
        Assert.True(code == DiagnoseCommand.CheckFailed, output + err);
        Assert.Contains("FAIL  gradients", output);
        // The transfer check ran (from the model itself, so it is the white-box attack again and passes).
        Assert.Contains("pass  transfer", output);
        foreach (var f in new[] { "diagnose.md", "diagnose.json", "large-eps.png", "steps.svg", "restarts.png", "gradients.png" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f + " missing");
    }
}
