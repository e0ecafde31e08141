using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Training;

/// <summary>
/// An exponential moving average of a model's weights (train.ema), the standard remedy for robust overfitting
/// (Rebuffi et al. 2021; timm's ModelEmaV2): after every optimizer step, each floating-point state entry
/// (parameters and BatchNorm running statistics) becomes decay * ema + (1 - decay) * current; integer entries
/// (num_batches_tracked) are copied. The average lives in a second model of the same architecture, which the loop
/// evaluates and checkpoints as ema.pt. With warmup, the decay used at update t is min(decay, (1 + t) / (10 + t)).
/// </summary>
public sealed class WeightAverage
{
    private readonly (Tensor Ema, Tensor Live, bool Float)[] pairs;

    public WeightAverage(Module source, Module average, double decay, bool warmup = false)
    {
        if (decay is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(decay), decay, "EMA decay must be in (0, 1)");
        Model = average;
        Decay = decay;
        Warmup = warmup;
        var live = source.NamedStateEntries().ToList();
        var ema = average.NamedStateEntries().ToDictionary(e => e.Name, e => e.Value);
        pairs = live.Select(e => (ema.TryGetValue(e.Name, out var t) ? t : throw new ArgumentException($"the average model has no '{e.Name}'"),
            e.Value, e.Value.DType is DType.Float32 or DType.Float64 or DType.Float16 or DType.BFloat16)).ToArray();
        using var _ = torch.NoGrad();
        foreach (var (e, l, _) in pairs) e.Copy_(l);
        foreach (var p in average.Parameters()) p.RequiresGrad = false;
    }

    /// <summary>The averaged model (same architecture as the trained one).</summary>
    public Module Model { get; }
    public double Decay { get; }
    public bool Warmup { get; }
    /// <summary>Updates done so far (saved for resume).</summary>
    public long Updates { get; set; }

    public double CurrentDecay => Warmup ? Math.Min(Decay, (1.0 + Updates) / (10.0 + Updates)) : Decay;

    public void Update()
    {
        var d = CurrentDecay;
        using var scope = DisposeScope.Open();
        using var _ = torch.NoGrad();
        foreach (var (e, l, isFloat) in pairs)
        {
            if (isFloat) e.Mul_(d).Add_(l, 1 - d);
            else e.Copy_(l);
        }
        Updates++;
    }
}
