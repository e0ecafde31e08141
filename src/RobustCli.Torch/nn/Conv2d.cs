namespace RobustCli.Torch.nn;

/// <summary>torch.nn.Conv2d (weight [out, in/groups, kh, kw]; PyTorch's default initialisation).</summary>
public sealed class Conv2d : Module
{
    public Tensor Weight { get; }
    public Tensor? Bias { get; }
    public long[] Stride { get; }
    public long[] Padding { get; }
    public long[] Dilation { get; }
    public long Groups { get; }

    public Conv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, long dilation = 1,
        long groups = 1, bool bias = true, Device? device = null)
        : this(inChannels, outChannels, [kernelSize, kernelSize], [stride, stride], [padding, padding], [dilation, dilation], groups, bias, device) { }

    public Conv2d(long inChannels, long outChannels, long[] kernelSize, long[] stride, long[] padding, long[] dilation,
        long groups = 1, bool bias = true, Device? device = null)
    {
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"in_channels ({inChannels}) and out_channels ({outChannels}) must be divisible by groups ({groups})");
        Stride = stride; Padding = padding; Dilation = dilation; Groups = groups;
        Weight = RegisterParameter("weight", torch.Empty([outChannels, inChannels / groups, kernelSize[0], kernelSize[1]], device: device));
        if (bias) Bias = RegisterParameter("bias", torch.Empty([outChannels], device: device));
        Init.DefaultLayerInit(Weight, Bias);
    }

    public override Tensor Forward(Tensor input) => F.Conv2d(input, Weight, Bias, Stride, Padding, Dilation, Groups);
}

/// <summary>torch.nn.ConvTranspose2d (weight [in, out/groups, kh, kw]).</summary>
public sealed class ConvTranspose2d : Module
{
    public Tensor Weight { get; }
    public Tensor? Bias { get; }
    public long[] Stride { get; }
    public long[] Padding { get; }
    public long[] OutputPadding { get; }
    public long[] Dilation { get; }
    public long Groups { get; }

    public ConvTranspose2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0,
        long outputPadding = 0, long groups = 1, bool bias = true, long dilation = 1, Device? device = null)
    {
        Stride = [stride, stride]; Padding = [padding, padding]; OutputPadding = [outputPadding, outputPadding];
        Dilation = [dilation, dilation]; Groups = groups;
        Weight = RegisterParameter("weight", torch.Empty([inChannels, outChannels / groups, kernelSize, kernelSize], device: device));
        if (bias) Bias = RegisterParameter("bias", torch.Empty([outChannels], device: device));
        Init.DefaultLayerInit(Weight, Bias);
    }

    public override Tensor Forward(Tensor input) =>
        F.ConvTranspose2d(input, Weight, Bias, Stride, Padding, OutputPadding, Groups, Dilation);
}
