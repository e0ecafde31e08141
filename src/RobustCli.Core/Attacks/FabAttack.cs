using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Attacks;

/// <summary>
/// FAB, the fast adaptive boundary attack (Croce and Hein, ICML 2020), as AutoAttack runs it: a minimum-norm attack
/// that linearises the decision boundary at the current point, projects both the current point and the original
/// onto that hyperplane inside the box (<see cref="FabProjections"/>), and moves to a mix of the two (weight
/// alpha = |d1| / (|d1| + |d2|) capped at 0.1, overshoot 1.05); a point that crosses the boundary is kept if it is the
/// closest so far and then pulled back towards x by 0.9. A sample counts as fooled only when the closest point
/// found is misclassified and within eps. The targeted form (FAB-T) linearises z_t - z_y for the runner-up classes
/// of the clean logits in turn (9 by default); the untargeted form picks, per point, the class whose linearised
/// boundary is nearest, which costs one backward pass per class. Restarts after the first start at a random point
/// at half the distance found so far (at most eps/2).
/// </summary>
public sealed class FabAttack(string name, double eps, Norm norm = Norm.Linf, bool targeted = true, int iterations = 100,
    int restarts = 1, int targetClasses = 9, double alphaMax = 0.1, double eta = 1.05, double beta = 0.9) : Attack(name, eps, norm)
{
    private static AttackRegistration Fab(string name, bool targeted) => new(name,
        targeted ? "FAB-T: minimum-norm targeted attack, kept when within eps" : "FAB: minimum-norm attack, kept when within eps",
        new OptionDeclaration(
        [
            AttackOptions.Steps(100), AttackOptions.Restarts(), AttackOptions.Targets,
            OptionSpec.Double("alpha_max", 0.1, "largest extrapolation weight", min: 0, max: 1),
            OptionSpec.Double("eta", 1.05, "overshoot", min: 1),
            OptionSpec.Double("beta", 0.9, "backward step", min: 0, max: 1),
        ]),
        b => new FabAttack(b.Name, b.Eps, b.Norm, targeted, b.Options.Int("steps"), b.Options.Int("restarts"), b.Options.Int("targets"),
            b.Options.Double("alpha_max"), b.Options.Double("eta"), b.Options.Double("beta")))
    { HasL2 = true, Examples = [name] };

    public static readonly AttackRegistration UntargetedRegistration = Fab("fab", false);
    public static readonly AttackRegistration TargetedRegistration = Fab("fab-t", true);

    public bool Targeted { get; } = targeted;
    public int Iterations { get; } = iterations >= 1 ? iterations : throw new ArgumentOutOfRangeException(nameof(iterations));
    public int Restarts { get; } = restarts >= 1 ? restarts : throw new ArgumentOutOfRangeException(nameof(restarts));
    public int TargetClasses { get; } = targetClasses;
    public double AlphaMax { get; } = alphaMax;
    public double Eta { get; } = eta;
    public double Beta { get; } = beta;

    protected override Tensor Run(Module model, Tensor x, Tensor y) =>
        AttackRemaining(model, x, y, Targeted ? TargetClasses : 1, Restarts, Targeted, (xs, ys, target, noise, round, restart) =>
        {
            var found = Single(model, xs, ys, target, restart > 0, noise, round, restart);
            using var _ = torch.NoGrad();
            // Success needs both: misclassified, and within the budget.
            var fooled = model.Forward(found).Argmax(1).Ne(ys).LogicalAnd(PerturbationNorm(found - xs, Norm).Le(Eps));
            return (fooled, found);
        });

    /// <summary>The linearisation at x1: the logit difference f (negative while y wins) and its gradient, per sample.</summary>
    private (Tensor F, Tensor G) Linearise(Module model, Tensor x1, Tensor y, Tensor? target)
    {
        var p = x1.Detach().RequiresGrad_();
        var logits = model.Forward(p);
        var zy = logits.Gather(1, y.Unsqueeze(1)).Squeeze(1);
        if (target != null)
        {
            var diff = logits.Gather(1, target.Unsqueeze(1)).Squeeze(1) - zy;
            var g = Autograd.Grad(diff.Sum(), p);
            return (diff.Detach(), g);
        }
        // Untargeted: every class's boundary, keep the nearest in the dual norm.
        var classes = logits.Size(1);
        var grads = new List<Tensor>();
        for (var k = 0; k < classes; k++)
            grads.Add(Autograd.Grad(logits.Select(1, k).Sum(), p, retainGraph: k < classes - 1).Flatten(1));
        using var _ = torch.NoGrad();
        var gAll = torch.Stack(grads, 1); // [n, K, D]
        var size = gAll.Size(2);
        var gy = gAll.Gather(1, y.View(-1, 1, 1).Expand(-1, 1, size));
        var df = logits.Detach() - zy.Detach().Unsqueeze(1);
        var dg = gAll - gy;
        df = df.Scatter(1, y.Unsqueeze(1), 1e10);
        var dual = Norm == Norm.Linf ? dg.Abs().Sum(2) : dg.Norm(2, [2]);
        var nearest = (df.Abs() / (dual + 1e-12)).Argmin(1);
        var gNear = dg.Gather(1, nearest.View(-1, 1, 1).Expand(-1, 1, size)).Squeeze(1).View(x1.Shape);
        return (df.Gather(1, nearest.Unsqueeze(1)).Squeeze(1), gNear);
    }

    /// <summary>One FAB run: the closest fooling point found per sample (x itself where none was found).</summary>
    private Tensor Single(Module model, Tensor x, Tensor y, Tensor? target, bool randomStart, SampleNoise? noise, int round, int restart)
    {
        using var scope = DisposeScope.Open();
        var n = x.Size(0);
        var shape = BroadcastShape(x);
        var x0 = x.Flatten(1);
        var best = x.Clone();
        var bestNorm = torch.Full([n], 1e10, x.DType, x.Device);
        var x1 = x.Clone();
        if (randomStart)
        {
            // The reference's radius is half the smaller of eps and the best distance of this run, which has
            // just been reset: eps / 2.
            var radius = Eps * 0.5;
            if (Norm == Norm.Linf)
            {
                var t = UniformLike(x, noise, 20, round, restart).Mul_(2).Sub_(1);
                x1 = (x + t / t.Abs().Flatten(1).Amax(1).View(shape) * radius).Clamp_(0, 1);
            }
            else
            {
                var t = NormalLike(x, noise, 21, round, restart);
                x1 = (x + t / PerSampleNorm(t, 2) * radius).Clamp_(0, 1);
            }
        }
        for (var i = 0; i < Iterations; i++)
        {
            var (f, g) = Linearise(model, x1, y, target);
            using (torch.NoGrad())
            {
                var w = g.Flatten(1);
                var b = (w * x1.Flatten(1)).Sum(1) - f;
                var points = torch.Cat([x1.Flatten(1), x0], 0);
                var d3 = Norm == Norm.Linf
                    ? FabProjections.Linf(points, torch.Cat([w, w], 0), torch.Cat([b, b], 0))
                    : FabProjections.L2(points, torch.Cat([w, w], 0), torch.Cat([b, b], 0));
                var d1 = d3.Narrow(0, 0, n).View(x.Shape);
                var d2 = d3.Narrow(0, n, n).View(x.Shape);
                var a0 = PerturbationNorm(d3, Norm).Clamp(min: 1e-8).View(-1, 1);
                var a1 = a0.Narrow(0, 0, n);
                var a2 = a0.Narrow(0, n, n);
                var alpha = (a1 / (a1 + a2)).Clamp(0, AlphaMax).View(shape);
                x1 = ((x1 + d1 * Eta) * (1 - alpha) + (x + d2 * Eta) * alpha).Clamp_(0, 1);
                var isAdv = model.Forward(x1).Argmax(1).Ne(y);
                var dist = PerturbationNorm(x1 - x, Norm);
                var closer = isAdv.LogicalAnd(dist.Lt(bestNorm));
                best = torch.Where(closer.View(shape), x1, best);
                bestNorm = torch.Where(closer, dist, bestNorm);
                x1 = torch.Where(isAdv.View(shape), x + (x1 - x) * Beta, x1);
            }
            scope.DisposeEverythingBut(x0, best, bestNorm, x1);
            StepDone(i, Iterations);
        }
        return best.MoveToOuterScope();
    }
}
