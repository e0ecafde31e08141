using RobustCli.Core.Attacks;
using RobustCli.Core.Models;
using RobustCli.Core.Training;
using RobustCli.Tests.Shared;
using RobustCli.Torch;
using RobustCli.Torch.nn;
using RobustCli.Torch.optim;
using RobustCli.Torch.Serialization;

namespace RobustCli.Core.Tests;

/// <summary>The two reference models against the PyTorch definitions in ../shared/bench/reference_pgd_at.py.</summary>
public sealed class ReferenceModelTests
{
    private static readonly Lazy<(StateDict Tensors, Dictionary<string, string> Meta)> Fixture =
        new(() => SafeTensors.Load(TestPaths.Fixture("models.safetensors")));

    private static Tensor Fx(string key) => Fixture.Value.Tensors[key];

    [Fact]
    public void SmallCnnInitialisationEqualsPyTorchsUnderTheSameSeed()
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(0);
        using var m = new SmallCnn();
        var sd = m.StateDict();
        var expectedKeys = Fixture.Value.Tensors.Keys.Where(k => k.StartsWith("smallcnn_init.", StringComparison.Ordinal)).Select(k => k["smallcnn_init.".Length..]);
        Assert.Equal(expectedKeys, sd.Keys);
        foreach (var (k, v) in sd) TensorAssert.Close(Fx("smallcnn_init." + k), v, 0, 0, k);
    }

    [Fact]
    public void PreActResNet18KeysAndInitialisationEqualPyTorchs()
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(0);
        using var m = new PreActResNet18();
        var sd = m.StateDict();
        Assert.Equal(Fixture.Value.Meta["preact18_keys"].Split(','), sd.Keys);
        Assert.Equal(11_172_170, m.ParameterCount()); // sum(p.numel()) of the PyTorch definition
        foreach (var (k, v) in sd)
        {
            var flat = v.Flatten();
            TensorAssert.Close(Fx($"preact18_init.{k}.head"), flat.Slice(0, 0, 16), 0, 0, k);
            var d = flat.To(DType.Float64);
            var stats = Fx($"preact18_init.{k}.stats").ToArray<double>();
            Assert.Equal(stats[0], d.Sum().Item(), 1e-6 * Math.Max(1, Math.Abs(stats[0])));
            Assert.Equal(stats[1], (d * d).Sum().Item(), 1e-6 * Math.Max(1, stats[1]));
        }
    }

    [Fact]
    public void SmallCnnForwardAndBackwardEqualPyTorchs()
    {
        using var scope = DisposeScope.Open();
        using var m = new SmallCnn();
        m.LoadStateDict(Fixture.Value.Tensors.Where(kv => kv.Key.StartsWith("smallcnn_init.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key["smallcnn_init.".Length..], kv => kv.Value));
        var x = Fx("smallcnn.x").Detach().RequiresGrad_();
        var logits = m.Forward(x);
        TensorAssert.Close(Fx("smallcnn.logits"), logits, 1e-5, 1e-6, "logits");
        var loss = F.CrossEntropy(logits, Fx("smallcnn.y"));
        TensorAssert.Close(Fx("smallcnn.loss"), loss, 1e-6, 1e-7, "loss");
        loss.Backward();
        TensorAssert.Close(Fx("smallcnn.grad_x"), x.Grad!, 1e-4, 1e-7, "input gradient");
        foreach (var (name, p) in m.NamedParameters())
            TensorAssert.Close(Fx("smallcnn.grad." + name), p.Grad!, 1e-4, 1e-7, "gradient of " + name);
    }

    [Fact]
    public void PreActResNet18ForwardInTrainAndEvalModesEqualsPyTorchs()
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(0);
        using var m = new PreActResNet18();
        m.Train();
        TensorAssert.Close(Fx("preact18.logits_train"), m.Forward(Fx("preact18.x")), 1e-4, 1e-5, "train-mode logits");
        foreach (var (k, v) in m.StateDict().Where(kv => kv.Key.Contains("running") || kv.Key.Contains("num_batches")))
            TensorAssert.Close(Fx("preact18.after." + k), v, 1e-5, 1e-6, k);
        m.Eval();
        TensorAssert.Close(Fx("preact18.logits_eval"), m.Forward(Fx("preact18.x")), 1e-4, 1e-5, "eval-mode logits");
    }

    [Theory]
    [InlineData("smallcnn")]
    [InlineData("preact18")]
    public void WeightsSavedByPyTorchLoadIntoOurModel(string name)
    {
        var dir = TestPaths.TempDir();
        TestPaths.RunPython("interop.py", "save", name, "1", dir);
        using var scope = DisposeScope.Open();
        using var io = SafeTensors.Load(Path.Combine(dir, "io.safetensors")).Tensors;
        foreach (var file in new[] { "state_dict.pt", "checkpoint.pt" })
        {
            using Module m = name == "smallcnn" ? new SmallCnn() : new PreActResNet18();
            using (var sd = Weights.Load(Path.Combine(dir, file))) m.LoadStateDict(sd);
            m.Eval();
            TensorAssert.Close(io["logits"], m.Forward(io["x"]), 1e-4, 1e-5, $"{name} from {file}");
        }
    }

    /// <summary>
    /// RobustBench's layouts (PreActResNet-18: layer1.0..., shortcut.0, linear; WideResNet: block1.layer.0...), saved
    /// through DataParallel ("module."), nested under "state_dict" — the form published models come in; the
    /// PreActResNet-18 also keeps its normalization in buffers mu/sigma.
    /// </summary>
    [Theory]
    [InlineData("preact18-robustbench", "preact18", true)]
    [InlineData("wrn16-2-robustbench", "wrn16-2", false)]
    public void ARobustBenchCheckpointLoadsAndGivesPyTorchsLogits(string reference, string arch, bool normalizationBuffers)
    {
        var dir = TestPaths.TempDir();
        TestPaths.RunPython("interop.py", "save", reference, "4", dir);
        using var scope = DisposeScope.Open();
        using var io = SafeTensors.Load(Path.Combine(dir, "io.safetensors")).Tensors;
        var (sd, norm) = ForeignWeights.Prepare(Weights.Load(Path.Combine(dir, "dataparallel.pt")));
        using (sd)
        {
            if (normalizationBuffers) Assert.Equal([0.4914, 0.4822, 0.4465], norm!.Mean.Select(v => Math.Round(v, 4)));
            else Assert.Null(norm);
            using var m = ModelFactory.Create(new ModelSpec(arch, 10, 3, norm));
            ForeignWeights.Load(m, sd);
            m.Eval();
            using (torch.NoGrad()) TensorAssert.Close(io["logits"], m.Forward(io["x"]), 1e-4, 1e-5, $"{reference} logits");
        }
    }

    [Theory]
    [InlineData("smallcnn", "weights.pt")]
    [InlineData("smallcnn", "weights.safetensors")]
    [InlineData("preact18", "weights.pt")]
    public void OurWeightsLoadIntoThePyTorchModel(string name, string file)
    {
        var dir = TestPaths.TempDir();
        using var scope = DisposeScope.Open();
        torch.ManualSeed(9);
        using Module m = name == "smallcnn" ? new SmallCnn() : new PreActResNet18();
        var shape = name == "smallcnn" ? new long[] { 1, 28, 28 } : [3, 32, 32];
        m.Train();
        using (torch.NoGrad()) m.Forward(torch.Rand([8, .. shape])); // non-trivial BatchNorm statistics
        m.Eval();
        var x = torch.Rand([4, .. shape]);
        Weights.Save(Path.Combine(dir, file), m);
        SafeTensors.Save(Path.Combine(dir, "in.safetensors"), [new("x", x)]);
        TestPaths.RunPython("interop.py", "forward", name, Path.Combine(dir, file), Path.Combine(dir, "in.safetensors"), Path.Combine(dir, "out.safetensors"));
        using var py = SafeTensors.Load(Path.Combine(dir, "out.safetensors")).Tensors;
        using (torch.NoGrad()) TensorAssert.Close(py["logits"], m.Forward(x), 1e-4, 1e-5, $"{name} in PyTorch from {file}");
    }

    [Fact]
    public void PgdAdversarialStepStaysInTheBallAndTrains()
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(0);
        using var m = new SmallCnn();
        using var opt = new SGD(m.Parameters(), lr: 0.05, momentum: 0.9);
        var x = torch.Rand(16, 1, 28, 28);
        var y = torch.RandInt(0, 10, [16]);
        // The registered pgd-at method through the loop's optimisation step: the code `robust train` runs.
        var method = new PgdAdversarialTraining(new AttackSettings(Norm.Linf, 0.1, 0.025, 5, RandomStart.Uniform));
        var step = new OptimizationStep(opt);
        var ctx = new StepContext(m, 0, 1, 10) { SampleIds = Enumerable.Range(0, 16).Select(i => (long)i).ToArray() };
        var before = m.StateDict()["f3.weight"].Clone();
        double first;
        using (DisposeScope.Open()) first = step.Run(method, ctx, x, y).Loss;
        Assert.True(double.IsFinite(first));
        Assert.True(m.Training);
        Assert.NotEqual(before.ToArray<float>(), m.StateDict()["f3.weight"].ToArray<float>());
        // Once the optimiser holds its momentum buffers, a step inside its scope leaves nothing behind.
        var live = Tensor.NativeLiveCount;
        using (DisposeScope.Open()) step.Run(method, ctx, x, y);
        Assert.True(Tensor.NativeLiveCount - live == 0, $"{Tensor.NativeLiveCount - live} tensors left after one step");
    }
}
