using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Models;

/// <summary>An extra classification head of a multi-task model: its output name, its state-dict name and its classes.</summary>
public sealed record TaskHead(string Name, string Key, int Classes);

/// <summary>torchvision's Bottleneck (1x1, 3x3 with the stride, 1x1 to 4x planes; "downsample" when the shape changes).</summary>
public sealed class Bottleneck : Module
{
    public const int Expansion = 4;
    private readonly Conv2d conv1, conv2, conv3;
    private readonly BatchNorm2d bn1, bn2, bn3;
    private readonly Sequential? downsample;

    public Bottleneck(long inPlanes, long planes, long stride)
    {
        conv1 = RegisterModule("conv1", new Conv2d(inPlanes, planes, 1, 1, 0, bias: false));
        bn1 = RegisterModule("bn1", new BatchNorm2d(planes));
        conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, stride, 1, bias: false));
        bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        conv3 = RegisterModule("conv3", new Conv2d(planes, planes * Expansion, 1, 1, 0, bias: false));
        bn3 = RegisterModule("bn3", new BatchNorm2d(planes * Expansion));
        if (stride != 1 || inPlanes != planes * Expansion)
            downsample = RegisterModule("downsample", new Sequential(new Conv2d(inPlanes, planes * Expansion, 1, stride, bias: false), new BatchNorm2d(planes * Expansion)));
    }

    public override Tensor Forward(Tensor x)
    {
        using var c1 = conv1.Forward(x);
        using var h1 = bn1.Forward(c1).Relu_();
        using var c2 = conv2.Forward(h1);
        using var h2 = bn2.Forward(c2).Relu_();
        using var c3 = conv3.Forward(h2);
        var o = bn3.Forward(c3);
        using var sc = downsample?.Forward(x);
        return o.Add_(sc ?? x).Relu_();
    }
}

/// <summary>
/// GAT's shared ResNet encoder (taskaugment's ResNetEncoder, torchvision keys conv1, bn1, layer1..4 with
/// "downsample"): for small images a 3x3 stride-1 stem with padding 3 — the official code's, which grows a 32x32
/// input to 36x36 maps and is what its reported models have — and no max-pool. Returns the last stage's maps.
/// </summary>
public sealed class ResNetEncoder : Module
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Sequential layer1, layer2, layer3, layer4;

    public ResNetEncoder(int[] blocks, bool bottleneck, int inChannels, long width = 64, int stemPadding = 3)
    {
        conv1 = RegisterModule("conv1", new Conv2d(inChannels, width, 3, 1, stemPadding, bias: false));
        bn1 = RegisterModule("bn1", new BatchNorm2d(width));
        var inPlanes = width;
        Sequential Layer(long planes, int count, long stride)
        {
            var s = new Sequential();
            for (var i = 0; i < count; i++)
            {
                var st = i == 0 ? stride : 1;
                s.Append(bottleneck ? new Bottleneck(inPlanes, planes, st) : new BasicBlock(inPlanes, planes, st, "downsample"));
                inPlanes = bottleneck ? planes * Bottleneck.Expansion : planes;
            }
            return s;
        }
        layer1 = RegisterModule("layer1", Layer(width, blocks[0], 1));
        layer2 = RegisterModule("layer2", Layer(2 * width, blocks[1], 2));
        layer3 = RegisterModule("layer3", Layer(4 * width, blocks[2], 2));
        layer4 = RegisterModule("layer4", Layer(8 * width, blocks[3], 2));
        OutChannels = inPlanes;
    }

    public long OutChannels { get; }

    public override Tensor Forward(Tensor x)
    {
        using var c = conv1.Forward(x);
        using var h0 = bn1.Forward(c).Relu_();
        using var h1 = layer1.Forward(h0);
        using var h2 = layer2.Forward(h1);
        using var h3 = layer3.Forward(h2);
        return layer4.Forward(h3);
    }
}

/// <summary>GAT's WideResNet encoder (taskaugment's WideResNetEncoder: conv1, block1..3, bn1 + ReLU; no pooling).</summary>
public sealed class WideResNetEncoder : Module
{
    private readonly Conv2d conv1;
    private readonly Module block1, block2, block3;
    private readonly BatchNorm2d bn1;

    public WideResNetEncoder(int depth, int width, int inChannels, double dropRate)
    {
        if ((depth - 4) % 6 != 0) throw new ArgumentException($"WideResNet depth must be 6n + 4 (28, 34, ...), got {depth}");
        var n = (depth - 4) / 6;
        long[] ch = [16, 16 * width, 32 * width, 64 * width];
        conv1 = RegisterModule("conv1", new Conv2d(inChannels, ch[0], 3, 1, 1, bias: false));
        block1 = RegisterModule("block1", new NetworkBlock(n, ch[0], ch[1], 1, dropRate));
        block2 = RegisterModule("block2", new NetworkBlock(n, ch[1], ch[2], 2, dropRate));
        block3 = RegisterModule("block3", new NetworkBlock(n, ch[2], ch[3], 2, dropRate));
        bn1 = RegisterModule("bn1", new BatchNorm2d(ch[3]));
        OutChannels = ch[3];
    }

    public long OutChannels { get; }

    public override Tensor Forward(Tensor x)
    {
        using var c = conv1.Forward(x);
        using var b1 = block1.Forward(c);
        using var b2 = block2.Forward(b1);
        using var b3 = block3.Forward(b2);
        return bn1.Forward(b3).Relu_();
    }
}

/// <summary>A classification decoder of taskaugment: global average pooling, then fc.</summary>
public sealed class ClassificationDecoder : Module
{
    private readonly Linear fc;

    public ClassificationDecoder(long features, int classes) => fc = RegisterModule("fc", new Linear(features, classes));

    public override Tensor Forward(Tensor x)
    {
        using var pooled = F.AdaptiveAvgPool2d(x, 1);
        using var flat = pooled.Flatten(1);
        return fc.Forward(flat);
    }
}

/// <summary>The named decoders of a multi-task model (taskaugment's task_to_decoder ModuleDict).</summary>
internal sealed class DecoderSet : Module
{
    public DecoderSet(IEnumerable<(string Key, Module Decoder)> decoders)
    {
        foreach (var (key, decoder) in decoders) RegisterModule(key, decoder);
    }

    public override Tensor Forward(Tensor input) => throw new NotSupportedException("a decoder set has one output per task");
}

/// <summary>
/// GAT's multi-task network (Ghamizi, Zhang et al., ICML 2023; taskaugment's MTResnet): one shared encoder and one
/// decoder per task, the main classification task first. Forward returns the main task's logits, so attacks,
/// evaluation and every other method see an ordinary classifier; <see cref="ForwardAll"/> adds the auxiliary
/// heads the training method asked for (rotation, jigsaw, macro). State-dict keys are the official ones:
/// encoder.*, task_to_decoder.class_object#multilabel.fc.*, task_to_decoder.rotation.fc.*, ...
/// </summary>
public sealed class MultiTaskNetwork : Classifier, IMultiOutput
{
    /// <summary>The main task's decoder name in the official code.</summary>
    public const string MainKey = "class_object#multilabel";

    private static OptionSpec Width => OptionSpec.Int("width", 64, "channels of the first stage (64 is the paper's; 16 for small CPU runs)", min: 4);
    private static OptionSpec StemPadding => OptionSpec.Int("stem_padding", 3, "padding of the 3x3 stem conv: 3 as in the official code (32x32 inputs give 36x36 maps), 1 as usual", min: 0, max: 3);

    public static readonly ModelRegistration ResNet18 = new("multitask-resnet18",
        "GAT's multi-task ResNet-18 (taskaugment): shared encoder + one head per task; outputs logits and the auxiliary heads",
        new OptionDeclaration([Width, StemPadding]),
        b => new MultiTaskNetwork(new ResNetEncoder([2, 2, 2, 2], false, b.InChannels, b.Options.Int("width"), b.Options.Int("stem_padding")), b))
    { HeadsFromWeights = HeadsIn };

    public static readonly ModelRegistration ResNet50 = new("multitask-resnet50",
        "GAT's multi-task ResNet-50 (the paper's default encoder): shared bottleneck encoder + one head per task",
        new OptionDeclaration([Width, StemPadding]),
        b => new MultiTaskNetwork(new ResNetEncoder([3, 4, 6, 3], true, b.InChannels, b.Options.Int("width"), b.Options.Int("stem_padding")), b))
    { HeadsFromWeights = HeadsIn };

    public static readonly ModelRegistration Wrn = new("multitask-wrn",
        "GAT's multi-task WideResNet (model.depth, model.width; WRN-28-10 in the paper): shared encoder + one head per task",
        new OptionDeclaration(
        [
            OptionSpec.Int("depth", 28, "depth: 6n + 4", min: 10),
            OptionSpec.Int("width", 10, "widening factor", min: 1),
            OptionSpec.Double("drop_rate", 0, "dropout between the convolutions of a block", min: 0, max: 1, maxExclusive: true),
        ], o => (o.Int("depth") - 4) % 6 == 0 ? [] : [new OptionError("depth", $"a WideResNet's depth is 6n + 4 (16, 22, 28, 34, 40); {o.Int("depth")} is not")]),
        b => new MultiTaskNetwork(new WideResNetEncoder(b.Options.Int("depth"), b.Options.Int("width"), b.InChannels, b.Options.Double("drop_rate")), b))
    { HeadsFromWeights = HeadsIn };

    private readonly Module encoder;
    private readonly ClassificationDecoder main;
    private readonly List<(TaskHead Head, ClassificationDecoder Decoder)> heads = [];

    private MultiTaskNetwork(Module encoder, ModelBuild b) : this(encoder, b.NumClasses, b.InChannels, b.Normalization, b.Heads) { }

    public MultiTaskNetwork(Module encoder, int numClasses, int inChannels, Normalization? normalization, IReadOnlyList<TaskHead> heads)
        : base(normalization, inChannels)
    {
        var features = encoder switch
        {
            ResNetEncoder r => r.OutChannels,
            WideResNetEncoder w => w.OutChannels,
            _ => throw new ArgumentException($"{encoder.GetType().Name} is not a multi-task encoder"),
        };
        this.encoder = RegisterModule("encoder", encoder);
        main = new ClassificationDecoder(features, numClasses);
        var decoders = new List<(string, Module)> { (MainKey, main) };
        foreach (var h in heads)
        {
            if (h.Name == "logits" || this.heads.Any(o => o.Head.Name == h.Name)) throw new ArgumentException($"head '{h.Name}' is given twice");
            var d = new ClassificationDecoder(features, h.Classes);
            this.heads.Add((h, d));
            decoders.Add((h.Key, d));
        }
        RegisterModule("task_to_decoder", new DecoderSet(decoders));
        // The official MTResnet re-draws every conv weight N(0, 2/fan_out) and sets BatchNorm to (1, 0).
        foreach (var (_, m) in NamedModules())
            if (m is Conv2d c) Init.KaimingNormalFanOut_(c.Weight);
    }

    /// <summary>
    /// The auxiliary heads a state dict holds (task_to_decoder.&lt;key&gt;.fc.weight besides the main task's), so a
    /// weights file without its run's config — the official code's included — loads whole.
    /// </summary>
    public static IReadOnlyList<TaskHead> HeadsIn(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        const string prefix = "task_to_decoder.", suffix = ".fc.weight";
        return stateDict.Keys
            .Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && k.EndsWith(suffix, StringComparison.Ordinal))
            .Select(k => k[prefix.Length..^suffix.Length])
            .Where(key => key != MainKey)
            .Select(key => new TaskHead(key.StartsWith("class_object#", StringComparison.Ordinal) ? key["class_object#".Length..] : key, key,
                (int)stateDict[prefix + key + suffix].Size(0)))
            .ToList();
    }

    /// <summary>The shared encoder: the parameters whose gradient GAT's task weighting combines.</summary>
    public Module Encoder => encoder;

    public IReadOnlyList<TaskHead> Heads => heads.Select(h => h.Head).ToList();

    public IReadOnlyList<string> OutputNames => ["logits", .. heads.Select(h => h.Head.Name)];

    protected override Tensor Logits(Tensor x)
    {
        using var rep = encoder.Forward(x);
        return main.Forward(rep);
    }

    public IReadOnlyDictionary<string, Tensor> ForwardAll(Tensor x)
    {
        using var scope = DisposeScope.Open();
        var rep = encoder.Forward(Normalize(x));
        var outputs = new Dictionary<string, Tensor> { ["logits"] = main.Forward(rep) };
        foreach (var (h, d) in heads) outputs[h.Name] = d.Forward(rep);
        foreach (var t in outputs.Values) t.MoveToOuterScope();
        return outputs;
    }
}
