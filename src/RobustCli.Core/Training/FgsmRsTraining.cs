using RobustCli.Core.Attacks;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Training;

/// <summary>
/// FGSM with a random start ("Fast is better than free", Wong et al. 2020): delta ~ U(-eps, eps), one signed-gradient
/// step of alpha (1.25 eps by default), projection onto the eps-ball and the box, then a step on those examples.
/// Pair it with the cyclic (one-cycle) learning-rate schedule, as the paper does.
/// </summary>
public sealed class FgsmRsTraining(double eps, double? alpha = null, int epsWarmupEpochs = 0) : ITrainingMethod
{
    public string Name => "fgsm-rs";
    public double Alpha { get; } = alpha ?? 1.25 * eps;

    public StepResult Step(StepContext ctx, Tensor x, Tensor y)
    {
        var clean = MethodSteps.CleanPredictions(ctx.Model, x);
        var a = new AttackSettings(Norm.Linf, eps, Alpha, 1, RandomStart.Uniform).At(ctx.Epoch, epsWarmupEpochs);
        var adv = new PgdAttack("train", a.Eps, a.Alpha, 1, Norm.Linf, RandomStart.Uniform).Perturb(ctx.Model, x, y);
        ctx.Model.Train();
        var logits = ctx.Model.Forward(adv);
        var loss = MethodSteps.Optimize(ctx.Optimizer, F.CrossEntropy(logits, y));
        return new StepResult(loss, clean, logits.Argmax(1));
    }
}
