using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Evaluation;

/// <summary>Per-sample outcome of an evaluation: clean correctness and, per attack, whether the sample withstood it.</summary>
public sealed class EvaluationResult(int count, bool[] clean, IReadOnlyDictionary<string, bool[]> robust, IReadOnlyDictionary<string, double> seconds)
{
    public int Count { get; } = count;
    public bool[] Clean { get; } = clean;
    public IReadOnlyDictionary<string, bool[]> Robust { get; } = robust;
    public IReadOnlyDictionary<string, double> Seconds { get; } = seconds;

    public double CleanAccuracy => Count == 0 ? double.NaN : Clean.Count(c => c) / (double)Count;
    public double RobustAccuracy(string attack) => Count == 0 ? double.NaN : Robust[attack].Count(c => c) / (double)Count;

    /// <summary>The per-sample worst case over every attack: robust only if clean-correct and no attack broke it.</summary>
    public double WorstCaseAccuracy
    {
        get
        {
            if (Count == 0) return double.NaN;
            var n = 0;
            for (var i = 0; i < Count; i++)
                if (Clean[i] && Robust.Values.All(r => r[i])) n++;
            return n / (double)Count;
        }
    }
}

/// <summary>
/// Clean accuracy and robust accuracy under each attack. Points the model already misclassifies count as
/// non-robust and are not attacked. The model is evaluated in eval mode and left in the mode it was in.
/// </summary>
public static class RobustnessEvaluator
{
    public static EvaluationResult Evaluate(Module model, DataLoader loader, IReadOnlyList<Attack> attacks, Action<int, int>? progress = null)
    {
        var wasTraining = model.Training;
        model.Eval();
        var clean = new List<bool>();
        var robust = attacks.ToDictionary(a => a.Name, _ => new List<bool>());
        var seconds = attacks.ToDictionary(a => a.Name, _ => 0.0);
        var done = 0;
        try
        {
            foreach (var batch in loader.Epoch(0))
            {
                using var b = batch;
                using var scope = DisposeScope.Open();
                Tensor correct;
                using (torch.NoGrad()) correct = model.Forward(b.X).Argmax(1).Eq(b.Y);
                var cleanOk = correct.ToArray<bool>();
                clean.AddRange(cleanOk);
                var idx = Enumerable.Range(0, cleanOk.Length).Where(i => cleanOk[i]).Select(i => (long)i).ToArray();
                foreach (var attack in attacks)
                {
                    var ok = new bool[cleanOk.Length];
                    if (idx.Length > 0)
                    {
                        var sw = System.Diagnostics.Stopwatch.StartNew();
                        var sel = torch.From(idx).To(b.X.Device);
                        var x = b.X.IndexSelect(0, sel);
                        var y = b.Y.IndexSelect(0, sel);
                        var adv = attack.Perturb(model, x, y);
                        bool[] held;
                        using (torch.NoGrad()) held = model.Forward(adv).Argmax(1).Eq(y).ToArray<bool>();
                        for (var k = 0; k < idx.Length; k++) ok[idx[k]] = held[k];
                        seconds[attack.Name] += sw.Elapsed.TotalSeconds;
                    }
                    robust[attack.Name].AddRange(ok);
                }
                done += b.Count;
                progress?.Invoke(done, loader.Data.Count);
            }
        }
        finally
        {
            if (wasTraining) model.Train();
        }
        return new EvaluationResult(clean.Count, clean.ToArray(), robust.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray()), seconds);
    }
}
