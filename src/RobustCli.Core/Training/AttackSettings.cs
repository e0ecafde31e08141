using RobustCli.Core.Attacks;

namespace RobustCli.Core.Training;

/// <summary>The training attack's budget: norm, eps, step size, steps and start, in pixel units.</summary>
public sealed record AttackSettings(Norm Norm, double Eps, double Alpha, int Steps, RandomStart Start)
{
    /// <summary>
    /// Eps (and alpha with it) ramped linearly over the first <paramref name="warmupEpochs"/> epochs, which helps
    /// small models learn at all under attack from scratch: epoch e (0-based) uses eps * min(1, (e + 1) / warmup).
    /// </summary>
    public AttackSettings At(int epoch, int warmupEpochs)
    {
        if (warmupEpochs <= 0) return this;
        var f = Math.Min(1.0, (epoch + 1) / (double)warmupEpochs);
        return this with { Eps = Eps * f, Alpha = Alpha * f };
    }
}
