using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Attacks;

/// <summary>
/// Hypocritical perturbations (Tao et al., "With False Friends Like These, Who Can Notice Mistakes?", AAAI 2022):
/// PGD that descends the cross entropy of the true label within the eps-ball, so a misclassified input is pushed
/// to look correctly classified — a "false friend" that hides the model's mistake. Starts at the input itself;
/// each sample keeps the first iterate the model classifies correctly (later steps only add confidence).
/// Measured by <see cref="Evaluation.HypocriticalEvaluator"/> on the misclassified points, never as a robust accuracy.
/// </summary>
public sealed class HypocriticalAttack(string name, double eps, double alpha, int steps, Norm norm = Norm.Linf, RandomStart start = RandomStart.None)
    : PgdAttack(name, eps, alpha, steps, norm, start, 1, new TrueClassLoss())
{
    public static new readonly AttackRegistration Registration = new("hypocritical",
        "hypocritical perturbations (Tao et al. 2022): PGD towards the true class on misclassified points; robust eval reports the hypocritical risk",
        new OptionDeclaration([AttackOptions.Steps(10), AttackOptions.Alpha("2.5 eps / steps"), OptionSpec.Bool("random_start", false, "start uniformly in the eps-ball")]),
        b =>
        {
            var k = b.Options.Int("steps");
            return new HypocriticalAttack(b.Name, b.Eps, b.Options.NullableDouble("alpha") ?? 2.5 * b.Eps / k, k, b.Norm,
                b.Options.Bool("random_start") ? RandomStart.Uniform : RandomStart.None);
        })
    {
        HasL2 = true, Examples = ["hypocritical", "hypocritical:steps=20"],
        MeasuresRisk = ("hypocritical_risk", "pushes misclassified points towards their true class; it measures the hypocritical risk: robust eval --checkpoint RUN --attack hypocritical"),
    };

    protected override Tensor Run(Module model, Tensor x, Tensor y)
    {
        var current = StartPoint(x, Eps, Norm, Start).DetachFromScope();
        Tensor kept = current.Clone().DetachFromScope(), found;
        using (torch.NoGrad())
        using (var logits = model.Forward(current))
            found = logits.Argmax(1).Eq(y).DetachFromScope();
        try
        {
            for (var k = 0; k < Steps; k++)
            {
                using var scope = DisposeScope.Open();
                var g = InputGradient(model, current, y, Loss, null);
                using var _ = torch.NoGrad();
                Ascend(current, g, Alpha, Norm);
                var next = Project(current, x).DetachFromScope();
                current.Dispose();
                current = next;
                using var logits = model.Forward(current);
                var right = logits.Argmax(1).Eq(y);
                // Samples not yet made correct take this iterate.
                var fresh = right.LogicalAnd(found.LogicalNot()).View(BroadcastShape(x));
                var merged = torch.Where(fresh, current, kept).DetachFromScope();
                kept.Dispose();
                kept = merged;
                var any = found.LogicalOr(right).DetachFromScope();
                found.Dispose();
                found = any;
            }
            // Where no iterate was correct, the last one (the lowest loss reached) stands.
            using var take = found.View(BroadcastShape(x));
            return torch.Where(take, kept, current);
        }
        finally
        {
            current.Dispose();
            kept.Dispose();
            found.Dispose();
        }
    }
}

/// <summary>The negated cross entropy of the labels: ascending it descends towards the true class.</summary>
public sealed class TrueClassLoss : IAttackLoss
{
    public string Name => "-ce";
    public Tensor Compute(Tensor logits, Tensor labels, Tensor? naturalLogits)
    {
        using var ce = F.CrossEntropy(logits, labels);
        return ce.Neg();
    }
}
