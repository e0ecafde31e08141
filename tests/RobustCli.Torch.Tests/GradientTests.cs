using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Torch.Tests;

/// <summary>Analytic gradients (backward and autograd.grad, double backward included) against central finite differences in float64.</summary>
public sealed class GradientTests
{
    private const double Step = 1e-6;

    /// <summary>Checks d/dx sum(f(x) * w) for a fixed random w, element by element.</summary>
    private static void GradCheck(Func<Tensor, Tensor> f, long[] shape, double tol = 1e-6, Func<Tensor, Tensor>? makeInput = null)
    {
        using var scope = DisposeScope.Open();
        using var gen = new Generator(42);
        var x0 = makeInput != null ? makeInput(torch.Rand(shape, DType.Float64, generator: gen)) : torch.Randn(shape, DType.Float64, generator: gen);
        var x = x0.Detach().RequiresGrad_();
        var y = f(x);
        var w = torch.Randn(y.Shape, DType.Float64, generator: gen);
        var analytic = Autograd.Grad((y * w).Sum(), x).ToArray<double>();
        var flat = x0.Detach().Clone().Flatten();
        var values = flat.ToArray<double>();
        for (var i = 0; i < values.Length; i++)
        {
            double Eval(double v)
            {
                using var s = DisposeScope.Open();
                var copy = (double[])values.Clone();
                copy[i] = v;
                // The input requires grad so functions that differentiate inside (double backward) still run.
                return (f(torch.From(copy, shape, requiresGrad: true)) * w).Sum().Item();
            }
            var numeric = (Eval(values[i] + Step) - Eval(values[i] - Step)) / (2 * Step);
            Assert.True(Math.Abs(numeric - analytic[i]) <= tol * Math.Max(1, Math.Abs(numeric)),
                $"element {i}: analytic {analytic[i]:R}, finite difference {numeric:R}");
        }
    }

    [Fact] public void ElementWise() => GradCheck(x => (x.Sigmoid() * x.Tanh() + x.Exp().Log1p() - x.Square().Sqrt()) / (x.Abs() + 1), [3, 4]);
    [Fact] public void Softplus() => GradCheck(x => F.Softplus(x, 2, 5) + F.Gelu(x) + F.Elu(x) + F.Silu(x), [3, 4]);
    [Fact] public void Reductions() => GradCheck(x => torch.Stack([x.Logsumexp(1).Sum(), x.Norm(2), x.Var(), x.Mean(0).Prod()]), [3, 4]);
    [Fact] public void MatMul() => GradCheck(x => x.MatMul(x.T).Tanh(), [3, 4]);

    [Fact]
    public void Conv2dAndPooling()
    {
        using var scope = DisposeScope.Open();
        var w = torch.Randn([3, 2, 3, 3], DType.Float64);
        var b = torch.Randn([3], DType.Float64);
        GradCheck(x => F.AvgPool2d(F.MaxPool2d(F.Conv2d(x, w, b, padding: [1, 1]), 2), [2, 2], [1, 1]), [2, 2, 6, 6], 1e-5);
    }

    [Fact]
    public void ConvTransposeAndInterpolate()
    {
        using var scope = DisposeScope.Open();
        var w = torch.Randn([2, 3, 3, 3], DType.Float64);
        GradCheck(x => F.Interpolate(F.ConvTranspose2d(x, w, stride: [2, 2]), size: [7, 6], mode: InterpolationMode.Bilinear), [1, 2, 3, 3], 1e-5);
    }

    [Fact]
    public void BatchNormTraining()
    {
        using var scope = DisposeScope.Open();
        var weight = torch.Randn([3], DType.Float64);
        var bias = torch.Randn([3], DType.Float64);
        GradCheck(x => F.BatchNorm(x, null, null, weight, bias, training: true), [4, 3, 2, 2], 1e-5);
        GradCheck(x => F.GroupNorm(x, 3, weight, bias) + F.LayerNorm(x, [3, 2, 2]), [4, 3, 2, 2], 1e-5);
    }

    [Fact]
    public void Losses()
    {
        using var scope = DisposeScope.Open();
        var y = torch.From(new long[] { 2, 0, 1, 2 });
        var soft = F.Softmax(torch.Randn([4, 3], DType.Float64), 1);
        GradCheck(x => torch.Stack([F.CrossEntropy(x, y), F.CrossEntropy(x, y, labelSmoothing: 0.1), F.CrossEntropy(x, soft),
            F.KlDiv(F.LogSoftmax(x, 1), soft, batchMean: true), F.MseLoss(x, soft), F.BinaryCrossEntropyWithLogits(x, soft)]), [4, 3]);
    }

    [Fact]
    public void DoubleBackwardMatchesFiniteDifferenceOfTheGradient()
    {
        // h(x) = <grad_x L(x), v> is the Hessian-vector product; its own gradient needs create_graph.
        using var scope = DisposeScope.Open();
        var w = torch.Randn([4, 3], DType.Float64);
        var v = torch.Randn([2, 4], DType.Float64);
        Tensor GradDotV(Tensor x, bool create)
        {
            var loss = F.Softplus(x.MatMul(w)).Square().Sum();
            var g = Autograd.Grad([loss], [x], createGraph: create)[0]!;
            return (g * v).Sum();
        }
        GradCheck(x => GradDotV(x, true), [2, 4]);
    }

    [Fact]
    public void BackwardAccumulatesAndGradCanBeCleared()
    {
        using var scope = DisposeScope.Open();
        var x = torch.From(new[] { 1.0, 2.0, 3.0 }).RequiresGrad_();
        (x * x).Sum().Backward();
        Assert.Equal(new[] { 2.0, 4.0, 6.0 }, x.Grad!.ToArray<double>());
        (x * 3).Sum().Backward();
        Assert.Equal(new[] { 5.0, 7.0, 9.0 }, x.Grad!.ToArray<double>());
        x.Grad = null;
        Assert.Null(x.Grad);
    }

    [Fact]
    public void RetainGraphAllowsASecondBackward()
    {
        using var scope = DisposeScope.Open();
        var x = torch.From(new[] { 1.0, 2.0 }).RequiresGrad_();
        var y = (x.Exp() * 2).Sum();
        y.Backward(retainGraph: true);
        y.Backward();
        var e = x.Detach().Exp() * 4;
        Assert.Equal(e.ToArray<double>(), x.Grad!.ToArray<double>());
        var z = (x.Exp() * 2).Sum();
        z.Backward();
        var ex = Assert.Throws<TorchException>(() => z.Backward());
        Assert.Contains("second time", ex.Message);
    }

    [Fact]
    public void AutogradGradOfUnusedInput()
    {
        using var scope = DisposeScope.Open();
        var a = torch.Ones([2], DType.Float64, requiresGrad: true);
        var b = torch.Ones([2], DType.Float64, requiresGrad: true);
        var grads = Autograd.Grad([(a * 3).Sum()], [a, b], allowUnused: true);
        Assert.Equal(new[] { 3.0, 3.0 }, grads[0]!.ToArray<double>());
        Assert.Null(grads[1]);
        Assert.Throws<TorchException>(() => Autograd.Grad([(a * 3).Sum()], [a, b]));
    }

    [Fact]
    public void NoGradStopsRecordingAndRestores()
    {
        using var scope = DisposeScope.Open();
        var x = torch.Ones([2], requiresGrad: true);
        Assert.True(torch.IsGradEnabled);
        using (torch.NoGrad())
        {
            Assert.False(torch.IsGradEnabled);
            Assert.False((x * 2).RequiresGrad);
            using (torch.EnableGrad()) Assert.True((x * 2).RequiresGrad);
        }
        Assert.True(torch.IsGradEnabled);
        Assert.True((x * 2).RequiresGrad);
        Assert.False((x * 2).Detach().RequiresGrad);
    }

    [Fact]
    public void InputOnlyGradientLeavesParametersWithoutGrad()
    {
        // The PGD pattern: autograd.grad(loss, [delta]) must not touch the weights' .grad.
        using var scope = DisposeScope.Open();
        using var layer = new Linear(4, 2);
        var delta = torch.Zeros([3, 4], requiresGrad: true);
        var loss = layer.Forward(torch.Rand(3, 4) + delta).Sum();
        var g = Autograd.Grad(loss, delta);
        Assert.Equal(new long[] { 3, 4 }, g.Shape);
        Assert.Null(layer.Weight.Grad);
    }
}
