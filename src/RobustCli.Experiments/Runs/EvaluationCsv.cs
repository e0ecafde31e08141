using System.Globalization;
using CsvHelper;
using RobustCli.Core.Evaluation;
using RobustCli.Torch.Serialization;

namespace RobustCli.Experiments.Runs;

/// <summary>
/// Evaluation tables as CSV, for robust eval and a run's final_eval.csv alike. The summary has one row per
/// attack (attack, accuracy, seconds, n); a multi-attack suite such as AutoAttack also gets a row per stage
/// ("autoattack/apgd-t") with the cumulative robust accuracy after it. The per-sample table has, for every test
/// point, its label and clean prediction and, per suite, the outcome (robust, misclassified, or the attack that
/// broke it), the final prediction and the perturbation norm of the returned point.
/// </summary>
public static class EvaluationCsv
{
    private static readonly CsvWriterOptions Config = new() { NewLine = "\n" };

    public static void Write(string path, params EvaluationResult[] results) => Write(path, results, []);

    /// <summary>The table plus rows of measures that are no robust accuracy (hypocritical_risk), as (name, value, seconds, n).</summary>
    public static void Write(string path, EvaluationResult[] results, IReadOnlyList<(string Name, double Value, double Seconds, int N)> extra) => AtomicFile.Write(path, s =>
    {
        using var w = new StreamWriter(s, leaveOpen: true);
        using var csv = CsvWriter.Create(w, Config);
        foreach (var h in new[] { "attack", "accuracy", "seconds", "n" }) csv.WriteField(h);
        csv.EndRecord();
        foreach (var r in results)
        {
            void Row(string name, double acc, double? seconds)
            {
                csv.WriteField(name);
                csv.WriteField(acc.ToString("G6", CultureInfo.InvariantCulture));
                csv.WriteField(seconds?.ToString("F1", CultureInfo.InvariantCulture) ?? "");
                csv.WriteField(r.Count.ToString(CultureInfo.InvariantCulture));
                csv.EndRecord();
            }
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
        foreach (var (name, value, seconds, n) in extra)
        {
            csv.WriteField(name);
            csv.WriteField(value.ToString("G6", CultureInfo.InvariantCulture));
            csv.WriteField(seconds.ToString("F1", CultureInfo.InvariantCulture));
            csv.WriteField(n.ToString(CultureInfo.InvariantCulture));
            csv.EndRecord();
        }
    });

    /// <param name="firstIndex">The index of the first row in the full set of points (a shard's start).</param>
    public static void WriteSamples(string path, EvaluationResult r, int firstIndex = 0) => AtomicFile.Write(path, s =>
    {
        using var w = new StreamWriter(s, leaveOpen: true);
        using var csv = CsvWriter.Create(w, Config);
        foreach (var h in new[] { "index", "label", "clean_pred" }) csv.WriteField(h);
        foreach (var suite in r.Suites)
            foreach (var col in new[] { "result", "pred", "norm" }) csv.WriteField($"{suite.Name}_{col}");
        csv.EndRecord();
        for (var i = 0; i < r.Count; i++)
        {
            csv.WriteField((firstIndex + i).ToString(CultureInfo.InvariantCulture));
            csv.WriteField(r.Labels[i].ToString(CultureInfo.InvariantCulture));
            csv.WriteField(r.CleanPrediction[i].ToString(CultureInfo.InvariantCulture));
            foreach (var suite in r.Suites)
            {
                csv.WriteField(suite.OutcomeOf(i));
                csv.WriteField(suite.Prediction[i].ToString(CultureInfo.InvariantCulture));
                // Every digit of the float (G9 round-trips it): a merge of shards rebuilds the exact values.
                csv.WriteField(suite.PerturbationNorm[i].ToString("G9", CultureInfo.InvariantCulture));
            }
            csv.EndRecord();
        }
    });

    /// <summary>
    /// A task's final evaluation other than classification: one row per attack (attack, the score such as psnr, seconds,
    /// n) and a per-sample table (index, then the score of each row).
    /// </summary>
    public static void WriteTaskScores(string path, string samplesPath, string score, IReadOnlyList<(string Name, double Value, double Seconds, double[] PerSample)> rows)
    {
        AtomicFile.Write(path, s =>
        {
            using var w = new StreamWriter(s, leaveOpen: true);
            using var csv = CsvWriter.Create(w, Config);
            foreach (var h in new[] { "attack", score, "seconds", "n" }) csv.WriteField(h);
            csv.EndRecord();
            foreach (var r in rows)
            {
                csv.WriteField(r.Name);
                csv.WriteField(r.Value.ToString("G6", CultureInfo.InvariantCulture));
                csv.WriteField(r.Seconds.ToString("F2", CultureInfo.InvariantCulture));
                csv.WriteField(r.PerSample.Length.ToString(CultureInfo.InvariantCulture));
                csv.EndRecord();
            }
        });
        AtomicFile.Write(samplesPath, s =>
        {
            using var w = new StreamWriter(s, leaveOpen: true);
            using var csv = CsvWriter.Create(w, Config);
            csv.WriteField("index");
            foreach (var r in rows) csv.WriteField($"{r.Name}_{score}");
            csv.EndRecord();
            var n = rows.Count == 0 ? 0 : rows[0].PerSample.Length;
            for (var i = 0; i < n; i++)
            {
                csv.WriteField(i.ToString(CultureInfo.InvariantCulture));
                foreach (var r in rows) csv.WriteField(r.PerSample[i].ToString("G6", CultureInfo.InvariantCulture));
                csv.EndRecord();
            }
        });
    }
}

/// <summary>
/// The evaluation as JSON beside its CSV: settings, clean and robust accuracy, each suite's stages (robust accuracy
/// after each, points attacked, seconds), the returned points' largest perturbation and pixel range, and every
/// warning of the checks — the machine-readable record of what was measured and how far to trust it.
/// </summary>
public static class EvaluationJson
{
    public static void Write(string path, EvaluationResult r, IReadOnlyDictionary<string, object?> settings)
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
        var doc = new Dictionary<string, object?>(settings)
        {
            ["n"] = r.Count, ["clean_accuracy"] = r.CleanAccuracy, ["clean_seconds"] = Math.Round(r.CleanSeconds, 2), ["suites"] = suites,
            ["worst_case_accuracy"] = r.WorstCaseAccuracy, ["warnings"] = r.Warnings,
        };
        var bytes = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(doc, new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    private static double? Ratio(int k, int n) => n == 0 ? null : k / (double)n;

}
