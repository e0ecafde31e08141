namespace RobustCli.Torch.nn;

/// <summary>torch.nn.GroupNorm.</summary>
public sealed class GroupNorm : Module
{
    public long NumGroups { get; }
    public double Eps { get; }
    public Tensor? Weight { get; }
    public Tensor? Bias { get; }

    public GroupNorm(long numGroups, long numChannels, double eps = 1e-5, bool affine = true, Device? device = null)
    {
        if (numChannels % numGroups != 0)
            throw new ArgumentException($"num_channels ({numChannels}) must be divisible by num_groups ({numGroups})");
        NumGroups = numGroups; Eps = eps;
        if (affine)
        {
            Weight = RegisterParameter("weight", torch.Ones([numChannels], device: device));
            Bias = RegisterParameter("bias", torch.Zeros([numChannels], device: device));
        }
    }

    public override Tensor Forward(Tensor input) => F.GroupNorm(input, NumGroups, Weight, Bias, Eps);
}

/// <summary>torch.nn.LayerNorm over the trailing dimensions.</summary>
public sealed class LayerNorm : Module
{
    public long[] NormalizedShape { get; }
    public double Eps { get; }
    public Tensor? Weight { get; }
    public Tensor? Bias { get; }

    public LayerNorm(long[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, Device? device = null)
    {
        NormalizedShape = normalizedShape; Eps = eps;
        if (elementwiseAffine)
        {
            Weight = RegisterParameter("weight", torch.Ones(normalizedShape, device: device));
            Bias = RegisterParameter("bias", torch.Zeros(normalizedShape, device: device));
        }
    }

    public override Tensor Forward(Tensor input) => F.LayerNorm(input, NormalizedShape, Weight, Bias, Eps);
}

/// <summary>torch.nn.Dropout: active in training mode only.</summary>
public sealed class Dropout(double p = 0.5) : Module
{
    public double P { get; } = p is >= 0 and <= 1 ? p : throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must be in [0, 1]");
    public override Tensor Forward(Tensor input) => F.Dropout(input, P, Training);
}
