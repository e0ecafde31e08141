using System.Diagnostics;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Evaluation;
using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Tasks;

/// <summary>Image classification: a batch is images and labels, outputs are logits, scored by accuracy; cross entropy.</summary>
public sealed class ClassificationTask : ITask
{
    public static readonly ClassificationTask Instance = new();

    public static readonly TaskRegistration Registration = new("classification", "image classification: accuracy and robust accuracy",
        OptionDeclaration.None, _ => Instance);

    public string Name => "classification";
    public string Score => "acc";
    public bool ScoreIsFraction => true;
    public IAttackLoss AttackLoss { get; } = new CrossEntropyAttackLoss();
    public IAttackLoss? EvaluationLoss => null;

    public (Tensor X, Tensor Y) Prepare(Batch batch, ulong seed) => (batch.X, batch.Y);

    public Tensor Loss(Tensor output, Tensor target) => F.CrossEntropy(output, target);

    public double ScoreSum(Tensor output, Tensor target)
    {
        using var scope = DisposeScope.Open();
        var predictions = output.Dim == 1 ? output : output.Argmax(1);
        return predictions.Eq(target).Sum().ItemLong();
    }

    public bool MeasuresRobustAccuracy => true;

    /// <summary>
    /// Clean accuracy, each suite's robust accuracy (AutoAttack's per-sample worst case over its attacks) and the worst
    /// case over all, per sample, resumable from <see cref="TaskEvaluationRequest.StateFile"/>. A run's final
    /// evaluation measures AutoAttack apart, on its first <see cref="TaskEvaluationRequest.CostlySubset"/> points.
    /// </summary>
    public TaskEvaluation Measure(TaskEvaluationRequest request)
    {
        var test = request.Test as ImageDataset ?? throw new ArgumentException("robustness is measured on a labelled image dataset");
        var norm = AttackSuites.ParseNorm(request.Norm);
        var parseWarnings = new List<string>();
        var suites = request.Attacks.Select(a => AttackSuites.Parse(a, request.Eps, test.NumClasses,
            new SuiteDefaults(request.PresetsFollowNorm || AttackSuites.IsAutoAttack(a) ? norm : Norm.Linf, request.Version, request.Components, request.Seed),
            w => { parseWarnings.Add(w); request.Warn?.Invoke(w); })).ToList();
        var groups = request.CostlySubset is { } subset
            ? new[]
            {
                (Suites: suites.Where(s => s.AutoAttackVersion == null).ToList(), Data: test, Part: "attacks"),
                (Suites: suites.Where(s => s.AutoAttackVersion != null).ToList(), Data: subset > 0 ? test.Take(subset) : test, Part: "autoattack"),
            }
            : [(Suites: suites, Data: test, Part: "attacks")];
        var results = new List<EvaluationResult>();
        var scores = new List<(string, double)>();
        foreach (var (group, data, part) in groups)
        {
            // A final evaluation with nothing but AutoAttack (or nothing but presets) measures that group alone.
            if (group.Count == 0 && request.CostlySubset != null) continue;
            request.Log?.Invoke($"evaluating {data.Count} test images: {(group.Count == 0 ? "clean" : string.Join(", ", group.Select(s => s.Name)))}");
            var r = RobustnessEvaluator.Evaluate(request.Model, data, group, new EvaluationOptions
            {
                BatchSize = request.BatchSize, Device = request.Device, StatePath = request.StateFile?.Invoke(part), Fingerprint = request.Fingerprint,
                KeepAdversarial = request.KeepAdversarial, FirstIndex = request.FirstIndex, Log = request.Log, Warn = request.Warn,
                Progress = request.Progress, Cancel = request.Cancel,
            });
            var suffix = data.Count == test.Count ? "" : $"@{data.Count}";
            scores.Add(("clean" + suffix, r.CleanAccuracy));
            foreach (var s in r.Suites) scores.Add((s.Name + suffix, s.RobustAccuracy));
            if (r.Suites.Count > 1) scores.Add(("worst_case" + suffix, r.WorstCaseAccuracy));
            results.Add(r);
        }
        var merged = EvaluationTables.Merge(results);
        return new TaskEvaluation
        {
            Summary = EvaluationTables.Summary(results), Samples = EvaluationTables.Samples(merged, request.FirstIndex),
            Printed = EvaluationTables.Printed(merged), Notes = EvaluationTables.Notes(merged), Scores = scores,
            Warnings = parseWarnings.Concat(results.SelectMany(r => r.Warnings)).Distinct().ToList(), Document = EvaluationTables.Document(merged),
            Count = merged.Count, Robustness = merged,
        };
    }

    public TaskScores Evaluate(Module model, DataLoader data, Attack? attack, ulong seed)
    {
        var sw = Stopwatch.StartNew();
        var r = RobustnessEvaluator.Evaluate(model, data, attack == null ? [] : [attack]);
        var clean = r.Clean.Select(c => c ? 1.0 : 0.0).ToArray();
        var robust = attack == null ? null : r.Suite(attack.Name).Robust.Select((b, i) => b && r.Clean[i] ? 1.0 : 0.0).ToArray();
        return new TaskScores(r.CleanAccuracy, attack == null ? double.NaN : r.RobustAccuracy(attack.Name), clean, robust, sw.Elapsed.TotalSeconds);
    }
}
