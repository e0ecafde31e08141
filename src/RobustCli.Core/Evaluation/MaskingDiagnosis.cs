using System.Globalization;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Evaluation;

/// <summary>One measured curve of a diagnosis: accuracy (fractions) per attack at each value of what varies.</summary>
public sealed record DiagnosisCurve(string Parameter, IReadOnlyList<double> Values, IReadOnlyDictionary<string, IReadOnlyList<double>> Accuracy);

/// <summary>
/// One check of the adaptive-attack methodology (Carlini et al. 2019 "On Evaluating Adversarial Robustness";
/// Tramèr et al. 2020): whether it passed, what was measured, a plain-language line, and the data of its figure.
/// </summary>
public sealed record DiagnosisCheck(string Name, bool Passed, string Measured, string Line, DiagnosisCurve? Curve = null,
    IReadOnlyList<double>? GradientNorms = null);

/// <summary>
/// Measured verdicts against gradient masking, on the first points of a test set:
/// <list type="bullet">
/// <item>large-eps: PGD's robust accuracy (from the clean point) at growing budgets reaches about 0 (≤ 5%) at the largest;</item>
/// <item>steps, restarts: more PGD iterations or random restarts never raise robust accuracy;</item>
/// <item>stronger-attack: APGD-CE then APGD-T (AutoAttack's white-box part) is not weaker than PGD-20;</item>
/// <item>black-box: Square, which needs no gradient, is not stronger than PGD-20;</item>
/// <item>transfer (with a source model): PGD-20 crafted on another model is not stronger than PGD-20 on this one;</item>
/// <item>gradients: the input gradient of the loss at clean points is not vanishing;</item>
/// <item>randomness: two identical forward passes agree (otherwise attack with EOT: AutoAttack's rand version);</item>
/// <item>autoattack-checks: AutoAttack's own warnings (outputs that look like probabilities, inputs outside [0, 1]).</item>
/// </list>
/// Accuracies that must not rise are compared with a tolerance of max(1 point, 3 points of the sample).
/// </summary>
public static class MaskingDiagnosis
{
    public sealed record Options(double Eps, Norm Norm, int BatchSize, Device Device, ulong Seed = 0, int SquareQueries = 1000)
    {
        public Action<string>? Log { get; init; }
        /// <summary>Another model (on the same device, in eval mode) to craft transfer attacks on: the transfer check runs when given.</summary>
        public Module? TransferSource { get; init; }
        public string TransferName { get; init; } = "the source model";
    }

    public static IReadOnlyList<DiagnosisCheck> Run(Module model, ImageDataset data, int numClasses, Options o)
    {
        model.Eval();
        var checks = new List<DiagnosisCheck>();
        var tol = Math.Max(0.01, 3.0 / Math.Max(1, data.Count));
        var warnings = new List<string>();
        var l2 = o.Norm == Norm.L2 ? "-l2" : "";

        EvaluationResult Evaluate(string spec, double eps, List<string>? warn = null, SuiteDefaults? defaults = null)
        {
            var suite = AttackSuites.Parse(spec, eps, numClasses, defaults ?? new SuiteDefaults(o.Norm, Seed: o.Seed));
            var r = RobustnessEvaluator.Evaluate(model, data, [suite], new EvaluationOptions
            {
                BatchSize = o.BatchSize, Device = o.Device, RunChecks = warn != null, Warn = warn == null ? null : m => { if (!warn.Contains(m)) warn.Add(m); },
            });
            o.Log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"{spec} at eps {eps:G4}: {100 * r.Suites[0].RobustAccuracy:F2}% robust (clean {100 * r.CleanAccuracy:F2}%)"));
            return r;
        }
        double Acc(string spec, double eps, SuiteDefaults? defaults = null) => Evaluate(spec, eps, defaults: defaults).Suites[0].RobustAccuracy;

        // The first evaluation's clean pass is the clean accuracy of every curve (budget 0).
        var first = Evaluate($"pgd20{l2}", o.Eps, warnings);
        var (clean, pgd) = (first.CleanAccuracy, first.Suites[0].RobustAccuracy);

        // Budgets up to 16 eps (the whole box for Linf at 1): a model whose accuracy stays up there hides gradients.
        // No random start here: at such budgets a random start alone is noise enough to fool any model.
        var max = o.Norm == Norm.Linf ? 1.0 : 16 * o.Eps;
        var budgets = new[] { 0, 1, 2, 4, 8, 16 }.Select(k => Math.Min(max, k * o.Eps)).Distinct().ToList();
        var atEps = budgets.Select(e => e == 0 ? clean : Acc($"pgd20{l2}:random_start=false", e)).ToList();
        checks.Add(new DiagnosisCheck("large-eps", atEps[^1] <= 0.05,
            Format($"PGD-20 (no random start) at eps {budgets[^1]:G4}: {100 * atEps[^1]:F1}%"),
            atEps[^1] <= 0.05
                ? "robust accuracy falls to about 0 as the budget grows"
                : "robust accuracy stays above 5% at a budget where every input can be changed beyond recognition: gradients are masked (or the threat model is wrong)",
            new DiagnosisCurve("eps", budgets, new Dictionary<string, IReadOnlyList<double>> { [$"pgd20{l2}"] = atEps })));

        var steps = new[] { 10, 20, 50, 100 };
        var bySteps = steps.Select(k => k == 20 ? pgd : Acc($"pgd{k}{l2}", o.Eps)).ToList();
        var stepRise = bySteps.Zip(bySteps.Skip(1), (a, b) => b - a).Max();
        checks.Add(new DiagnosisCheck("steps", stepRise <= tol,
            Format($"PGD-10/20/50/100: {string.Join(" / ", bySteps.Select(a => (100 * a).ToString("F1", CultureInfo.InvariantCulture)))}%"),
            stepRise <= tol
                ? "more iterations never raise robust accuracy"
                : "robust accuracy rises with more iterations: the attack is not converging (a sign of obfuscated gradients or a poor step size)",
            new DiagnosisCurve("steps", steps.Select(k => (double)k).ToList(), new Dictionary<string, IReadOnlyList<double>> { ["pgd"] = bySteps })));

        var restarts = new[] { 1, 5 };
        var byRestarts = restarts.Select(r => r == 1 ? pgd : Acc($"pgd20{l2}:restarts={r}", o.Eps)).ToList();
        checks.Add(new DiagnosisCheck("restarts", byRestarts[1] <= byRestarts[0] + tol,
            Format($"PGD-20 with 1 / 5 restarts: {100 * byRestarts[0]:F1} / {100 * byRestarts[1]:F1}%"),
            byRestarts[1] <= byRestarts[0] + tol ? "random restarts never raise robust accuracy" : "robust accuracy rises with restarts: the evaluation is not a worst case",
            new DiagnosisCurve("restarts", restarts.Select(r => (double)r).ToList(), new Dictionary<string, IReadOnlyList<double>> { ["pgd20"] = byRestarts })));

        var strong = Acc("autoattack", o.Eps, defaults: new SuiteDefaults(o.Norm, "custom", ["apgd-ce", "apgd-t"], o.Seed));
        checks.Add(new DiagnosisCheck("stronger-attack", strong <= pgd + tol,
            Format($"APGD-CE + APGD-T {100 * strong:F1}% vs PGD-20 {100 * pgd:F1}%"),
            strong <= pgd + tol ? "a stronger attack (AutoAttack's white-box part) does not raise robust accuracy"
                : "AutoAttack's white-box attacks do worse than PGD-20: something in the model defeats step-size adaptation"));

        var square = Acc($"square{l2}:queries={o.SquareQueries}", o.Eps);
        checks.Add(new DiagnosisCheck("black-box", square >= pgd - tol,
            Format($"Square ({o.SquareQueries} queries) {100 * square:F1}% vs PGD-20 {100 * pgd:F1}%"),
            square >= pgd - tol ? "the black-box attack is no stronger than the white-box one"
                : "a black-box attack that never sees a gradient beats the white-box one: the gradients are masked"));

        if (o.TransferSource is { } source)
        {
            var suite = AttackSuites.Parse($"pgd20{l2}", o.Eps, numClasses, new SuiteDefaults(o.Norm, Seed: o.Seed));
            var r = TransferEvaluator.Craft(source, model, data, [suite], new EvaluationOptions { BatchSize = o.BatchSize, Device = o.Device, RunChecks = false });
            var transfer = r.Suites[0].RobustAccuracy;
            o.Log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"pgd20{l2} crafted on {o.TransferName} at eps {o.Eps:G4}: {100 * transfer:F2}% robust (clean {100 * r.CleanAccuracy:F2}%)"));
            checks.Add(new DiagnosisCheck("transfer", transfer >= pgd - tol,
                Format($"PGD-20 from {o.TransferName} {100 * transfer:F1}% vs PGD-20 here {100 * pgd:F1}%"),
                transfer >= pgd - tol ? "examples crafted on another model break no more than the white-box attack"
                    : "examples crafted on another model break more points than PGD on this one: its own gradients lead attacks astray (masked)"));
        }

        var norms = GradientNorms(model, data, o);
        var sorted = norms.Order().ToList();
        var median = sorted.Count == 0 ? 0 : sorted[sorted.Count / 2];
        var zero = norms.Count(n => n < 1e-12) / (double)Math.Max(1, norms.Count);
        var vanishing = median < 1e-8 || zero > 0.1;
        checks.Add(new DiagnosisCheck("gradients", !vanishing,
            Format($"median |grad_x loss|_1 {median:G3}, {100 * zero:F1}% exactly zero"),
            vanishing ? "the loss's input gradient vanishes at clean points: gradient-based attacks have nothing to follow (shattered or saturated gradients)"
                : "the loss's input gradient at clean points is not vanishing",
            GradientNorms: norms));

        var randomized = warnings.FirstOrDefault(w => w.Contains("randomized", StringComparison.Ordinal));
        checks.Add(new DiagnosisCheck("randomness", randomized == null, randomized == null ? "identical passes agree" : "outputs differ between identical passes",
            randomized == null ? "the forward pass is deterministic" : "the forward pass is randomized: attack it with expectation over transformation (robust eval --attack autoattack --version rand)"));
        var others = warnings.Where(w => w != randomized).ToList();
        checks.Add(new DiagnosisCheck("autoattack-checks", others.Count == 0, others.Count == 0 ? "no warning" : $"{others.Count} warning(s)",
            others.Count == 0 ? "AutoAttack's checks raise nothing" : string.Join("; ", others)));
        return checks;
    }

    private static string Format(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>Per point, the L1 norm of the cross entropy's gradient with respect to the input, in eval mode.</summary>
    public static IReadOnlyList<double> GradientNorms(Module model, ImageDataset data, Options o)
    {
        using var scope = DisposeScope.Open();
        var (x, y) = RobustnessEvaluator.ToTensors(data, o.Device);
        var norms = new List<double>();
        for (var s = 0; s < data.Count; s += o.BatchSize)
        {
            using var b = DisposeScope.Open();
            var n = Math.Min(o.BatchSize, data.Count - s);
            var point = x.Narrow(0, s, n).Detach().RequiresGrad_();
            using var logits = model.Forward(point);
            // Summed, so each point's gradient is its own loss's.
            using var loss = F.CrossEntropy(logits, y.Narrow(0, s, n), reduction: Reduction.Sum);
            var g = Autograd.Grad(loss, point);
            norms.AddRange(g.Abs().Flatten(1).Sum(1).To(DType.Float64).ToArray<double>());
        }
        return norms;
    }
}
