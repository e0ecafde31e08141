using CsvHelper;
using RobustCli.Core.Evaluation;
using RobustCli.Core.Tasks;
using RobustCli.Torch.Serialization;

namespace RobustCli.Experiments.Runs;

/// <summary>
/// Every evaluation file a run or robust eval writes, in one place: a task's tables as CSV (the summary, the
/// per-sample table beside it) and the JSON record beside the CSV, each written atomically. Which rows and cells a
/// table holds is the task's (<see cref="ITask.Measure"/>); robustness evaluations' rows come from
/// <see cref="EvaluationTables"/>, so a run's final_eval.csv, robust eval's CSV and a merge of shards agree.
/// </summary>
public static class EvaluationCsv
{
    private static readonly CsvWriterOptions Config = new() { NewLine = "\n" };

    /// <summary>A table as CSV: its columns as the header, then its rows.</summary>
    public static void WriteTable(string path, ResultTable table) => AtomicFile.Write(path, s =>
    {
        using var w = new StreamWriter(s, leaveOpen: true);
        using var csv = CsvWriter.Create(w, Config);
        foreach (var h in table.Columns) csv.WriteField(h);
        csv.EndRecord();
        foreach (var row in table.Rows)
        {
            foreach (var cell in row) csv.WriteField(cell);
            csv.EndRecord();
        }
    });

    /// <summary>A task's evaluation: the summary at <paramref name="path"/>, the per-sample table at <paramref name="samplesPath"/>.</summary>
    public static void Write(string path, string samplesPath, TaskEvaluation evaluation)
    {
        WriteTable(path, evaluation.Summary);
        WriteTable(samplesPath, evaluation.Samples);
    }

    /// <summary>
    /// What robust eval writes: the summary at <paramref name="csv"/>, NAME-samples.csv and NAME.json (the settings,
    /// then the task's record) beside it. Returns the two paths beside it.
    /// </summary>
    public static (string Samples, string Json) WriteEvaluation(string csv, TaskEvaluation evaluation, IReadOnlyDictionary<string, object?> settings)
    {
        var samples = SamplesBeside(csv);
        var json = Path.ChangeExtension(csv, ".json");
        Write(csv, samples, evaluation);
        EvaluationJson.Write(json, settings, evaluation.Document);
        return (samples, json);
    }

    /// <summary>robust eval's per-sample table beside its summary: NAME-samples.csv.</summary>
    public static string SamplesBeside(string csv) => Path.ChangeExtension(csv, null) + "-samples.csv";
}

/// <summary>
/// The evaluation as JSON beside its CSV: the settings it ran with, then the task's record of what it measured
/// (for a robustness evaluation: clean and robust accuracy, each suite's stages, the returned points' largest
/// perturbation and pixel range, every warning of the checks).
/// </summary>
public static class EvaluationJson
{
    public static void Write(string path, IReadOnlyDictionary<string, object?> settings, IReadOnlyDictionary<string, object?> document)
    {
        var doc = new Dictionary<string, object?>(settings);
        foreach (var (k, v) in document) doc[k] = v;
        var bytes = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(doc, new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        AtomicFile.Write(path, s => s.Write(bytes));
    }
}
