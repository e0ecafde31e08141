using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Models;

/// <summary>
/// A pre-activation residual block (He et al. 2016) as in ../shared/bench/reference_pgd_at.py:
/// bn1, conv1, bn2, conv2, and a 1x1 shortcut convolution "sc" when the shape changes.
/// </summary>
public sealed class PreActBlock : Module
{
    private readonly BatchNorm2d bn1, bn2;
    private readonly Conv2d conv1, conv2;
    private readonly Conv2d? sc;

    public PreActBlock(long inPlanes, long planes, long stride)
    {
        bn1 = RegisterModule("bn1", new BatchNorm2d(inPlanes));
        conv1 = RegisterModule("conv1", new Conv2d(inPlanes, planes, 3, stride, 1, bias: false));
        bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, 1, 1, bias: false));
        if (stride != 1 || inPlanes != planes) sc = RegisterModule("sc", new Conv2d(inPlanes, planes, 1, stride, bias: false));
    }

    public override Tensor Forward(Tensor x)
    {
        using var pre = bn1.Forward(x).Relu_();
        using var shortcut = sc != null ? sc.Forward(pre) : null;
        using var h = conv1.Forward(pre);
        using var h2 = bn2.Forward(h).Relu_();
        // conv2's output is fresh and its backward does not need it, so the residual is added in place.
        return conv2.Forward(h2).Add_(shortcut ?? x);
    }
}

/// <summary>
/// PreActResNet-18 for 32x32 inputs, as in ../shared/bench/reference_pgd_at.py: conv1, eight PreActBlocks
/// under "layers" (Sequential, keys layers.0 ... layers.7), a final bn and fc. State dicts of the RobustBench /
/// kuangliu implementation (layer1.0 ... layer4.1, shortcut.0, linear) load too: their keys are translated.
/// </summary>
public sealed class PreActResNet18 : Classifier
{
    public static readonly ModelRegistration Registration = new("preact18", "PreActResNet-18 (He et al. 2016)", OptionDeclaration.None,
        b => new PreActResNet18(b.NumClasses, b.InChannels, b.Normalization));

    private readonly Conv2d conv1;
    private readonly Sequential layers;
    private readonly BatchNorm2d bn;
    private readonly Linear fc;

    public PreActResNet18(int numClasses = 10, int inChannels = 3, Normalization? normalization = null) : base(normalization, inChannels)
    {
        conv1 = RegisterModule("conv1", new Conv2d(inChannels, 64, 3, 1, 1, bias: false));
        layers = new Sequential();
        long inPlanes = 64;
        foreach (var (planes, stride) in new (long, long)[] { (64, 1), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1) })
        {
            layers.Append(new PreActBlock(inPlanes, planes, stride));
            inPlanes = planes;
        }
        RegisterModule("layers", layers);
        bn = RegisterModule("bn", new BatchNorm2d(512));
        fc = RegisterModule("fc", new Linear(512, numClasses));
    }

    public override string TranslateForeignKey(string key)
    {
        var m = System.Text.RegularExpressions.Regex.Match(key, @"^layer([1-4])\.([01])\.(.*)$");
        if (m.Success)
        {
            var block = 2 * (int.Parse(m.Groups[1].Value) - 1) + int.Parse(m.Groups[2].Value);
            var rest = m.Groups[3].Value.StartsWith("shortcut.0.", StringComparison.Ordinal) ? "sc." + m.Groups[3].Value["shortcut.0.".Length..] : m.Groups[3].Value;
            return $"layers.{block}.{rest}";
        }
        return key.StartsWith("linear.", StringComparison.Ordinal) ? "fc." + key["linear.".Length..] : key;
    }

    public override long FeatureCount => 512;

    protected override Tensor Features(Tensor x)
    {
        using var stem = conv1.Forward(x);
        using var body = layers.Forward(stem);
        using var act = bn.Forward(body).Relu_();
        using var pooled = F.AdaptiveAvgPool2d(act, 1);
        return pooled.Flatten(1);
    }

    protected override Tensor Head(Tensor features) => fc.Forward(features);
}
