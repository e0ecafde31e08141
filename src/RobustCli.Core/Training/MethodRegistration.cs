using RobustCli.Core.Data;
using RobustCli.Core.Models;
using RobustCli.Core.Registry;

namespace RobustCli.Core.Training;

/// <summary>What a method is built from: its own options, the run's training attack and seed, and a way to build
/// another registered method (NoiLIn's base) with that method's own options.</summary>
public sealed record MethodBuild(OptionValues Options, AttackSettings Attack, int EpsWarmupEpochs, int Seed, Func<string, ITrainingMethod> Other)
{
    /// <summary>The run's dataset (GAT's macro task groups its classes).</summary>
    public DatasetSpec? Dataset { get; init; }
}

/// <summary>
/// A training method by name: its options (config keys under train.&lt;section&gt;, e.g. train.trades.beta), the
/// tasks it supports, the metrics.csv columns it adds, and its factory. Validation, `config show`, help and the
/// metrics header all come from this one declaration.
/// </summary>
public sealed record MethodRegistration(string Name, string Description, OptionDeclaration Options, Func<MethodBuild, ITrainingMethod> Create)
    : IRegistration
{
    /// <summary>The tasks it trains (classification, denoising).</summary>
    public IReadOnlyList<string> Tasks { get; init; } = ["classification"];
    /// <summary>The architectures it trains, when it needs a particular kind of model (SoE's experts); null: any.</summary>
    public IReadOnlyList<string>? Models { get; init; }
    /// <summary>
    /// What to tell a user whose model.arch is not one of <see cref="Models"/>, given that arch ({0} in the text):
    /// how to get a model this method trains from the one they named.
    /// </summary>
    public string? ModelHint { get; init; }
    /// <summary>Why the method needs a validation set (data.val_size > 0), when it does (NoiLIn's schedule reads it); null: it does not.</summary>
    public string? NeedsValidation { get; init; }
    /// <summary>
    /// Extra heads the method asks the model for, from its options and the dataset (GAT's auxiliary tasks); the
    /// model is built with them for training, resuming and evaluation alike.
    /// </summary>
    public Func<OptionValues, DatasetSpec, IReadOnlyList<TaskHead>>? Heads { get; init; }
    /// <summary>Columns this method adds to metrics.csv, in order.</summary>
    public IReadOnlyList<string> Columns { get; init; } = [];
    /// <summary>The option naming a base method this one wraps (NoiLIn's "base"); its columns follow this one's.</summary>
    public string? BaseOption { get; init; }
    /// <summary>Old flat train.* keys that now live in this method's section: old key → option key.</summary>
    public IReadOnlyDictionary<string, string> FormerKeys { get; init; } = new Dictionary<string, string>();

    /// <summary>The config section of its options: the name with '-' as '_' (train.fgsm_rs).</summary>
    public string Section => Name.Replace('-', '_');
}
