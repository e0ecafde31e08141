using RobustCli.Core.Models;
using RobustCli.Core.Registry;

namespace RobustCli.Core.Attacks;

/// <summary>What an attack is built from: the name it was asked by, its budget and norm, its resolved options, and
/// the task's loss for attacks that can use another objective (denoising's MSE).</summary>
public sealed record AttackBuild(string Name, double Eps, Norm Norm, OptionValues Options, IAttackLoss? Loss);

/// <summary>
/// An attack family by name (pgd, cw, apgd-t, square, ...) with its declared options (the key=value pairs after a
/// colon: "pgd20:alpha=2/255,restarts=5"). The preset names, the help's list, validation and the evaluation
/// fingerprint (every resolved option: cw20 and cw20:kappa=20 differ) all come from this declaration.
/// </summary>
public sealed record AttackRegistration(string Name, string Description, OptionDeclaration Options, Func<AttackBuild, Attack> Create) : IRegistration
{
    /// <summary>The name may end in a step count (pgd20 is pgd with steps=20); the option "steps" holds it.</summary>
    public bool StepsInName { get; init; }
    /// <summary>A "-l2" suffix gives the L2 form (pgd20-l2).</summary>
    public bool HasL2 { get; init; }
    /// <summary>Names shown as examples in help and error messages.</summary>
    public IReadOnlyList<string> Examples { get; init; } = [];
    /// <summary>The attack maximises the task's loss (so it also attacks denoisers), rather than a classification-only one.</summary>
    public bool TakesTaskLoss { get; init; }
    /// <summary>It attacks a task with its own loss only (a denoiser's observation), never a classifier.</summary>
    public bool NeedsTaskLoss { get; init; }
    /// <summary>What the attacked model must offer beyond logits (an expert selection, probe outputs); checked against a config's model and a loaded one.</summary>
    public IReadOnlyList<ModelCapability> Requires { get; init; } = [];
    /// <summary>
    /// The attack measures a risk on the misclassified points rather than a robust accuracy (hypocritical
    /// perturbations help the model): the row name robust eval reports it under, and why a config's accuracy
    /// evaluations refuse it. Null for every attack that measures robust accuracy.
    /// </summary>
    public (string Row, string Refusal)? MeasuresRisk { get; init; }
}
