using RobustCli.Core.Attacks;
using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Training;

/// <summary>
/// FAT (Zhang et al. 2020): train on early-stopped PGD examples ("friendly" ones) with CE. The budget tau grows
/// over training: tau = tauInit + the number of milestones passed (1-based epochs), e.g. [50, 90] gives
/// tau 0 up to epoch 50, 1 up to 90, 2 after, as the reference's 120-epoch schedule.
/// </summary>
public sealed class FriendlyAdversarialTraining(AttackSettings attack, int tauInit = 0, IReadOnlyList<int>? tauMilestones = null,
    double omega = 0.001, int epsWarmupEpochs = 0) : ITrainingMethod
{
    public static readonly MethodRegistration Registration = new("fat", "Friendly adversarial training (Zhang et al. 2020): early-stopped PGD",
        new OptionDeclaration(
        [
            OptionSpec.Int("tau_init", 0, "extra PGD steps a sample may take once misclassified, at the start", min: 0),
            OptionSpec.Ints("tau_milestones", [], "1-based epochs after which tau grows by one", min: 0, sorted: true),
            OptionSpec.Double("omega", 0.001, "std of the Gaussian noise added at each PGD step", min: 0),
        ]),
        b => new FriendlyAdversarialTraining(b.Attack, b.Options.Int("tau_init"), b.Options.Ints("tau_milestones"), b.Options.Double("omega"), b.EpsWarmupEpochs))
    { Columns = ["tau"] };

    public string Name => "fat";
    private int tau;

    public int TauAt(int epoch) => tauInit + (tauMilestones ?? []).Count(m => m < epoch + 1);

    public MethodOutput Compute(StepContext ctx, Tensor x, Tensor y)
    {
        tau = TauAt(ctx.Epoch);
        var clean = MethodSteps.CleanOutput(ctx, x);
        var a = attack.At(ctx.Epoch, epsWarmupEpochs);
        var adv = ctx.Perturb(new FriendlyPgdAttack("train", a.Eps, a.Alpha, a.Steps, tau, omega, a.Start), x, y);
        ctx.Model.Train();
        var logits = ctx.Model.Forward(adv);
        return new MethodOutput(F.CrossEntropy(logits, y), clean, logits);
    }

    public IReadOnlyList<(string Column, double Value)> Metrics => [("tau", tau)];
}
