using RobustCli.Core.Attacks;

namespace RobustCli.Core.Evaluation;

/// <summary>
/// One line of an evaluation: attacks run in order, each on the points that all earlier ones failed to break, so
/// the suite's robust accuracy is the per-sample worst case over its attacks. A preset such as pgd20 is a suite of
/// one; AutoAttack is a suite of four (<see cref="AutoAttackSuite"/>).
/// </summary>
public sealed class AttackSuite
{
    public AttackSuite(string name, IReadOnlyList<Attack> stages, string? autoAttackVersion = null)
    {
        if (stages.Count == 0) throw new ArgumentException($"attack suite '{name}' has no attacks");
        var dup = stages.GroupBy(s => s.Name).FirstOrDefault(g => g.Count() > 1);
        if (dup != null) throw new ArgumentException($"attack suite '{name}' runs '{dup.Key}' twice; give the copies different names");
        Name = name;
        Stages = stages;
        AutoAttackVersion = autoAttackVersion;
    }

    public string Name { get; }
    public IReadOnlyList<Attack> Stages { get; }

    /// <summary>standard, plus, rand or custom for AutoAttack; null for a single attack.</summary>
    public string? AutoAttackVersion { get; }

    public double Eps => Stages[0].Eps;
    public Norm Norm => Stages[0].Norm;

    public static AttackSuite Single(Attack attack) => new(attack.Name, [attack]);

    /// <summary>Identifies the suite's attacks and settings, so a saved evaluation state is only resumed for the same ones.</summary>
    public string Describe() => $"{Name}[{AutoAttackVersion}]({string.Join(";", Stages.Select(Settings))})";

    private static string Settings(Attack a) => a.Settings != null ? $"{a.Name}:{a.Settings}" : a.GetType().Name + "{" + string.Join(",", a.GetType().GetProperties()
        .Where(p => p.PropertyType.IsPrimitive || p.PropertyType.IsEnum || p.PropertyType == typeof(string))
        .OrderBy(p => p.Name, StringComparer.Ordinal)
        .Select(p => FormattableString.Invariant($"{p.Name}={p.GetValue(a)}"))) + "}";

    public override string ToString() => Name;
}
