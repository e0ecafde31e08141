using RobustCli.Torch;
using RobustCli.Torch.nn;
using RobustCli.Torch.Serialization;

namespace RobustCli.Core.Models;

/// <summary>
/// Prepares a state dict saved by PyTorch code (a RobustBench model, a paper's release) for one of our models, the
/// way RobustBench's load_model does: a "module." or "model." prefix is stripped, and normalization buffers that
/// some releases keep in the state dict (mu/sigma, mean/std, normalize.mean/std) are taken out and returned, so
/// the model can be built with that normalization (ours keeps it in non-persistent buffers); releases without them
/// load as well. Keys the architecture names differently in its other common implementation are translated.
/// </summary>
public static class ForeignWeights
{
    private static readonly (string Mean, string Std)[] NormalizationKeys =
    [
        ("mu", "sigma"), ("mean", "std"), ("normalize.mean", "normalize.std"), ("norm.mean", "norm.std"),
        ("normalizer.mean", "normalizer.std"), ("mu", "std"),
    ];

    /// <summary>Strips prefixes and removes normalization buffers (returned as a <see cref="Normalization"/>, if any).</summary>
    public static (StateDict Weights, Normalization? Normalization) Prepare(StateDict sd)
    {
        sd = Weights.StripCommonPrefixes(sd);
        foreach (var (meanKey, stdKey) in NormalizationKeys)
        {
            if (!sd.TryGetValue(meanKey, out var mean) || !sd.TryGetValue(stdKey, out var std)) continue;
            var norm = new Normalization(ToDoubles(mean), ToDoubles(std));
            var rest = new StateDict();
            foreach (var (k, v) in sd)
                if (k != meanKey && k != stdKey) rest.Add(k, v);
            mean.Dispose();
            std.Dispose();
            return (rest, norm);
        }
        return (sd, null);
    }

    /// <summary>Loads prepared weights into the model, translating keys of the architecture's other naming.</summary>
    public static void Load(Classifier model, StateDict sd)
    {
        var ownKeys = model.NamedStateEntries().Select(e => e.Name).ToHashSet();
        var translated = new Dictionary<string, Tensor>();
        foreach (var (k, v) in sd)
        {
            var key = ownKeys.Contains(k) ? k : model.TranslateForeignKey(k);
            if (!translated.TryAdd(key, v)) throw new InvalidDataException($"two state dict keys map to '{key}'");
        }
        model.LoadStateDict(translated);
    }

    private static double[] ToDoubles(Tensor t)
    {
        using var flat = t.Flatten().To(DType.Float64);
        return flat.ToArray<double>();
    }
}
