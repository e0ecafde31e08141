using System.Text.Json;
using System.Text.Json.Serialization;
using RobustCli.Torch.Serialization;

namespace RobustCli.Core.Evaluation;

/// <summary>Per-sample outcome codes in <see cref="SuiteState.BrokenBy"/>.</summary>
public static class Outcome
{
    /// <summary>Withstood every attack of the suite.</summary>
    public const int Robust = -1;
    /// <summary>Misclassified without attack: counts as non-robust, never attacked.</summary>
    public const int Misclassified = -2;
    /// <summary>Not decided yet (the evaluation stopped before reaching it).</summary>
    public const int Pending = -3;
}

/// <summary>One suite's progress: which stage broke each sample, its final prediction and perturbation norm.</summary>
public sealed class SuiteState
{
    public string Name { get; set; } = "";
    public string[] Stages { get; set; } = [];
    /// <summary>Index of the stage that broke the sample, or an <see cref="Outcome"/> code.</summary>
    public int[] BrokenBy { get; set; } = [];
    public int[] Prediction { get; set; } = [];
    public float[] PerturbationNorm { get; set; } = [];
    public double[] StageSeconds { get; set; } = [];
    /// <summary>Robust points after each finished stage.</summary>
    public int[] RobustAfterStage { get; set; } = [];
    public int StagesDone { get; set; }
    /// <summary>The points the current stage attacks (those still robust when it began) and how many are done.</summary>
    public int[]? Queue { get; set; }
    public int Cursor { get; set; }
    public double MaxPixel { get; set; } = double.NegativeInfinity;
    public double MinPixel { get; set; } = double.PositiveInfinity;
    public long NanCount { get; set; }
}

/// <summary>
/// Everything an evaluation has decided so far, saved atomically after every batch when a state file is given
/// (robust eval --state), so a killed evaluation resumes where it stopped and ends with the same per-sample result
/// (the random draws belong to samples, not to batches or processes). The fingerprint names the model file,
/// data, budget, attacks and seed; a state made for other settings is refused.
/// </summary>
public sealed class EvaluationState
{
    public int Version { get; set; } = 1;
    public string Fingerprint { get; set; } = "";
    public int Count { get; set; }
    public long[] Labels { get; set; } = [];
    public int[]? CleanPrediction { get; set; }
    public double CleanSeconds { get; set; }
    public List<SuiteState> Suites { get; set; } = [];
    public List<string> Warnings { get; set; } = [];

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static EvaluationState? Load(string path)
    {
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<EvaluationState>(File.ReadAllText(path), Json); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not an evaluation state file ({e.Message}); delete it to start afresh", e); }
    }

    public void Save(string path)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(this, Json);
        AtomicFile.Write(path, s => s.Write(bytes));
    }
}
