using RobustCli.Core.Registry;
namespace RobustCli.Core.Attacks;

/// <summary>CW-Linf: PGD on the margin loss with confidence kappa (50 by default, as FAT and NoiLIn evaluate).</summary>
public sealed class CwAttack(string name, double eps, double alpha, int steps, double kappa = 50, int restarts = 1)
    : PgdAttack(name, eps, alpha, steps, Norm.Linf, RandomStart.Uniform, restarts, new CwMarginLoss(kappa))
{
    public static new readonly AttackRegistration Registration = new("cw", "CW-Linf: PGD on the margin loss with confidence kappa",
        new OptionDeclaration([AttackOptions.Steps(20), AttackOptions.Alpha("2.5 eps / steps"), OptionSpec.Double("kappa", 50, "margin confidence", min: 0), AttackOptions.Restarts()]),
        b =>
        {
            var k = b.Options.Int("steps");
            return new CwAttack(b.Name, b.Eps, b.Options.NullableDouble("alpha") ?? 2.5 * b.Eps / k, k, b.Options.Double("kappa"), b.Options.Int("restarts"));
        })
    { StepsInName = true, Examples = ["cw20", "cw100"] };
}
