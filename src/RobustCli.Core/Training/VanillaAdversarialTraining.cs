using RobustCli.Core.Attacks;
using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Training;

/// <summary>
/// Vanilla adversarial training of a denoiser (the paper's vAT): train on ObsAtk observations only,
/// L = ||f(y_adv) - x||^2 / (2B), the attack crafted in eval mode as for HAT.
/// </summary>
public sealed class VanillaAdversarialTraining(ObsAttack attack) : ITrainingMethod
{
    public static readonly MethodRegistration Registration = new("vanilla-at",
        "vanilla adversarial training of a denoiser (the HAT paper's vAT): ObsAtk observations only",
        new OptionDeclaration(ObservationTrainingAttack.Options),
        b => new VanillaAdversarialTraining(ObservationTrainingAttack.Create(b.Options)))
    { Tasks = ["denoise"] };

    public string Name => "vanilla-at";
    public ObsAttack Attack { get; } = attack;

    public MethodOutput Compute(StepContext ctx, Tensor x, Tensor y)
    {
        var clean = MethodSteps.CleanOutput(ctx, x);
        var adv = ObservationTrainingAttack.Craft(ctx, Attack, x, y);
        ctx.Model.Train();
        var output = ctx.Model.Forward(adv);
        var loss = F.MseLoss(output, y, Reduction.Sum) / (2.0 * x.Size(0));
        return new MethodOutput(loss, clean, output);
    }
}
