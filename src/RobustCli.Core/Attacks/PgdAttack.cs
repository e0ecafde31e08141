using RobustCli.Core.Registry;
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
    public static readonly AttackRegistration Registration = new("pgd", "PGD (Madry et al.) on the cross entropy (the task's loss), Linf or L2",
        new OptionDeclaration([AttackOptions.Steps(10), AttackOptions.Alpha("2.5 eps / steps"), AttackOptions.Restarts(), OptionSpec.Bool("random_start", true, "start uniformly in the eps-ball")]),
        b =>
        {
            var k = b.Options.Int("steps");
            return new PgdAttack(b.Name, b.Eps, b.Options.NullableDouble("alpha") ?? 2.5 * b.Eps / k, k, b.Norm,
                b.Options.Bool("random_start") ? RandomStart.Uniform : RandomStart.None, b.Options.Int("restarts"), b.Loss);
        })
    { StepsInName = true, HasL2 = true, Examples = ["pgd10", "pgd20", "pgd50", "pgd100", "pgd20-l2"], TakesTaskLoss = true };

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
