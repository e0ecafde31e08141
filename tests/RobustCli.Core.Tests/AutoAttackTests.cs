using System.Text.Json;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Evaluation;
using RobustCli.Tests.Shared;
using RobustCli.Torch;
using RobustCli.Torch.nn;
using RobustCli.Torch.optim;

namespace RobustCli.Core.Tests;

/// <summary>A linear classifier on small images, trained in a few steps: fast enough to run the whole of AutoAttack.</summary>
public sealed class LinearImageModel : Module
{
    private readonly Linear fc;
    private readonly Func<Tensor, Tensor>? input;
    private readonly bool softmax;

    public LinearImageModel(int features, int classes, Func<Tensor, Tensor>? input = null, bool softmax = false)
    {
        fc = RegisterModule("fc", new Linear(features, classes));
        this.input = input;
        this.softmax = softmax;
    }

    public override Tensor Forward(Tensor x)
    {
        var z = fc.Forward((input == null ? x : input(x)).Flatten(1));
        return softmax ? F.Softmax(z, 1) : z;
    }

    /// <summary>Images of c×s×s with class k lighting up band k of rows, plus noise; the same rule as TinyData.</summary>
    public static ImageDataset Data(int n, int classes = 10, int size = 12, int seed = 5)
    {
        var rng = new Random(seed);
        var pixels = new byte[n * size * size];
        var labels = new long[n];
        var band = Math.Max(1, size / classes);
        for (var i = 0; i < n; i++)
        {
            labels[i] = i % classes;
            for (var p = 0; p < size * size; p++)
                pixels[i * size * size + p] = (byte)(p / size / band == labels[i] ? 150 + rng.Next(100) : rng.Next(110));
        }
        return new ImageDataset("bands", pixels, labels, 1, size, size, classes);
    }

    public static LinearImageModel Trained(ImageDataset data, int steps = 60, ulong seed = 1)
    {
        torch.ManualSeed(seed);
        var model = new LinearImageModel(data.ImageSize, data.NumClasses);
        using var opt = new Adam(model.Parameters(), lr: 0.05);
        using var scope = DisposeScope.Open();
        var x = torch.From<float>(data.Pixels.Select(p => p / 255f).ToArray(), [data.Count, data.Channels, data.Height, data.Width]);
        var y = torch.From((long[])data.Labels.Clone());
        for (var s = 0; s < steps; s++)
        {
            using var step = DisposeScope.Open();
            opt.ZeroGrad();
            F.CrossEntropy(model.Forward(x), y).Backward();
            opt.Step();
        }
        model.Eval();
        return model;
    }
}

/// <summary>FAB's projections, Square's schedule, and AutoAttack run by the evaluator: budgets, seeds, resume, checks.</summary>
public sealed class AutoAttackTests
{
    private sealed record ProjectionCase(double[] t, double[] w, double b, double[] l2, double linf_norm);

    private static readonly Lazy<ProjectionCase[]> Cases = new(() =>
        JsonSerializer.Deserialize<ProjectionCase[]>(File.ReadAllText(TestPaths.Fixture("fab_projections.json")))!);

    private static (Tensor T, Tensor W, Tensor B) Row(double[] t, double[] w, double b) =>
        (torch.From(t.Select(v => (float)v).ToArray(), [1, t.Length]), torch.From(w.Select(v => (float)v).ToArray(), [1, w.Length]), torch.From(new[] { (float)b }));

    [Fact]
    public void FabL2ProjectionIsTheMinimumNormPointInTheBox()
    {
        foreach (var c in Cases.Value)
        {
            using var scope = DisposeScope.Open();
            var (t, w, b) = Row(c.t, c.w, c.b);
            var d = FabProjections.L2(t, w, b).Flatten().ToArray<float>();
            for (var i = 0; i < d.Length; i++) Assert.True(Math.Abs(d[i] - c.l2[i]) < 2e-4, $"L2 case {Array.IndexOf(Cases.Value, c)}: d[{i}] = {d[i]}, expected {c.l2[i]}");
        }
    }

    [Fact]
    public void FabLinfProjectionReachesThePlaneWithTheLeastLinfNorm()
    {
        foreach (var c in Cases.Value)
        {
            using var scope = DisposeScope.Open();
            var (t, w, b) = Row(c.t, c.w, c.b);
            var d = FabProjections.Linf(t, w, b).Flatten().ToArray<float>();
            var idx = Array.IndexOf(Cases.Value, c);
            Assert.True(Math.Abs(d.Max(Math.Abs) - c.linf_norm) < 2e-4, $"Linf case {idx}: norm {d.Max(Math.Abs)}, expected {c.linf_norm}");
            var reached = c.w.Select((wi, i) => wi * (c.t[i] + d[i])).Sum();
            Assert.True(Math.Abs(reached - c.b) < 1e-3, $"Linf case {idx}: w.(t+d) = {reached}, plane at {c.b}");
            for (var i = 0; i < d.Length; i++) Assert.InRange(c.t[i] + d[i], -1e-6, 1 + 1e-6);
        }
    }

    [Fact]
    public void FabProjectionsOnHandSolvedCases()
    {
        using var scope = DisposeScope.Open();
        // Free: the plane x0 = 0.7 from (0.5, 0.5) is 0.2 away along x0, in either norm.
        var (t, w, b) = Row([0.5, 0.5], [1, 0], 0.7);
        TensorAssert.Close(torch.From(new float[] { 0.2f, 0 }, [1, 2]), FabProjections.L2(t, w, b), 1e-5, 1e-6, "L2 free");
        TensorAssert.Close(torch.From(new float[] { 0.2f, 0 }, [1, 2]), FabProjections.Linf(t, w, b), 1e-5, 1e-6, "Linf free");
        // Box-bound: x0 + x1 = 1.8 from (0.9, 0.5); x0 can only rise by 0.1, so x1 carries the rest: (0.1, 0.3).
        (t, w, b) = Row([0.9, 0.5], [1, 1], 1.8);
        TensorAssert.Close(torch.From(new float[] { 0.1f, 0.3f }, [1, 2]), FabProjections.L2(t, w, b), 1e-5, 1e-6, "L2 boxed");
        TensorAssert.Close(torch.From(new float[] { 0.1f, 0.3f }, [1, 2]), FabProjections.Linf(t, w, b), 1e-5, 1e-6, "Linf boxed");
        // Unbound in L2: (0.5, 0.5) to x0 + x1 = 1.2 moves (0.1, 0.1).
        (t, w, b) = Row([0.5, 0.5], [1, 1], 1.2);
        TensorAssert.Close(torch.From(new float[] { 0.1f, 0.1f }, [1, 2]), FabProjections.L2(t, w, b), 1e-5, 1e-6, "L2 diagonal");
    }

    [Theory]
    [InlineData(Norm.Linf, true)]
    [InlineData(Norm.L2, true)]
    [InlineData(Norm.Linf, false)]
    [InlineData(Norm.L2, false)]
    public void FabFindsNearlyTheMinimalAdversarialPerturbationOfALinearModel(Norm norm, bool targeted)
    {
        using var scope = DisposeScope.Open();
        var data = LinearImageModel.Data(20);
        using var model = LinearImageModel.Trained(data);
        var x = torch.From<float>(data.Pixels.Select(p => 0.3f + 0.4f * p / 255f).ToArray(), [data.Count, 1, 12, 12]);
        var y = model.Forward(x).Argmax(1);
        var fab = new FabAttack(targeted ? "fab-t" : "fab", eps: 10, norm, targeted: targeted, iterations: 100);
        var adv = fab.Perturb(model, x, y);
        using var _ = torch.NoGrad();
        Assert.True(model.Forward(adv).Argmax(1).Ne(y).All().Item<bool>(), "FAB with an unbounded eps fools every point of a linear model");
        // No misclassified point can be closer than the nearest class boundary, |z_y - z_k| / ||w_y - w_k||_dual.
        var weight = model.StateDict()["fc.weight"];
        var logits = model.Forward(x);
        var found = Attack.PerSampleNorm(adv - x, norm == Norm.Linf ? double.PositiveInfinity : 2).Flatten().ToArray<float>();
        for (var i = 0; i < data.Count; i++)
        {
            var yi = y[i].ItemLong();
            var bound = double.PositiveInfinity;
            for (var k = 0; k < data.NumClasses; k++)
            {
                if (k == yi) continue;
                var dw = weight[yi] - weight[k];
                var dual = norm == Norm.Linf ? dw.Abs().Sum().Item() : dw.Norm(2).Item();
                bound = Math.Min(bound, (logits[i][yi] - logits[i][k]).Item() / dual);
            }
            Assert.True(found[i] >= bound * (1 - 1e-3), $"sample {i}: {found[i]} is below the lower bound {bound}");
            Assert.True(found[i] <= bound * 1.15, $"sample {i}: FAB found {found[i]}, the minimum is about {bound}");
        }
    }

    [Fact]
    public void SquarePScheduleIsTheReferenceTable()
    {
        // square.py p_selection: p_init up to query 10, then halved at 50, 200, 500, 1000, 2000, 4000, 6000, 8000.
        var table = new (int It, double Divisor)[]
        {
            (0, 1), (10, 1), (11, 2), (50, 2), (51, 4), (200, 4), (201, 8), (500, 8), (501, 16), (1000, 16), (1001, 32),
            (2000, 32), (2001, 64), (4000, 64), (4001, 128), (4999, 128), (6000, 128), (6001, 256), (8000, 256), (8001, 512), (9999, 512),
        };
        foreach (var (it, div) in table) Assert.Equal(0.8 / div, SquareAttack.PSchedule(it, 0.8), 12);
        // Rescaled to a 10,000-query budget: query 500 of 1,000 is query 5,000's p.
        Assert.Equal(0.8 / 128, SquareAttack.PSchedule(500, 0.8, 1000, rescale: true), 12);
        // Side of the square on 28x28 images: round(sqrt(p * 784)).
        var square = new SquareAttack("square", 0.1);
        Assert.Equal(25, square.Side(0, 1, 28, 28));
        Assert.Equal(18, square.Side(11, 1, 28, 28));
        Assert.Equal(2, square.Side(4500, 1, 28, 28));
        Assert.Equal(1, square.Side(9000, 1, 28, 28));
        var l2 = new SquareAttack("square-l2", 0.5, Norm.L2);
        Assert.Equal(3, l2.Side(9000, 3, 32, 32));
        Assert.Equal(29, l2.Side(0, 3, 32, 32));
    }

    [Fact]
    public void SquareL2PatternIsTheNestedSquaresOfTheReference()
    {
        var eta = SquareAttack.Eta(5);
        Assert.Equal(1.0, eta.Sum(v => v * v), 10);
        // Top two rows positive, bottom three negative, mirror-symmetric left to right, peaking at the centre column.
        for (var r = 0; r < 5; r++)
            for (var q = 0; q < 5; q++)
            {
                Assert.True(r < 2 ? eta[r * 5 + q] > 0 : eta[r * 5 + q] < 0);
                Assert.Equal(eta[r * 5 + q], eta[r * 5 + 4 - q], 12);
            }
        Assert.True(eta[1 * 5 + 2] > eta[1 * 5 + 1] && eta[1 * 5 + 1] > eta[1 * 5 + 0]);
        // Rectangles(2, 5): centre (1, 2); rings add 1, 1/4, 1/9: row 1 is [1/9, 1/4+1/9, 1+1/4+1/9, ...] before normalising.
        var expectedRow = new[] { 1 / 9.0, 1 / 4.0 + 1 / 9.0, 1 + 1 / 4.0 + 1 / 9.0, 1 / 4.0 + 1 / 9.0, 1 / 9.0 };
        var ratio = eta[1 * 5 + 2] / expectedRow[2];
        for (var q = 0; q < 5; q++) Assert.Equal(expectedRow[q] * ratio, eta[5 + q], 10);
    }

    [Theory]
    [InlineData("square:queries=300", 0.3)]
    [InlineData("square-l2:queries=300", 3.0)]
    [InlineData("fab-t:steps=30", 0.15)]
    [InlineData("fab-t-l2:steps=30", 1.5)]
    [InlineData("apgd-t:steps=30", 0.15)]
    public void AutoAttackComponentsStayInTheBudgetAndBreakAnUndefendedModel(string preset, double eps)
    {
        using var scope = DisposeScope.Open();
        var data = LinearImageModel.Data(30);
        using var model = LinearImageModel.Trained(data);
        var x = torch.From<float>(data.Pixels.Select(p => p / 255f).ToArray(), [data.Count, 1, 12, 12]);
        var y = torch.From((long[])data.Labels.Clone());
        var attack = AttackPresets.Create(preset, eps);
        var adv = attack.Perturb(model, x, y, sampleIds: Enumerable.Range(0, data.Count).Select(i => (long)i).ToArray());
        using var _ = torch.NoGrad();
        var norms = Attack.PerSampleNorm(adv - x, attack.Norm == Norm.Linf ? double.PositiveInfinity : 2);
        Assert.True(norms.Max().Item() <= eps + 1e-5, $"{preset}: {norms.Max().Item()} > eps {eps}");
        Assert.InRange(adv.Min().Item(), 0, 1);
        Assert.InRange(adv.Max().Item(), 0, 1);
        var clean = model.Forward(x).Argmax(1).Eq(y).Sum().ItemLong();
        var robust = model.Forward(adv).Argmax(1).Eq(y).Sum().ItemLong();
        Assert.True(clean >= 27, $"the linear model learned the bands ({clean}/30)");
        Assert.True(robust <= clean / 3, $"{preset} left {robust} of {clean} correctly classified points robust");
    }

    [Fact]
    public void SquareWithoutSampleIdsTreatsTheRowsAsTheSamples()
    {
        using var scope = DisposeScope.Open();
        var data = LinearImageModel.Data(10);
        using var model = LinearImageModel.Trained(data);
        var x = torch.From<float>(data.Pixels.Select(p => p / 255f).ToArray(), [data.Count, 1, 12, 12]);
        var y = torch.From((long[])data.Labels.Clone());
        var square = new SquareAttack("square", 0.3, queries: 300);
        var direct = square.Perturb(model, x, y);
        var named = square.Perturb(model, x, y, sampleIds: Enumerable.Range(0, data.Count).Select(i => (long)i).ToArray());
        TensorAssert.Close(named, direct, 0, 0, "same draws");
        Assert.True((direct - x).Abs().Max().Item() > 0, "Square moved some point");
    }

    private static AttackSuite Suite(string spec, double eps, int classes = 10, Action<string>? warn = null) =>
        AttackSuites.Parse(spec, eps, classes, new SuiteDefaults(), warn);

    private const string QuickAutoAttack = "autoattack:version=custom,attacks=apgd-ce:steps=20+apgd-t:steps=10,targets=3+fab-t:steps=10,targets=3+square:queries=100";

    [Fact]
    public void AtEpsZeroAutoAttackEqualsCleanAccuracy()
    {
        var data = LinearImageModel.Data(40);
        using var model = LinearImageModel.Trained(data, steps: 1);
        var r = RobustnessEvaluator.Evaluate(model, data, [Suite("autoattack", 0)], new EvaluationOptions { BatchSize = 16 });
        Assert.True(r.CleanAccuracy is > 0.1 and < 1.0, $"a partly trained model ({r.CleanAccuracy})");
        Assert.Equal(r.CleanAccuracy, r.RobustAccuracy("autoattack"));
        Assert.All(r.Suite("autoattack").PerturbationNorm, n => Assert.Equal(0f, n));
    }

    [Fact]
    public void AutoAttackBreaksAnUndefendedModelAndIsAtMostPgd()
    {
        var data = LinearImageModel.Data(40);
        using var model = LinearImageModel.Trained(data);
        var r = RobustnessEvaluator.Evaluate(model, data, [Suite("pgd20", 0.25), Suite("autoattack", 0.25)], new EvaluationOptions { BatchSize = 20 });
        Assert.True(r.CleanAccuracy >= 0.9);
        Assert.True(r.RobustAccuracy("autoattack") <= r.RobustAccuracy("pgd20"), $"AA {r.RobustAccuracy("autoattack")} > PGD-20 {r.RobustAccuracy("pgd20")}");
        Assert.True(r.RobustAccuracy("autoattack") <= 0.05, $"AA left {r.RobustAccuracy("autoattack")} of an undefended model robust");
        var aa = r.Suite("autoattack");
        Assert.Equal(["apgd-ce", "apgd-t", "fab-t", "square"], aa.Stages);
        // The cumulative table never rises, and the per-sample outcome agrees with it.
        Assert.True(aa.RobustAfterStage.Zip(aa.RobustAfterStage.Skip(1)).All(p => p.First >= p.Second));
        Assert.Equal(aa.RobustAfterStage[^1], aa.BrokenBy.Count(b => b == Outcome.Robust));
        Assert.Equal(r.Clean.Count(c => !c), aa.BrokenBy.Count(b => b == Outcome.Misclassified));
        Assert.All(aa.PerturbationNorm, n => Assert.True(n <= 0.25 + 1e-5));
        Assert.Empty(r.Warnings);
    }

    [Fact]
    public void BatchSizeDoesNotChangeAnySampleOutcome()
    {
        var data = LinearImageModel.Data(36);
        using var model = LinearImageModel.Trained(data, steps: 30);
        EvaluationResult Run(int batch) => RobustnessEvaluator.Evaluate(model, data,
            [Suite("pgd10", 0.12), Suite(QuickAutoAttack, 0.12)], new EvaluationOptions { BatchSize = batch, KeepAdversarial = true });
        var a = Run(5);
        var b = Run(36);
        foreach (var (sa, sb) in a.Suites.Zip(b.Suites))
        {
            Assert.Equal(sa.BrokenBy, sb.BrokenBy);
            Assert.Equal(sa.Prediction, sb.Prediction);
            for (var i = 0; i < sa.Count; i++) Assert.True(Math.Abs(sa.PerturbationNorm[i] - sb.PerturbationNorm[i]) < 1e-5);
            Assert.True(sa.BrokenBy.Any(x => x >= 0) && sa.BrokenBy.Any(x => x == Outcome.Robust), "some points broken and some robust, so the comparison means something");
            var (xa, xb) = (a.Adversarial![sa.Name], b.Adversarial![sb.Name]);
            Assert.True(xa.Zip(xb).Max(p => Math.Abs(p.First - p.Second)) < 1e-4, "the adversarial examples agree too");
        }
    }

    [Fact]
    public void AnEvaluationLeavesNoTensorBehind()
    {
        var data = LinearImageModel.Data(24);
        using var model = LinearImageModel.Trained(data, steps: 30);
        var suites = () => new[] { Suite("pgd5", 0.12), Suite(QuickAutoAttack, 0.12) };
        RobustnessEvaluator.Evaluate(model, data, suites(), new EvaluationOptions { BatchSize = 5 }); // warm-up: lazily made state
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var (managed, native) = (Tensor.LiveCount, Tensor.NativeLiveCount);
        RobustnessEvaluator.Evaluate(model, data, suites(), new EvaluationOptions { BatchSize = 5, KeepAdversarial = true });
        // No collection here: the finalizer would hide a tensor left to the GC. Every tensor of the evaluation (thousands: 4 attacks, hundreds of steps) was freed by its scope.
        Assert.Equal(native, Tensor.NativeLiveCount);
        Assert.Equal(managed, Tensor.LiveCount);
    }

    [Fact]
    public void ProgressMovesWithinABatchSoLongAttacksShowTheirPace()
    {
        var data = LinearImageModel.Data(20);
        using var model = LinearImageModel.Trained(data, steps: 30);
        var seen = new List<(string What, int Done, int Total)>();
        RobustnessEvaluator.Evaluate(model, data, [Suite("autoattack:version=custom,attacks=apgd-ce:steps=50+square:queries=200", 0.12)],
            new EvaluationOptions { BatchSize = 64, Progress = (w, d, t) => seen.Add((w, d, t)) });
        Assert.Contains(seen, p => p.What == "autoattack-custom/apgd-ce" && p.Done > 0 && p.Done < p.Total);
        Assert.Contains(seen, p => p.What == "autoattack-custom/apgd-ce" && p.Done == p.Total);
        var apgd = seen.Where(p => p.What == "autoattack-custom/apgd-ce").Select(p => p.Done).ToList();
        Assert.Equal(apgd.OrderBy(d => d), apgd);
    }

    [Fact]
    public void AResumedEvaluationEndsAsAnUninterruptedOne()
    {
        var data = LinearImageModel.Data(36);
        using var model = LinearImageModel.Trained(data, steps: 30);
        var suites = () => new[] { Suite(QuickAutoAttack, 0.12) };
        var full = RobustnessEvaluator.Evaluate(model, data, suites(), new EvaluationOptions { BatchSize = 6 });
        var state = Path.Combine(TestPaths.TempDir(), "aa-state.json");
        using var cts = new CancellationTokenSource();
        var batches = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => RobustnessEvaluator.Evaluate(model, data, suites(), new EvaluationOptions
        {
            BatchSize = 6, StatePath = state, Cancel = cts.Token,
            // Stop inside the second attack, after some of its batches.
            Progress = (what, done, total) => { if (what.EndsWith("apgd-t", StringComparison.Ordinal) && done > 0 && ++batches == 2) cts.Cancel(); },
        }));
        var saved = EvaluationState.Load(state)!;
        Assert.Equal(1, saved.Suites[0].StagesDone);
        Assert.True(saved.Suites[0].Cursor > 0);
        var logs = new List<string>();
        var resumed = RobustnessEvaluator.Evaluate(model, data, suites(), new EvaluationOptions { BatchSize = 6, StatePath = state, Log = logs.Add });
        Assert.Contains(logs, l => l.StartsWith("resuming", StringComparison.Ordinal));
        Assert.Equal(full.Suites[0].BrokenBy, resumed.Suites[0].BrokenBy);
        Assert.Equal(full.Suites[0].Prediction, resumed.Suites[0].Prediction);
        Assert.Equal(full.Suites[0].RobustAfterStage, resumed.Suites[0].RobustAfterStage);
        // A state saved without adversarial examples cannot supply them later.
        var noAdv = Assert.Throws<InvalidDataException>(() => RobustnessEvaluator.Evaluate(model, data, suites(), new EvaluationOptions { StatePath = state, KeepAdversarial = true }));
        Assert.Contains("without --save-adv", noAdv.Message);
        // Another budget is another evaluation: its state is refused, not silently mixed.
        var e = Assert.Throws<InvalidDataException>(() => RobustnessEvaluator.Evaluate(model, data, [Suite(QuickAutoAttack, 0.13)], new EvaluationOptions { StatePath = state }));
        Assert.Contains("other settings", e.Message);
    }

    [Fact]
    public void ChecksWarnAboutProbabilitiesRandomnessAndTrainMode()
    {
        var data = LinearImageModel.Data(20);
        using var trained = LinearImageModel.Trained(data);
        using var probs = new LinearImageModel(data.ImageSize, 10, softmax: true);
        probs.LoadStateDict(trained.StateDict());
        var quick = () => new[] { Suite("autoattack:version=custom,attacks=apgd-ce:steps=5", 0.05) };
        var r = RobustnessEvaluator.Evaluate(probs, data, quick(), new EvaluationOptions());
        Assert.Contains(r.Warnings, w => w.Contains("look like probabilities"));

        using var noisy = new LinearImageModel(data.ImageSize, 10, input: x => x + torch.RandnLike(x) * 0.05);
        noisy.LoadStateDict(trained.StateDict());
        r = RobustnessEvaluator.Evaluate(noisy, data, quick(), new EvaluationOptions());
        Assert.Contains(r.Warnings, w => w.Contains("randomized") && w.Contains("rand"));
        // The rand version is meant for such models: EOT over 20 passes, and no randomness warning.
        var rand = Suite("autoattack:version=rand", 0.25);
        r = RobustnessEvaluator.Evaluate(noisy, data, [rand], new EvaluationOptions());
        Assert.DoesNotContain(r.Warnings, w => w.Contains("randomized"));
        Assert.True(r.RobustAccuracy(rand.Name) < r.CleanAccuracy, "APGD with EOT breaks some points of the noisy model");

        trained.Train();
        r = RobustnessEvaluator.Evaluate(trained, data, quick(), new EvaluationOptions());
        Assert.Contains(r.Warnings, w => w.Contains("train mode"));
        Assert.True(trained.Training, "the model is left in the mode it came in");
    }

    [Fact]
    public void MaskedGradientsAreFlaggedAndSquareBeatingWhiteBoxIsReported()
    {
        var data = LinearImageModel.Data(40);
        using var trained = LinearImageModel.Trained(data);
        // Quantized input: a step function, whose gradient is zero everywhere (gradient masking).
        using var masked = new LinearImageModel(data.ImageSize, 10, input: x => (x * 4).Round() / 4);
        masked.LoadStateDict(trained.StateDict());
        var suite = Suite("autoattack:version=custom,attacks=apgd-ce:steps=10+apgd-t:steps=10,targets=2+square:queries=300", 0.2);
        var r = RobustnessEvaluator.Evaluate(masked, data, [suite], new EvaluationOptions { BatchSize = 40 });
        Assert.Contains(r.Warnings, w => w.Contains("gradient is exactly zero"));
        Assert.Contains(r.Warnings, w => w.Contains("Square broke"));
    }

    [Fact]
    public void TooFewClassesForDlrDropTheDlrAttacksWithAMessage()
    {
        var warnings = new List<string>();
        var suite = AttackSuites.Parse("autoattack", 0.1, 2, new SuiteDefaults(), warnings.Add);
        Assert.Equal(["apgd-ce", "fab-t", "square"], suite.Stages.Select(s => s.Name));
        Assert.Contains(warnings, w => w.Contains("apgd-t skipped") && w.Contains("4 classes"));
        var data = LinearImageModel.Data(20, classes: 2);
        using var model = LinearImageModel.Trained(data, steps: 20);
        var r = RobustnessEvaluator.Evaluate(model, data, [AttackSuites.Parse("autoattack:version=custom,attacks=apgd-ce:steps=5+fab-t:steps=5+square:queries=20", 0.1, 2, new SuiteDefaults())],
            new EvaluationOptions());
        Assert.Equal(20, r.Count);
        warnings.Clear();
        AttackSuites.Parse("autoattack:version=plus", 0.1, 3, new SuiteDefaults(), warnings.Add);
        Assert.Contains(warnings, w => w.Contains("apgd-t skipped"));
        Assert.DoesNotContain(warnings, w => w.Contains("apgd-dlr skipped"));
    }

    [Fact]
    public void VersionsHaveTheReferenceComposition()
    {
        var standard = Suite("autoattack", 8 / 255.0);
        Assert.Equal(["apgd-ce", "apgd-t", "fab-t", "square"], standard.Stages.Select(s => s.Name));
        var apgdT = (ApgdAttack)standard.Stages[1];
        Assert.Equal((100, 1, 9), (apgdT.Iterations, apgdT.Restarts, apgdT.TargetClasses));
        var sq = (SquareAttack)standard.Stages[3];
        Assert.Equal((5000, 0.8, false), (sq.Queries, sq.PInit, sq.RescaleSchedule));
        var plus = Suite("autoattack:version=plus", 8 / 255.0);
        Assert.Equal(["apgd-ce", "apgd-dlr", "fab", "square", "apgd-t", "fab-t"], plus.Stages.Select(s => s.Name));
        Assert.Equal(5, ((ApgdAttack)plus.Stages[0]).Restarts);
        Assert.Equal(5, ((FabAttack)plus.Stages[2]).Restarts);
        var rand = Suite("autoattack:version=rand", 8 / 255.0);
        Assert.All(rand.Stages.Cast<ApgdAttack>(), a => Assert.Equal(20, a.EotIterations));
        var l2 = Suite("autoattack:norm=l2", 0.5);
        Assert.All(l2.Stages, a => Assert.Equal(Norm.L2, a.Norm));
        Assert.Throws<FormatException>(() => Suite("autoattack:versoin=plus", 0.1));
        Assert.Throws<ArgumentException>(() => Suite("autoattack:version=fast", 0.1));
    }
}
