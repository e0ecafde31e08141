using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Attacks;

public enum ApgdLoss { CrossEntropy, Dlr, TargetedDlr }

/// <summary>
/// Auto-PGD (Croce and Hein, ICML 2020) as AutoAttack's reference code runs it: step size 2 eps halved at
/// checkpoints (at 22% of the iterations, then gaps shrinking by 3% down to 6%: iterations 21, 40, 56, 69, 79, 86,
/// 92, 98 of 100) when the loss rose in at most 75% of the steps since the last one, or when the step was not halved
/// last time and the best loss has not improved; a halving restarts from the best point. Momentum 0.75. A sample
/// once misclassified keeps its fooling point. The targeted form tries the runner-up classes of the clean logits in
/// turn (9 by default). Points are only attacked while still correctly classified; the others keep x.
/// </summary>
public sealed class ApgdAttack(string name, double eps, Norm norm = Norm.Linf, int iterations = 100, int restarts = 1,
    ApgdLoss loss = ApgdLoss.CrossEntropy, int targetClasses = 9, double rho = 0.75, int eotIterations = 1) : Attack(name, eps, norm)
{
    private static OptionDeclaration ApgdOptions => new(
    [
        AttackOptions.Steps(100), AttackOptions.Restarts(), AttackOptions.Targets,
        OptionSpec.Double("rho", 0.75, "step-size halving threshold: the fraction of steps that must raise the loss", min: 0, max: 1),
        OptionSpec.Int("eot", 1, "gradients averaged per step (expectation over transformation)", min: 1),
    ]);

    private static AttackRegistration Apgd(string name, ApgdLoss loss, string description) => new(name, description, ApgdOptions,
        b => new ApgdAttack(b.Name, b.Eps, b.Norm, b.Options.Int("steps"), b.Options.Int("restarts"), loss, b.Options.Int("targets"),
            b.Options.Double("rho"), b.Options.Int("eot")))
    { HasL2 = true, Examples = [name, name + "-l2"] };

    public static readonly AttackRegistration CeRegistration = Apgd("apgd-ce", ApgdLoss.CrossEntropy, "Auto-PGD on the cross entropy (AutoAttack's first attack)");
    public static readonly AttackRegistration DlrRegistration = Apgd("apgd-dlr", ApgdLoss.Dlr, "Auto-PGD on the DLR loss");
    public static readonly AttackRegistration TargetedRegistration = Apgd("apgd-t", ApgdLoss.TargetedDlr, "Auto-PGD on the targeted DLR loss, runner-up classes in turn");

    /// <summary>Gradient passes averaged per iteration (expectation over transformation, for randomized defenses; AutoAttack's rand version uses 20).</summary>
    public int EotIterations { get; } = eotIterations >= 1 ? eotIterations : throw new ArgumentOutOfRangeException(nameof(eotIterations));
    public int Iterations { get; } = iterations >= 1 ? iterations : throw new ArgumentOutOfRangeException(nameof(iterations));
    public int Restarts { get; } = restarts;
    public ApgdLoss Loss { get; } = loss;
    public int TargetClasses { get; } = targetClasses;

    /// <summary>The 0-based iterations at which the step-size conditions are checked.</summary>
    public static int[] Checkpoints(int iterations)
    {
        var (k, min, decr) = Schedule(iterations);
        var result = new List<int>();
        for (int i = 0, counter = 0; i < iterations; i++)
        {
            if (++counter != k) continue;
            result.Add(i);
            counter = 0;
            k = Math.Max(k - decr, min);
        }
        return result.ToArray();
    }

    private static (int First, int Min, int Decrease) Schedule(int n) =>
        (Math.Max((int)(0.22 * n), 1), Math.Max((int)(0.06 * n), 1), Math.Max((int)(0.03 * n), 1));

    protected override Tensor Run(Module model, Tensor x, Tensor y) =>
        AttackRemaining(model, x, y, Loss == ApgdLoss.TargetedDlr ? TargetClasses : 1, Restarts, Loss == ApgdLoss.TargetedDlr,
            (xs, ys, target, noise, round, restart) => Single(model, xs, ys, target, noise, round, restart));

    private Tensor PerSampleLoss(Tensor logits, Tensor y, Tensor? target) => Loss switch
    {
        ApgdLoss.CrossEntropy => ApgdLosses.CrossEntropy(logits, y),
        ApgdLoss.Dlr => ApgdLosses.Dlr(logits, y),
        _ => ApgdLosses.TargetedDlr(logits, y, target!),
    };

    /// <summary>Loss, gradient and correctness at a point; with EOT the gradient is the mean over the passes and the loss and prediction are the last pass's, as in the reference.</summary>
    private (Tensor Loss, Tensor Grad, Tensor Correct) Evaluate(Module model, Tensor point, Tensor y, Tensor? target)
    {
        Tensor? sum = null, loss = null, logits = null;
        for (var e = 0; e < EotIterations; e++)
        {
            var p = point.Detach().RequiresGrad_();
            logits = model.Forward(p);
            loss = PerSampleLoss(logits, y, target);
            var grad = Autograd.Grad(loss.Sum(), p);
            sum = sum == null ? grad : sum.Add_(grad);
        }
        if (EotIterations > 1) sum!.Div_(EotIterations);
        return (loss!.Detach(), sum!, logits!.Detach().Argmax(1).Eq(y));
    }

    /// <summary>One APGD run on a batch: whether each sample was fooled, and its fooling point.</summary>
    private (Tensor Fooled, Tensor FoolingPoint) Single(Module model, Tensor x, Tensor y, Tensor? target, SampleNoise? noise, int round, int restart)
    {
        // One scope for the run, emptied after every iteration of all but the state carried to the next one.
        using var scope = DisposeScope.Open();
        var n = x.Size(0);
        var shape = BroadcastShape(x);
        Tensor xAdv;
        if (Norm == Norm.Linf)
        {
            var t = UniformLike(x, noise, 10, round, restart).Mul_(2).Sub_(1);
            var tMax = t.Abs().Flatten(1).Amax(1).View(shape);
            xAdv = (x + t.Div_(tMax).Mul_(Eps)).Clamp_(0, 1);
        }
        else
        {
            var t = NormalLike(x, noise, 11, round, restart);
            xAdv = (x + t.Div_(PerSampleNorm(t, 2).Add_(1e-12)).Mul_(Eps)).Clamp_(0, 1);
        }
        var (loss, grad, correct) = Evaluate(model, xAdv, y, target);
        if (Loss != ApgdLoss.CrossEntropy)
        {
            // The reference's check_zero_gradients: an all-zero gradient at the start means masked gradients.
            var zero = grad.Abs().Flatten(1).Amax(1).Eq(0).Sum().ItemLong();
            if (zero > 0) Warn($"{Name}: the gradient is exactly zero for {zero} of {n} points at the start; the model may mask gradients (e.g. input quantization), and gradient attacks may overestimate its robustness");
        }
        var xBest = xAdv.Clone();
        var xBestAdv = xAdv.Clone();
        var gradBest = grad.Clone();
        var lossBest = loss.Clone();
        var acc = correct;
        var steps = torch.Zeros([Iterations, n], loss.DType, x.Device);
        var stepSize = torch.Full(shape, 2 * Eps, x.DType, x.Device);
        var xOld = xAdv.Clone();
        var (k, kMin, kDecr) = Schedule(Iterations);
        var counter = 0;
        var lossBestLastCheck = lossBest.Clone();
        var reducedLastCheck = torch.Ones([n], DType.Bool, x.Device);
        for (var i = 0; i < Iterations; i++)
        {
            using (torch.NoGrad())
            {
                var grad2 = xAdv - xOld;
                xOld = xAdv.Clone();
                var a = i > 0 ? 0.75 : 1.0;
                Tensor z;
                if (Norm == Norm.Linf)
                {
                    z = ProjectLinf(xAdv + stepSize * grad.Sign(), x);
                    xAdv = ProjectLinf(xAdv + (z - xAdv) * a + grad2 * (1 - a), x);
                }
                else
                {
                    z = ProjectL2(xAdv + stepSize * grad / PerSampleNorm(grad, 2).Add_(1e-12), x);
                    xAdv = ProjectL2(xAdv + (z - xAdv) * a + grad2 * (1 - a), x);
                }
            }
            (loss, grad, correct) = Evaluate(model, xAdv, y, target);
            using (torch.NoGrad())
            {
                var wrongNow = correct.LogicalNot().View(shape);
                xBestAdv = torch.Where(wrongNow, xAdv, xBestAdv);
                acc = acc.LogicalAnd(correct);
                steps[i].Copy_(loss);
                var better = loss.Gt(lossBest);
                var betterB = better.View(shape);
                xBest = torch.Where(betterB, xAdv, xBest);
                gradBest = torch.Where(betterB, grad, gradBest);
                lossBest = torch.Where(better, loss, lossBest);
                if (++counter == k) Checkpoint(i);
            }
            scope.DisposeEverythingBut(xAdv, xOld, grad, xBest, xBestAdv, gradBest, lossBest, acc, steps, stepSize, lossBestLastCheck, reducedLastCheck);
            StepDone(i, Iterations);
        }
        return (acc.LogicalNot().MoveToOuterScope(), xBestAdv.MoveToOuterScope());

        void Checkpoint(int i)
        {
            {
                // Condition 1: the loss rose in at most rho of the last k steps. Like the reference, the step before
                // iteration 0 reads the still-zero last slot of the loss history.
                var rises = torch.Zeros([n], loss.DType, x.Device);
                for (var c = 0; c < k; c++)
                    rises.Add_(steps[i - c].Gt(steps[((i - c - 1) % Iterations + Iterations) % Iterations]).To(loss.DType));
                var oscillating = rises.Le(k * rho);
                // Condition 2: not halved last time, and no better loss since then.
                var stalled = reducedLastCheck.LogicalNot().LogicalAnd(lossBestLastCheck.Ge(lossBest));
                var halve = oscillating.LogicalOr(stalled);
                reducedLastCheck = halve;
                lossBestLastCheck = lossBest.Clone();
                var halveB = halve.View(shape);
                stepSize = torch.Where(halveB, stepSize / 2.0, stepSize);
                xAdv = torch.Where(halveB, xBest, xAdv);
                grad = torch.Where(halveB, gradBest, grad);
                counter = 0;
                k = Math.Max(k - kDecr, kMin);
            }
        }
    }

    private Tensor ProjectLinf(Tensor point, Tensor x) => torch.Where(point.Lt(x - Eps), x - Eps, point).Minimum(x + Eps).Clamp_(0, 1);

    private Tensor ProjectL2(Tensor point, Tensor x)
    {
        var d = point - x;
        var n = PerSampleNorm(d, 2);
        return (x + d / n.Add(1e-12) * n.Clamp(max: Eps)).Clamp_(0, 1);
    }
}
