using RobustCli.Core.Attacks;
using RobustCli.Core.Registry;
using RobustCli.Core.Training;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Tests.Plugins;

/// <summary>
/// A method and an attack added the way a researcher adds one: a class with its registration (options declared
/// once), and one Register line (<see cref="Toys.Register"/>). Nothing else in the code base knows them.
/// </summary>
public static class Toys
{
    public static void Register()
    {
        Methods.Registry.Register(ToyNoiseTraining.Registration);
        Methods.Registry.Register(ToyTwoTaskTraining.Registration);
        Attacks.Registry.Register(ToyNoiseAttack.Registration);
    }

    /// <summary>A model with two named outputs and an attack that requires one of them (declared capabilities).</summary>
    public static void RegisterCapabilities()
    {
        RobustCli.Core.Models.ModelFactory.Registry.Register(ToyTwoOutputModel.Registration);
        Attacks.Registry.Register(ToyAuxAttack.Registration);
    }

    /// <summary>A third task (regression of a scalar) with a model and a method for it.</summary>
    public static void RegisterTask()
    {
        RobustCli.Core.Tasks.Tasks.Registry.Register(ToyRegressionTask.Registration);
        RobustCli.Core.Models.ModelFactory.Registry.Register(ToyRegressor.Registration);
        Methods.Registry.Register(ToyFitTraining.Registration);
    }
}

/// <summary>Each pixel moves by strength * eps with a random sign drawn per sample (a weak, honest attack).</summary>
public sealed class ToyNoiseAttack(string name, double eps, double strength) : Attack(name, eps, Norm.Linf)
{
    public static readonly AttackRegistration Registration = new("toy-noise", "random-sign noise of strength * eps (a test plug-in)",
        new OptionDeclaration([OptionSpec.Double("strength", 1.0, "fraction of eps each pixel moves", min: 0, max: 1)]),
        b => new ToyNoiseAttack(b.Name, b.Eps, b.Options.Double("strength")));

    public double Strength { get; } = strength;

    protected override Tensor Run(Module model, Tensor x, Tensor y)
    {
        using var u = UniformLike(x, Noise, 9);
        using var sign = u.Sub_(0.5).Sign_();
        return (x + sign.Mul_(Strength * Eps)).Clamp_(0, 1);
    }
}

/// <summary>Cross entropy on inputs with uniform noise of noise * eps added (train.toy_noise.noise), reporting the noise level.</summary>
public sealed class ToyNoiseTraining(double noise, double eps) : ITrainingMethod
{
    public static readonly MethodRegistration Registration = new("toy-noise", "cross entropy on noisy inputs (a test plug-in)",
        new OptionDeclaration([OptionSpec.Double("noise", 0.5, "noise as a fraction of attack.eps", min: 0, max: 1)]),
        b => new ToyNoiseTraining(b.Options.Double("noise"), b.Attack.Eps)) { Columns = ["toy_noise"] };

    public string Name => "toy-noise";

    public MethodOutput Compute(StepContext ctx, Tensor x, Tensor y)
    {
        ctx.Model.Train();
        var noisy = (x + torch.RandLike(x).Sub_(0.5).Mul_(2 * noise * eps)).Clamp_(0, 1);
        var logits = ctx.Model.Forward(noisy);
        return new MethodOutput(ctx.Task.Loss(logits, y), logits, null);
    }

    public IReadOnlyList<(string Column, double Value)> Metrics => [("toy_noise", noise)];
}

/// <summary>
/// A method that owns its optimisation step, as GAT's MGDA does: two task losses, their gradients combined with the
/// min-norm weight of the two-task MGDA (alpha = clamp((g2 - g1)·g2 / |g1 - g2|², 0, 1)), then the loop's Apply.
/// The second task is cross entropy on the horizontally flipped image.
/// </summary>
public sealed class ToyTwoTaskTraining : ITrainingMethod, IOwnsOptimizationStep
{
    public static readonly MethodRegistration Registration = new("toy-two-task", "two losses combined by two-task MGDA (a test plug-in)",
        OptionDeclaration.None, _ => new ToyTwoTaskTraining()) { Columns = ["mgda_alpha"] };

    private double alpha = double.NaN;

    public string Name => "toy-two-task";

    public MethodOutput Compute(StepContext ctx, Tensor x, Tensor y) => throw new NotSupportedException("owns its step");

    public StepResult Step(StepContext ctx, Tensor x, Tensor y, IOptimizationStep step)
    {
        ctx.Model.Train();
        var ps = step.Parameters;
        var logits = ctx.Model.Forward(x);
        var l1 = ctx.Task.Loss(logits, y);
        var l2 = ctx.Task.Loss(ctx.Model.Forward(x.Flip([3])), y);
        var g1 = Autograd.Grad([l1], ps, retainGraph: true, allowUnused: true);
        var g2 = Autograd.Grad([l2], ps, allowUnused: true);
        using (torch.NoGrad())
        {
            var f1 = torch.Cat(g1.Select((g, i) => (g ?? torch.ZerosLike(ps[i])).Flatten()).ToArray());
            var f2 = torch.Cat(g2.Select((g, i) => (g ?? torch.ZerosLike(ps[i])).Flatten()).ToArray());
            var diff = f1 - f2;
            var denom = (diff * diff).Sum().Item();
            alpha = denom <= 1e-20 ? 0.5 : Math.Clamp(((f2 - f1) * f2).Sum().Item() / denom, 0, 1);
            step.ZeroGrad();
            for (var i = 0; i < ps.Count; i++)
                ps[i].Grad = ((g1[i] ?? torch.ZerosLike(ps[i])) * alpha).Add_(g2[i] ?? torch.ZerosLike(ps[i]), 1 - alpha);
        }
        step.Apply();
        return new StepResult((l1.Item() + l2.Item()) / 2, logits, null);
    }

    public IReadOnlyList<(string Column, double Value)> Metrics => [("mgda_alpha", alpha)];
}
