using RobustCli.Core.Attacks;
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
    public string Name => "fat";
    private int tau;

    public int TauAt(int epoch) => tauInit + (tauMilestones ?? []).Count(m => m < epoch + 1);

    public StepResult Step(StepContext ctx, Tensor x, Tensor y)
    {
        tau = TauAt(ctx.Epoch);
        var clean = MethodSteps.CleanPredictions(ctx.Model, x);
        var a = attack.At(ctx.Epoch, epsWarmupEpochs);
        var adv = new FriendlyPgdAttack("train", a.Eps, a.Alpha, a.Steps, tau, omega, a.Start).Perturb(ctx.Model, x, y);
        ctx.Model.Train();
        var logits = ctx.Model.Forward(adv);
        var loss = MethodSteps.Optimize(ctx.Optimizer, F.CrossEntropy(logits, y));
        return new StepResult(loss, clean, logits.Argmax(1));
    }

    public IReadOnlyList<(string Column, double Value)> Metrics => [("tau", tau)];
}
