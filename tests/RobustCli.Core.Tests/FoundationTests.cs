using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Evaluation;
using RobustCli.Core.Models;
using RobustCli.Core.Registry;
using RobustCli.Core.Tasks;
using RobustCli.Core.Training;
using RobustCli.Tests.Plugins;
using RobustCli.Tests.Shared;
using RobustCli.Torch;
using RobustCli.Torch.nn;
using RobustCli.Torch.optim;
using RobustCli.Torch.Serialization;

namespace RobustCli.Core.Tests;

/// <summary>The loop's optimisation services against PyTorch, per-sample attack noise, multi-output models, registries and fingerprints.</summary>
public sealed class FoundationTests
{
    private static string Python(string cmd, Dictionary<string, Tensor> input, params string[] args)
    {
        var dir = TestPaths.TempDir();
        SafeTensors.Save(Path.Combine(dir, "in.safetensors"), input);
        TestPaths.RunPython("loop_reference.py", [cmd, Path.Combine(dir, "in.safetensors"), Path.Combine(dir, "out.safetensors"), .. args]);
        return Path.Combine(dir, "out.safetensors");
    }

    private static void Backward(Module m, long seed)
    {
        torch.ManualSeed((ulong)seed);
        var x = torch.Rand(6, 1, 28, 28);
        var y = torch.RandInt(0, 10, [6]);
        m.ZeroGrad();
        F.CrossEntropy(m.Forward(x), y).Backward();
    }

    [Fact]
    public void GradientClippingEqualsClipGradNorm()
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(1);
        using var m = new SmallCnn();
        Backward(m, 2);
        var input = new Dictionary<string, Tensor>();
        foreach (var (n, p) in m.NamedParameters()) { input["p." + n] = p.Detach(); input["g." + n] = p.Grad!.Clone(); }
        var total = Math.Sqrt(m.Parameters().Sum(p => Math.Pow(p.Grad!.Norm(2).Item(), 2)));
        var maxNorm = total / 3;
        using var expected = SafeTensors.Load(Python("clip", input, maxNorm.ToString("R", System.Globalization.CultureInfo.InvariantCulture))).Tensors;
        var norm = GradientClipping.ClipNorm(m.Parameters(), maxNorm);
        Assert.Equal(expected["total_norm"].Item(), norm, 4);
        foreach (var (n, p) in m.NamedParameters()) TensorAssert.Close(expected["g." + n], p.Grad!, 1e-5, 1e-7, n);
        // Under the bound, nothing changes.
        var before = m.Parameters().Select(p => p.Grad!.Clone()).ToList();
        GradientClipping.ClipNorm(m.Parameters(), 1e9);
        foreach (var (p, b) in m.Parameters().Zip(before)) TensorAssert.Close(b, p.Grad!, 0, 0, "unclipped");
    }

    private sealed class ConvBn : Module
    {
        private readonly Conv2d conv = new(1, 3, 3);
        private readonly BatchNorm2d bn = new(3);
        public ConvBn() { RegisterModule("conv", conv); RegisterModule("bn", bn); }
        public override Tensor Forward(Tensor x) => bn.Forward(conv.Forward(x)).Flatten(1);
    }

    [Fact]
    public void EmaUpdateEqualsModelEmaV2OnParametersAndBuffers()
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(3);
        using var live = new ConvBn();
        using var average = new ConvBn();
        var ema = new WeightAverage(live, average, 0.9);
        // The live model moves: an SGD step and new BatchNorm statistics.
        using var opt = new SGD(live.Parameters(), 0.5);
        live.Train();
        live.Forward(torch.Rand(4, 1, 6, 6)).Sum().Backward();
        opt.Step();
        var input = new Dictionary<string, Tensor>();
        foreach (var (n, v) in average.NamedStateEntries()) input["ema." + n] = v.Clone();
        foreach (var (n, v) in live.NamedStateEntries()) input["live." + n] = v.Clone();
        using var expected = SafeTensors.Load(Python("ema", input, "0.9")).Tensors;
        ema.Update();
        foreach (var (n, v) in average.NamedStateEntries()) TensorAssert.Close(expected["ema." + n], v, 1e-6, 1e-7, n);
        Assert.Equal(1, ema.Updates);
        Assert.All(average.Parameters(), p => Assert.False(p.RequiresGrad));
        // With warmup the first update uses min(decay, 1/10).
        var warm = new WeightAverage(live, new ConvBn(), 0.999, warmup: true);
        Assert.Equal(0.1, warm.CurrentDecay, 12);
    }

    [Fact]
    public void ParameterGroupsStepAsTorchOptimParamGroups()
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(4);
        using var m = new SmallCnn();
        var named = m.NamedParameters().ToList();
        double Scale(string n) => n.StartsWith("f3.", StringComparison.Ordinal) ? 10 : n.StartsWith("c1.", StringComparison.Ordinal) ? 0 : 1;
        var input = new Dictionary<string, Tensor>();
        var g1 = named.Select(p => torch.RandLike(p.Parameter)).ToList();
        var g2 = named.Select(p => torch.RandLike(p.Parameter)).ToList();
        for (var i = 0; i < named.Count; i++)
        {
            input["p." + named[i].Name] = named[i].Parameter.Detach().Clone();
            input["g1." + named[i].Name] = g1[i];
            input["g2." + named[i].Name] = g2[i];
            input["scale." + named[i].Name] = torch.From(new[] { Scale(named[i].Name) }).View([]);
        }
        using var expected = SafeTensors.Load(Python("groups", input, "0.01", "0.9")).Tensors;
        using var opt = new SGD(m.Parameters(), 0.01, momentum: 0.9, weightDecay: 5e-4);
        opt.SetLearningRateScales(named.Select(p => Scale(p.Name)).ToArray());
        foreach (var g in new[] { g1, g2 })
        {
            for (var i = 0; i < named.Count; i++) named[i].Parameter.Grad = g[i].Clone();
            opt.Step();
        }
        foreach (var (n, p) in named) TensorAssert.Close(expected["p." + n], p, 1e-5, 1e-6, n);
        // Three groups in torch.optim's layout, which load back.
        var sd = opt.StateDict();
        Assert.Equal(3, ((List<object?>)sd["param_groups"]!).Count);
        using var again = new SGD(m.Parameters(), 0.01, momentum: 0.9, weightDecay: 5e-4);
        again.SetLearningRateScales(named.Select(p => Scale(p.Name)).ToArray());
        again.LoadStateDict(sd);
        Assert.Equal(0.01, again.LearningRate, 12);
        Weights.DisposeTensors(sd);
    }

    [Fact]
    public void TrainingAttacksDrawPerSampleSoABatchDoesNotChangeASamplesExample()
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(5);
        using var m = new SmallCnn();
        var x = torch.Rand(6, 1, 28, 28);
        var y = torch.RandInt(0, 10, [6]);
        var ids = new long[] { 10, 11, 12, 13, 14, 15 };
        foreach (var make in new Func<Attack>[]
                 {
                     () => new FriendlyPgdAttack("fat", 0.1, 0.02, 4, tau: 1, omega: 0.01),
                     () => new PgdAttack("pgd", 0.1, 0.02, 3),
                     // TRADES' start (x + 0.001 N(0, 1)); its first KL gradients are ~1e-7, so their signs depend on summation order.
                     () => new PgdAttack("trades", 0.1, 0.02, 0, start: RandomStart.Normal, loss: new TradesKlLoss()),
                 })
        {
            var whole = make().Perturb(m, x, y, sampleIds: ids);
            // The global generator moves in between: a per-sample stream must not notice.
            torch.Rand(100);
            var first = make().Perturb(m, x.Narrow(0, 0, 3), y.Narrow(0, 0, 3), sampleIds: ids[..3]);
            var second = make().Perturb(m, x.Narrow(0, 3, 3), y.Narrow(0, 3, 3), sampleIds: ids[3..]);
            TensorAssert.Close(whole, torch.Cat([first, second]), 1e-6, 1e-7, make().Name);
        }
    }

    [Fact]
    public void AMultiOutputModelIsReadThroughTheTasksOutput()
    {
        using var scope = DisposeScope.Open();
        using var d = new TinyDenoiser(1, 4, 3);
        var x = torch.Rand(2, 1, 8, 8);
        var all = d.ForwardAll(x);
        TensorAssert.Close(all["image"], d.Forward(x), 1e-6, 1e-7, "primary output");
        var noise = OutputSelector.For(d, "noise");
        TensorAssert.Close(all["noise"], noise.Forward(x), 1e-6, 1e-7, "selected output");
        Assert.Same(d, OutputSelector.For(d, "image"));
        Assert.Contains("has no output 'logits'", Assert.Throws<ArgumentException>(() => new OutputSelector(d, "logits")).Message);
        noise.Eval();
        Assert.False(d.Training);
    }

    /// <summary>A forward pass that needs gradients inside (CIFS scores channels by a gradient), run in a no-grad evaluation.</summary>
    private sealed class GradientInside : Module
    {
        private readonly Linear fc = new(4, 3);
        public GradientInside() { RegisterModule("fc", fc); }
        public override Tensor Forward(Tensor x)
        {
            Tensor importance;
            using (torch.EnableGrad())
            {
                var probe = x.Detach().RequiresGrad_();
                importance = Autograd.Grad(fc.Forward(probe).Sum(), probe).Abs_();
            }
            return fc.Forward(x * importance);
        }
    }

    [Fact]
    public void AForwardPassMayOpenGradientsInsideANoGradEvaluation()
    {
        using var scope = DisposeScope.Open();
        using var m = new GradientInside();
        var x = torch.Rand(5, 4);
        Tensor expected;
        using (torch.EnableGrad()) expected = m.Forward(x).Detach();
        using (torch.NoGrad()) TensorAssert.Close(expected, m.Forward(x), 1e-6, 1e-7, "inside no_grad");
        // An attack (input gradients) and the evaluator's clean pass both run it.
        var adv = new PgdAttack("pgd", 0.1, 0.05, 2).Perturb(m, x, torch.From(new long[] { 0, 1, 2, 0, 1 }));
        Assert.Equal(x.Shape, adv.Shape);
    }

    /// <summary>A value for an option other than its default (and valid).</summary>
    private static string Changed(OptionSpec s) => s.Kind switch
    {
        OptionKind.Int => (Convert.ToInt32(s.Default) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
        OptionKind.Double when s.Default == null => "0.01",
        OptionKind.Double => (Convert.ToDouble(s.Default) * (s.Max is { } hi && Convert.ToDouble(s.Default) * 1.5 > hi ? 0.5 : 1.5)).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        OptionKind.Bool => (!(bool)s.Default!).ToString().ToLowerInvariant(),
        OptionKind.Choice => s.Choices.First(c => c != (string)s.Default!),
        _ => throw new NotSupportedException(s.Kind.ToString()),
    };

    [Fact]
    public void EveryOptionOfEveryAttackChangesTheEvaluationFingerprint()
    {
        Toys.Register();
        var checkedOptions = 0;
        foreach (var r in Attacks.Attacks.Registry.All)
        {
            var name = r.StepsInName ? r.Name + "10" : r.Name;
            // Attacks of a denoiser's observation are described by their settings with the task's loss.
            string Describe(string spec) => r.NeedsTaskLoss ? AttackPresets.Create(spec, 0.1, new MseAttackLoss()).Settings! : AttackSuites.Parse(spec, 0.1, 10, new SuiteDefaults()).Describe();
            var baseline = Describe(name);
            foreach (var s in r.Options.Specs.Append(OptionSpec.Double("eps", 0.1, "")))
            {
                var spec = $"{name}:{s.Key}={Changed(s)}";
                var changed = Describe(spec);
                Assert.True(baseline != changed, $"{spec} has the fingerprint of {name}: {changed}");
                checkedOptions++;
            }
            // The L2 form is another attack.
            if (r.HasL2) Assert.NotEqual(baseline, AttackSuites.Parse(name + "-l2", 0.1, 10, new SuiteDefaults()).Describe());
        }
        Assert.True(checkedOptions > 30, $"{checkedOptions} options checked");
        Assert.Contains("attacks denoisers", Assert.Throws<FormatException>(() => AttackSuites.Parse("obsatk5", 0.1, 10, new SuiteDefaults())).Message);
        // The two reported cases, and the option reaching the attack's loss.
        Assert.NotEqual(AttackSuites.Parse("cw20", 0.1, 10, new()).Describe(), AttackSuites.Parse("cw20:kappa=20", 0.1, 10, new()).Describe());
        Assert.NotEqual(AttackSuites.Parse("apgd-ce", 0.1, 10, new()).Describe(), AttackSuites.Parse("apgd-ce:rho=0.5", 0.1, 10, new()).Describe());
        Assert.Equal(20, ((CwMarginLoss)((PgdAttack)AttackPresets.Create("cw20:kappa=20", 0.1)).Loss).Kappa);
        // AutoAttack's versions differ from each other and from a custom list of the same names.
        var versions = new[] { "standard", "plus", "rand" }.Select(v => AutoAttackSuite.Create(v, Norm.Linf, 0.1, 10).Describe()).ToList();
        Assert.Equal(3, versions.Distinct().Count());
    }

    [Fact]
    public void AResumedEvaluationWithAnotherOptionIsRefused()
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(6);
        using var m = new SmallCnn();
        var rng = new Random(1);
        var pixels = new byte[8 * 784];
        rng.NextBytes(pixels);
        var data = new ImageDataset("tiny", pixels, Enumerable.Range(0, 8).Select(i => (long)(i % 10)).ToArray(), 1, 28, 28, 10);
        var state = Path.Combine(TestPaths.TempDir(), "state.json");
        RobustnessEvaluator.Evaluate(m, data, [AttackSuites.Parse("cw3", 0.1, 10, new())], new EvaluationOptions { BatchSize = 4, StatePath = state, RunChecks = false });
        var e = Assert.Throws<InvalidDataException>(() =>
            RobustnessEvaluator.Evaluate(m, data, [AttackSuites.Parse("cw3:kappa=20", 0.1, 10, new())], new EvaluationOptions { BatchSize = 4, StatePath = state, RunChecks = false }));
        Assert.Contains("made for other settings", e.Message);
        Assert.Contains("kappa=20", e.Message);
        // The same settings resume.
        RobustnessEvaluator.Evaluate(m, data, [AttackSuites.Parse("cw3", 0.1, 10, new())], new EvaluationOptions { BatchSize = 4, StatePath = state, RunChecks = false });
    }

    [Fact]
    public void AToyAttackRegisteredFromATestIsAPresetWithItsDeclaredOptions()
    {
        Toys.Register();
        using var scope = DisposeScope.Open();
        var a = (ToyNoiseAttack)AttackPresets.Create("toy-noise:strength=0.5", 0.1);
        Assert.Equal(0.5, a.Strength);
        Assert.Contains("toy-noise", AttackPresets.Examples);
        Assert.Contains("unknown option(s) strenght; did you mean 'strength'?", Assert.Throws<FormatException>(() => AttackPresets.Create("toy-noise:strenght=1", 0.1)).Message);
        Assert.Contains("strength: must be in [0, 1]", Assert.Throws<FormatException>(() => AttackPresets.Create("toy-noise:strength=3", 0.1)).Message);
        using var m = new SmallCnn();
        var x = torch.Rand(4, 1, 28, 28);
        var adv = a.Perturb(m, x, torch.From(new long[] { 1, 2, 3, 4 }), sampleIds: [0, 1, 2, 3]);
        Assert.True((adv - x).Abs().Max().Item() <= 0.05 + 1e-6);
    }

    [Fact]
    public void RegistriesNameWhatTheyKnowAndSuggestTheClosest()
    {
        Assert.Equal(["standard", "pgd-at", "trades", "mart", "fat", "fgsm-rs", "noilin"], Methods.Registry.Names.Take(7));
        Assert.Contains("did you mean 'trades'?", Assert.Throws<FormatException>(() => Methods.Registry.Get("tradez")).Message);
        Assert.Contains("did you mean 'preact18'?", Assert.Throws<FormatException>(() => ModelFactory.Get("preact19")).Message);
        Assert.Contains("6n + 4", Assert.Throws<FormatException>(() => ModelFactory.Get("wrn33-10")).Message);
        Assert.Equal(["classification", "denoise"], Tasks.Tasks.Registry.Names);
        Assert.Contains("cifar10", DatasetCatalog.Registry.Names);
        var wrn = ModelFactory.Get("wrn");
        wrn.Options.Resolve(new Dictionary<string, object?> { ["depth"] = 30 }, out var errors);
        Assert.Contains(errors, e => e.Key == "depth" && e.Message.Contains("6n + 4"));
    }

    [Fact]
    public void DenoisingTaskScoresPsnrAndItsObservationsArePerSample()
    {
        using var scope = DisposeScope.Open();
        var task = (DenoiseTask)Tasks.Tasks.Registry.Get("denoise").Create(new TaskBuild(Tasks.Tasks.Registry.Get("denoise").Options.Resolve(new Dictionary<string, object?> { ["sigma"] = new[] { 25.5, 25.5 }, ["clip_observation"] = false })));
        var clean = torch.Full([2, 1, 4, 4], 0.5);
        // An estimate off by 0.1 everywhere: PSNR = 10 log10(1 / 0.01) = 20 dB.
        Assert.Equal(20.0, DenoiseTask.Psnr(clean + 0.1, clean).Mean().Item(), 4);
        Assert.Equal(40.0, task.ScoreSum(clean + 0.1, clean), 3);
        using var batch = new Batch(torch.Rand(4, 1, 4, 4), torch.Zeros([4], DType.Int64), [7, 8, 9, 10]);
        using var part = new Batch(batch.X.Narrow(0, 2, 2).Clone(), batch.Y.Narrow(0, 2, 2).Clone(), [9, 10]);
        var (y, x) = task.Prepare(batch, 3);
        var (y2, _) = task.Prepare(part, 3);
        TensorAssert.Close(y.Narrow(0, 2, 2), y2, 1e-6, 1e-7, "noise of samples 9 and 10");
        var sigma = (y - x).Std().Item();
        Assert.InRange(sigma, 0.07, 0.13);
    }

    [Fact]
    public void TradesAndMartGradientsStayFiniteWhenAProbabilityUnderflowsToZero()
    {
        using var scope = DisposeScope.Open();
        foreach (var method in new[] { "trades", "mart" })
        {
            // softmax of [300, 0, -300, 0] holds exact zeros in float32: libtorch 1.13's kl_div(…, softmax) then gave a NaN gradient.
            var natural = torch.From(new float[] { 300, 0, -300, 0, 1, 2, 3, 4 }, [2, 4]).RequiresGrad_();
            var adversarial = torch.From(new float[] { 0, 1, 2, 3, 250, -250, 0, 1 }, [2, 4]).RequiresGrad_();
            var y = torch.From(new long[] { 0, 3 });
            var loss = method == "trades" ? TradesTraining.Loss(natural, adversarial, y, 6) : MartTraining.Loss(natural, adversarial, y, 6);
            loss.Backward();
            Assert.True(double.IsFinite(loss.Item()), method);
            Assert.All(natural.Grad!.ToArray<float>().Concat(adversarial.Grad!.ToArray<float>()), g => Assert.True(float.IsFinite(g), $"{method}: a gradient is {g}"));
        }
    }
}
