using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Models;

/// <summary>
/// The CIFAR ResNet of He et al. (2016, §4.2) as the PyTorch ports of fb.resnet.torch write it (bearpaw's
/// pytorch-classification, which Synergy-of-Experts uses): depth 6n + 2, a 3x3 stem conv1 + bn1, layer1..layer3 of n
/// BasicBlocks at widths 16, 32, 64 (strides 1, 2, 2; a 1x1 conv + bn "downsample" where the shape changes), global
/// average pooling, fc. Initialisation as there: convolutions N(0, sqrt(2 / (k·k·out_channels))), BatchNorm 1 and 0,
/// fc PyTorch's default. Keys: conv1, bn1, layer{1,2,3}.{i}.{conv1,bn1,conv2,bn2,downsample.0,downsample.1}, fc.
/// The reference pools with AvgPool2d(8), which is global on 32x32 inputs; global pooling also takes 28x28
/// (Fashion-MNIST). It switches to Bottleneck blocks from depth 44; here every depth uses BasicBlocks.
/// </summary>
public sealed class CifarResNet : Classifier
{
    public static readonly OptionDeclaration Options = new(
    [
        OptionSpec.Int("depth", 20, "depth: 6n + 2 (8, 14, 20, 32, 44, 56, 110)", min: 8),
        OptionSpec.Int("base_width", 16, "channels of the first stage (the stages have 1x, 2x, 4x)", min: 1),
    ], o => (o.Int("depth") - 2) % 6 == 0 ? [] : [new OptionError("depth", $"a CIFAR ResNet's depth is 6n + 2 (8, 14, 20, 32, 44, 56); {o.Int("depth")} is not")]);

    /// <summary>The family by name (depth and width as options).</summary>
    public static readonly ModelRegistration Registration = new("cifar-resnet", "the CIFAR ResNet (He et al. 2016), depth 6n + 2 (model.depth, model.base_width)", Options,
        b => new CifarResNet(b.Options.Int("depth"), b.NumClasses, b.InChannels, b.Normalization, b.Options.Int("base_width")));

    /// <summary>resnetDEPTH: ResNet-20 (SoE's sub-model), -32, -44, -56, -110, and -8 for quick runs.</summary>
    public static ModelRegistration Sized(int depth) => new($"resnet{depth}", $"CIFAR ResNet-{depth} (He et al. 2016), widths 16/32/64",
        new OptionDeclaration([Options.Find("base_width")!]),
        b => new CifarResNet(depth, b.NumClasses, b.InChannels, b.Normalization, b.Options.Int("base_width")));

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Sequential layer1, layer2, layer3;
    private readonly Linear fc;

    public CifarResNet(int depth = 20, int numClasses = 10, int inChannels = 3, Normalization? normalization = null, int baseWidth = 16)
        : base(normalization, inChannels)
    {
        if (depth < 8 || (depth - 2) % 6 != 0) throw new ArgumentException($"a CIFAR ResNet's depth is 6n + 2 (8, 14, 20, 32, ...), got {depth}");
        var n = (depth - 2) / 6;
        long inPlanes = baseWidth;
        conv1 = RegisterModule("conv1", new Conv2d(inChannels, baseWidth, 3, 1, 1, bias: false));
        bn1 = RegisterModule("bn1", new BatchNorm2d(baseWidth));
        Sequential Layer(long planes, long stride)
        {
            var s = new Sequential();
            for (var i = 0; i < n; i++)
            {
                s.Append(new BasicBlock(inPlanes, planes, i == 0 ? stride : 1, "downsample"));
                inPlanes = planes;
            }
            return s;
        }
        layer1 = RegisterModule("layer1", Layer(baseWidth, 1));
        layer2 = RegisterModule("layer2", Layer(2 * baseWidth, 2));
        layer3 = RegisterModule("layer3", Layer(4 * baseWidth, 2));
        fc = RegisterModule("fc", new Linear(4 * baseWidth, numClasses));
        foreach (var (_, m) in NamedModules())
            if (m is Conv2d c) Init.KaimingNormalFanOut_(c.Weight);
    }

    public override long FeatureCount => fc.Weight.Size(1);

    protected override Tensor Features(Tensor x)
    {
        using var c = conv1.Forward(x);
        using var h0 = bn1.Forward(c).Relu_();
        using var h1 = layer1.Forward(h0);
        using var h2 = layer2.Forward(h1);
        using var h3 = layer3.Forward(h2);
        using var pooled = F.AdaptiveAvgPool2d(h3, 1);
        return pooled.Flatten(1);
    }

    protected override Tensor Head(Tensor features) => fc.Forward(features);
}
