using System.Globalization;

namespace RobustCli.Core.Evaluation;

/// <summary>
/// The rows a robustness evaluation is written and shown as, for a run's final_eval.csv, robust eval and a merge of
/// shards alike. The summary has one row per attack (attack, accuracy, seconds, n); a multi-attack suite such as
/// AutoAttack also gets a row per stage ("autoattack/apgd-t") with the cumulative robust accuracy after it. The
/// per-sample table has, for every test point, its label and clean prediction and, per suite, the outcome (robust,
/// misclassified, or the attack that broke it), the final prediction and the perturbation norm of the returned point.
/// </summary>
public static class EvaluationTables
{
    private static string Inv(FormattableString s) => FormattableString.Invariant(s);

    /// <summary>The summary of one or more evaluations, plus rows of measures that are no robust accuracy (hypocritical_risk), as (name, value, seconds, n).</summary>
    public static ResultTable Summary(IReadOnlyList<EvaluationResult> results, IReadOnlyList<(string Name, double Value, double Seconds, int N)>? extra = null)
    {
        var rows = new List<IReadOnlyList<string>>();
        foreach (var r in results)
        {
            void Row(string name, double acc, double? seconds) =>
                rows.Add([name, acc.ToString("G6", CultureInfo.InvariantCulture), seconds?.ToString("F1", CultureInfo.InvariantCulture) ?? "", r.Count.ToString(CultureInfo.InvariantCulture)]);
            Row("clean", r.CleanAccuracy, r.CleanSeconds);
            foreach (var suite in r.Suites)
            {
                if (suite.Stages.Count > 1)
                    for (var k = 0; k < suite.Stages.Count; k++)
                        Row($"{suite.Name}/{suite.Stages[k]}", r.Count == 0 ? double.NaN : suite.RobustAfterStage[k] / (double)r.Count, suite.StageSeconds[k]);
                Row(suite.Name, suite.RobustAccuracy, suite.Seconds);
            }
            if (r.Suites.Count > 1) Row("worst_case", r.WorstCaseAccuracy, null);
        }
        foreach (var (name, value, seconds, n) in extra ?? [])
            rows.Add([name, value.ToString("G6", CultureInfo.InvariantCulture), seconds.ToString("F1", CultureInfo.InvariantCulture), n.ToString(CultureInfo.InvariantCulture)]);
        return new ResultTable(["attack", "accuracy", "seconds", "n"], rows);
    }

    /// <param name="firstIndex">The index of the first row in the full set of points (a shard's start).</param>
    public static ResultTable Samples(EvaluationResult r, int firstIndex = 0)
    {
        var columns = new List<string> { "index", "label", "clean_pred" };
        foreach (var suite in r.Suites) columns.AddRange(new[] { "result", "pred", "norm" }.Select(c => $"{suite.Name}_{c}"));
        var rows = new List<IReadOnlyList<string>>(r.Count);
        for (var i = 0; i < r.Count; i++)
        {
            var row = new List<string>
            {
                (firstIndex + i).ToString(CultureInfo.InvariantCulture), r.Labels[i].ToString(CultureInfo.InvariantCulture),
                r.CleanPrediction[i].ToString(CultureInfo.InvariantCulture),
            };
            // Every digit of the float (G9 round-trips it): a merge of shards rebuilds the exact values.
            foreach (var suite in r.Suites)
                row.AddRange([suite.OutcomeOf(i), suite.Prediction[i].ToString(CultureInfo.InvariantCulture), suite.PerturbationNorm[i].ToString("G9", CultureInfo.InvariantCulture)]);
            rows.Add(row);
        }
        return new ResultTable(columns, rows);
    }

    private static string Pct(double v) => double.IsFinite(v) ? (100 * v).ToString("F2", CultureInfo.InvariantCulture) + "%" : "-";
    private static string Sec(double v) => v.ToString("F1", CultureInfo.InvariantCulture);

    /// <summary>The console table: clean, each suite and its stages (with the points each stage attacked), the worst case.</summary>
    public static ResultTable Printed(EvaluationResult r)
    {
        var rows = new List<IReadOnlyList<string>> { new[] { "clean", Pct(r.CleanAccuracy), "", Sec(r.CleanSeconds) } };
        foreach (var suite in r.Suites)
        {
            if (suite.Stages.Count > 1)
            {
                var before = r.Clean.Count(c => c);
                for (var k = 0; k < suite.Stages.Count; k++)
                {
                    rows.Add([$"  {suite.Name} ← {suite.Stages[k]}", Pct(suite.RobustAfterStage[k] / (double)Math.Max(1, r.Count)), before.ToString(CultureInfo.InvariantCulture), Sec(suite.StageSeconds[k])]);
                    before = suite.RobustAfterStage[k];
                }
            }
            rows.Add([suite.Name, Pct(suite.RobustAccuracy), "", Sec(suite.Seconds)]);
        }
        if (r.Suites.Count > 1) rows.Add(["worst case", Pct(r.WorstCaseAccuracy), "", ""]);
        return new ResultTable(["attack", "robust accuracy", "points attacked", "seconds"], rows);
    }

    /// <summary>A row of the console table for a measure that is no robust accuracy (the hypocritical risk of the misclassified points).</summary>
    public static IReadOnlyList<string> PrintedRisk(string name, double risk, int misclassified, double seconds) =>
        [$"{name} (of misclassified)", Pct(risk), misclassified.ToString(CultureInfo.InvariantCulture), Sec(seconds)];

    /// <summary>The lines under the table: each AutoAttack suite's largest perturbation and pixel range, the sanity checks' findings.</summary>
    public static IReadOnlyList<string> Notes(EvaluationResult r) => r.Suites.Where(s => s.Stages.Count > 1).Select(suite => Inv(
        $"{suite.Name}: largest {suite.Norm} perturbation {suite.MaxPerturbationNorm:G6} (eps {suite.Eps:G6}), adversarial pixels in [{(double.IsFinite(suite.MinPixel) ? suite.MinPixel : 0):G4}, {(double.IsFinite(suite.MaxPixel) ? suite.MaxPixel : 0):G4}], {suite.NanCount} NaN")).ToList();

    /// <summary>Per-sample rows over the full test set; suites run on a subset leave the later rows empty.</summary>
    public static EvaluationResult Merge(IReadOnlyList<EvaluationResult> results)
    {
        if (results.Count == 1) return results[0];
        var main = results.OrderByDescending(r => r.Count).First();
        var suites = results.SelectMany(r => r.Suites.Select(s => Pad(s, main.Count))).ToList();
        return new EvaluationResult(main.Labels, main.CleanPrediction, suites, main.CleanSeconds, results.SelectMany(r => r.Warnings).ToList());
    }

    private static SuiteResult Pad(SuiteResult s, int n)
    {
        if (s.Count == n) return s;
        var st = new SuiteState
        {
            Name = s.Name, Stages = s.Stages.ToArray(), StageSeconds = s.StageSeconds, RobustAfterStage = s.RobustAfterStage, StagesDone = s.Stages.Count,
            BrokenBy = s.BrokenBy.Concat(Enumerable.Repeat(Outcome.Pending, n - s.Count)).ToArray(),
            Prediction = s.Prediction.Concat(Enumerable.Repeat(-1, n - s.Count)).ToArray(),
            PerturbationNorm = s.PerturbationNorm.Concat(Enumerable.Repeat(float.NaN, n - s.Count)).ToArray(),
        };
        return new SuiteResult(st, s.AutoAttackVersion, s.Eps, s.Norm);
    }

    /// <summary>
    /// The evaluation as a JSON document's fields beside its CSV: clean and robust accuracy, each suite's stages
    /// (robust accuracy after each, points attacked, seconds), the returned points' largest perturbation and pixel
    /// range, and every warning of the checks — the machine-readable record of what was measured and how far to trust it.
    /// </summary>
    public static Dictionary<string, object?> Document(EvaluationResult r)
    {
        var suites = r.Suites.Select(s =>
        {
            var before = r.Clean.Count(c => c);
            var stages = new List<object>();
            for (var k = 0; k < s.Stages.Count; k++)
            {
                stages.Add(new Dictionary<string, object?>
                {
                    ["attack"] = s.Stages[k], ["robust_accuracy"] = Ratio(s.RobustAfterStage[k], r.Count),
                    ["points_attacked"] = before, ["seconds"] = Math.Round(s.StageSeconds[k], 2),
                });
                before = s.RobustAfterStage[k];
            }
            return new Dictionary<string, object?>
            {
                ["name"] = s.Name, ["autoattack_version"] = s.AutoAttackVersion, ["norm"] = s.Norm.ToString(), ["eps"] = s.Eps,
                ["robust_accuracy"] = s.RobustAccuracy, ["seconds"] = Math.Round(s.Seconds, 2), ["stages"] = stages,
                ["max_perturbation_norm"] = (double)s.MaxPerturbationNorm,
                ["min_pixel"] = double.IsFinite(s.MinPixel) ? s.MinPixel : null, ["max_pixel"] = double.IsFinite(s.MaxPixel) ? s.MaxPixel : null,
                ["nan_values"] = s.NanCount,
            };
        }).ToList();
        return new Dictionary<string, object?>
        {
            ["n"] = r.Count, ["clean_accuracy"] = r.CleanAccuracy, ["clean_seconds"] = Math.Round(r.CleanSeconds, 2), ["suites"] = suites,
            ["worst_case_accuracy"] = r.WorstCaseAccuracy, ["warnings"] = r.Warnings,
        };
    }

    private static double? Ratio(int k, int n) => n == 0 ? null : k / (double)n;
}
