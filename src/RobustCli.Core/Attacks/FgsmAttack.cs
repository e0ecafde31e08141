using RobustCli.Core.Registry;
namespace RobustCli.Core.Attacks;

/// <summary>FGSM: one step of size eps on the sign of the gradient (optionally from a uniform random start, with step alpha).</summary>
public sealed class FgsmAttack(string name, double eps, bool randomStart = false, double? alpha = null, IAttackLoss? loss = null)
    : PgdAttack(name, eps, alpha ?? eps, 1, Norm.Linf, randomStart ? RandomStart.Uniform : RandomStart.None, 1, loss)
{
    public static new readonly AttackRegistration Registration = new("fgsm", "FGSM: one signed-gradient step of eps (alpha from a random start)",
        new OptionDeclaration([OptionSpec.Bool("random_start", false, "start uniformly in the eps-ball"), AttackOptions.Alpha("eps")]),
        b => new FgsmAttack(b.Name, b.Eps, b.Options.Bool("random_start"), b.Options.NullableDouble("alpha"), b.Loss))
    { Examples = ["fgsm"], TakesTaskLoss = true };
}
