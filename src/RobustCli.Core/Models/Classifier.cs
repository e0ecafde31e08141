using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Models;

/// <summary>Per-channel input normalization (x - mean) / std, done inside the model so attacks work in [0, 1] pixels.</summary>
public sealed record Normalization(double[] Mean, double[] Std);

/// <summary>
/// An image classifier taking pixels in [0, 1]. Normalization lives inside the model as non-persistent
/// buffers, so state_dict keys stay those of the usual PyTorch implementation and every attack sees pixels.
/// </summary>
public abstract class Classifier : Module
{
    private readonly Tensor? mean, std;

    protected Classifier(Normalization? normalization, int channels)
    {
        if (normalization == null) return;
        if (normalization.Mean.Length != channels || normalization.Std.Length != channels)
            throw new ArgumentException($"normalization needs {channels} means and stds, got {normalization.Mean.Length} and {normalization.Std.Length}");
        if (normalization.Std.Any(s => s <= 0)) throw new ArgumentException("normalization std must be > 0");
        mean = RegisterBuffer("mean", torch.From(normalization.Mean.Select(v => (float)v).ToArray(), [1, channels, 1, 1]), persistent: false);
        std = RegisterBuffer("std", torch.From(normalization.Std.Select(v => (float)v).ToArray(), [1, channels, 1, 1]), persistent: false);
    }

    public virtual bool Normalizes => mean != null;

    /// <summary>The input standardized as <see cref="Forward"/> does (x itself without normalization), for models whose other outputs need it too.</summary>
    protected Tensor Normalize(Tensor x) => mean == null ? x : (x - mean).Div_(std!);

    public sealed override Tensor Forward(Tensor x)
    {
        if (mean == null) return Logits(x);
        using var z = (x - mean).Div_(std!);
        return Logits(z);
    }

    /// <summary>
    /// Width of the pooled penultimate features that the final linear layer reads, or 0 when the architecture does
    /// not expose them. Heads that read the same features (SoE's rectifier) need it.
    /// </summary>
    public virtual long FeatureCount => 0;

    /// <summary>The pooled penultimate features and the logits of one pass on pixels in [0, 1]; the caller owns both.</summary>
    public (Tensor Features, Tensor Logits) ForwardWithFeatures(Tensor x)
    {
        if (FeatureCount == 0) throw new NotSupportedException($"{GetType().Name} does not expose its penultimate features");
        Tensor features;
        if (mean == null) features = Features(x);
        else
        {
            using var z = (x - mean).Div_(std!);
            features = Features(z);
        }
        return (features, Head(features));
    }

    /// <summary>The trunk up to the pooled, flattened features (on normalized input); architectures with <see cref="FeatureCount"/> &gt; 0 override it.</summary>
    protected virtual Tensor Features(Tensor x) => throw new NotSupportedException($"{GetType().Name} does not expose its penultimate features");

    /// <summary>The final linear layer on <see cref="Features"/>.</summary>
    protected virtual Tensor Head(Tensor features) => throw new NotSupportedException($"{GetType().Name} does not expose its penultimate features");

    /// <summary>
    /// Maps a key of a state dict saved by another implementation of this architecture to ours (identity unless
    /// the architecture's usual PyTorch implementations disagree on names).
    /// </summary>
    public virtual string TranslateForeignKey(string key) => key;

    /// <summary>The network proper, on normalized input: by default the head on the features.</summary>
    protected virtual Tensor Logits(Tensor x)
    {
        using var features = Features(x);
        return Head(features);
    }
}
