using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
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
    private static readonly CsvConfiguration Config = new(CultureInfo.InvariantCulture) { NewLine = "\n" };

    public static void Write(string path, params EvaluationResult[] results) => AtomicFile.Write(path, s =>
    {
        using var w = new StreamWriter(s, leaveOpen: true);
        using var csv = new CsvWriter(w, Config);
        foreach (var h in new[] { "attack", "accuracy", "seconds", "n" }) csv.WriteField(h);
        csv.NextRecord();
        foreach (var r in results)
        {
            void Row(string name, double acc, double? seconds)
            {
                csv.WriteField(name);
                csv.WriteField(acc.ToString("G6", CultureInfo.InvariantCulture));
                csv.WriteField(seconds?.ToString("F1", CultureInfo.InvariantCulture) ?? "");
                csv.WriteField(r.Count.ToString(CultureInfo.InvariantCulture));
                csv.NextRecord();
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
    });

    public static void WriteSamples(string path, EvaluationResult r) => AtomicFile.Write(path, s =>
    {
        using var w = new StreamWriter(s, leaveOpen: true);
        using var csv = new CsvWriter(w, Config);
        foreach (var h in new[] { "index", "label", "clean_pred" }) csv.WriteField(h);
        foreach (var suite in r.Suites)
            foreach (var col in new[] { "result", "pred", "norm" }) csv.WriteField($"{suite.Name}_{col}");
        csv.NextRecord();
        for (var i = 0; i < r.Count; i++)
        {
            csv.WriteField(i.ToString(CultureInfo.InvariantCulture));
            csv.WriteField(r.Labels[i].ToString(CultureInfo.InvariantCulture));
            csv.WriteField(r.CleanPrediction[i].ToString(CultureInfo.InvariantCulture));
            foreach (var suite in r.Suites)
            {
                csv.WriteField(suite.OutcomeOf(i));
                csv.WriteField(suite.Prediction[i].ToString(CultureInfo.InvariantCulture));
                csv.WriteField(suite.PerturbationNorm[i].ToString("G6", CultureInfo.InvariantCulture));
            }
            csv.NextRecord();
        }
    });
}
