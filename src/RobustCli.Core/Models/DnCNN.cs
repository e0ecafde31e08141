using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Models;

/// <summary>
/// DnCNN (Zhang et al. 2017) as the ObsAtk/HAT code builds it: a residual learner f(y) = y - D(y) whose D is
/// Conv3x3(C, 64) + ReLU, (depth - 2) x [Conv3x3(64, 64) + BatchNorm + ReLU], Conv3x3(64, C), every convolution
/// without bias. DnCNN-S is depth 17 (gray), DnCNN-B depth 20 (gray, blind), DnCNN-C depth 20 (colour). Keys are the
/// reference's: dncnn.0.weight, dncnn.2.weight, dncnn.3.{weight,bias,running_mean,running_var,num_batches_tracked}, ...
/// Initialisation as the reference's weights_init_kaiming: Kaiming normal (fan in) for convolutions, and BatchNorm
/// scales drawn from N(0, 2/(9 * 64)) clamped to [-0.025, 0.025] (small, as that code has it), shifts 0.
/// Outputs: "image" (the estimate, primary) and "noise" (D(y)).
/// </summary>
public sealed class DnCNN : Module, IMultiOutput
{
    public static readonly ModelRegistration Registration = new("dncnn", "DnCNN residual denoiser (Zhang et al. 2017): depth 17 (DnCNN-S) or 20 (DnCNN-B/C), bias-free convolutions",
        new OptionDeclaration(
        [
            OptionSpec.Int("depth", 20, "convolutions in all: 17 (DnCNN-S), 20 (DnCNN-B, DnCNN-C)", min: 3),
            OptionSpec.Int("features", 64, "channels of the hidden convolutions", min: 1),
        ]),
        b => new DnCNN(b.InChannels, b.Options.Int("depth"), b.Options.Int("features"))) { Tasks = ["denoise"], FromWeights = SizesIn };

    /// <summary>
    /// A DnCNN's depth, width and channels from its weights (a PyTorch file has no config): one 4-D weight per
    /// convolution, the first one's input channels gray (1) or colour (3).
    /// </summary>
    private static (OptionValues Options, int? InChannels) SizesIn(IReadOnlyDictionary<string, Tensor> weights)
    {
        var convs = weights.Where(kv => kv.Key.StartsWith("dncnn.", StringComparison.Ordinal) && kv.Key.EndsWith(".weight", StringComparison.Ordinal) && kv.Value.Dim == 4).ToList();
        if (convs.Count < 3) throw new InvalidDataException($"the weights have {convs.Count} DnCNN convolutions (dncnn.N.weight); is this a DnCNN?");
        var options = Registration.Options.Resolve(new Dictionary<string, object?> { ["depth"] = convs.Count, ["features"] = (int)convs[0].Value.Size(0) });
        return (options, (int)convs[0].Value.Size(1));
    }

    /// <summary>The paper's names: DnCNN-S (17 convolutions), DnCNN-B and DnCNN-C (20; gray or colour follows the data).</summary>
    public static ModelRegistration Sized(string name, int depth, string description) => new(name, description,
        new OptionDeclaration([OptionSpec.Int("features", 64, "channels of the hidden convolutions", min: 1)]),
        b => new DnCNN(b.InChannels, depth, b.Options.Int("features"))) { Tasks = ["denoise"] };

    private readonly Sequential dncnn;

    public DnCNN(int channels = 1, int depth = 20, int features = 64)
    {
        if (depth < 3) throw new ArgumentOutOfRangeException(nameof(depth), depth, "a DnCNN has at least 3 convolutions");
        Depth = depth;
        dncnn = new Sequential();
        dncnn.Append(Conv(channels, features));
        dncnn.Append(new ReLU());
        for (var i = 0; i < depth - 2; i++)
        {
            dncnn.Append(Conv(features, features));
            dncnn.Append(Norm(features));
            dncnn.Append(new ReLU());
        }
        dncnn.Append(Conv(features, channels));
        RegisterModule("dncnn", dncnn);
    }

    public int Depth { get; }

    private static Conv2d Conv(int inChannels, int outChannels)
    {
        var conv = new Conv2d(inChannels, outChannels, 3, 1, 1, bias: false);
        Init.Normal_(conv.Weight, 0, Math.Sqrt(2.0 / Init.Fans(conv.Weight).FanIn));
        return conv;
    }

    private static BatchNorm2d Norm(int features)
    {
        var bn = new BatchNorm2d(features);
        using (torch.NoGrad()) bn.Weight!.Normal_(0, Math.Sqrt(2.0 / 9.0 / 64.0)).Clamp_(-0.025, 0.025);
        Init.Constant_(bn.Bias!, 0);
        return bn;
    }

    public IReadOnlyList<string> OutputNames => ["image", "noise"];

    public IReadOnlyDictionary<string, Tensor> ForwardAll(Tensor x)
    {
        var noise = dncnn.Forward(x);
        return new Dictionary<string, Tensor> { ["image"] = x - noise, ["noise"] = noise };
    }

    public override Tensor Forward(Tensor x)
    {
        using var noise = dncnn.Forward(x);
        return x - noise;
    }
}
