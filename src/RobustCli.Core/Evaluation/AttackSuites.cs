using System.Globalization;
using RobustCli.Core.Attacks;

namespace RobustCli.Core.Evaluation;

/// <summary>Defaults an evaluation applies to every attack named: norm, AutoAttack version and components, seed.</summary>
public sealed record SuiteDefaults(Norm Norm = Norm.Linf, string Version = "standard", IReadOnlyList<string>? Components = null, ulong Seed = 0);

/// <summary>
/// Attack names as a user writes them (robust eval --attack, a config's eval.final) to suites: a preset
/// (pgd20, cw20, apgd-t, square:queries=1000, ...) is a suite of one; <c>autoattack</c> is AutoAttack, with
/// options after a colon: <c>autoattack:version=plus,norm=l2,seed=1</c>, and for the custom version the components
/// joined by '+' as the last option: <c>autoattack:version=custom,attacks=apgd-ce+apgd-t:targets=3,steps=50+square</c>.
/// </summary>
public static class AttackSuites
{
    public static AttackSuite Parse(string spec, double eps, int numClasses, SuiteDefaults defaults, Action<string>? warn = null)
    {
        var colon = spec.IndexOf(':');
        var name = (colon < 0 ? spec : spec[..colon]).Trim().ToLowerInvariant();
        if (name is "autoattack" or "aa")
        {
            var opts = Options(spec, colon);
            var version = opts.Remove("version", out var v) ? v.ToLowerInvariant() : defaults.Version;
            var norm = opts.Remove("norm", out var n) ? ParseNorm(n) : defaults.Norm;
            var seed = opts.Remove("seed", out var s) ? ulong.Parse(s, CultureInfo.InvariantCulture) : defaults.Seed;
            if (opts.Remove("eps", out var e)) eps = AttackPresets.ParseDouble(spec, "eps", e);
            var components = opts.Remove("attacks", out var list) ? list.Split('+', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : defaults.Components;
            if (opts.Count > 0)
                throw new FormatException($"attack '{spec}': unknown option(s) {string.Join(", ", opts.Keys)}; autoattack takes version, norm, eps, seed, attacks");
            return AutoAttackSuite.Create(version, norm, eps, numClasses, seed, version == "custom" ? components : null, warn);
        }
        if (defaults.Norm == Norm.L2 && !name.EndsWith("-l2", StringComparison.Ordinal))
            spec = name + "-l2" + (colon < 0 ? "" : spec[colon..]);
        // Named as written when options are given, so pgd20 and pgd20:restarts=5 can be compared in one evaluation.
        var attack = AttackPresets.Create(spec, eps, displayName: colon < 0 ? null : spec.Trim());
        if (!attack.HasOwnSeed) attack.Seed = defaults.Seed;
        return AttackSuite.Single(attack);
    }

    public static bool IsAutoAttack(string spec)
    {
        var name = spec.Split(':')[0].Trim().ToLowerInvariant();
        return name is "autoattack" or "aa";
    }

    public static Norm ParseNorm(string text) => text.Trim().ToLowerInvariant() switch
    {
        "linf" or "inf" => Norm.Linf,
        "l2" or "2" => Norm.L2,
        _ => throw new FormatException($"norm '{text}': expected linf or l2"),
    };

    /// <summary>key=value options after the colon; "attacks=" takes the rest of the text, whose components may carry options of their own.</summary>
    private static Dictionary<string, string> Options(string spec, int colon)
    {
        if (colon < 0) return new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var text = spec[(colon + 1)..];
        var at = text.IndexOf("attacks=", StringComparison.OrdinalIgnoreCase);
        string? attacks = null;
        if (at >= 0 && (at == 0 || text[at - 1] == ','))
        {
            attacks = text[(at + "attacks=".Length)..].Trim();
            text = text[..at];
        }
        var opts = AttackPresets.ParseOptions(spec, text);
        if (attacks != null) opts["attacks"] = attacks;
        return opts;
    }
}
