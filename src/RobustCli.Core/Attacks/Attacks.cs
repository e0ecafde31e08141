using RobustCli.Core.Registry;

namespace RobustCli.Core.Attacks;

/// <summary>The attack families by name. Each attack carries its registration in its own file; adding one is that file plus one line here (or a Register call).</summary>
public static class Attacks
{
    public static readonly Registry<AttackRegistration> Registry = new("attack",
    [
        FgsmAttack.Registration, PgdAttack.Registration, CwAttack.Registration, MiFgsmAttack.Registration,
        ApgdAttack.CeRegistration, ApgdAttack.DlrRegistration, ApgdAttack.TargetedRegistration,
        FabAttack.UntargetedRegistration, FabAttack.TargetedRegistration, SquareAttack.Registration, SelectionAdaptiveAttack.Registration,
        ObsAttack.Registration, RandomNoiseAttack.GaussianRegistration, RandomNoiseAttack.UniformRegistration, CifsJointAttack.Registration,
        HypocriticalAttack.Registration,
    ]);

    /// <summary>Example names of every registered attack, for help and errors.</summary>
    public static IEnumerable<string> Examples => Registry.All.SelectMany(r => r.Examples.Count > 0 ? r.Examples : [r.Name]);
}
