using RobustCli.Core.Attacks;
using RobustCli.Core.Registry;
using RobustCli.Torch;

namespace RobustCli.Core.Training;

/// <summary>
/// PGD adversarial training (Madry et al. 2018): train on PGD examples only, crafted with the model in eval mode
/// from a uniform random start on the task's loss (cross entropy of the, possibly noisy, labels; MSE to the clean
/// image for denoising).
/// </summary>
public sealed class PgdAdversarialTraining(AttackSettings attack, int epsWarmupEpochs = 0) : ITrainingMethod
{
    public static readonly MethodRegistration Registration = new("pgd-at", "PGD adversarial training (Madry et al. 2018) with the attack: section",
        OptionDeclaration.None, b => new PgdAdversarialTraining(b.Attack, b.EpsWarmupEpochs)) { Tasks = ["classification", "denoise"] };

    public string Name => "pgd-at";
    public AttackSettings Attack { get; } = attack;

    public MethodOutput Compute(StepContext ctx, Tensor x, Tensor y)
    {
        var clean = MethodSteps.CleanOutput(ctx, x);
        var a = Attack.At(ctx.Epoch, epsWarmupEpochs);
        var adv = ctx.Perturb(new PgdAttack("train", a.Eps, a.Alpha, a.Steps, a.Norm, a.Start, 1, ctx.Task.AttackLoss), x, y);
        ctx.Model.Train();
        var output = ctx.Model.Forward(adv);
        return new MethodOutput(ctx.Task.Loss(output, y), clean, output);
    }
}
