using RobustCli.Core.Attacks;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Training;

/// <summary>
/// PGD adversarial training (Madry et al. 2018): train on PGD examples only, crafted with the model in eval mode
/// from a uniform random start with the cross entropy of the (possibly noisy, see NoiLIn) labels.
/// </summary>
public sealed class PgdAdversarialTraining(AttackSettings attack, int epsWarmupEpochs = 0) : ITrainingMethod
{
    public string Name => "pgd-at";
    public AttackSettings Attack { get; } = attack;

    public StepResult Step(StepContext ctx, Tensor x, Tensor y)
    {
        var clean = MethodSteps.CleanPredictions(ctx.Model, x);
        var a = Attack.At(ctx.Epoch, epsWarmupEpochs);
        var adv = new PgdAttack("train", a.Eps, a.Alpha, a.Steps, a.Norm, a.Start).Perturb(ctx.Model, x, y);
        ctx.Model.Train();
        var logits = ctx.Model.Forward(adv);
        var loss = MethodSteps.Optimize(ctx.Optimizer, F.CrossEntropy(logits, y));
        return new StepResult(loss, clean, logits.Argmax(1));
    }
}
