using System.Globalization;
using RobustCli.Core.Registry;

namespace RobustCli.Core.Attacks;

/// <summary>
/// Attack specs as users write them, resolved through the attack registry (<see cref="Attacks"/>): a family name,
/// a step count where the family takes one (pgd20, cw100), "-l2" for the L2 form (pgd20-l2, apgd-ce-l2), and
/// options after a colon: "pgd20:alpha=0.005,restarts=5", "cw100:kappa=20", "square:queries=1000". Every attack
/// also takes eps= and seed=. AutoAttack as a whole is <c>autoattack</c> (see AutoAttackSuite), not a single attack.
/// </summary>
public static class AttackPresets
{
    public static string[] Examples => Attacks.Examples.ToArray();

    /// <summary>Builds the attack a spec names; <paramref name="loss"/> replaces the objective of attacks that take the task's loss.</summary>
    public static Attack Create(string spec, double eps, IAttackLoss? loss = null, string? displayName = null)
    {
        var colon = spec.IndexOf(':');
        var name = (colon < 0 ? spec : spec[..colon]).Trim().ToLowerInvariant();
        var opts = ParseOptions(spec, colon < 0 ? "" : spec[(colon + 1)..]);
        var (registration, steps, l2) = Resolve(name);
        if (opts.Remove("eps", out var e)) eps = ParseDouble(spec, "eps", e);
        if (eps < 0 || (!l2 && eps > 1))
            throw new FormatException($"attack '{spec}': eps must be {(l2 ? ">= 0" : "in [0, 1] (pixel units: 8/255, not 8)")}, got {eps:G6}");
        ulong? seed = opts.Remove("seed", out var s) ? ParseSeed(spec, s) : null;
        var unknown = opts.Keys.Where(k => registration.Options.Find(k) == null).ToList();
        if (unknown.Count > 0)
            throw new FormatException($"attack '{spec}': unknown option(s) {string.Join(", ", unknown)}{Levenshtein.Suggest(unknown[0], registration.Options.Keys)} " +
                                      $"{name} takes: {string.Join(", ", registration.Options.Keys.Append("eps").Append("seed"))}");
        if (steps != null && !opts.ContainsKey("steps")) opts["steps"] = steps.Value.ToString(CultureInfo.InvariantCulture);
        OptionValues options;
        try { options = registration.Options.ParseAndResolve(opts); }
        catch (OptionException o) { throw new FormatException($"attack '{spec}': {o.Message}"); }
        if (loss != null && !registration.TakesTaskLoss)
            throw new FormatException($"attack '{name}' attacks classifiers only (its loss is fixed); for this task use one of " +
                                      string.Join(", ", Attacks.Registry.All.Where(r => r.TakesTaskLoss).Select(r => r.Name)));
        if (loss == null && registration.NeedsTaskLoss)
            throw new FormatException($"attack '{name}' attacks denoisers (task: denoise), not classifiers");
        var norm = l2 ? Norm.L2 : Norm.Linf;
        var attack = registration.Create(new AttackBuild(displayName ?? name, eps, norm, options, registration.TakesTaskLoss ? loss : null));
        attack.Settings = FormattableString.Invariant($"{registration.Name}|{norm}|eps={eps:R}|{options.Canonical()}{(loss != null ? "|loss=" + loss.Name : "")}");
        if (seed != null) attack.Seed = seed.Value;
        attack.HasOwnSeed = seed != null;
        attack.Requires = registration.Requires;
        return attack;
    }

    /// <summary>The family a name belongs to, the step count in the name (pgd20) and whether it is the L2 form.</summary>
    public static (AttackRegistration Registration, int? Steps, bool L2) Resolve(string name)
    {
        foreach (var r in Attacks.Registry.All.OrderByDescending(r => r.Name.Length))
        {
            var rest = name;
            var l2 = false;
            if (r.HasL2 && rest.EndsWith("-l2", StringComparison.Ordinal)) { rest = rest[..^3]; l2 = true; }
            if (rest == r.Name)
                return r.StepsInName
                    ? throw new FormatException($"unknown attack '{name}': {r.Name} takes its step count in its name ({string.Join(", ", r.Examples.Take(3))})")
                    : (r, null, l2);
            if (r.StepsInName && rest.StartsWith(r.Name, StringComparison.Ordinal) &&
                int.TryParse(rest.AsSpan(r.Name.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var k) && k > 0)
                return (r, k, l2);
        }
        throw new FormatException($"unknown attack '{name}'{Levenshtein.Suggest(name, Examples)} Expected one of {string.Join(", ", Examples)} (pgdK and cwK take any K; autoattack for AutoAttack)");
    }

    /// <summary>The registration a spec names, or null when it names none (a typo, autoattack).</summary>
    public static AttackRegistration? RegistrationOf(string spec)
    {
        var colon = spec.IndexOf(':');
        try { return Resolve((colon < 0 ? spec : spec[..colon]).Trim().ToLowerInvariant()).Registration; }
        catch (FormatException) { return null; }
    }

    /// <summary>The comma-separated key=value options of an attack spec (its text after the colon).</summary>
    public static Dictionary<string, string> ParseOptions(string spec, string text)
    {
        var opts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0) throw new FormatException($"attack '{spec}': option '{part}' is not key=value");
            opts[part[..eq].Trim().ToLowerInvariant()] = part[(eq + 1)..].Trim();
        }
        return opts;
    }

    /// <summary>An option's number; fractions such as 8/255 are accepted, as papers write them.</summary>
    public static double ParseDouble(string spec, string key, string v) =>
        OptionSpec.ParseNumber(v) ?? throw new FormatException($"attack '{spec}': {key}={v} is not a number");

    public static ulong ParseSeed(string spec, string v) =>
        ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s
            : throw new FormatException($"attack '{spec}': seed={v} is not a non-negative integer");
}
