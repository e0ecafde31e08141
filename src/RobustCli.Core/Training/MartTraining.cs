using RobustCli.Core.Attacks;
using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Training;

/// <summary>
/// MART (Wang et al. 2020): PGD-CE examples from x + 0.001 N(0, 1); loss = CE(f(x'), y) + NLL(log(1.0001 - p'), y~)
/// with y~ the most likely wrong class, + beta * mean_i KL(p_i || p'_i) (1.0000001 - p_i,y), as the reference code.
/// </summary>
public sealed class MartTraining(AttackSettings attack, double beta = 6.0, int epsWarmupEpochs = 0) : ITrainingMethod
{
    public static readonly MethodRegistration Registration = new("mart", "MART (Wang et al. 2020): boosted CE + beta * misclassification-weighted KL",
        new OptionDeclaration([OptionSpec.Double("beta", 6.0, "weight of the misclassification-aware KL term", min: 0)]),
        b => new MartTraining(b.Attack, b.Options.Double("beta"), b.EpsWarmupEpochs))
    { FormerKeys = new Dictionary<string, string> { ["beta"] = "beta" } };

    public string Name => "mart";
    public double Beta { get; } = beta;

    public MethodOutput Compute(StepContext ctx, Tensor x, Tensor y)
    {
        var a = attack.At(ctx.Epoch, epsWarmupEpochs);
        var adv = ctx.Perturb(new PgdAttack("train", a.Eps, a.Alpha, a.Steps, a.Norm, RandomStart.Normal), x, y);
        var (natural, adversarial) = MethodSteps.TrainModeLogits(ctx.Model, x, adv);
        return new MethodOutput(Loss(natural, adversarial, y, Beta), natural, adversarial);
    }

    /// <summary>The MART objective on natural and adversarial logits.</summary>
    public static Tensor Loss(Tensor natural, Tensor adversarial, Tensor y, double beta)
    {
        var b = natural.Size(0);
        var advProbs = F.Softmax(adversarial, 1);
        var top2 = advProbs.TopK(2, 1).Indices;
        var first = top2.Select(1, 0);
        var second = top2.Select(1, 1);
        var wrongClass = torch.Where(first.Eq(y), second, first);
        var bce = F.CrossEntropy(adversarial, y) + F.NllLoss(advProbs.RSub(1.0001).Add_(1e-12).Log_(), wrongClass);
        var natProbs = F.Softmax(natural, 1);
        var trueProbs = natProbs.Gather(1, y.Unsqueeze(1)).Squeeze(1);
        // Log-space target: the reference's value, without libtorch 1.13's 0/0 gradient at an underflowed probability (see TRADES).
        var kl = F.KlDiv(advProbs.Add(1e-12).Log_(), F.LogSoftmax(natural, 1), Reduction.None, logTarget: true).Sum(1);
        var robust = (kl * trueProbs.RSub(1.0000001)).Sum().Div_(b);
        return bce + robust * beta;
    }
}
