using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Attacks;

/// <summary>
/// Projected gradient descent (Madry et al.): from a start point, <c>steps</c> ascent steps of size alpha on the
/// loss, each followed by projection onto the eps-ball and the [0, 1] box. With restarts, a sample keeps the
/// first restart's point that fools the model (else the last one's).
/// </summary>
public class PgdAttack(string name, double eps, double alpha, int steps, Norm norm = Norm.Linf,
    RandomStart start = RandomStart.Uniform, int restarts = 1, IAttackLoss? loss = null) : Attack(name, eps, norm)
{
    public double Alpha { get; } = alpha;
    public int Steps { get; } = steps >= 0 ? steps : throw new ArgumentOutOfRangeException(nameof(steps));
    public RandomStart Start { get; } = start;
    public int Restarts { get; } = restarts >= 1 ? restarts : throw new ArgumentOutOfRangeException(nameof(restarts), "restarts must be >= 1");
    public IAttackLoss Loss { get; } = loss ?? new CrossEntropyAttackLoss();

    protected override Tensor Run(Module model, Tensor x, Tensor y)
    {
        Tensor? natural = null;
        if (Loss.NeedsNaturalLogits)
            using (torch.NoGrad()) natural = model.Forward(x);
        Tensor? best = null;
        Tensor? fooled = null;
        for (var r = 0; r < Restarts; r++)
        {
            var adv = Single(model, x, y, natural, r);
            if (Restarts == 1) return adv;
            using var _ = torch.NoGrad();
            using var logits = model.Forward(adv);
            var wrong = logits.Argmax(1).Ne(y);
            if (best == null) { best = adv; fooled = wrong; continue; }
            // Samples not yet fooled take this restart's point.
            using var take = wrong.LogicalAnd(fooled!.LogicalNot()).View(BroadcastShape(x));
            best = torch.Where(take, adv, best);
            fooled = fooled.LogicalOr(wrong);
        }
        return best!;
    }

    /// <summary>One run of PGD from a fresh start.</summary>
    protected Tensor Single(Module model, Tensor x, Tensor y, Tensor? natural, int restart = 0) =>
        Iterate(StartPoint(x, Eps, Norm, Start, restart), Steps, adv =>
        {
            var g = InputGradient(model, adv, y, Loss, natural);
            using var _ = torch.NoGrad();
            Ascend(adv, g, Alpha, Norm);
            return Project(adv, x);
        });
}

/// <summary>CW-Linf: PGD on the margin loss with confidence kappa (50 by default, as FAT and NoiLIn evaluate).</summary>
public sealed class CwAttack(string name, double eps, double alpha, int steps, double kappa = 50, int restarts = 1)
    : PgdAttack(name, eps, alpha, steps, Norm.Linf, RandomStart.Uniform, restarts, new CwMarginLoss(kappa));

/// <summary>FGSM: one step of size eps on the sign of the gradient (optionally from a uniform random start, with step alpha).</summary>
public sealed class FgsmAttack(string name, double eps, bool randomStart = false, double? alpha = null, IAttackLoss? loss = null)
    : PgdAttack(name, eps, alpha ?? eps, 1, Norm.Linf, randomStart ? RandomStart.Uniform : RandomStart.None, 1, loss);

/// <summary>
/// MI-FGSM (Dong et al. 2018): the step follows the sign of an accumulated gradient g = mu g + grad / ||grad||_1
/// (per sample), projected onto the eps-ball and the box after each step.
/// </summary>
public sealed class MiFgsmAttack(string name, double eps, double alpha, int steps, double decay = 1.0, IAttackLoss? loss = null)
    : Attack(name, eps, Norm.Linf)
{
    public double Alpha { get; } = alpha;
    public int Steps { get; } = steps;
    public double Decay { get; } = decay;
    private readonly IAttackLoss lossFn = loss ?? new CrossEntropyAttackLoss();

    protected override Tensor Run(Module model, Tensor x, Tensor y)
    {
        using var momentum = torch.ZerosLike(x).DetachFromScope();
        return Iterate(x.Clone(), Steps, adv =>
        {
            var g = InputGradient(model, adv, y, lossFn, null);
            using var _ = torch.NoGrad();
            var l1 = PerSampleNorm(g, 1).Clamp_(min: 1e-12);
            momentum.Mul_(Decay).Add_(g.Div_(l1));
            adv.Add_(momentum.Sign(), Alpha);
            return Project(adv, x);
        });
    }
}
