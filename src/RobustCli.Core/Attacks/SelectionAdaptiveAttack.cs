using RobustCli.Core.Registry;
using RobustCli.Core.Models;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Attacks;

/// <summary>
/// An adaptive Linf PGD for models that pick one expert per input (SoE). White-box PGD on the selected output only
/// follows the expert chosen at the current point, and the hard choice hides how to change it (methods.md §2
/// pitfalls). This attack also moves the choice, in the spirit of the loss-of-selection term the reference's
/// evaluation leaves commented out: per sample, with m* the selected expert and m† another expert — one that already
/// misclassifies, the highest-scoring such, else the one with the largest cross entropy — it ascends
/// CE(z_m*, y) + CE(z_m†, y) + weight · (log s_m† − log s_m*), raising the wrong expert's rectified confidence over
/// the selected one's while pushing both away from y. Each sample keeps the first iterate at which the collaboration
/// answers wrongly (else the last). Starts at x + 0.001 N(0, 1) as the reference's white-box evaluation does.
/// </summary>
public sealed class SelectionAdaptiveAttack(string name, double eps, double alpha, int steps, double weight = 1.0, RandomStart start = RandomStart.Normal)
    : Attack(name, eps, Norm.Linf)
{
    public static readonly AttackRegistration Registration = new("soe-adaptive",
        "adaptive PGD on an expert-selecting model (SoE): CE of the selected and of a wrong expert plus the log-score gap that moves the selection",
        new OptionDeclaration(
        [
            AttackOptions.Steps(50), AttackOptions.Alpha("2.5 eps / steps"),
            OptionSpec.Double("weight", 1.0, "weight of the selection term log s_wrong - log s_selected", min: 0),
            OptionSpec.Choice("start", "normal", "x + 0.001 N(0, 1) (the reference's white-box start), uniform in the eps-ball, or x", "normal", "uniform", "none"),
        ]),
        b =>
        {
            var k = b.Options.Int("steps");
            var start = b.Options.String("start") switch { "uniform" => RandomStart.Uniform, "none" => RandomStart.None, _ => RandomStart.Normal };
            return new SelectionAdaptiveAttack(b.Name, b.Eps, b.Options.NullableDouble("alpha") ?? 2.5 * b.Eps / k, k, b.Options.Double("weight"), start);
        })
    { StepsInName = true, Examples = ["soe-adaptive50"], Requires = [SynergyOfExperts.Experts] };

    public double Alpha { get; } = alpha;
    public int Steps { get; } = steps;
    public double Weight { get; } = weight;
    public RandomStart Start { get; } = start;

    protected override Tensor Run(Module model, Tensor x, Tensor y)
    {
        var experts = model as IExpertEnsemble
            ?? throw new ArgumentException($"{Name} attacks a model that selects among experts (model.arch soe), not {model.GetType().Name}; use pgd or autoattack");
        var found = torch.Zeros([x.Size(0)], DType.Bool, x.Device).DetachFromScope();
        var kept = x.Clone().DetachFromScope();
        try
        {
            var k = 0;
            var last = Iterate(StartPoint(x, Eps, Norm, Start), Steps, adv =>
            {
                var point = adv.Detach().RequiresGrad_();
                var outputs = experts.ForwardExperts(point);
                var (loss, wrong) = Objective(outputs, y, Weight);
                var g = Autograd.Grad(loss, point);
                using var _ = torch.NoGrad();
                Remember(adv, wrong, found, kept);
                Ascend(adv, g, Alpha, Norm);
                StepDone(k++, Steps);
                return Project(adv, x);
            });
            using (torch.NoGrad())
            {
                var outputs = experts.ForwardExperts(last);
                using var selected = SynergyOfExperts.Selected(outputs);
                Remember(last, selected.Argmax(1).Ne(y), found, kept);
            }
            using var keep = found.View(BroadcastShape(x));
            return torch.Where(keep, kept, last);
        }
        finally
        {
            found.Dispose();
            kept.Dispose();
        }
    }

    /// <summary>Samples fooled for the first time keep this point.</summary>
    private static void Remember(Tensor point, Tensor wrong, Tensor found, Tensor kept)
    {
        using var fresh = wrong.LogicalAnd(found.LogicalNot());
        using var mask = fresh.View(BroadcastShape(point));
        kept.Copy_(torch.Where(mask, point, kept));
        found.Copy_(found.LogicalOr(wrong));
    }

    /// <summary>The summed objective and, per sample, whether the collaboration already answers wrongly.</summary>
    public static (Tensor Loss, Tensor Wrong) Objective(IReadOnlyList<ExpertOutput> outputs, Tensor y, double weight)
    {
        using var scope = DisposeScope.Open();
        var scores = SynergyOfExperts.Scores(outputs);
        var choice = scores.Argmax(1);
        var selected = SynergyOfExperts.Select(outputs, choice);
        var wrong = selected.Argmax(1).Ne(y);
        var loss = F.CrossEntropy(selected, y, reduction: Reduction.Sum);
        if (outputs.Count > 1)
        {
            Tensor other;
            using (torch.NoGrad())
            {
                var ce = torch.Stack(outputs.Select(o => F.CrossEntropy(o.Logits, y, reduction: Reduction.None)).ToList(), 1);
                var expertWrong = torch.Stack(outputs.Select(o => o.Logits.Argmax(1).Ne(y)).ToList(), 1);
                // Wrong experts first (by score), then the rest by how far they already are from y; never m* itself.
                var rank = torch.Where(expertWrong, scores + 1e4, ce);
                var self = torch.Arange(outputs.Count, device: rank.Device).View(1, -1).Eq(choice.View(-1, 1));
                other = rank.MaskedFill(self, double.NegativeInfinity).Argmax(1);
            }
            var logScores = scores.Clamp(min: 1e-30).Log();
            var gain = logScores.Gather(1, other.View(-1, 1)) - logScores.Gather(1, choice.View(-1, 1));
            var second = SynergyOfExperts.Select(outputs, other);
            loss = loss + F.CrossEntropy(second, y, reduction: Reduction.Sum) + gain.Sum() * weight;
        }
        return (loss.MoveToOuterScope(), wrong.MoveToOuterScope());
    }
}
