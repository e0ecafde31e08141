using RobustCli.Torch;

namespace RobustCli.Tests.Shared;

public static class TensorAssert
{
    /// <summary>Same shape and dtype; floating values within atol + rtol * |expected|; others exactly equal.</summary>
    public static void Close(Tensor expected, Tensor actual, double rtol = 1e-5, double atol = 1e-6, string what = "")
    {
        var prefix = what.Length > 0 ? what + ": " : "";
        Assert.True(expected.Shape.SequenceEqual(actual.Shape),
            $"{prefix}shape [{string.Join(", ", actual.Shape)}] differs from PyTorch's [{string.Join(", ", expected.Shape)}]");
        Assert.True(expected.DType == actual.DType, $"{prefix}dtype {actual.DType} differs from PyTorch's {expected.DType}");
        using var e = expected.To(DType.Float64);
        using var a = actual.To(DType.Float64);
        var ev = e.ToArray<double>();
        var av = a.ToArray<double>();
        for (var i = 0; i < ev.Length; i++)
        {
            var ok = expected.DType.IsFloatingPoint()
                ? (double.IsNaN(ev[i]) && double.IsNaN(av[i])) || Math.Abs(ev[i] - av[i]) <= atol + rtol * Math.Abs(ev[i])
                : ev[i] == av[i];
            Assert.True(ok, $"{prefix}element {i}: expected {ev[i]:R}, got {av[i]:R}");
        }
    }
}
