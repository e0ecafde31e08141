using RobustCli.Core.Attacks;
using RobustCli.Core.Models;
using RobustCli.Core.Tasks;
using RobustCli.Core.Training;
using RobustCli.Tests.Shared;
using RobustCli.Torch;
using RobustCli.Torch.nn;
using RobustCli.Torch.optim;
using RobustCli.Torch.Serialization;

namespace RobustCli.Core.Tests;

/// <summary>
/// Synergy-of-Experts against tests/python/soe_reference.py (written from the official code): the forward
/// (selection, scores, plain ensemble), the loss_base objective and its gradients, and whole training steps with
/// the collaboration-PGD batch; then what selection must do on constructed cases.
/// </summary>
public sealed class SoeTests
{
    private static readonly double[] Mean = [0.4914, 0.4822, 0.4465], Std = [0.2023, 0.1994, 0.2010];

    private static SynergyOfExperts Soe(int experts = 3, string arch = "resnet8", int classes = 10, int channels = 3, bool normalize = true)
    {
        var m = new SynergyOfExperts(arch, experts, classes, channels, normalize ? new Normalization(Mean, Std) : null);
        m.To(DType.Float64);
        return m;
    }

    private static Dictionary<string, Tensor> Input(Module m)
    {
        var input = new Dictionary<string, Tensor>();
        foreach (var (k, v) in m.StateDict()) input["sd." + k] = v;
        // The model keeps its normalization in float32 (as loaded weights would); the reference gets the same values.
        input["mean"] = torch.From(Mean.Select(v => (float)v).ToArray()).To(DType.Float64);
        input["std"] = torch.From(Std.Select(v => (float)v).ToArray()).To(DType.Float64);
        return input;
    }

    private static string Python(string cmd, Dictionary<string, Tensor> input, params string[] args)
    {
        var dir = TestPaths.TempDir();
        SafeTensors.Save(Path.Combine(dir, "in.safetensors"), input);
        TestPaths.RunPython("soe_reference.py", [cmd, Path.Combine(dir, "in.safetensors"), Path.Combine(dir, "out.safetensors"), .. args]);
        return Path.Combine(dir, "out.safetensors");
    }

    [Fact]
    public void ForwardScoresLossAndGradientsEqualTheReference()
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(21);
        using var soe = Soe();
        var x = torch.Rand([16, 3, 8, 8], DType.Float64);
        var y = torch.RandInt(0, 10, [16]);
        var input = Input(soe);
        input["x"] = x;
        input["y"] = y;
        using var expected = SafeTensors.Load(Python("forward", input)).Tensors;

        soe.Eval();
        var all = soe.ForwardAll(x);
        foreach (var name in soe.OutputNames)
            TensorAssert.Close(expected[name], all[name], 1e-10, 1e-12, name);
        TensorAssert.Close(expected["logits"], soe.Forward(x), 1e-10, 1e-12, "Forward");
        // The selection is the arg-max of the scores, and the experts really disagree on this batch.
        Assert.True(all["scores"].Argmax(1).ToArray<long>().Distinct().Count() > 1, "every sample chose the same expert: the case tests little");

        soe.Train();
        var (total, main, aux) = SoeTraining.Loss(soe.ForwardExperts(x), y);
        Assert.Equal(expected["loss_total"].ToArray<double>()[0], total.Item(), 10);
        Assert.Equal(expected["loss_main"].ToArray<double>()[0], main.Item(), 10);
        Assert.Equal(expected["loss_aux"].ToArray<double>()[0], aux.Item(), 10);
        soe.ZeroGrad();
        total.Backward();
        foreach (var (n, p) in soe.NamedParameters())
            TensorAssert.Close(expected["grad." + n], p.Grad!, 1e-9, 1e-11, n);
    }

    [Fact]
    public void TrainingStepsWithOneOptimizerEqualTheReferencesOptimizerPerExpert()
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(22);
        using var soe = Soe();
        var input = Input(soe);
        var batches = Enumerable.Range(0, 2).Select(_ => (X: torch.Rand([12, 3, 8, 8], DType.Float64), Y: torch.RandInt(0, 10, [12]))).ToList();
        for (var k = 0; k < batches.Count; k++) { input[$"x{k}"] = batches[k].X; input[$"y{k}"] = batches[k].Y; }
        const double eps = 0.03, alpha = 0.01;
        const int steps = 10;
        using var expected = SafeTensors.Load(Python("step", input, "0.03", "0.01", "10", "2")).Tensors;

        // The first adversarial batch: PGD against the collaboration with the experts in train mode, from x.
        using (var copy = Soe())
        {
            copy.LoadStateDict(soe.StateDict());
            copy.Train();
            using var _ = copy.ForwardExperts(batches[0].X).Select(o => o.Logits).First(); // the clean pass's BatchNorm update comes first
            var adv = new PgdAttack("train", eps, alpha, steps, start: RandomStart.None).Perturb(copy, batches[0].X, batches[0].Y, evalMode: false);
            TensorAssert.Close(expected["adv0"], adv, 1e-9, 1e-11, "adv0");
        }

        var method = new SoeTraining(new AttackSettings(Norm.Linf, eps, alpha, steps, RandomStart.None));
        using var sgd = new SGD(soe.Parameters(), 0.1, momentum: 0.9, weightDecay: 1e-4);
        var step = new OptimizationStep(sgd);
        for (var k = 0; k < batches.Count; k++)
        {
            var ctx = new StepContext(soe, 0, 1, 10, k) { LogCleanAccuracy = false };
            var r = step.Run(method, ctx, batches[k].X, batches[k].Y);
            Assert.True(double.IsFinite(r.Loss));
            Assert.NotNull(r.AdversarialOutput);
        }
        foreach (var (n, v) in soe.StateDict())
            TensorAssert.Close(expected["sd." + n], v, 1e-8, 1e-10, n);
    }

    /// <summary>
    /// Two ResNet-8 experts on 4 classes of 8x8 images (class c lights up quadrant c). Each expert is first trained
    /// alone, with CE, on the labels <paramref name="teach"/> gives it; then only the rectifiers train, with the soe
    /// method (clean batches), while the experts' learning rate is 0. Returns (per-expert accuracy, the
    /// collaboration's, how often each expert is selected) on held-out images.
    /// </summary>
    private static (double[] Expert, double Collaboration, double[] Selected) Constructed(Func<int, long, long?> teach,
        Action<SynergyOfExperts, Tensor, Tensor>? inspect = null)
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(5);
        const int classes = 4;
        (Tensor X, Tensor Y) Data(int n, int seed)
        {
            var rng = new Random(seed);
            var labels = new long[n];
            var pixels = new float[n * 64];
            for (var i = 0; i < n; i++)
            {
                labels[i] = rng.Next(classes);
                for (var p = 0; p < 64; p++)
                {
                    var lit = p / 8 / 4 == labels[i] / 2 && p % 8 / 4 == labels[i] % 2;
                    pixels[i * 64 + p] = 0.3f * (float)rng.NextDouble() + (lit ? 0.7f : 0f);
                }
            }
            return (torch.From(pixels, [n, 1, 8, 8]), torch.From(labels));
        }
        var (xTrain, yTrain) = Data(512, 1);
        var (xTest, yTest) = Data(256, 2);
        using var soe = new SynergyOfExperts("resnet8", 2, classes, 1, null);
        soe.Train();
        for (var m = 0; m < 2; m++)
        {
            var expert = soe.Expert(m);
            var labels = yTrain.ToArray<long>();
            var keep = Enumerable.Range(0, labels.Length).Where(i => teach(m, labels[i]) != null).Select(i => (long)i).ToArray();
            var idx = torch.From(keep);
            var xs = xTrain.IndexSelect(0, idx);
            var ys = torch.From(keep.Select(i => teach(m, labels[i])!.Value).ToArray());
            using var opt = new Adam(expert.Parameters(), 0.01);
            for (var it = 0; it < 30; it++)
            {
                using var s = DisposeScope.Open();
                opt.ZeroGrad();
                F.CrossEntropy(expert.Forward(xs), ys).Backward();
                opt.Step();
            }
        }
        soe.Train();
        var named = soe.NamedParameters().ToList();
        using var sgd = new SGD(named.Select(p => p.Parameter), 0.5, momentum: 0.9);
        sgd.SetLearningRateScales(named.Select(p => p.Name.StartsWith("rectifiers.", StringComparison.Ordinal) ? 1.0 : 0.0).ToArray());
        var step = new OptimizationStep(sgd);
        var method = new SoeTraining(new AttackSettings(Norm.Linf, 0.1, 0.02, 2, RandomStart.None), adversarial: false);
        for (var it = 0; it < 100; it++)
        {
            using var s = DisposeScope.Open();
            var rows = torch.RandInt(0, 512, [64]);
            // Expert 1 is certain of its wrong answers (s = 1 exactly in float32): BCE's gradient must stay finite there.
            step.Run(method, new StepContext(soe, 0, 1, classes, it) { LogCleanAccuracy = false }, xTrain.IndexSelect(0, rows), yTrain.IndexSelect(0, rows));
        }
        Assert.All(soe.Parameters(), p => Assert.True(p.IsFinite().All().Item<bool>(), "a parameter became NaN"));
        soe.Eval();
        using var _ = torch.NoGrad();
        var all = soe.ForwardAll(xTest);
        double Acc(Tensor logits) => logits.Argmax(1).Eq(yTest).Sum().ItemLong() / 256.0;
        var choice = all["scores"].Argmax(1).ToArray<long>();
        inspect?.Invoke(soe, xTest, yTest);
        return ([Acc(all["expert0"]), Acc(all["expert1"])], Acc(all["logits"]), [choice.Count(c => c == 0) / 256.0, choice.Count(c => c == 1) / 256.0]);
    }

    [Fact]
    public void AnExpertThatIsAlwaysWrongIsNeverSelected()
    {
        // Expert 1 learns the labels shifted by one class, so it is confidently wrong on every image.
        var (expert, collaboration, selected) = Constructed((m, y) => m == 0 ? y : (y + 1) % 4);
        Assert.True(expert[0] > 0.9, $"expert 0 should have learned the task: {expert[0]:P1}");
        Assert.True(expert[1] < 0.05, $"expert 1 should be wrong everywhere: {expert[1]:P1}");
        Assert.Equal(0.0, selected[1]);
        Assert.True(collaboration >= expert[0], $"collaboration {collaboration:P1} < expert 0 {expert[0]:P1}");
    }

    [Fact]
    public void SpecialistsCollaborateBeyondTheBestSingleExpert()
    {
        // Expert 0 only ever saw classes 0 and 1, expert 1 only 2 and 3: each is right on half the images at most.
        var (expert, collaboration, selected) = Constructed((m, y) => (m == 0) == (y < 2) ? y : null);
        var best = expert.Max();
        Assert.True(best < 0.6, $"a specialist should be right on about half the images: {expert[0]:P1}, {expert[1]:P1}");
        Assert.True(collaboration >= best + 0.3, $"collaboration {collaboration:P1} should beat the best expert {best:P1} by far");
        Assert.True(selected.Min() > 0.3, $"both experts should be selected: {selected[0]:P1}, {selected[1]:P1}");
    }

    [Fact]
    public void TheAdaptiveAttackIsAtLeastAsStrongAsWhiteBoxPgdOnATrainedSoe()
    {
        double pgd = 0, adaptive = 0, clean = 0;
        Constructed((m, y) => (m == 0) == (y < 2) ? y : null, (soe, x, y) =>
        {
            using var _ = torch.EnableGrad();
            double Robust(string spec)
            {
                var adv = AttackPresets.Create(spec, 0.15).Perturb(soe, x, y);
                using var __ = torch.NoGrad();
                return soe.Forward(adv).Argmax(1).Eq(y).Sum().ItemLong() / (double)y.Size(0);
            }
            using (torch.NoGrad()) clean = soe.Forward(x).Argmax(1).Eq(y).Sum().ItemLong() / (double)y.Size(0);
            pgd = Robust("pgd20:random_start=false");
            adaptive = Robust("soe-adaptive20:start=none");
        });
        Assert.True(pgd > 0.05 && pgd < clean, $"the budget should leave white-box PGD some points and break others: clean {clean:P1}, pgd {pgd:P1}");
        Assert.True(adaptive <= pgd, $"adaptive {adaptive:P1} > white-box PGD {pgd:P1}");
    }

    [Fact]
    public void TheAdaptiveAttackNeedsAnExpertModelAndStaysInTheBudget()
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(3);
        using var soe = new SynergyOfExperts("resnet8", 3, 10, 3, null);
        soe.Eval();
        var x = torch.Rand(8, 3, 8, 8);
        var y = torch.RandInt(0, 10, [8]);
        var attack = AttackPresets.Create("soe-adaptive10", 0.03);
        var adv = attack.Perturb(soe, x, y);
        Assert.True((adv - x).Abs().Max().Item() <= 0.03 + 1e-6);
        Assert.True(adv.Min().Item() >= 0 && adv.Max().Item() <= 1);
        using var plain = new SmallCnn(3, 10);
        var e = Assert.Throws<ArgumentException>(() => attack.Perturb(plain, torch.Rand(2, 3, 28, 28), torch.Zeros([2], DType.Int64)));
        Assert.Contains("model.arch soe", e.Message);
    }

    [Fact]
    public void TheAdaptiveObjectiveRaisesAWrongExpertsScoreOverTheSelectedOne()
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(4);
        using var soe = new SynergyOfExperts("resnet8", 3, 10, 3, null);
        soe.Eval();
        var x = torch.Rand(6, 3, 8, 8).RequiresGrad_();
        var y = torch.RandInt(0, 10, [6]);
        // Finite differences along the gradient: the objective's gradient is that of the function it computes.
        var (loss, _) = SelectionAdaptiveAttack.Objective(soe.ForwardExperts(x), y, 1.0);
        var g = Autograd.Grad(loss, x);
        var dir = g / g.Norm(2, [0, 1, 2, 3]).Item();
        double At(Tensor p)
        {
            using var _ = torch.NoGrad();
            return SelectionAdaptiveAttack.Objective(soe.ForwardExperts(p), y, 1.0).Loss.Item();
        }
        var h = 1e-3;
        using var xd = x.Detach();
        var slope = (At(xd + dir * h) - At(xd - dir * h)) / (2 * h);
        Assert.True(Math.Abs(slope - g.Norm(2, [0, 1, 2, 3]).Item()) < 0.05 * g.Norm(2, [0, 1, 2, 3]).Item() + 1e-4,
            $"directional derivative {slope} vs gradient norm {g.Norm(2, [0, 1, 2, 3]).Item()}");
    }
}

/// <summary>The CIFAR ResNet as its PyTorch ports have it, and transfer evaluation's invariants.</summary>
public sealed class CifarResNetAndTransferTests
{
    [Fact]
    public void ResNet20HasTheParametersAndKeysOfTheReference()
    {
        using var m = (Classifier)ModelFactory.Create("resnet20", ModelFactory.Get("resnet20").Options.Defaults, 10, 3, null);
        // He et al.'s ResNet-20 with 1x1-conv shortcuts: 0.27M parameters.
        Assert.Equal(272_474, m.Parameters().Sum(p => p.NumEl));
        var keys = m.StateDict().Keys.ToList();
        Assert.Contains("layer2.0.downsample.0.weight", keys);
        Assert.Contains("layer3.2.bn2.running_var", keys);
        Assert.Contains("fc.weight", keys);
        Assert.Equal(64, m.FeatureCount);
        Assert.Throws<FormatException>(() => ModelFactory.Get("resnet21"));
        Assert.Equal("resnet110", ModelFactory.Get("resnet110").Name);
        using var scope = DisposeScope.Open();
        var (features, logits) = m.ForwardWithFeatures(torch.Rand(2, 3, 32, 32));
        Assert.Equal([2L, 64], features.Shape);
        Assert.Equal([2L, 10], logits.Shape);
    }

    [Fact]
    public void TransferringFromAModelToItselfIsTheWhiteBoxEvaluation()
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(8);
        using var m = new SmallCnn();
        var data = TinyImages(40);
        // A model that has memorised the points: right on all of them, by narrow margins an attack can cross.
        var x = torch.From(data.Pixels.Select(p => p / 255f).ToArray(), [40, 1, 28, 28]);
        var y = torch.From(data.Labels);
        using (var opt = new Adam(m.Parameters(), 0.002))
            for (var i = 0; i < 40; i++)
            {
                using var s = DisposeScope.Open();
                opt.ZeroGrad();
                F.CrossEntropy(m.Forward(x), y).Backward();
                opt.Step();
            }
        var suites = new[] { Evaluation.AttackSuite.Single(AttackPresets.Create("pgd5", 0.05)) };
        var options = new Evaluation.EvaluationOptions { BatchSize = 16, RunChecks = false };
        var white = Evaluation.RobustnessEvaluator.Evaluate(m, data, suites, options);
        var transfer = Evaluation.TransferEvaluator.Craft(m, m, data, suites, options);
        Assert.Equal(white.Clean, transfer.Clean);
        Assert.Equal(white.Suites[0].Robust, transfer.Suites[0].Robust);
        Assert.True(white.Suites[0].RobustAccuracy < white.CleanAccuracy, $"the attack should break something for the comparison to mean anything: clean {white.CleanAccuracy}, robust {white.Suites[0].RobustAccuracy}");
    }

    private static Data.ImageDataset TinyImages(int n)
    {
        var rng = new Random(3);
        var pixels = new byte[n * 784];
        var labels = new long[n];
        for (var i = 0; i < n; i++)
        {
            labels[i] = i % 10;
            for (var p = 0; p < 784; p++) pixels[i * 784 + p] = (byte)rng.Next(256);
        }
        return new Data.ImageDataset("tiny", pixels, labels, 1, 28, 28, 10);
    }
}
