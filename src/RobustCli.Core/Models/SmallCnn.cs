using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Models;

/// <summary>
/// The SmallCNN of ../shared/bench/reference_pgd_at.py (28x28x1 -> 10, a common MNIST / Fashion-MNIST
/// adversarial-training model): four 3x3 convolutions with two max-pools, then three linear layers.
/// Keys: c1..c4, f1..f3 (.weight, .bias), as in that PyTorch definition.
/// </summary>
public sealed class SmallCnn : Classifier
{
    public static readonly ModelRegistration Registration = new("smallcnn", "the small CNN of TRADES/FAT for (Fashion-)MNIST", OptionDeclaration.None,
        b => new SmallCnn(b.InChannels, b.NumClasses, b.Normalization));

    private readonly Conv2d c1, c2, c3, c4;
    private readonly Linear f1, f2, f3;

    public SmallCnn(int inChannels = 1, int numClasses = 10, Normalization? normalization = null) : base(normalization, inChannels)
    {
        c1 = RegisterModule("c1", new Conv2d(inChannels, 32, 3));
        c2 = RegisterModule("c2", new Conv2d(32, 32, 3));
        c3 = RegisterModule("c3", new Conv2d(32, 64, 3));
        c4 = RegisterModule("c4", new Conv2d(64, 64, 3));
        f1 = RegisterModule("f1", new Linear(64 * 4 * 4, 200));
        f2 = RegisterModule("f2", new Linear(200, 200));
        f3 = RegisterModule("f3", new Linear(200, numClasses));
    }

    public override long FeatureCount => 200;

    protected override Tensor Head(Tensor features) => f3.Forward(features);

    protected override Tensor Features(Tensor x)
    {
        // Intermediates are disposed as soon as they are consumed (autograd keeps what it needs), and
        // ReLUs run in place on fresh conv/linear outputs, which their backward passes do not need.
        using var a = ConvRelu(c2, ConvRelu(c1, x, dispose: false), dispose: true);
        using var p1 = F.MaxPool2d(a, 2);
        using var b = ConvRelu(c4, ConvRelu(c3, p1, dispose: false), dispose: true);
        using var p2 = F.MaxPool2d(b, 2);
        using var flat = p2.Flatten(1);
        using var h1 = f1.Forward(flat).Relu_();
        return f2.Forward(h1).Relu_();
    }

    private static Tensor ConvRelu(Conv2d conv, Tensor input, bool dispose)
    {
        var y = conv.Forward(input).Relu_();
        if (dispose) input.Dispose();
        return y;
    }
}
