using System.Globalization;
using RobustCli.Core.Registry;
using RobustCli.Torch;

namespace RobustCli.Core.Training;

public enum LabelNoise { Symmetric, PairFlip }

/// <summary>
/// NoiLIn (Zhang et al., TMLR 2022): noisy labels injected into adversarial training. Every batch gets fresh label
/// noise at the current rate (symmetric: a flipped label is uniform over the other classes; pair-flip: y -> y + 1
/// mod C), used by the base method's attack and loss. The rate starts at nMin; after each epoch it is multiplied by
/// (1 + gamma) when validation PGD accuracy is below its value tau epochs earlier (the reference's window test, which
/// never fires in the first tau epochs), capped at nMax, and at nMax / 2 while the 0-based epoch is at most
/// <c>halfCapUntilEpoch</c> (90 in the 120-epoch recipe).
/// </summary>
public sealed class NoiLinTraining : ITrainingMethod
{
    public static readonly MethodRegistration Registration = new("noilin", "NoiLIn (Zhang et al. 2022): noisy labels injected into a base method's attack and loss",
        new OptionDeclaration(
        [
            OptionSpec.Choice("base", "pgd-at", "the adversarial-training method the noisy labels feed", "pgd-at", "trades"),
            OptionSpec.Choice("noise", "symmetric", "symmetric (a uniformly drawn other class) or pairflip (y -> y + 1)", "symmetric", "pairflip"),
            OptionSpec.Double("n_min", 0.05, "initial noise rate", min: 0, max: 1),
            OptionSpec.Double("n_max", 0.6, "largest noise rate", min: 0, max: 1),
            OptionSpec.Int("tau", 10, "epochs between the validation robust accuracies compared", min: 1),
            OptionSpec.Double("gamma", 0.05, "the rate grows by the factor (1 + gamma)", min: 0),
            OptionSpec.Int("half_cap_until_epoch", 90, "the rate stays at most n_max / 2 while the 0-based epoch is at most this", min: -1),
        ], o => o.Double("n_min") <= o.Double("n_max") ? [] : [new OptionError("n_min", $"must be <= n_max ({o.Double("n_max")}), got {o.Double("n_min")}")]),
        b => new NoiLinTraining(b.Other(b.Options.String("base")), b.Options.String("noise") == "pairflip" ? LabelNoise.PairFlip : LabelNoise.Symmetric,
            b.Options.Double("n_min"), b.Options.Double("n_max"), b.Options.Int("tau"), b.Options.Double("gamma"), b.Options.Int("half_cap_until_epoch"), b.Seed))
    { Columns = ["noise_rate"], BaseOption = "base", NeedsValidation = "NoiLIn's schedule needs a validation set" };

    private readonly ITrainingMethod inner;
    private readonly LabelNoise noise;
    private readonly double nMax, gamma;
    private readonly int tau, halfCapUntilEpoch, seed;
    private double rate, rateUsed;
    private double[] window;

    public NoiLinTraining(ITrainingMethod inner, LabelNoise noise = LabelNoise.Symmetric, double nMin = 0.05, double nMax = 0.6,
        int tau = 10, double gamma = 0.05, int halfCapUntilEpoch = 90, int seed = 0)
    {
        if (nMin < 0 || nMax > 1 || nMin > nMax) throw new ArgumentException($"noise rates must satisfy 0 <= n_min <= n_max <= 1 (got {nMin}, {nMax})");
        if (tau < 1) throw new ArgumentException("tau must be >= 1");
        this.inner = inner; this.noise = noise; this.nMax = nMax; this.tau = tau; this.gamma = gamma;
        this.halfCapUntilEpoch = halfCapUntilEpoch; this.seed = seed;
        rate = rateUsed = nMin;
        window = new double[tau];
    }

    public string Name => "noilin+" + inner.Name;
    public double NoiseRate => rate;

    public MethodOutput Compute(StepContext ctx, Tensor x, Tensor y)
    {
        rateUsed = rate;
        var labels = y.ToArray<long>();
        var rng = new Random(Data.SeedMix.Of(seed, ctx.Epoch, ctx.Batch, 0x0111));
        var noisy = Flip(labels, rate, ctx.NumClasses, noise, rng);
        var yNoisy = torch.From(noisy).To(y.Device);
        return inner.Compute(ctx, x, yNoisy);
    }

    /// <summary>Each label flips with probability <paramref name="rate"/>: to a uniformly drawn other class, or to the next one.</summary>
    public static long[] Flip(long[] labels, double rate, int numClasses, LabelNoise noise, Random rng)
    {
        var r = new long[labels.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            r[i] = labels[i];
            if (rng.NextDouble() >= rate) continue;
            if (noise == LabelNoise.PairFlip) r[i] = (labels[i] + 1) % numClasses;
            else
            {
                var other = rng.Next(numClasses - 1);
                r[i] = other >= labels[i] ? other + 1 : other;
            }
        }
        return r;
    }

    public void OnEpochEnd(EpochEnd info)
    {
        inner.OnEpochEnd(info);
        // The reference sums a ring buffer before and after replacing slot e mod tau: the sum drops exactly when
        // this epoch's accuracy is below the one tau epochs ago (zeros for the first tau epochs).
        var slot = info.Epoch % tau;
        var before = window[slot];
        window[slot] = info.ValidationRobustAccuracy;
        if (info.ValidationRobustAccuracy < before) rate = Math.Min(rate * (1 + gamma), nMax);
        if (info.Epoch <= halfCapUntilEpoch) rate = Math.Min(rate, nMax / 2);
    }

    public IReadOnlyList<(string Column, double Value)> Metrics => [("noise_rate", rateUsed), .. inner.Metrics];

    public Dictionary<string, object?> SaveState()
    {
        var s = inner.SaveState().ToDictionary(kv => "inner." + kv.Key, kv => kv.Value);
        s["noise_rate"] = rate;
        s["noise_rate_used"] = rateUsed;
        s["window"] = window.Select(v => (object?)v).ToList();
        return s;
    }

    public void LoadState(IReadOnlyDictionary<string, object?> state)
    {
        rate = Convert.ToDouble(state["noise_rate"], CultureInfo.InvariantCulture);
        rateUsed = Convert.ToDouble(state["noise_rate_used"], CultureInfo.InvariantCulture);
        var w = ((System.Collections.IEnumerable)state["window"]!).Cast<object?>().Select(v => Convert.ToDouble(v, CultureInfo.InvariantCulture)).ToArray();
        if (w.Length != tau) throw new FormatException($"NoiLIn state holds a window of {w.Length}, the config's tau is {tau}");
        window = w;
        inner.LoadState(state.Where(kv => kv.Key.StartsWith("inner.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key[6..], kv => kv.Value));
    }
}
