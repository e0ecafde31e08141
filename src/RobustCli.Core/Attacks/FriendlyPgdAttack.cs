using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Attacks;

/// <summary>
/// The early-stopped PGD of Friendly Adversarial Training (Zhang et al. 2020): each sample gets a budget of tau
/// extra steps once it is misclassified and then stops moving; tau = 0 stops as soon as it is misclassified,
/// tau = steps is plain PGD. Steps add omega N(0, 1) noise, as the reference does; with sample ids every draw (start
/// and step noise) comes from the sample's own stream.
/// </summary>
public sealed class FriendlyPgdAttack(string name, double eps, double alpha, int steps, int tau, double omega = 0.001,
    RandomStart start = RandomStart.Uniform, IAttackLoss? loss = null) : Attack(name, eps, Norm.Linf)
{
    public int Tau { get; } = tau;
    private readonly IAttackLoss lossFn = loss ?? new CrossEntropyAttackLoss();

    protected override Tensor Run(Module model, Tensor x, Tensor y)
    {
        Tensor? natural = null;
        if (lossFn.NeedsNaturalLogits)
            using (torch.NoGrad()) natural = model.Forward(x);
        using var budget = torch.Full([x.Size(0)], Tau, DType.Int64, x.Device).DetachFromScope();
        using var active = torch.Ones([x.Size(0)], DType.Bool, x.Device).DetachFromScope();
        var step = 0;
        return Iterate(StartPoint(x, Eps, Norm, start), steps, adv =>
        {
            var point = adv.Detach().RequiresGrad_();
            var logits = model.Forward(point);
            var g = Autograd.Grad(lossFn.Compute(logits, y, natural), point);
            using var _ = torch.NoGrad();
            // Misclassified samples spend budget; those with none left stop here.
            var wrong = logits.Argmax(1).Ne(y);
            var stop = wrong.LogicalAnd(budget.Le(0));
            active.Copy_(active.LogicalAnd(stop.LogicalNot()));
            budget.Sub_(wrong.LogicalAnd(active).Long());
            // The step noise belongs to the sample too (stream 5, step k), so a sample's path does not depend on its batch.
            var moved = (adv + g.Sign_().Mul_(alpha)).Add_(NormalLike(adv, Noise, 5, step++).Mul_(omega));
            return torch.Where(active.View(BroadcastShape(x)), Project(moved, x), adv);
        });
    }
}
