using RobustCli.Core.Attacks;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Training;

/// <summary>
/// TRADES (Zhang et al. 2019): the attack maximises KL(f(x) || f(x')) from x + 0.001 N(0, 1) in eval mode; the
/// loss is CE(f(x), y) + beta * KL_sum(f(x') || f(x)) / B in train mode, with gradients through both terms.
/// </summary>
public sealed class TradesTraining(AttackSettings attack, double beta = 6.0, int epsWarmupEpochs = 0) : ITrainingMethod
{
    public string Name => "trades";
    public double Beta { get; } = beta;

    public StepResult Step(StepContext ctx, Tensor x, Tensor y)
    {
        var a = attack.At(ctx.Epoch, epsWarmupEpochs);
        var adv = new PgdAttack("train", a.Eps, a.Alpha, a.Steps, a.Norm, RandomStart.Normal, 1, new TradesKlLoss()).Perturb(ctx.Model, x, y);
        var (natural, adversarial) = MethodSteps.TrainModeLogits(ctx.Model, x, adv);
        var loss = Loss(natural, adversarial, y, Beta);
        var value = MethodSteps.Optimize(ctx.Optimizer, loss);
        return new StepResult(value, natural.Argmax(1), adversarial.Argmax(1));
    }

    /// <summary>CE(natural, y) + beta * KL_sum(softmax(natural) || softmax(adversarial)) / B.</summary>
    public static Tensor Loss(Tensor natural, Tensor adversarial, Tensor y, double beta)
    {
        using var kl = F.KlDiv(F.LogSoftmax(adversarial, 1), F.Softmax(natural, 1), Reduction.Sum).Div_(natural.Size(0));
        return F.CrossEntropy(natural, y).Add_(kl.Mul_(beta));
    }
}
