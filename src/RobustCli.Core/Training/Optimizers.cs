using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.optim;

namespace RobustCli.Core.Training;

/// <summary>What an optimizer is built from: the parameters it steps and its resolved options (train.optimizer.*).</summary>
public sealed record OptimizerBuild(IReadOnlyList<Tensor> Parameters, OptionValues Options);

/// <summary>
/// An optimizer by name with the train.optimizer keys it reads (lr, momentum, betas, ...): validation,
/// `config list optimizers` and the factory come from this one declaration.
/// </summary>
public sealed record OptimizerRegistration(string Name, string Description, OptionDeclaration Options, Func<OptimizerBuild, Optimizer> Create) : IRegistration;

/// <summary>The optimizers by name. Adding one is its registration plus one line here (or a Register call).</summary>
public static class Optimizers
{
    private static OptionSpec Lr => OptionSpec.Double("lr", 0.1, "learning rate (the schedule's base)", min: 0, minExclusive: true);
    private static OptionSpec WeightDecay => OptionSpec.Double("weight_decay", 5e-4, "L2 penalty (coupled for sgd and adam, decoupled for adamw)", min: 0);
    private static OptionSpec Beta1 => OptionSpec.Double("beta1", 0.9, "first-moment decay", min: 0, max: 1, maxExclusive: true);
    private static OptionSpec Beta2 => OptionSpec.Double("beta2", 0.999, "second-moment decay", min: 0, max: 1, maxExclusive: true);

    public static readonly OptimizerRegistration Sgd = new("sgd", "stochastic gradient descent with momentum (torch.optim.SGD, dampening 0)",
        new OptionDeclaration([Lr, OptionSpec.Double("momentum", 0.9, "momentum", min: 0, max: 1), WeightDecay, OptionSpec.Bool("nesterov", false, "Nesterov momentum")]),
        b => new SGD(b.Parameters, b.Options.Double("lr"), b.Options.Double("momentum"), 0, b.Options.Double("weight_decay"), b.Options.Bool("nesterov")));

    public static readonly OptimizerRegistration Adam = new("adam", "Adam (torch.optim.Adam, eps 1e-8, coupled weight decay)",
        new OptionDeclaration([Lr, Beta1, Beta2, WeightDecay]),
        b => new Adam(b.Parameters, b.Options.Double("lr"), b.Options.Double("beta1"), b.Options.Double("beta2"), 1e-8, b.Options.Double("weight_decay")));

    public static readonly OptimizerRegistration AdamW = new("adamw", "AdamW (torch.optim.AdamW, eps 1e-8, decoupled weight decay)",
        new OptionDeclaration([Lr, Beta1, Beta2, WeightDecay]),
        b => new AdamW(b.Parameters, b.Options.Double("lr"), b.Options.Double("beta1"), b.Options.Double("beta2"), 1e-8, b.Options.Double("weight_decay")));

    public static readonly Registry<OptimizerRegistration> Registry = new("optimizer", [Sgd, Adam, AdamW]);
}
