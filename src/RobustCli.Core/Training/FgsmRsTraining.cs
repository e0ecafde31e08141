using RobustCli.Core.Attacks;
using RobustCli.Core.Registry;
using RobustCli.Torch;

namespace RobustCli.Core.Training;

/// <summary>
/// FGSM with a random start ("Fast is better than free", Wong et al. 2020): delta ~ U(-eps, eps), one signed-gradient
/// step of alpha (1.25 eps by default), projection onto the eps-ball and the box, then a step on those examples.
/// Pair it with the cyclic (one-cycle) learning-rate schedule, as the paper does.
/// </summary>
public sealed class FgsmRsTraining(double eps, double? alpha = null, int epsWarmupEpochs = 0) : ITrainingMethod
{
    public static readonly MethodRegistration Registration = new("fgsm-rs", "FGSM from a random start (Wong et al. 2020), one attack step per batch",
        new OptionDeclaration([OptionSpec.Double("alpha", null, "the FGSM step in pixel units; null: 1.25 * attack.eps", min: 0, minExclusive: true)]),
        b => new FgsmRsTraining(b.Attack.Eps, b.Options.NullableDouble("alpha"), b.EpsWarmupEpochs))
    { FormerKeys = new Dictionary<string, string> { ["fgsm_alpha"] = "alpha" } };

    public string Name => "fgsm-rs";
    public double Alpha { get; } = alpha ?? 1.25 * eps;

    public MethodOutput Compute(StepContext ctx, Tensor x, Tensor y)
    {
        var clean = MethodSteps.CleanOutput(ctx, x);
        var a = new AttackSettings(Norm.Linf, eps, Alpha, 1, RandomStart.Uniform).At(ctx.Epoch, epsWarmupEpochs);
        var adv = ctx.Perturb(new PgdAttack("train", a.Eps, a.Alpha, 1, Norm.Linf, RandomStart.Uniform, 1, ctx.Task.AttackLoss), x, y);
        ctx.Model.Train();
        var output = ctx.Model.Forward(adv);
        return new MethodOutput(ctx.Task.Loss(output, y), clean, output);
    }
}
