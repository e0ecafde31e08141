namespace RobustCli.Torch.optim;

/// <summary>
/// A learning-rate schedule as a pure function of training progress in epochs (fractional when the
/// schedule is applied per step): lr = At(epoch). Pure functions make resume trivial: no hidden state.
/// </summary>
public abstract class LrSchedule
{
    public abstract double At(double epoch);

    /// <summary>Sets the optimiser's learning rate for this point of training and returns it.</summary>
    public double Apply(Optimizer optimizer, double epoch) => optimizer.LearningRate = At(epoch);
}

/// <summary>torch.optim.lr_scheduler.MultiStepLR stepped once per epoch: lr * gamma^(milestones passed).</summary>
public sealed class MultiStepSchedule(double baseLr, IReadOnlyList<int> milestones, double gamma = 0.1) : LrSchedule
{
    public override double At(double epoch)
    {
        var e = (int)Math.Floor(epoch);
        return baseLr * Math.Pow(gamma, milestones.Count(m => m <= e));
    }
}

/// <summary>Cosine annealing from baseLr to minLr over totalEpochs (CosineAnnealingLR's closed form); per step or per epoch.</summary>
public sealed class CosineSchedule(double baseLr, double totalEpochs, double minLr = 0, bool perStep = true) : LrSchedule
{
    public override double At(double epoch)
    {
        var t = perStep ? epoch : Math.Floor(epoch);
        t = Math.Clamp(t, 0, totalEpochs);
        return minLr + (baseLr - minLr) * (1 + Math.Cos(Math.PI * t / totalEpochs)) / 2;
    }
}

/// <summary>
/// Linear interpolation between (epoch, lr) points, flat beyond the ends (numpy.interp): the cyclic / one-cycle
/// schedule of "fast is better than free" is [(0, 0), (2/5 E, lr_max), (E, 0)].
/// </summary>
public sealed class PiecewiseLinearSchedule : LrSchedule
{
    private readonly (double Epoch, double Lr)[] points;

    public PiecewiseLinearSchedule(IEnumerable<(double Epoch, double Lr)> points)
    {
        this.points = points.ToArray();
        if (this.points.Length == 0) throw new ArgumentException("a piecewise-linear schedule needs at least one point");
        for (var i = 1; i < this.points.Length; i++)
            if (this.points[i].Epoch < this.points[i - 1].Epoch) throw new ArgumentException("schedule points must be in increasing epoch order");
    }

    public static PiecewiseLinearSchedule OneCycle(double maxLr, double totalEpochs, double peakFraction = 0.4) =>
        new([(0, 0), (totalEpochs * peakFraction, maxLr), (totalEpochs, 0)]);

    public override double At(double epoch)
    {
        if (epoch <= points[0].Epoch) return points[0].Lr;
        for (var i = 1; i < points.Length; i++)
        {
            var (e1, l1) = points[i];
            if (epoch > e1) continue;
            var (e0, l0) = points[i - 1];
            return e1 == e0 ? l1 : l0 + (l1 - l0) * (epoch - e0) / (e1 - e0);
        }
        return points[^1].Lr;
    }
}

/// <summary>Linear warm-up from startFactor * lr to the inner schedule's lr over warmupEpochs, then the inner schedule.</summary>
public sealed class WarmupSchedule(LrSchedule inner, double warmupEpochs, double startFactor = 0.0) : LrSchedule
{
    public override double At(double epoch)
    {
        var lr = inner.At(epoch);
        if (epoch >= warmupEpochs || warmupEpochs <= 0) return lr;
        return lr * (startFactor + (1 - startFactor) * epoch / warmupEpochs);
    }
}

/// <summary>A constant learning rate.</summary>
public sealed class ConstantSchedule(double lr) : LrSchedule
{
    public override double At(double epoch) => lr;
}
