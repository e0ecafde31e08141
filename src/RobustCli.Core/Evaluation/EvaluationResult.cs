namespace RobustCli.Core.Evaluation;

/// <summary>A suite's per-sample outcome: the stage that broke each sample (or an <see cref="Outcome"/>), and more.</summary>
public sealed class SuiteResult(SuiteState s, string? autoAttackVersion, double eps, Attacks.Norm norm)
{
    public string Name { get; } = s.Name;
    public string? AutoAttackVersion { get; } = autoAttackVersion;
    public double Eps { get; } = eps;
    public Attacks.Norm Norm { get; } = norm;
    public IReadOnlyList<string> Stages { get; } = s.Stages;
    public int[] BrokenBy { get; } = s.BrokenBy;
    public int[] Prediction { get; } = s.Prediction;
    public float[] PerturbationNorm { get; } = s.PerturbationNorm;
    public double[] StageSeconds { get; } = s.StageSeconds;
    /// <summary>Robust points after each stage: the cumulative table.</summary>
    public int[] RobustAfterStage { get; } = s.RobustAfterStage;
    public double Seconds => StageSeconds.Sum();
    public int Count => BrokenBy.Length;
    public bool[] Robust => BrokenBy.Select(b => b == Outcome.Robust).ToArray();
    public double RobustAccuracy => Count == 0 ? double.NaN : BrokenBy.Count(b => b == Outcome.Robust) / (double)Count;
    public double MaxPerturbationNorm => PerturbationNorm.Length == 0 ? 0 : PerturbationNorm.Max();
    public double MinPixel { get; } = s.MinPixel;
    public double MaxPixel { get; } = s.MaxPixel;
    public long NanCount { get; } = s.NanCount;

    /// <summary>"robust", "misclassified" or the name of the stage that broke sample i.</summary>
    public string OutcomeOf(int i) => BrokenBy[i] switch
    {
        Outcome.Robust => "robust",
        Outcome.Misclassified => "misclassified",
        Outcome.Pending => "not_evaluated",
        var k => Stages[k],
    };
}

/// <summary>Per-sample outcome of an evaluation: clean predictions and, per suite, which attack broke each sample.</summary>
public sealed class EvaluationResult(long[] labels, int[] cleanPrediction, IReadOnlyList<SuiteResult> suites, double cleanSeconds, IReadOnlyList<string> warnings)
{
    public int Count { get; } = labels.Length;
    public long[] Labels { get; } = labels;
    public int[] CleanPrediction { get; } = cleanPrediction;
    public bool[] Clean { get; } = labels.Select((y, i) => cleanPrediction[i] == y).ToArray();
    public IReadOnlyList<SuiteResult> Suites { get; } = suites;
    public double CleanSeconds { get; } = cleanSeconds;
    public IReadOnlyList<string> Warnings { get; } = warnings;

    public SuiteResult Suite(string name) => Suites.FirstOrDefault(s => s.Name == name) ?? throw new KeyNotFoundException($"no attack '{name}' in this evaluation");

    /// <summary>With KeepAdversarial: per suite, x_adv for every sample (x itself where no attack succeeded), [N, C, H, W] row-major.</summary>
    public IReadOnlyDictionary<string, float[]>? Adversarial { get; init; }
    public long[] ImageShape { get; init; } = [];

    public double CleanAccuracy => Count == 0 ? double.NaN : Clean.Count(c => c) / (double)Count;
    public double RobustAccuracy(string suite) => Suite(suite).RobustAccuracy;

    /// <summary>The per-sample worst case over every suite: robust only if clean-correct and no attack broke it.</summary>
    public double WorstCaseAccuracy
    {
        get
        {
            if (Count == 0) return double.NaN;
            var n = 0;
            for (var i = 0; i < Count; i++)
                if (Clean[i] && Suites.All(s => s.BrokenBy[i] == Outcome.Robust)) n++;
            return n / (double)Count;
        }
    }
}
