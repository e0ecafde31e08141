namespace RobustCli.Torch.nn;

/// <summary>torch.nn.init: the initialisers PyTorch's layers use by default, drawing from the global generator.</summary>
public static class Init
{
    /// <summary>fan_in and fan_out as torch.nn.init._calculate_fan_in_and_fan_out computes them.</summary>
    public static (long FanIn, long FanOut) Fans(Tensor weight)
    {
        var s = weight.Shape;
        if (s.Length < 2) throw new ArgumentException("fan in and fan out need a tensor of at least 2 dimensions");
        long receptive = 1;
        for (var i = 2; i < s.Length; i++) receptive *= s[i];
        return (s[1] * receptive, s[0] * receptive);
    }

    public static Tensor Uniform_(Tensor t, double a, double b)
    {
        using var _ = torch.NoGrad();
        return t.Uniform_(a, b);
    }

    public static Tensor Normal_(Tensor t, double mean = 0, double std = 1)
    {
        using var _ = torch.NoGrad();
        return t.Normal_(mean, std);
    }

    public static Tensor Constant_(Tensor t, double value)
    {
        using var _ = torch.NoGrad();
        return t.Fill_(value);
    }

    /// <summary>kaiming_uniform_(mode=fan_in, nonlinearity=leaky_relu) with slope a.</summary>
    public static Tensor KaimingUniform_(Tensor t, double a = 0)
    {
        var fanIn = Fans(t).FanIn;
        var gain = Math.Sqrt(2.0 / (1 + a * a));
        var bound = gain * Math.Sqrt(3.0 / fanIn);
        return Uniform_(t, -bound, bound);
    }

    /// <summary>kaiming_normal_(mode=fan_out, nonlinearity=relu), common for ResNets.</summary>
    public static Tensor KaimingNormalFanOut_(Tensor t)
    {
        var fanOut = Fans(t).FanOut;
        return Normal_(t, 0, Math.Sqrt(2.0 / fanOut));
    }

    /// <summary>The default of Linear and Conv layers: kaiming_uniform_(a=sqrt(5)) for the weight, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the bias.</summary>
    public static void DefaultLayerInit(Tensor weight, Tensor? bias)
    {
        KaimingUniform_(weight, Math.Sqrt(5));
        if (bias == null) return;
        var fanIn = Fans(weight).FanIn;
        var bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
        Uniform_(bias, -bound, bound);
    }
}
