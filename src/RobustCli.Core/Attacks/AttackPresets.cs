using System.Globalization;

namespace RobustCli.Core.Attacks;

/// <summary>
/// Attacks by name, with presets: fgsm, pgdK (e.g. pgd10, pgd20, pgd50, pgd100), cwK (cw20, cw100), mifgsm, and
/// l2 variants (pgd20-l2). Parameters are overridden after a colon: "pgd20:alpha=0.005,restarts=5",
/// "cw100:kappa=20". Defaults: alpha = 2.5 eps / K, a uniform random start, one restart; CW kappa 50;
/// MI-FGSM 10 steps of eps / 10 with decay 1; APGD (apgd-ce, apgd-dlr, apgd-t) 100 steps, 1 restart, 9 target classes
/// (eot=20 averages 20 gradients per step); FAB (fab, fab-t) 100 steps, 1 restart, 9 target classes; Square 5,000
/// queries, p_init 0.8. AutoAttack as a whole is <c>autoattack</c> (see AutoAttackSuite), not a single attack.
/// </summary>
public static class AttackPresets
{
    public static readonly string[] Examples = ["fgsm", "pgd10", "pgd20", "pgd50", "pgd100", "cw20", "cw100", "mifgsm", "apgd-ce", "apgd-dlr", "apgd-t", "fab", "fab-t", "square", "pgd20-l2", "apgd-ce-l2", "square-l2"];

    public static Attack Create(string spec, double eps)
    {
        var colon = spec.IndexOf(':');
        var name = (colon < 0 ? spec : spec[..colon]).Trim().ToLowerInvariant();
        var opts = ParseOptions(spec, colon < 0 ? "" : spec[(colon + 1)..]);
        var known = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "seed" };
        double D(string key, double fallback) { known.Add(key); return opts.TryGetValue(key, out var v) ? ParseDouble(spec, key, v) : fallback; }
        int I(string key, int fallback) { known.Add(key); return opts.TryGetValue(key, out var v) ? (int)ParseDouble(spec, key, v) : fallback; }
        eps = D("eps", eps);
        var l2 = name.EndsWith("-l2", StringComparison.Ordinal);
        var baseName = l2 ? name[..^3] : name;
        Attack attack;
        if (baseName == "fgsm")
            attack = new FgsmAttack(name, eps, randomStart: I("random_start", 0) != 0, alpha: opts.ContainsKey("alpha") ? D("alpha", eps) : null);
        else if (baseName == "mifgsm")
        {
            var steps = I("steps", 10);
            attack = new MiFgsmAttack(name, eps, D("alpha", eps / steps), steps, D("decay", 1.0));
        }
        else if (baseName is "apgd-ce" or "apgd-dlr" or "apgd-t")
        {
            var loss = baseName switch { "apgd-ce" => ApgdLoss.CrossEntropy, "apgd-dlr" => ApgdLoss.Dlr, _ => ApgdLoss.TargetedDlr };
            attack = new ApgdAttack(name, eps, l2 ? Norm.L2 : Norm.Linf, I("steps", 100), I("restarts", 1), loss, I("targets", 9),
                eotIterations: I("eot", 1));
        }
        else if (baseName is "fab" or "fab-t")
            attack = new FabAttack(name, eps, l2 ? Norm.L2 : Norm.Linf, baseName == "fab-t", I("steps", 100), I("restarts", 1), I("targets", 9));
        else if (baseName == "square")
            attack = new SquareAttack(name, eps, l2 ? Norm.L2 : Norm.Linf, I("queries", 5000), D("p_init", 0.8), I("restarts", 1));
        else if (TrySteps(baseName, "pgd", out var k))
        {
            k = I("steps", k);
            attack = new PgdAttack(name, eps, D("alpha", 2.5 * eps / Math.Max(1, k)), k, l2 ? Norm.L2 : Norm.Linf,
                I("random_start", 1) != 0 ? RandomStart.Uniform : RandomStart.None, I("restarts", 1));
        }
        else if (!l2 && TrySteps(baseName, "cw", out k))
        {
            k = I("steps", k);
            attack = new CwAttack(name, eps, D("alpha", 2.5 * eps / Math.Max(1, k)), k, D("kappa", 50), I("restarts", 1));
        }
        else throw new FormatException($"unknown attack '{name}'; expected one of {string.Join(", ", Examples)} (pgdK and cwK take any K)");
        var unknown = opts.Keys.Where(k2 => !known.Contains(k2)).ToList();
        if (unknown.Count > 0) throw new FormatException($"attack '{spec}': unknown option(s) {string.Join(", ", unknown)}");
        if (opts.TryGetValue("seed", out var seed)) attack.Seed = (ulong)ParseDouble(spec, "seed", seed);
        return attack;
    }

    private static bool TrySteps(string name, string prefix, out int steps)
    {
        steps = 0;
        return name.StartsWith(prefix, StringComparison.Ordinal) && int.TryParse(name.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out steps) && steps > 0;
    }

    /// <summary>The comma-separated key=value options of an attack spec (its text after the colon).</summary>
    public static Dictionary<string, string> ParseOptions(string spec, string text)
    {
        var opts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0) throw new FormatException($"attack '{spec}': option '{part}' is not key=value");
            opts[part[..eq].Trim()] = part[(eq + 1)..].Trim();
        }
        return opts;
    }

    /// <summary>An option's number; fractions such as 8/255 are accepted.</summary>
    public static double ParseDouble(string spec, string key, string v)
    {
        // Fractions such as 8/255 are accepted, as papers write them.
        var slash = v.IndexOf('/');
        if (slash > 0 && double.TryParse(v[..slash], NumberStyles.Float, CultureInfo.InvariantCulture, out var a) &&
            double.TryParse(v[(slash + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var b) && b != 0)
            return a / b;
        return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d
            : throw new FormatException($"attack '{spec}': {key}={v} is not a number");
    }
}
