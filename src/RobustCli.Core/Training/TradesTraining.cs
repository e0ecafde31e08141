using RobustCli.Core.Attacks;
using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Training;

/// <summary>
/// TRADES (Zhang et al. 2019): the attack maximises KL(f(x) || f(x')) from x + 0.001 N(0, 1) in eval mode; the
/// loss is CE(f(x), y) + beta * KL_sum(f(x') || f(x)) / B in train mode, with gradients through both terms.
/// </summary>
public sealed class TradesTraining(AttackSettings attack, double beta = 6.0, int epsWarmupEpochs = 0) : ITrainingMethod
{
    public static readonly MethodRegistration Registration = new("trades", "TRADES (Zhang et al. 2019): CE + beta * KL to the adversarial output",
        new OptionDeclaration([OptionSpec.Double("beta", 6.0, "weight of the KL (robustness) term; 1/lambda in the paper", min: 0)]),
        b => new TradesTraining(b.Attack, b.Options.Double("beta"), b.EpsWarmupEpochs))
    { FormerKeys = new Dictionary<string, string> { ["beta"] = "beta" } };

    public string Name => "trades";
    public double Beta { get; } = beta;

    public MethodOutput Compute(StepContext ctx, Tensor x, Tensor y)
    {
        var a = attack.At(ctx.Epoch, epsWarmupEpochs);
        var adv = ctx.Perturb(new PgdAttack("train", a.Eps, a.Alpha, a.Steps, a.Norm, RandomStart.Normal, 1, new TradesKlLoss()), x, y);
        var (natural, adversarial) = MethodSteps.TrainModeLogits(ctx.Model, x, adv);
        return new MethodOutput(Loss(natural, adversarial, y, Beta), natural, adversarial);
    }

    /// <summary>
    /// CE(natural, y) + beta * KL_sum(softmax(natural) || softmax(adversarial)) / B. The target is passed in log space:
    /// the same value as the reference's kl_div(log_softmax(x'), softmax(x)), but libtorch 1.13 computes that one
    /// through xlogy, whose gradient with respect to a probability that underflowed to exactly 0 is 0/0, so a confident
    /// model's weights became NaN (the reference code fails the same way).
    /// </summary>
    public static Tensor Loss(Tensor natural, Tensor adversarial, Tensor y, double beta)
    {
        using var kl = F.KlDiv(F.LogSoftmax(adversarial, 1), F.LogSoftmax(natural, 1), Reduction.Sum, logTarget: true).Div_(natural.Size(0));
        return F.CrossEntropy(natural, y).Add_(kl.Mul_(beta));
    }
}
