using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Models;

/// <summary>The pre-activation WRN block of RobustBench / TRADES: bn1, conv1, bn2, conv2, and convShortcut when the width changes.</summary>
public sealed class WideBasicBlock : Module
{
    private readonly BatchNorm2d bn1, bn2;
    private readonly Conv2d conv1, conv2;
    private readonly Conv2d? convShortcut;
    private readonly double dropRate;

    public WideBasicBlock(long inPlanes, long outPlanes, long stride, double dropRate)
    {
        bn1 = RegisterModule("bn1", new BatchNorm2d(inPlanes));
        conv1 = RegisterModule("conv1", new Conv2d(inPlanes, outPlanes, 3, stride, 1, bias: false));
        bn2 = RegisterModule("bn2", new BatchNorm2d(outPlanes));
        conv2 = RegisterModule("conv2", new Conv2d(outPlanes, outPlanes, 3, 1, 1, bias: false));
        if (inPlanes != outPlanes) convShortcut = RegisterModule("convShortcut", new Conv2d(inPlanes, outPlanes, 1, stride, 0, bias: false));
        this.dropRate = dropRate;
    }

    public override Tensor Forward(Tensor x)
    {
        // As in the reference: when the width changes, the shortcut also sees the activated input.
        using var act = bn1.Forward(x).Relu_();
        using var c1 = conv1.Forward(act);
        using var h = bn2.Forward(c1).Relu_();
        using var d = dropRate > 0 ? F.Dropout(h, dropRate, Training) : null;
        var o = conv2.Forward(d ?? h);
        using var sc = convShortcut?.Forward(act);
        return o.Add_(sc ?? x);
    }
}

/// <summary>
/// WideResNet-depth-width for 32x32 inputs with the key names of RobustBench's and TRADES' implementation
/// (conv1, block1..3.layer.N.*, bn1, fc) and its initialisation (He-normal fan-out convs, zero linear bias).
/// WRN-34-10 and WRN-28-10 are the usual choices.
/// </summary>
public sealed class WideResNet : Classifier
{
    private static OptionSpec DropRate => OptionSpec.Double("drop_rate", 0, "dropout between the convolutions of a block", min: 0, max: 1, maxExclusive: true);

    public static readonly ModelRegistration Registration = new("wrn", "WideResNet (Zagoruyko and Komodakis 2016), model.depth and model.width",
        new OptionDeclaration(
        [
            OptionSpec.Int("depth", 34, "depth: 6n + 4 (16, 28, 34, 40, ...)", min: 10),
            OptionSpec.Int("width", 10, "widening factor", min: 1),
            DropRate,
        ], o => (o.Int("depth") - 4) % 6 == 0 ? [] : [new OptionError("depth", $"a WideResNet's depth is 6n + 4 (16, 22, 28, 34, 40); {o.Int("depth")} is not")]),
        b => new WideResNet(b.Options.Int("depth"), b.Options.Int("width"), b.NumClasses, b.InChannels, b.Options.Double("drop_rate"), b.Normalization));

    /// <summary>A fixed size (wrn28-10, RobustBench's names): only the dropout is an option.</summary>
    public static ModelRegistration Sized(int depth, int width) => new($"wrn{depth}-{width}", $"WideResNet-{depth}-{width}",
        new OptionDeclaration([DropRate]), b => new WideResNet(depth, width, b.NumClasses, b.InChannels, b.Options.Double("drop_rate"), b.Normalization));

    private readonly Conv2d conv1;
    private readonly Module block1, block2, block3;
    private readonly BatchNorm2d bn1;
    private readonly Linear fc;

    public WideResNet(int depth = 34, int width = 10, int numClasses = 10, int inChannels = 3, double dropRate = 0,
        Normalization? normalization = null) : base(normalization, inChannels)
    {
        if ((depth - 4) % 6 != 0) throw new ArgumentException($"WideResNet depth must be 6n + 4 (28, 34, ...), got {depth}");
        var n = (depth - 4) / 6;
        long[] ch = [16, 16 * width, 32 * width, 64 * width];
        conv1 = RegisterModule("conv1", new Conv2d(inChannels, ch[0], 3, 1, 1, bias: false));
        block1 = RegisterModule("block1", new NetworkBlock(n, ch[0], ch[1], 1, dropRate));
        block2 = RegisterModule("block2", new NetworkBlock(n, ch[1], ch[2], 2, dropRate));
        block3 = RegisterModule("block3", new NetworkBlock(n, ch[2], ch[3], 2, dropRate));
        bn1 = RegisterModule("bn1", new BatchNorm2d(ch[3]));
        fc = RegisterModule("fc", new Linear(ch[3], numClasses));
        foreach (var (_, m) in NamedModules())
            if (m is Conv2d c) Init.KaimingNormalFanOut_(c.Weight);
        Init.Constant_(fc.Bias!, 0);
    }

    public override long FeatureCount => fc.Weight.Size(1);

    protected override Tensor Features(Tensor x)
    {
        using var c = conv1.Forward(x);
        using var b1 = block1.Forward(c);
        using var b2 = block2.Forward(b1);
        using var b3 = block3.Forward(b2);
        using var act = bn1.Forward(b3).Relu_();
        using var pooled = F.AdaptiveAvgPool2d(act, 1);
        return pooled.Flatten(1);
    }

    protected override Tensor Head(Tensor features) => fc.Forward(features);
}

/// <summary>A stage of WideBasicBlocks; key: layer.N.*.</summary>
internal sealed class NetworkBlock : Module
{
    private readonly Sequential layer;

    public NetworkBlock(int n, long inPlanes, long outPlanes, long stride, double dropRate)
    {
        layer = RegisterModule("layer", new Sequential());
        for (var i = 0; i < n; i++) layer.Append(new WideBasicBlock(i == 0 ? inPlanes : outPlanes, outPlanes, i == 0 ? stride : 1, dropRate));
    }

    public override Tensor Forward(Tensor x) => layer.Forward(x);
}
