using RobustCli.Core.Attacks;
using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Training;

/// <summary>The training attack of the denoising methods: ObsAtk at a level, with its steps and step fraction (the method's options).</summary>
internal static class ObservationTrainingAttack
{
    public static OptionSpec[] Options =>
    [
        OptionSpec.Double("level", 5, "ObsAtk's level s in /255 units (rho = s/255 sqrt(C x patch^2)); the reference's eps1/3/5/7", min: 0),
        OptionSpec.Int("steps", 1, "ObsAtk iterations (1 in the reference)", min: 1),
        OptionSpec.Double("step", 1.0, "ObsAtk's step as a fraction of rho (1: one full step)", min: 0, minExclusive: true),
    ];

    public static ObsAttack Create(OptionValues o) => new("obsatk-train", o.Double("level"), o.Int("steps"), o.Double("step"));

    /// <summary>Crafts the adversarial observations with the model in eval mode; only the input gets gradients, so the weights are as if frozen.</summary>
    public static Tensor Craft(StepContext ctx, ObsAttack attack, Tensor observation, Tensor clean) => ctx.Perturb(attack, observation, clean);
}

/// <summary>
/// Hybrid adversarial training (HAT, Yan et al. 2022) of a denoiser f: with o = f(y) on the noisy observation and
/// y_adv = ObsAtk(y; x) crafted in eval mode, both passes in train mode,
///   L = [ ||o - x||^2 / (1 + alpha) + alpha ||f(y_adv) - o||^2 / (1 + alpha) ] / (2B),
/// sums over the batch and every value, with no stop-gradient on o: the first term keeps reconstruction on ordinary
/// noise, the second makes the denoiser locally smooth around it. alpha = 1 by default (2 in the colour recipe).
/// </summary>
public sealed class HatTraining(double alpha, ObsAttack attack) : ITrainingMethod
{
    public static readonly MethodRegistration Registration = new("hat",
        "hybrid adversarial training of a denoiser (Yan et al. 2022): reconstruction on noisy observations plus smoothness towards ObsAtk observations",
        new OptionDeclaration([OptionSpec.Double("alpha", 1.0, "weight of the smoothness term ||f(y_adv) - f(y)||^2", min: 0), .. ObservationTrainingAttack.Options]),
        b => new HatTraining(b.Options.Double("alpha"), ObservationTrainingAttack.Create(b.Options)))
    {
        Tasks = ["denoise"],
        Columns = ["hat_obs_loss", "hat_adv_loss"],
    };

    public string Name => "hat";
    public double Alpha { get; } = alpha;
    public ObsAttack Attack { get; } = attack;
    private double lastObs = double.NaN, lastAdv = double.NaN;

    public MethodOutput Compute(StepContext ctx, Tensor x, Tensor y)
    {
        // x is the noisy observation, y the clean image.
        var adv = ObservationTrainingAttack.Craft(ctx, Attack, x, y);
        ctx.Model.Train();
        var output = ctx.Model.Forward(x);
        var advOutput = ctx.Model.Forward(adv);
        var batch = x.Size(0);
        var obs = F.MseLoss(output, y, Reduction.Sum);
        var smooth = F.MseLoss(advOutput, output, Reduction.Sum);
        var loss = (obs / (1 + Alpha) + smooth * (Alpha / (1 + Alpha))) / (2.0 * batch);
        lastObs = obs.Item() / (2.0 * batch);
        lastAdv = smooth.Item() / (2.0 * batch);
        return new MethodOutput(loss, output, advOutput);
    }

    /// <summary>The last batch's terms, each divided by 2B: the reconstruction and the smoothness losses.</summary>
    public IReadOnlyList<(string Column, double Value)> Metrics => [("hat_obs_loss", lastObs), ("hat_adv_loss", lastAdv)];
}
