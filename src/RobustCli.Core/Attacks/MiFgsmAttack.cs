using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Attacks;

/// <summary>
/// MI-FGSM (Dong et al. 2018): the step follows the sign of an accumulated gradient g = mu g + grad / ||grad||_1
/// (per sample), projected onto the eps-ball and the box after each step.
/// </summary>
public sealed class MiFgsmAttack(string name, double eps, double alpha, int steps, double decay = 1.0, IAttackLoss? loss = null)
    : Attack(name, eps, Norm.Linf)
{
    public static readonly AttackRegistration Registration = new("mifgsm", "MI-FGSM (Dong et al. 2018): momentum on L1-normalised gradients",
        new OptionDeclaration([AttackOptions.Steps(10), AttackOptions.Alpha("eps / steps"), OptionSpec.Double("decay", 1.0, "momentum decay mu", min: 0)]),
        b =>
        {
            var k = b.Options.Int("steps");
            return new MiFgsmAttack(b.Name, b.Eps, b.Options.NullableDouble("alpha") ?? b.Eps / k, k, b.Options.Double("decay"), b.Loss);
        })
    { Examples = ["mifgsm"], TakesTaskLoss = true };

    public double Alpha { get; } = alpha;
    public int Steps { get; } = steps;
    public double Decay { get; } = decay;
    private readonly IAttackLoss lossFn = loss ?? new CrossEntropyAttackLoss();

    protected override Tensor Run(Module model, Tensor x, Tensor y)
    {
        using var momentum = torch.ZerosLike(x).DetachFromScope();
        return Iterate(x.Clone(), Steps, adv =>
        {
            var g = InputGradient(model, adv, y, lossFn, null);
            using var _ = torch.NoGrad();
            var l1 = PerSampleNorm(g, 1).Clamp_(min: 1e-12);
            momentum.Mul_(Decay).Add_(g.Div_(l1));
            adv.Add_(momentum.Sign(), Alpha);
            return Project(adv, x);
        });
    }
}
