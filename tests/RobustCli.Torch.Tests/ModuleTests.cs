using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Torch.Tests;

public sealed class ModuleTests
{
    private sealed class Block : Module
    {
        public readonly Conv2d Conv1;
        public readonly BatchNorm2d Bn1;
        public readonly Sequential Head;

        public Block()
        {
            Conv1 = RegisterModule("conv1", new Conv2d(3, 4, 3, bias: false));
            Bn1 = RegisterModule("bn1", new BatchNorm2d(4));
            Head = RegisterModule("head", new Sequential(new Flatten(), new Linear(4 * 6 * 6, 2), new Dropout(0.5)));
        }

        public override Tensor Forward(Tensor x)
        {
            using var h = Bn1.Forward(Conv1.Forward(x)).Relu_();
            return Head.Forward(h);
        }
    }

    [Fact]
    public void StateDictKeysAndOrderArePyTorchs()
    {
        using var scope = DisposeScope.Open();
        using var m = new Block();
        Assert.Equal(
            new[] { "conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked", "head.1.weight", "head.1.bias" },
            m.StateDict().Keys);
        Assert.Equal(new[] { "conv1.weight", "bn1.weight", "bn1.bias", "head.1.weight", "head.1.bias" }, m.NamedParameters().Select(p => p.Name));
        Assert.Equal(DType.Int64, m.StateDict()["bn1.num_batches_tracked"].DType);
        Assert.All(m.Parameters(), p => Assert.True(p.RequiresGrad));
        Assert.Equal(4 * 3 * 9 + 4 + 4 + 144 * 2 + 2, m.ParameterCount());
    }

    [Fact]
    public void StrictLoadListsMissingUnexpectedAndShapeDifferences()
    {
        using var scope = DisposeScope.Open();
        using var m = new Block();
        var sd = m.StateDict();
        var bad = new Dictionary<string, Tensor>(sd.Where(kv => kv.Key != "bn1.running_var"))
        {
            ["head.1.weight"] = torch.Zeros(3, 144),
            ["extra.weight"] = torch.Zeros(1),
        };
        var ex = Assert.Throws<StateDictMismatchException>(() => m.LoadStateDict(bad));
        Assert.Equal(new[] { "bn1.running_var" }, ex.MissingKeys);
        Assert.Equal(new[] { "extra.weight" }, ex.UnexpectedKeys);
        Assert.Single(ex.ShapeErrors);
        Assert.Contains("head.1.weight: expected [2, 144], got [3, 144]", ex.Message);
        var partial = m.LoadStateDict(bad, strict: false);
        Assert.Equal(new[] { "bn1.running_var" }, partial.MissingKeys);
    }

    [Fact]
    public void LoadStateDictCopiesValues()
    {
        using var scope = DisposeScope.Open();
        using var a = new Block();
        using var b = new Block();
        b.LoadStateDict(a.StateDict());
        var x = torch.Rand(2, 3, 8, 8);
        a.Eval(); b.Eval();
        Assert.Equal(a.Forward(x).ToArray<float>(), b.Forward(x).ToArray<float>());
        // State-dict tensors alias the module: writing them writes the module, as in PyTorch.
        using (torch.NoGrad()) a.StateDict()["bn1.bias"].Fill_(7);
        Assert.All(a.Bn1.Bias!.ToArray<float>(), v => Assert.Equal(7f, v));
    }

    [Fact]
    public void TrainAndEvalModesReachEveryChildAndBatchNormTracksStatistics()
    {
        using var scope = DisposeScope.Open();
        using var m = new Block();
        var x = torch.Rand(4, 3, 8, 8);
        m.Train();
        Assert.All(m.NamedModules(), e => Assert.True(e.Module.Training));
        var before = m.Bn1.RunningMean!.ToArray<float>();
        m.Forward(x);
        Assert.Equal(1L, m.Bn1.NumBatchesTracked!.ItemLong());
        Assert.NotEqual(before, m.Bn1.RunningMean!.ToArray<float>());
        m.Eval();
        Assert.All(m.NamedModules(), e => Assert.False(e.Module.Training));
        var stats = m.Bn1.RunningMean!.ToArray<float>();
        var y1 = m.Forward(x).ToArray<float>();
        var y2 = m.Forward(x).ToArray<float>();
        Assert.Equal(y1, y2); // eval: no dropout, no statistics update
        Assert.Equal(stats, m.Bn1.RunningMean!.ToArray<float>());
        Assert.Equal(1L, m.Bn1.NumBatchesTracked!.ItemLong());
    }

    [Fact]
    public void ToDtypeKeepsTheParameterObjectsAndIntegerBuffers()
    {
        using var scope = DisposeScope.Open();
        using var m = new Block();
        var w = m.Conv1.Weight;
        m.To(DType.Float64);
        Assert.Same(w, m.Conv1.Weight);
        Assert.Equal(DType.Float64, m.Conv1.Weight.DType);
        Assert.Equal(DType.Int64, m.Bn1.NumBatchesTracked!.DType);
        Assert.True(m.Conv1.Weight.RequiresGrad);
        m.To(Device.CPU);
    }

    [Fact]
    public void ZeroGradDropsGradients()
    {
        using var scope = DisposeScope.Open();
        using var lin = new Linear(3, 2);
        lin.Forward(torch.Rand(4, 3)).Sum().Backward();
        Assert.NotNull(lin.Weight.Grad);
        lin.ZeroGrad(setToNone: false);
        Assert.All(lin.Weight.Grad!.ToArray<float>(), v => Assert.Equal(0f, v));
        lin.ZeroGrad();
        Assert.Null(lin.Weight.Grad);
    }

    [Fact]
    public void RegistrationRejectsBadNames()
    {
        Assert.Throws<ArgumentException>(() => new BadModule());
    }

    private sealed class BadModule : Module
    {
        public BadModule() { RegisterModule("a.b", new ReLU()); }
        public override Tensor Forward(Tensor x) => x.Relu();
    }

    [Fact]
    public void DefaultInitBoundsArePyTorchs()
    {
        using var scope = DisposeScope.Open();
        using var lin = new Linear(100, 50);
        var bound = 1 / Math.Sqrt(100);
        Assert.All(lin.Weight.ToArray<float>(), v => Assert.InRange(v, -bound, bound));
        Assert.All(lin.Bias!.ToArray<float>(), v => Assert.InRange(v, -bound, bound));
        Assert.True(lin.Weight.Abs().Max().Item() > bound * 0.9);
    }
}
