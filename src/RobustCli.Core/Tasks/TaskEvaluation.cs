using System.Globalization;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Evaluation;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Tasks;

/// <summary>
/// What a task's evaluation is asked to measure, for a run's final evaluation and robust eval alike: the model (in
/// eval mode; the task reads its own output), the test data, the attacks as users write them and the budget, and how
/// to run (batches, device, seeds, resumable state, progress). Options a task does not use are ignored by it.
/// </summary>
public sealed record TaskEvaluationRequest(Module Model, ImageSource Test, IReadOnlyList<string> Attacks, double Eps)
{
    /// <summary>linf or l2: AutoAttack's threat model and, with <see cref="PresetsFollowNorm"/>, that of presets without a norm suffix.</summary>
    public string Norm { get; init; } = "linf";
    /// <summary>Presets without a -l2 suffix take <see cref="Norm"/> (robust eval --norm); false: they stay L∞ (a config's attack.norm is AutoAttack's).</summary>
    public bool PresetsFollowNorm { get; init; } = true;
    /// <summary>AutoAttack's version and, for "custom", its components.</summary>
    public string Version { get; init; } = "standard";
    public IReadOnlyList<string> Components { get; init; } = [];
    public ulong Seed { get; init; }
    public int BatchSize { get; init; } = 256;
    public Device? Device { get; init; }
    /// <summary>
    /// A run's final evaluation: costly suites (AutoAttack) are measured apart from the others, on the first N points
    /// (0: all of them). Null: every attack on every point in one evaluation (robust eval).
    /// </summary>
    public int? CostlySubset { get; init; }
    /// <summary>Where resumable progress is kept, per part of the evaluation ("attacks", "autoattack"); null: not resumable.</summary>
    public Func<string, string>? StateFile { get; init; }
    /// <summary>What a saved state must match to be resumed (the weights, the settings).</summary>
    public string Fingerprint { get; init; } = "";
    /// <summary>The index of the first test point in the whole evaluation (a shard's start).</summary>
    public int FirstIndex { get; init; }
    public bool KeepAdversarial { get; init; }
    /// <summary>Levels a task is measured at (a denoiser's noise sigmas in /255 units); null: the task's own.</summary>
    public IReadOnlyList<double>? Levels { get; init; }
    /// <summary>A folder for pictures of what was measured (a denoiser's strips); null: none.</summary>
    public string? SaveFolder { get; init; }
    public Action<string>? Log { get; init; }
    public Action<string>? Warn { get; init; }
    public Action<string, int, int>? Progress { get; init; }
    public CancellationToken Cancel { get; init; }
}

/// <summary>
/// What a task's evaluation measured, as the rows it is written and shown as: the summary table (final_eval.csv,
/// robust eval's CSV), the per-sample table, the scores a run's summary.json and robust report keep, the console
/// table and the lines under it, the warnings, and the fields of the JSON record beside the CSV.
/// </summary>
public sealed record TaskEvaluation
{
    public required ResultTable Summary { get; init; }
    public required ResultTable Samples { get; init; }
    /// <summary>Named scores (clean, pgd20, worst_case; psnr gaussian@25), in order.</summary>
    public IReadOnlyList<(string Key, double Value)> Scores { get; init; } = [];
    /// <summary>The console table; null: the summary table.</summary>
    public ResultTable? Printed { get; init; }
    public IReadOnlyList<string> Notes { get; init; } = [];
    public IReadOnlyList<string> Warnings { get; init; } = [];
    /// <summary>The JSON record's fields beyond the settings.</summary>
    public IReadOnlyDictionary<string, object?> Document { get; init; } = new Dictionary<string, object?>();
    /// <summary>How many test points (pictures) were measured.</summary>
    public int Count { get; init; }
    /// <summary>A robustness evaluation's per-sample outcome (classification), for what only it feeds: adversarial tensors, shard merges, curves.</summary>
    public EvaluationResult? Robustness { get; init; }
}

/// <summary>
/// The evaluation every task has unless it brings its own: the clean score and the score under each attack over the
/// test data, from the task's own <see cref="ITask.Evaluate"/>. Summary rows: attack, the score (psnr, neg_mse, ...),
/// seconds, n; per-sample rows: index, then each row's score.
/// </summary>
public static class ScoreEvaluation
{
    public static TaskEvaluation Run(ITask task, TaskEvaluationRequest request)
    {
        var test = new DataLoader(request.Test, request.Test.FixedShape ? request.BatchSize : 1, device: request.Device);
        var rows = new List<(string Name, double Value, double Seconds, double[] PerSample)>();
        var clean = task.Evaluate(request.Model, test, null, request.Seed);
        rows.Add(("clean", clean.Clean, clean.Seconds, clean.CleanPerSample));
        foreach (var spec in request.Attacks)
        {
            request.Cancel.ThrowIfCancellationRequested();
            Attack attack;
            try { attack = AttackPresets.Create(spec, request.Eps, task.EvaluationLoss ?? task.AttackLoss, displayName: spec); }
            catch (FormatException e) { throw new FormatException($"attack '{spec}': {e.Message}", e); }
            var r = task.Evaluate(request.Model, test, attack, request.Seed);
            rows.Add((attack.Name, r.Robust, r.Seconds, r.RobustPerSample!));
            request.Log?.Invoke(FormattableString.Invariant($"{attack.Name}: {task.Score} {r.Robust:F4} ({r.Seconds:F0}s)"));
        }
        var n = rows[0].PerSample.Length;
        var summary = new ResultTable(["attack", task.Score, "seconds", "n"], rows.Select(r => (IReadOnlyList<string>)
        [
            r.Name, r.Value.ToString("G6", CultureInfo.InvariantCulture), r.Seconds.ToString("F2", CultureInfo.InvariantCulture),
            r.PerSample.Length.ToString(CultureInfo.InvariantCulture),
        ]).ToList());
        var samples = new ResultTable(["index", .. rows.Select(r => $"{r.Name}_{task.Score}")], Enumerable.Range(0, n).Select(i => (IReadOnlyList<string>)
            [(request.FirstIndex + i).ToString(CultureInfo.InvariantCulture), .. rows.Select(r => r.PerSample[i].ToString("G6", CultureInfo.InvariantCulture))]).ToList());
        return new TaskEvaluation
        {
            Summary = summary, Samples = samples, Count = n,
            Scores = rows.Select(r => (r.Name, r.Value)).ToList(),
            Document = new Dictionary<string, object?> { ["n"] = n, ["scores"] = rows.ToDictionary(r => r.Name, r => (object?)r.Value) },
        };
    }
}
