using RobustCli.Core.Attacks;
using RobustCli.Core.Training;
using RobustCli.Tests.Shared;
using RobustCli.Torch;
using RobustCli.Torch.nn;
using RobustCli.Torch.Serialization;

namespace RobustCli.Core.Tests;

/// <summary>Attacks and training losses against PyTorch on a tiny fixed model (tests/fixtures/attacks.safetensors).</summary>
public sealed class AttackTests
{
    private static readonly Lazy<StateDict> Fx = new(() => SafeTensors.Load(TestPaths.Fixture("attacks.safetensors")).Tensors);

    private sealed class Tiny : Module
    {
        private readonly Linear fc1, fc2;

        public Tiny()
        {
            fc1 = RegisterModule("fc1", new Linear(36, 16));
            fc2 = RegisterModule("fc2", new Linear(16, 4));
            LoadStateDict(Fx.Value.Where(kv => kv.Key.StartsWith("fc", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value));
        }

        public override Tensor Forward(Tensor x)
        {
            using var f = x.Flatten(1);
            using var h = fc1.Forward(f).Relu_();
            return fc2.Forward(h);
        }
    }

    private static void Check(string? key, Attack attack, ulong? seed = null)
    {
        using var scope = DisposeScope.Open();
        using var model = new Tiny();
        if (seed.HasValue) torch.ManualSeed(seed.Value);
        var adv = attack.Perturb(model, Fx.Value["x"], Fx.Value["y"]);
        key ??= attack.Name;
        if (Fx.Value.ContainsKey(key)) TensorAssert.Close(Fx.Value[key], adv, 1e-5, 1e-6, key);
        // Every attack stays in the budget and the box.
        using var delta = (adv - Fx.Value["x"]);
        var norm = attack.Norm == Norm.Linf ? delta.Abs().Max().Item() : Attack.PerSampleNorm(delta, 2).Max().Item();
        Assert.True(norm <= attack.Eps + 1e-6, $"{key}: perturbation {norm} exceeds eps {attack.Eps}");
        Assert.InRange(adv.Min().Item(), 0, 1);
        Assert.InRange(adv.Max().Item(), 0, 1);
    }

    [Fact] public void Fgsm() => Check("fgsm", new FgsmAttack("fgsm", 0.1));
    [Fact] public void PgdFromAUniformStart() => Check("pgd_uniform", new PgdAttack("pgd", 0.1, 0.025, 5), seed: 1);
    [Fact] public void PgdWithoutStart() => Check("pgd_none", new PgdAttack("pgd", 0.1, 0.025, 5, start: RandomStart.None));
    [Fact] public void PgdL2() => Check("pgd_l2", new PgdAttack("pgd-l2", 0.5, 0.1, 5, Norm.L2, RandomStart.None));
    [Fact] public void CwMargin() => Check("cw", new PgdAttack("cw", 0.1, 0.02, 5, Norm.Linf, RandomStart.None, 1, new CwMarginLoss(50)));
    [Fact] public void MiFgsm() => Check("mifgsm", new MiFgsmAttack("mifgsm", 0.1, 0.02, 5, 1.0));
    [Fact] public void TradesInnerMaximisation() => Check("trades_kl", new PgdAttack("trades", 0.1, 0.02, 5, Norm.Linf, RandomStart.Normal, 1, new TradesKlLoss()), seed: 2);

    [Fact] public void FriendlyPgdStopsEarly() => Check("fat_tau0", new FriendlyPgdAttack("fat", 0.3, 0.05, 8, tau: 0, omega: 0, RandomStart.None));
    [Fact] public void FriendlyPgdWithABudget() => Check("fat_tau2", new FriendlyPgdAttack("fat", 0.3, 0.05, 8, tau: 2, omega: 0, RandomStart.None));

    [Fact]
    public void TrainingLossesEqualTheReferenceCode()
    {
        using var scope = DisposeScope.Open();
        var (zn, za, y) = (Fx.Value["loss.natural"], Fx.Value["loss.adversarial"], Fx.Value["y"]);
        TensorAssert.Close(Fx.Value["loss.cw"], new CwMarginLoss(50).Compute(za, y, null), 1e-6, 1e-6, "CW margin");
        TensorAssert.Close(Fx.Value["loss.trades"], TradesTraining.Loss(zn, za, y, 6.0), 1e-6, 1e-6, "TRADES");
        TensorAssert.Close(Fx.Value["loss.mart"], MartTraining.Loss(zn, za, y, 6.0), 1e-6, 1e-6, "MART");
    }

    [Fact]
    public void ApgdCheckpointsAreTheReferences()
    {
        Assert.Equal([21, 40, 56, 69, 79, 86, 92, 98], ApgdAttack.Checkpoints(100));
        Assert.Equal([], ApgdAttack.Checkpoints(1).Where(i => i > 0));
    }

    [Fact]
    public void DlrLossesEqualTheReferenceCode()
    {
        using var scope = DisposeScope.Open();
        var (z, y, t) = (Fx.Value["dlr.logits"], Fx.Value["dlr.y"], Fx.Value["dlr.target"]);
        TensorAssert.Close(Fx.Value["dlr.untargeted"], ApgdLosses.Dlr(z, y), 1e-5, 1e-6, "DLR");
        TensorAssert.Close(Fx.Value["dlr.targeted"], ApgdLosses.TargetedDlr(z, y, t), 1e-5, 1e-6, "targeted DLR");
        Assert.Contains("at least 3 classes", Assert.Throws<ArgumentException>(() => ApgdLosses.Dlr(torch.Randn(2, 2), torch.From(new long[] { 0, 1 }))).Message);
    }

    [Theory]
    [InlineData("apgd-ce")]
    [InlineData("apgd-dlr")]
    [InlineData("apgd-ce-l2")]
    public void ApgdStaysInTheBudgetAndIsAtLeastAsStrongAsPgd(string preset)
    {
        using var scope = DisposeScope.Open();
        using var model = new Tiny();
        var eps = preset.EndsWith("-l2", StringComparison.Ordinal) ? 0.5 : 0.1;
        torch.ManualSeed(0);
        var apgd = AttackPresets.Create(preset + ":steps=20", eps);
        Check(null, apgd);
        var x = Fx.Value["x"];
        var y = Fx.Value["y"];
        long Robust(Tensor a) { using var _ = torch.NoGrad(); return model.Forward(a).Argmax(1).Eq(y).Sum().ItemLong(); }
        var pgd = new PgdAttack("pgd", eps, 2.5 * eps / 20, 20, apgd.Norm, RandomStart.None);
        Assert.True(Robust(apgd.Perturb(model, x, y)) <= Robust(pgd.Perturb(model, x, y)));
    }

    [Theory]
    [InlineData("pgd-at", 5UL)]
    [InlineData("trades", 6UL)]
    public void AWholeTrainingStepEqualsPyTorchs(string method, ulong seed)
    {
        using var scope = DisposeScope.Open();
        using var model = new Tiny();
        using var opt = new RobustCli.Torch.optim.SGD(model.Parameters(), lr: 0.1, momentum: 0.9, weightDecay: 5e-4);
        var settings = new AttackSettings(Norm.Linf, 0.1, 0.05, 3, RandomStart.Uniform);
        ITrainingMethod m = method == "pgd-at" ? new PgdAdversarialTraining(settings) : new TradesTraining(settings, 6.0);
        torch.ManualSeed(seed);
        var r = new OptimizationStep(opt).Run(m, new StepContext(model, 0, 1, 4), Fx.Value["x"], Fx.Value["y"]);
        Assert.Equal(Fx.Value[$"{method}_step.loss"].Item(), r.Loss, 5);
        foreach (var (k, v) in model.StateDict())
            TensorAssert.Close(Fx.Value[$"{method}_step.{k}"], v, 1e-5, 1e-6, $"{method} {k}");
    }

    [Fact]
    public void AttackRunsInEvalModeAndRestoresTrainMode()
    {
        using var scope = DisposeScope.Open();
        using var model = new ModeProbe();
        model.Train();
        new PgdAttack("pgd", 0.1, 0.02, 2).Perturb(model, torch.Rand(2, 3), torch.From(new long[] { 0, 1 }));
        Assert.True(model.Training);
        Assert.All(model.SeenModes, t => Assert.False(t));
    }

    private sealed class ModeProbe : Module
    {
        private readonly Linear fc = new(3, 2);
        public readonly List<bool> SeenModes = [];
        public ModeProbe() { RegisterModule("fc", fc); }
        public override Tensor Forward(Tensor x) { SeenModes.Add(Training); return fc.Forward(x); }
    }

    [Fact]
    public void RestartsKeepTheFirstFoolingPointAndZeroEpsChangesNothing()
    {
        using var scope = DisposeScope.Open();
        using var model = new Tiny();
        var x = Fx.Value["x"];
        var y = Fx.Value["y"];
        var zero = new PgdAttack("pgd", 0, 0.01, 3).Perturb(model, x, y);
        Assert.Equal(x.ToArray<float>(), zero.ToArray<float>());
        torch.ManualSeed(3);
        var one = new PgdAttack("pgd", 0.1, 0.025, 5).Perturb(model, x, y);
        torch.ManualSeed(3);
        var five = new PgdAttack("pgd", 0.1, 0.025, 5, restarts: 5).Perturb(model, x, y);
        long Fooled(Tensor a) { using var _ = torch.NoGrad(); return model.Forward(a).Argmax(1).Ne(y).Sum().ItemLong(); }
        Assert.True(Fooled(five) >= Fooled(one));
    }

    [Theory]
    [InlineData(Norm.Linf, 0.5, 0.1)]
    [InlineData(Norm.L2, 3.0, 0.75)]
    public void HypocriticalPerturbationsStopAtTheFirstCorrectIterateWithinTheBallAndBox(Norm norm, double eps, double alpha)
    {
        using var scope = DisposeScope.Open();
        using var model = new Tiny();
        var x = Fx.Value["x"];
        var y = Fx.Value["y"];
        long[] Pred(Tensor a) { using var _ = torch.NoGrad(); return model.Forward(a).Argmax(1).ToArray<long>(); }
        const int steps = 8;
        var hyp = new HypocriticalAttack("hypocritical", eps, alpha, steps, norm).Perturb(model, x, y);
        // PGD on the negated cross entropy from x itself: its k-step points are the hypocritical attack's iterates.
        var iterates = Enumerable.Range(0, steps + 1)
            .Select(k => new PgdAttack("pgd", eps, alpha, k, norm, RandomStart.None, 1, new TrueClassLoss()).Perturb(model, x, y)).ToList();
        var labels = y.ToArray<long>();
        var preds = iterates.Select(Pred).ToList();
        var n = labels.Length;
        var dim = (int)(x.Shape.Aggregate(1L, (a, b) => a * b) / n);
        var got = hyp.ToArray<float>();
        var misclassified = 0;
        var fixedCount = 0;
        for (var i = 0; i < n; i++)
        {
            if (preds[0][i] != labels[i]) misclassified++;
            var first = Enumerable.Range(0, steps + 1).FirstOrDefault(k => preds[k][i] == labels[i], steps);
            if (preds[first][i] == labels[i] && preds[0][i] != labels[i]) fixedCount++;
            var want = iterates[first].ToArray<float>().AsSpan(i * dim, dim).ToArray();
            var have = got.AsSpan(i * dim, dim).ToArray();
            Assert.True(want.Zip(have).All(p => Math.Abs(p.First - p.Second) <= 1e-5), $"sample {i}: not the first correct iterate ({first})");
        }
        Assert.True(misclassified > 0 && fixedCount > 0, $"{fixedCount} of {misclassified} misclassified made correct: the fixture shows nothing");
        // Never outside the eps-ball or the pixel box.
        using var delta = hyp - x;
        var size = norm == Norm.Linf ? delta.Abs().Max().Item() : delta.Flatten(1).Square().Sum(1).Sqrt().Max().Item();
        Assert.True(size <= eps + 1e-6, $"perturbation {size} > eps {eps}");
        Assert.True(hyp.Min().Item() >= 0 && hyp.Max().Item() <= 1);
        // The evaluator counts the misclassified points it made correct, and the accuracy it shows rises.
        var pixels = x.ToArray<float>().Select(v => (byte)Math.Round(v * 255)).ToArray();
        var data = new RobustCli.Core.Data.ImageDataset("fx", pixels, labels, 1, 6, 6, 4);
        var r = RobustCli.Core.Evaluation.HypocriticalEvaluator.Evaluate(model, data, new HypocriticalAttack("hypocritical", eps, alpha, steps, norm), 3, Device.CPU);
        Assert.True(r.Misclassified > 0 && r.MadeCorrect > 0 && r.AccuracyAfter > r.CleanAccuracy, $"{r}");
        Assert.True(r.MaxPerturbation <= eps + 1e-6 && r.MinPixel >= 0 && r.MaxPixel <= 1, $"{r}");
    }

    [Theory]
    [InlineData("pgd20", "pgd20", 20, 2.5 * 0.1 / 20)]
    [InlineData("pgd20:alpha=0.003,restarts=5", "pgd20", 20, 0.003)]
    [InlineData("cw100", "cw100", 100, 2.5 * 0.1 / 100)]
    [InlineData("pgd10:alpha=2/255", "pgd10", 10, 2.0 / 255)]
    public void PresetsParse(string spec, string name, int steps, double alpha)
    {
        var a = (PgdAttack)AttackPresets.Create(spec, 0.1);
        Assert.Equal(name, a.Name);
        Assert.Equal(steps, a.Steps);
        Assert.Equal(alpha, a.Alpha, 12);
        Assert.Equal(0.1, a.Eps);
        Assert.Equal(spec.Contains("restarts=5") ? 5 : 1, a.Restarts);
    }

    [Theory]
    [InlineData("pgd", "unknown attack")]
    [InlineData("pgd20:alpah=1", "unknown option(s) alpah")]
    [InlineData("pgd20:alpha=x", "alpha=x is not a number")]
    public void BadPresetsAreClearErrors(string spec, string message) =>
        Assert.Contains(message, Assert.Throws<FormatException>(() => AttackPresets.Create(spec, 0.1)).Message);
}
