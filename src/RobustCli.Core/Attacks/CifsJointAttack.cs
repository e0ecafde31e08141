using RobustCli.Core.Registry;
using RobustCli.Core.Models;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Attacks;

/// <summary>
/// PGD on CIFS's joint loss (the official evaluation's attack: the final and the probes' cross entropies, beta 2),
/// through the channel-importance masks, on a model whose outputs include probe logits (cifs-resnet18). With joint
/// false it is PGD on the final logits' CE — what pgdK does. The official test attack is 20 steps of 0.1 eps
/// without a random start: cifs-pgd20 by default.
/// </summary>
public sealed class CifsJointAttack(string name, double eps, double alpha, int steps, double beta, bool joint, bool randomStart)
    : PgdAttack(name, eps, alpha, steps, Norm.Linf, randomStart ? RandomStart.Uniform : RandomStart.None, 1, new CifsJointLoss(beta, 2, joint))
{
    public static new readonly AttackRegistration Registration = new("cifs-pgd",
        "PGD on CIFS's joint loss (final + probe cross entropies) through the importance masks (the official evaluation: 20 steps of 0.1 eps, no random start)",
        new OptionDeclaration(
        [
            AttackOptions.Steps(20), AttackOptions.Alpha("0.1 eps"),
            OptionSpec.Double("beta", 2, "weight of the probes' cross entropy (beta_atk)", min: 0),
            OptionSpec.Bool("joint", true, "the joint loss; false: the final logits' cross entropy only"),
            OptionSpec.Bool("random_start", false, "start uniformly in the eps-ball"),
        ]),
        b => new CifsJointAttack(b.Name, b.Eps, b.Options.NullableDouble("alpha") ?? 0.1 * b.Eps, b.Options.Int("steps"), b.Options.Double("beta"),
            b.Options.Bool("joint"), b.Options.Bool("random_start")))
    { StepsInName = true, Examples = ["cifs-pgd20"], Requires = [CifsResNet18.Probes] };

    /// <summary>The model the attack reads: its logits and probes side by side, or a refusal naming what it needs.</summary>
    public static Module JointView(Module model) => model switch
    {
        IMultiOutput m when m.OutputNames.Contains("probe0") && m.OutputNames.Contains("probe1") => new ConcatenatedOutputs(model),
        _ => throw new ArgumentException($"cifs-pgd attacks a model with CIFS probes (model.arch cifs-resnet18), not {model.GetType().Name}"),
    };

    protected override Tensor Run(Module model, Tensor x, Tensor y) => base.Run(JointView(model), x, y);
}
