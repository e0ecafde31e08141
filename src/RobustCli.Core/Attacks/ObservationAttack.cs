using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Attacks;

/// <summary>
/// An attack on a denoiser's noisy observation whose strength is a noise level: s/255 root-mean-square per value.
/// The denoising protocol lowers the Gaussian noise of the observation by s, so noise plus attack is about the
/// level the row is labelled with (sigma 25 = Gaussian 20 + ObsAtk 5).
/// </summary>
public interface IObservationAttack
{
    /// <summary>The level s, in /255 units.</summary>
    double Level { get; }
    /// <summary>The element count N the L2 budget rho = s/255 sqrt(N) is computed from; null: each sample's own C x H x W.</summary>
    double? ReferenceElements { get; set; }
}

/// <summary>
/// ObsAtk (Yan et al., IJCAI 2022): L2 PGD on the observation y that maximises MSE(f(y + delta), x), with the
/// reference's order each step — a step along the L2-normalised gradient (norm floored at 1e-6), the box
/// (clamp(y + delta, 0, 1) - y), the zero-mean projection (one mean over all C x H x W values of a sample), then the
/// rescale into the L2 ball of radius rho = s/255 sqrt(N). No random start; the result is clamp(y + delta, 0, 1),
/// which may leave the perturbation slightly off zero mean. The loss is the plain mean squared error of the
/// unclamped output, as in the reference; with zero_mean false it is the plain L2 PGD the paper compares with.
/// </summary>
public sealed class ObsAttack : Attack, IObservationAttack
{
    internal static OptionSpec LevelOption => OptionSpec.Double("level", 5, "strength as a noise level s in /255 units: rho = s/255 sqrt(C H W)", min: 0);

    public static readonly AttackRegistration Registration = new("obsatk",
        "ObsAtk (Yan et al. 2022): zero-mean L2 PGD on a denoiser's observation, budget rho = s/255 sqrt(N), no random start",
        new OptionDeclaration(
        [
            AttackOptions.Steps(5), LevelOption,
            OptionSpec.Double("step", 0.3, "step size as a fraction of rho (1 with one step: HAT's training attack)", min: 0, minExclusive: true),
            OptionSpec.Bool("zero_mean", true, "project each step onto zero-mean perturbations (false: plain L2 PGD on the observation)"),
        ]),
        b => new ObsAttack(b.Name, b.Options.Double("level"), b.Options.Int("steps"), b.Options.Double("step"), b.Options.Bool("zero_mean")))
    { StepsInName = true, Examples = ["obsatk5", "obsatk1:step=1", "obsatk5:zero_mean=false"], TakesTaskLoss = true, NeedsTaskLoss = true };

    public ObsAttack(string name, double level, int steps, double stepFraction, bool zeroMean = true)
        : base(name, level / 255, Norm.L2)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "at least one step");
        Level = level; Steps = steps; StepFraction = stepFraction; ZeroMean = zeroMean;
    }

    public double Level { get; }
    public int Steps { get; }
    /// <summary>The step size as a fraction of rho (1 for HAT's one-step training attack, 0.3 for the 5-step evaluation).</summary>
    public double StepFraction { get; }
    public bool ZeroMean { get; }
    public double? ReferenceElements { get; set; }

    /// <summary>rho = s/255 sqrt(N) for samples of <paramref name="elements"/> values each.</summary>
    public double Radius(double elements) => Level / 255 * Math.Sqrt(ReferenceElements ?? elements);

    protected override Tensor Run(Module model, Tensor x, Tensor y)
    {
        // x is the observation, y the clean image (the attack's target).
        var rho = Radius(x.NumEl / x.Size(0));
        var alpha = StepFraction * rho;
        var delta = Iterate(torch.ZerosLike(x), Steps, d =>
        {
            var point = (x + d).Detach().RequiresGrad_();
            Tensor g;
            using (var output = model.Forward(point))
            using (var loss = F.MseLoss(output, y))
                g = Autograd.Grad(loss, point);
            point.Dispose();
            using var norm = PerSampleNorm(g, 2).Clamp_(min: 1e-6);
            var next = d + g.Div_(norm).Mul_(alpha);
            if (ClampToBox)
            {
                using var boxed = (x + next).Clamp_(0, 1);
                next.Dispose();
                next = boxed - x;
            }
            if (ZeroMean) ProjectZeroMean_(next);
            using var n = PerSampleNorm(next, 2);
            using var factor = n.RDiv(rho).Clamp_(max: 1.0);
            return next.Mul_(factor);
        });
        StepDone(Steps - 1, Steps);
        var adv = x + delta;
        return ClampToBox ? adv.Clamp_(0, 1) : adv;
    }

    /// <summary>Subtracts from each sample the mean of all its values (the projection onto the zero-sum hyperplane).</summary>
    public static Tensor ProjectZeroMean_(Tensor delta)
    {
        using var flat = delta.Flatten(1);
        using var mean = flat.Mean([1]).View(BroadcastShape(delta));
        return delta.Sub_(mean);
    }
}

/// <summary>
/// Random noise of a level s on the observation, the baseline ObsAtk is compared with: Gaussian N(0, (s/255)^2) or
/// uniform U(-sqrt(3) s/255, sqrt(3) s/255) per value (the same variance), so its expected energy equals ObsAtk's
/// budget rho^2; then the box. Each sample draws its own noise (seeded per sample).
/// </summary>
public sealed class RandomNoiseAttack(string name, double level, bool uniform) : Attack(name, level / 255, Norm.L2), IObservationAttack
{
    public static readonly AttackRegistration GaussianRegistration = new("gaussian-noise",
        "Gaussian noise of level s on a denoiser's observation (ObsAtk's random baseline: the same expected energy)",
        new OptionDeclaration([ObsAttack.LevelOption]), b => new RandomNoiseAttack(b.Name, b.Options.Double("level"), uniform: false))
    { Examples = ["gaussian-noise"], TakesTaskLoss = true, NeedsTaskLoss = true };

    public static readonly AttackRegistration UniformRegistration = new("uniform-noise",
        "uniform noise of level s (the variance of Gaussian noise of std s/255) on a denoiser's observation",
        new OptionDeclaration([ObsAttack.LevelOption]), b => new RandomNoiseAttack(b.Name, b.Options.Double("level"), uniform: true))
    { Examples = ["uniform-noise"], TakesTaskLoss = true, NeedsTaskLoss = true };

    public double Level { get; } = level;
    public bool Uniform { get; } = uniform;
    public double? ReferenceElements { get; set; }

    protected override Tensor Run(Module model, Tensor x, Tensor y)
    {
        var std = Level / 255;
        using var noise = Uniform ? UniformLike(x, Noise, 0x0b5, 1).Mul_(2).Sub_(1).Mul_(Math.Sqrt(3) * std) : NormalLike(x, Noise, 0x0b5, 2).Mul_(std);
        var adv = x + noise;
        return ClampToBox ? adv.Clamp_(0, 1) : adv;
    }
}
