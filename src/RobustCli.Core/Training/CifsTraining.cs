using RobustCli.Core.Attacks;
using RobustCli.Core.Models;
using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Training;

/// <summary>
/// CIFS adversarial training (Yan, Zhang et al., ICML 2021; the official CIFAR10_Res18_CIFS.py): PGD examples
/// crafted in eval mode on the joint loss (or the final logits' CE with attack_loss ce) from the attack: section,
/// then, in train mode with the labels driving the masks, the joint loss of the final and probe logits on them.
/// </summary>
public sealed class CifsTraining(AttackSettings attack, double beta, bool jointAttack, int epsWarmupEpochs = 0) : ITrainingMethod
{
    public static readonly MethodRegistration Registration = new("cifs",
        "CIFS adversarial training (Yan et al. 2021): channel-importance masks, the joint loss of final and probe logits, PGD on it",
        new OptionDeclaration(
        [
            OptionSpec.Double("beta", 2, "weight of the probes' cross entropy in the joint loss (beta_cls)", min: 0),
            OptionSpec.Choice("attack_loss", "joint", "what the training attack maximises: the joint loss or the final logits' CE", "joint", "ce"),
        ]),
        b => new CifsTraining(b.Attack, b.Options.Double("beta"), b.Options.String("attack_loss") == "joint", b.EpsWarmupEpochs))
    {
        Models = ["cifs-resnet18"],
        Columns = ["cifs_final_loss", "cifs_probe_loss"],
    };

    public string Name => "cifs";
    private double lastFinal = double.NaN, lastProbe = double.NaN;

    public MethodOutput Compute(StepContext ctx, Tensor x, Tensor y)
    {
        var model = ctx.Model as CifsResNet18 ?? throw new InvalidOperationException($"the cifs method trains cifs-resnet18, not {ctx.Model.GetType().Name}");
        var clean = MethodSteps.CleanOutput(ctx, x);
        var a = attack.At(ctx.Epoch, epsWarmupEpochs);
        var pgd = new PgdAttack("train", a.Eps, a.Alpha, a.Steps, a.Norm, a.Start, 1, new CifsJointLoss(beta, 2, jointAttack));
        // Not disposed: the view holds the model itself, whose weights disposing would free.
        var adv = ctx.Perturb(pgd, x, y, on: new ConcatenatedOutputs(model));
        model.Train();
        model.Labels = y;
        try
        {
            var (loss, logits, final, probes) = Loss(model, adv, y, beta);
            (lastFinal, lastProbe) = (final, probes);
            return new MethodOutput(loss, clean, logits);
        }
        finally { model.Labels = null; }
    }

    /// <summary>The joint loss of a forward pass, its final logits, and its final and mean probe cross entropies.</summary>
    public static (Tensor Loss, Tensor Logits, double Final, double Probes) Loss(CifsResNet18 model, Tensor x, Tensor y, double beta)
    {
        var all = model.ForwardAll(x);
        var final = F.CrossEntropy(all["logits"], y);
        var p0 = F.CrossEntropy(all["probe0"], y);
        var p1 = F.CrossEntropy(all["probe1"], y);
        var (f, pm) = (final.Item(), (p0.Item() + p1.Item()) / 2);
        all["probe0"].Dispose();
        all["probe1"].Dispose();
        return (CifsJointLoss.Combine(final, [p0, p1], beta), all["logits"], f, pm);
    }

    public IReadOnlyList<(string Column, double Value)> Metrics => [("cifs_final_loss", lastFinal), ("cifs_probe_loss", lastProbe)];
}
