using RobustCli.Core.Attacks;

namespace RobustCli.Core.Evaluation;

/// <summary>
/// AutoAttack (Croce and Hein, ICML 2020) in the reference's versions:
/// <list type="bullet">
/// <item><c>standard</c>: APGD-CE (no restarts) → APGD-T (targeted DLR, 9 targets) → FAB-T (9 targets) → Square (5,000 queries).</item>
/// <item><c>plus</c>: APGD-CE and APGD-DLR with 5 restarts, untargeted FAB with 5 restarts, Square, APGD-T, FAB-T.</item>
/// <item><c>rand</c>: APGD-CE and APGD-DLR with expectation over 20 gradient passes per step, for randomized defenses.</item>
/// <item><c>custom</c>: the attacks named (presets with options, e.g. <c>apgd-ce</c>, <c>square:queries=1000</c>).</item>
/// </list>
/// Every attack runs on the points all earlier ones failed on; eps is in [0, 1] pixel units. Too few classes for
/// the DLR losses (3, or 4 for the targeted one) drop those attacks with a warning instead of failing.
/// </summary>
public static class AutoAttackSuite
{
    public static readonly string[] Versions = ["standard", "plus", "rand", "custom"];

    public static AttackSuite Create(string version, Norm norm, double eps, int numClasses, ulong seed = 0,
        IReadOnlyList<string>? custom = null, Action<string>? warn = null)
    {
        var l2 = norm == Norm.L2;
        // Every component is built through the attack registry, so its settings (and the evaluation's fingerprint)
        // list every option, and the L2 forms keep the short names of the reference's tables.
        Attack A(string spec)
        {
            var colon = spec.IndexOf(':');
            var name = colon < 0 ? spec : spec[..colon];
            return AttackPresets.Create(l2 ? name + "-l2" + (colon < 0 ? "" : spec[colon..]) : spec, eps, displayName: name);
        }
        List<Attack> stages;
        switch (version)
        {
            case "standard":
                stages = [A("apgd-ce:steps=100,restarts=1"), A("apgd-t:steps=100,restarts=1,targets=9"), A("fab-t:steps=100,restarts=1,targets=9"), A("square:queries=5000,p_init=0.8")];
                break;
            case "plus":
                stages = [A("apgd-ce:restarts=5"), A("apgd-dlr:restarts=5"), A("fab:restarts=5"), A("square:queries=5000"), A("apgd-t:targets=9"), A("fab-t:targets=9")];
                break;
            case "rand":
                stages = [A("apgd-ce:eot=20"), A("apgd-dlr:eot=20")];
                break;
            case "custom":
                if (custom == null || custom.Count == 0)
                    throw new ArgumentException("AutoAttack version custom needs the attacks to run (e.g. apgd-ce, apgd-t, fab-t, square)");
                stages = custom.Select(spec =>
                {
                    var name = spec.Split(':')[0].Trim().ToLowerInvariant();
                    if (l2 && !name.EndsWith("-l2", StringComparison.Ordinal))
                        spec = name + "-l2" + (spec.Contains(':') ? spec[spec.IndexOf(':')..] : "");
                    return AttackPresets.Create(spec, eps);
                }).ToList();
                break;
            default:
                throw new ArgumentException($"unknown AutoAttack version '{version}'; expected one of {string.Join(", ", Versions)}");
        }
        if (version != "custom" && custom is { Count: > 0 })
            throw new ArgumentException($"attacks to run can only be chosen with version custom, not {version}");
        stages = stages.Where(a => Supported(a, numClasses, warn)).ToList();
        if (stages.Count == 0) throw new ArgumentException($"no AutoAttack component can run on a {numClasses}-class model");
        foreach (var s in stages) s.Seed = seed;
        return new AttackSuite(version == "standard" ? "autoattack" : "autoattack-" + version, stages, version);
    }

    /// <summary>The DLR losses divide by gaps between the 1st and 3rd (4th) largest logits: they need 3 (4) classes.</summary>
    private static bool Supported(Attack a, int numClasses, Action<string>? warn)
    {
        if (a is ApgdAttack { Loss: ApgdLoss.Dlr } && numClasses < 3)
        {
            warn?.Invoke($"{a.Name} skipped: the DLR loss needs at least 3 classes and the model has {numClasses}");
            return false;
        }
        if (a is ApgdAttack { Loss: ApgdLoss.TargetedDlr } && numClasses < 4)
        {
            warn?.Invoke($"{a.Name} skipped: the targeted DLR loss needs at least 4 classes and the model has {numClasses}");
            return false;
        }
        if (a is ApgdAttack { Loss: ApgdLoss.TargetedDlr } t && t.TargetClasses > numClasses - 1)
            warn?.Invoke($"{a.Name}: {t.TargetClasses} target classes but only {numClasses - 1} other classes; each is tried once");
        if (a is FabAttack { Targeted: true } f && f.TargetClasses > numClasses - 1)
            warn?.Invoke($"{a.Name}: {f.TargetClasses} target classes but only {numClasses - 1} other classes; each is tried once");
        return true;
    }
}
