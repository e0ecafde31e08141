using System.Text.Json;
using RobustCli.Tests.Shared;
using RobustCli.Torch;
using RobustCli.Torch.nn;
using RobustCli.Torch.optim;
using RobustCli.Torch.Serialization;

namespace RobustCli.Torch.Tests;

/// <summary>Three optimiser steps on a fixed Linear(4, 3) equal torch.optim's (tests/fixtures/optim.safetensors).</summary>
public sealed class OptimizerTests
{
    private static readonly Lazy<StateDict> Fixture = new(() => SafeTensors.Load(TestPaths.Fixture("optim.safetensors")).Tensors);

    private static Linear FixedModel()
    {
        var m = new Linear(4, 3);
        m.LoadStateDict(new Dictionary<string, Tensor> { ["weight"] = Fixture.Value["weight"], ["bias"] = Fixture.Value["bias"] });
        return m;
    }

    private static void Train(Linear m, Optimizer opt, int steps)
    {
        for (var s = 0; s < steps; s++)
        {
            using var scope = DisposeScope.Open();
            opt.ZeroGrad();
            F.MseLoss(m.Forward(Fixture.Value["x"]), Fixture.Value["t"]).Backward();
            opt.Step();
        }
    }

    public static TheoryData<string> Names => ["sgd", "sgd_momentum", "sgd_nesterov", "adam", "adamw"];

    private static Optimizer Make(string name, Module m) => name switch
    {
        "sgd" => new SGD(m.Parameters(), lr: 0.1),
        "sgd_momentum" => new SGD(m.Parameters(), lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 1e-2),
        "sgd_nesterov" => new SGD(m.Parameters(), lr: 0.05, momentum: 0.9, weightDecay: 5e-4, nesterov: true),
        "adam" => new Adam(m.Parameters(), lr: 1e-2, beta1: 0.8, beta2: 0.99, weightDecay: 1e-2),
        "adamw" => new AdamW(m.Parameters(), lr: 1e-2, weightDecay: 0.1),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void StepsEqualPyTorch(string name)
    {
        using var m = FixedModel();
        using var opt = Make(name, m);
        Train(m, opt, 3);
        TensorAssert.Close(Fixture.Value[$"{name}.weight"], m.Weight, rtol: 0, atol: 1e-6, what: name);
        TensorAssert.Close(Fixture.Value[$"{name}.bias"], m.Bias!, rtol: 0, atol: 1e-6, what: name);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void StateDictResumeEqualsUninterruptedTraining(string name)
    {
        var dir = TestPaths.TempDir();
        using var straight = FixedModel();
        using (var opt = Make(name, straight)) Train(straight, opt, 3);

        using var resumed = FixedModel();
        using (var opt = Make(name, resumed))
        {
            Train(resumed, opt, 1);
            TorchArchive.Save(Path.Combine(dir, "opt.pt"), opt.StateDict());
            Weights.Save(Path.Combine(dir, "model.pt"), resumed);
        }
        using var fresh = new Linear(4, 3);
        using (var sd = Weights.Load(Path.Combine(dir, "model.pt"))) fresh.LoadStateDict(sd);
        using var opt2 = Make(name, fresh);
        var loaded = TorchArchive.Load(Path.Combine(dir, "opt.pt"))!;
        opt2.LoadStateDict(loaded);
        Weights.DisposeTensors(loaded);
        Train(fresh, opt2, 2);
        Assert.Equal(straight.Weight.ToArray<float>(), fresh.Weight.ToArray<float>());
        Assert.Equal(straight.Bias!.ToArray<float>(), fresh.Bias!.ToArray<float>());
    }

    [Fact]
    public void StepMakesFewNativeTensorsAndLeavesNoneBehind()
    {
        using var m = FixedModel();
        using var opt = Make("adam", m);
        Train(m, opt, 1);
        var before = Tensor.NativeLiveCount;
        Train(m, opt, 5);
        Assert.Equal(before, Tensor.NativeLiveCount);
    }

    [Fact]
    public void ParametersWithoutGradientsAreSkipped()
    {
        using var scope = DisposeScope.Open();
        using var m = FixedModel();
        using var opt = new SGD(m.Parameters(), lr: 1, momentum: 0.9);
        var bias = m.Bias!.ToArray<float>();
        m.Forward(Fixture.Value["x"]).Sum().Backward();
        m.Bias!.Grad = null;
        opt.Step();
        Assert.Equal(bias, m.Bias!.ToArray<float>());
    }

    [Fact]
    public void SchedulesEqualPyTorchs()
    {
        var json = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("schedules.json"))).RootElement;
        double[] Expect(string name) => json.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();
        void Check(string name, LrSchedule s, double dt = 1)
        {
            var expected = Expect(name);
            for (var i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - s.At(i * dt)) < 1e-12, $"{name} at {i * dt}: expected {expected[i]}, got {s.At(i * dt)}");
        }
        Check("multistep", new MultiStepSchedule(0.1, [3, 6]));
        Check("cosine", new CosineSchedule(0.1, 10, minLr: 0.001, perStep: false));
        Check("linear_warmup", new WarmupSchedule(new ConstantSchedule(0.1), 5, 0.1));
        Check("one_cycle", PiecewiseLinearSchedule.OneCycle(0.2, 10), dt: 0.25);
        // Per-step cosine moves within an epoch; per-epoch cosine does not.
        Assert.NotEqual(new CosineSchedule(0.1, 10).At(0.5), new CosineSchedule(0.1, 10).At(0));
        Assert.Equal(new CosineSchedule(0.1, 10, perStep: false).At(0.5), new CosineSchedule(0.1, 10, perStep: false).At(0));
    }
}
