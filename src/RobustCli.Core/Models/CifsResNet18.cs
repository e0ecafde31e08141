using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Models;

/// <summary>Global average pooling flattened to [N, C]: the first stage of a CIFS probe.</summary>
public sealed class GlobalAvgFlatten : Module
{
    public override Tensor Forward(Tensor x)
    {
        using var pooled = F.AdaptiveAvgPool2d(x, 1);
        return pooled.Flatten(1);
    }
}

/// <summary>The non-linear probe's hidden stage: pooled features → Linear(C, hidden) → Softplus(beta 5). Keys: fc.</summary>
public sealed class NonLinearProbeStage : Module
{
    private readonly GlobalAvgFlatten pool = new();
    private readonly Linear fc;

    public NonLinearProbeStage(long inFeatures, long hidden) => fc = RegisterModule("fc", new Linear(inFeatures, hidden));

    public override Tensor Forward(Tensor x)
    {
        using var p = pool.Forward(x);
        using var h = fc.Forward(p);
        return F.Softplus(h, 5);
    }
}

/// <summary>
/// CIFS's channel-importance module (the official CSAFR): a probe predicts the class from the block's features z;
/// the channels' relevance is the gradient of the probe's top-two logits — in training the true class and the
/// runner-up, in eval (and so under attack) the top-1 and top-2 predictions — with respect to a detached copy of z,
/// summed over space; the mask is 2 softmax(relevance) over channels and the block's output is z times the mask.
/// The gradient is taken with create_graph, so the mask is differentiable in the probe's parameters; z is detached
/// there, so the input's gradient reaches the mask's value but not through it (as in the official code). Keys:
/// Probe.{1.weight, 1.bias} (linear: pooling, Linear) or Probe.{0.fc.*, 1.*} (non-linear: pooling, Linear,
/// Softplus, Linear).
/// </summary>
public sealed class CifsProbe : Module
{
    private readonly Sequential probe;

    public CifsProbe(long features, int classes, bool linear, long hidden = 128)
    {
        probe = linear
            ? new Sequential(new GlobalAvgFlatten(), new Linear(features, classes))
            : new Sequential(new NonLinearProbeStage(features, hidden), new Linear(hidden, classes));
        RegisterModule("Probe", probe);
    }

    /// <summary>The masked features and the probe's logits on the unmasked ones.</summary>
    public (Tensor Masked, Tensor ProbeLogits) Forward(Tensor z, Tensor? labels)
    {
        using var mask = Mask(z, labels);
        var masked = z * mask;
        return (masked, probe.Forward(z));
    }

    /// <summary>The channel mask [N, C, 1, 1] (sums to 2 over channels).</summary>
    public Tensor Mask(Tensor z, Tensor? labels)
    {
        using var scope = DisposeScope.Open();
        // Inside an evaluation's no-grad passes too: the relevance is a gradient.
        using var grad = torch.EnableGrad();
        var copy = z.Detach().Clone().RequiresGrad_();
        var logits = probe.Forward(copy);
        var top = logits.TopK(2, 1).Indices;
        var first = Training && labels != null ? labels.View(-1, 1) : top.Narrow(1, 0, 1);
        var second = top.Narrow(1, 1, 1);
        var score = logits.Gather(1, first).Sum() + logits.Gather(1, second).Sum();
        var g = Autograd.Grad(score, copy, retainGraph: true, createGraph: true);
        var relevance = g.Sum([2, 3]);
        var mask = F.Softmax(relevance, 1).Mul(2);
        return mask.View(z.Size(0), z.Size(1), 1, 1).MoveToOuterScope();
    }

    public override Tensor Forward(Tensor input) => throw new NotSupportedException("a CIFS probe returns masked features and logits: call Forward(z, labels)");
}

/// <summary>A BasicBlock followed by a CIFS probe (the official CSAFRBlock). Keys: conv1, bn1, conv2, bn2, shortcut.{0,1}, Probe.Probe.*.</summary>
public sealed class CifsBlock : Module
{
    private readonly Conv2d conv1, conv2;
    private readonly BatchNorm2d bn1, bn2;
    private readonly Sequential? shortcut;
    private readonly CifsProbe cifs;

    public CifsBlock(long inPlanes, long planes, long stride, int classes, bool linearProbe)
    {
        conv1 = RegisterModule("conv1", new Conv2d(inPlanes, planes, 3, stride, 1, bias: false));
        bn1 = RegisterModule("bn1", new BatchNorm2d(planes));
        conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, 1, 1, bias: false));
        bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        if (stride != 1 || inPlanes != planes)
            shortcut = RegisterModule("shortcut", new Sequential(new Conv2d(inPlanes, planes, 1, stride, bias: false), new BatchNorm2d(planes)));
        cifs = RegisterModule("Probe", new CifsProbe(planes, classes, linearProbe));
    }

    public (Tensor Masked, Tensor ProbeLogits) Forward(Tensor x, Tensor? labels)
    {
        using var c1 = conv1.Forward(x);
        using var h = bn1.Forward(c1).Relu_();
        using var c2 = conv2.Forward(h);
        using var o = bn2.Forward(c2);
        using var sc = shortcut?.Forward(x);
        using var z = (o + (sc ?? x)).Relu_();
        return cifs.Forward(z, labels);
    }

    public override Tensor Forward(Tensor input) => throw new NotSupportedException("a CIFS block returns masked features and probe logits: call Forward(x, labels)");
}

/// <summary>
/// ResNet-18 with CIFS in layer4 (Yan, Zhang et al., ICML 2021; the official ResNet18_L4): the CIFAR ResNet-18
/// (kuangliu's keys) whose two last BasicBlocks each end in a CIFS probe — block 1 non-linear, block 2 linear.
/// Outputs: logits (primary), probe0, probe1 (the probes' logits on the unmasked features, for the joint loss).
/// In training mode the masks use <see cref="Labels"/> when set (the true class and the probe's runner-up), else
/// the predictions. <c>width</c> scales every stage (64 is the paper's; 16 for small CPU runs); keys stay the same.
/// </summary>
public sealed class CifsResNet18 : Classifier, IMultiOutput
{
    /// <summary>The probes' logits beside the final ones, for CIFS's joint loss.</summary>
    public static readonly ModelCapability Probes = ModelCapability.Output("probe0", "a model with CIFS probes");

    public static readonly ModelRegistration Registration = new("cifs-resnet18",
        "ResNet-18 with CIFS channel-importance masks in layer4 (Yan et al. 2021): outputs logits, probe0, probe1",
        new OptionDeclaration([OptionSpec.Int("width", 64, "channels of the first stage (64, 128, 256, 512 × width/64)", min: 4)]),
        b => new CifsResNet18(b.NumClasses, b.InChannels, b.Normalization, b.Options.Int("width")))
    { Offers = [Probes] };


    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Sequential layer1, layer2, layer3;
    private readonly ModuleList layer4;
    private readonly Linear linear;
    private readonly CifsBlock block0, block1;

    public CifsResNet18(int numClasses = 10, int inChannels = 3, Normalization? normalization = null, int width = 64) : base(normalization, inChannels)
    {
        long w = width;
        conv1 = RegisterModule("conv1", new Conv2d(inChannels, w, 3, 1, 1, bias: false));
        bn1 = RegisterModule("bn1", new BatchNorm2d(w));
        var inPlanes = w;
        Sequential Layer(long planes, long stride)
        {
            var s = new Sequential(new BasicBlock(inPlanes, planes, stride), new BasicBlock(planes, planes, 1));
            inPlanes = planes;
            return s;
        }
        layer1 = RegisterModule("layer1", Layer(w, 1));
        layer2 = RegisterModule("layer2", Layer(2 * w, 2));
        layer3 = RegisterModule("layer3", Layer(4 * w, 2));
        block0 = new CifsBlock(4 * w, 8 * w, 2, numClasses, linearProbe: false);
        block1 = new CifsBlock(8 * w, 8 * w, 1, numClasses, linearProbe: true);
        layer4 = RegisterModule("layer4", new ModuleList([block0, block1]));
        linear = RegisterModule("linear", new Linear(8 * w, numClasses));
    }

    /// <summary>The batch's labels for the training-mode masks (the official forward's y); the training method sets and clears them.</summary>
    public Tensor? Labels { get; set; }

    public IReadOnlyList<string> OutputNames => ["logits", "probe0", "probe1"];

    public IReadOnlyDictionary<string, Tensor> ForwardAll(Tensor x)
    {
        using var scope = DisposeScope.Open();
        var input = Normalize(x);
        var c = conv1.Forward(input);
        var h = layer3.Forward(layer2.Forward(layer1.Forward(bn1.Forward(c).Relu_())));
        var labels = Training ? Labels : null;
        var (m0, p0) = block0.Forward(h, labels);
        var (m1, p1) = block1.Forward(m0, labels);
        var pooled = F.AdaptiveAvgPool2d(m1, 1).Flatten(1);
        var logits = linear.Forward(pooled);
        return new Dictionary<string, Tensor>
        {
            ["logits"] = logits.MoveToOuterScope(), ["probe0"] = p0.MoveToOuterScope(), ["probe1"] = p1.MoveToOuterScope(),
        };
    }

    protected override Tensor Logits(Tensor x)
    {
        var all = ForwardAll(x);
        all["probe0"].Dispose();
        all["probe1"].Dispose();
        return all["logits"];
    }
}
