using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Models;

/// <summary>
/// A small residual denoiser in DnCNN's shape (Zhang et al. 2017) for tests and quick runs: conv + ReLU, (layers - 2)
/// conv + ReLU, conv; it predicts the noise and returns observation - noise. Two outputs: "image" (the estimate,
/// primary) and "noise". Keys: body.0, body.2, ... (a Sequential of convolutions and ReLUs).
/// </summary>
public sealed class TinyDenoiser : Module, IMultiOutput
{
    public static readonly ModelRegistration Registration = new("tiny-denoiser", "a small DnCNN-style residual denoiser (tests, quick runs)",
        new OptionDeclaration(
        [
            OptionSpec.Int("features", 16, "channels of the hidden convolutions", min: 1),
            OptionSpec.Int("layers", 3, "convolutions in all", min: 2),
        ]),
        b => new TinyDenoiser(b.InChannels, b.Options.Int("features"), b.Options.Int("layers"))) { Tasks = ["denoise"] };

    private readonly Sequential body;

    public TinyDenoiser(int channels = 1, int features = 16, int layers = 3)
    {
        body = new Sequential();
        body.Append(new Conv2d(channels, features, 3, 1, 1));
        body.Append(new ReLU());
        for (var i = 0; i < layers - 2; i++)
        {
            body.Append(new Conv2d(features, features, 3, 1, 1));
            body.Append(new ReLU());
        }
        body.Append(new Conv2d(features, channels, 3, 1, 1));
        RegisterModule("body", body);
    }

    public IReadOnlyList<string> OutputNames => ["image", "noise"];

    public IReadOnlyDictionary<string, Tensor> ForwardAll(Tensor x)
    {
        var noise = body.Forward(x);
        return new Dictionary<string, Tensor> { ["image"] = x - noise, ["noise"] = noise };
    }

    public override Tensor Forward(Tensor x)
    {
        using var noise = body.Forward(x);
        return x - noise;
    }
}
