using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Models;

/// <summary>The CIFAR BasicBlock: conv1, bn1, conv2, bn2, and a 1x1 conv + bn "shortcut" when the shape changes.</summary>
public sealed class BasicBlock : Module
{
    private readonly Conv2d conv1, conv2;
    private readonly BatchNorm2d bn1, bn2;
    private readonly Sequential? shortcut;

    /// <param name="shortcutName">"shortcut" (kuangliu's ResNet-18) or "downsample" (the CIFAR ResNet-20 of fb.resnet.torch's PyTorch ports).</param>
    public BasicBlock(long inPlanes, long planes, long stride, string shortcutName = "shortcut")
    {
        conv1 = RegisterModule("conv1", new Conv2d(inPlanes, planes, 3, stride, 1, bias: false));
        bn1 = RegisterModule("bn1", new BatchNorm2d(planes));
        conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, 1, 1, bias: false));
        bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        if (stride != 1 || inPlanes != planes)
            shortcut = RegisterModule(shortcutName, new Sequential(new Conv2d(inPlanes, planes, 1, stride, bias: false), new BatchNorm2d(planes)));
    }

    public override Tensor Forward(Tensor x)
    {
        using var c1 = conv1.Forward(x);
        using var h = bn1.Forward(c1).Relu_();
        using var c2 = conv2.Forward(h);
        // bn2's output is fresh and its backward does not need it: the residual and ReLU go in place.
        var o = bn2.Forward(c2);
        using var sc = shortcut?.Forward(x);
        return o.Add_(sc ?? x).Relu_();
    }
}

/// <summary>
/// ResNet-18 for 32x32 inputs as in the widely used PyTorch CIFAR implementation (kuangliu/pytorch-cifar, also
/// RobustBench's): a 3x3 stem conv1 + bn1, layer1..layer4 of two BasicBlocks each, 4x4 average pool, linear.
/// </summary>
public sealed class ResNet18 : Classifier
{
    public static readonly ModelRegistration Registration = new("resnet18", "ResNet-18 for 32x32 inputs", OptionDeclaration.None,
        b => new ResNet18(b.NumClasses, b.InChannels, b.Normalization));

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Sequential layer1, layer2, layer3, layer4;
    private readonly Linear linear;

    public ResNet18(int numClasses = 10, int inChannels = 3, Normalization? normalization = null) : base(normalization, inChannels)
    {
        conv1 = RegisterModule("conv1", new Conv2d(inChannels, 64, 3, 1, 1, bias: false));
        bn1 = RegisterModule("bn1", new BatchNorm2d(64));
        long inPlanes = 64;
        Sequential Layer(long planes, long stride)
        {
            var s = new Sequential(new BasicBlock(inPlanes, planes, stride), new BasicBlock(planes, planes, 1));
            inPlanes = planes;
            return s;
        }
        layer1 = RegisterModule("layer1", Layer(64, 1));
        layer2 = RegisterModule("layer2", Layer(128, 2));
        layer3 = RegisterModule("layer3", Layer(256, 2));
        layer4 = RegisterModule("layer4", Layer(512, 2));
        linear = RegisterModule("linear", new Linear(512, numClasses));
    }

    public override long FeatureCount => 512;

    protected override Tensor Features(Tensor x)
    {
        using var c = conv1.Forward(x);
        using var h0 = bn1.Forward(c).Relu_();
        using var h1 = layer1.Forward(h0);
        using var h2 = layer2.Forward(h1);
        using var h3 = layer3.Forward(h2);
        using var h4 = layer4.Forward(h3);
        using var pooled = F.AdaptiveAvgPool2d(h4, 1);
        return pooled.Flatten(1);
    }

    protected override Tensor Head(Tensor features) => linear.Forward(features);
}
