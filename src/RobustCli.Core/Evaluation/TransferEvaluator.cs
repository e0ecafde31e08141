using System.Diagnostics;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Evaluation;

/// <summary>
/// Transfer (black-box) evaluation: adversarial examples crafted on a source model, or saved earlier
/// (robust eval --save-adv), answered by the target model. A suite's stages run in order on the source; a point
/// keeps the example of the first stage that fools the source, else the last stage's. A point counts as robust when
/// the target is right on it clean and on its example. The result has the shape of a white-box evaluation's (one
/// suite per attack, "broken by" naming the source's stage), so the same tables and files report it.
/// </summary>
public static class TransferEvaluator
{
    public static EvaluationResult Craft(Module source, Module target, ImageDataset data, IReadOnlyList<AttackSuite> suites, EvaluationOptions options)
    {
        var device = options.Device ?? Device.CPU;
        var (sourceWas, targetWas) = (source.Training, target.Training);
        source.Eval();
        target.Eval();
        try
        {
            using var scope = DisposeScope.Open();
            var (x, y) = RobustnessEvaluator.ToTensors(data, device);
            var clean = Predict(target, x, options.BatchSize, options.Cancel, (d, t) => options.Progress?.Invoke("clean", d, t));
            var results = new List<SuiteResult>();
            var examples = new Dictionary<string, float[]>();
            foreach (var suite in suites)
            {
                var sw = Stopwatch.StartNew();
                var n = data.Count;
                var adv = new Tensor[(n + options.BatchSize - 1) / options.BatchSize];
                var stageOf = new int[n];
                for (int start = 0, b = 0; start < n; start += options.BatchSize, b++)
                {
                    options.Cancel.ThrowIfCancellationRequested();
                    using var s = DisposeScope.Open();
                    var count = Math.Min(options.BatchSize, n - start);
                    var ids = Enumerable.Range(start, count).Select(i => (long)i).ToArray();
                    var (a, stage) = OnSource(source, suite, x.Narrow(0, start, count), y.Narrow(0, start, count), ids);
                    adv[b] = a.DetachFromScope();
                    Array.Copy(stage, 0, stageOf, start, count);
                    options.Progress?.Invoke(suite.Name, start + count, n);
                }
                using var all = torch.Cat(adv);
                foreach (var t in adv) t.Dispose();
                var state = Outcomes(suite, clean, Predict(target, all, options.BatchSize, options.Cancel, null), data.Labels, stageOf, all, x);
                state.StageSeconds[^1] = sw.Elapsed.TotalSeconds;
                results.Add(new SuiteResult(state, suite.AutoAttackVersion, suite.Eps, suite.Norm));
                if (options.KeepAdversarial) examples[suite.Name] = all.Contiguous().Cpu().To(DType.Float32).ToArray<float>();
                options.Log?.Invoke($"transfer {suite.Name}: target robust accuracy {results[^1].RobustAccuracy:P2}");
            }
            return new EvaluationResult(data.Labels, clean, results, 0, [])
            {
                Adversarial = options.KeepAdversarial ? examples : null,
                ImageShape = x.Shape,
            };
        }
        finally
        {
            if (sourceWas) source.Train();
            if (targetWas) target.Train();
        }
    }

    /// <summary>Saved examples (name → [N, C, H, W] in [0, 1]) answered by the target; <paramref name="data"/> gives the clean images and labels.</summary>
    public static EvaluationResult Saved(Module target, ImageDataset data, IReadOnlyDictionary<string, Tensor> examples, double eps, Norm norm, EvaluationOptions options)
    {
        var device = options.Device ?? Device.CPU;
        var was = target.Training;
        target.Eval();
        try
        {
            using var scope = DisposeScope.Open();
            var (x, _) = RobustnessEvaluator.ToTensors(data, device);
            var clean = Predict(target, x, options.BatchSize, options.Cancel, (d, t) => options.Progress?.Invoke("clean", d, t));
            var results = new List<SuiteResult>();
            foreach (var (name, t) in examples)
            {
                if (!t.Shape.SequenceEqual(x.Shape))
                    throw new InvalidDataException($"the saved examples '{name}' are shaped [{string.Join(", ", t.Shape)}], the data [{string.Join(", ", x.Shape)}]");
                var adv = t.To(device).To(x.DType);
                var suite = new AttackSuite(name, [new SavedExamples(name, eps, norm)]);
                var state = Outcomes(suite, clean, Predict(target, adv, options.BatchSize, options.Cancel, (d, n) => options.Progress?.Invoke(name, d, n)),
                    data.Labels, new int[data.Count], adv, x);
                results.Add(new SuiteResult(state, null, eps, norm));
                options.Log?.Invoke($"transfer {name}: target robust accuracy {results[^1].RobustAccuracy:P2}");
            }
            return new EvaluationResult(data.Labels, clean, results, 0, []) { ImageShape = x.Shape };
        }
        finally
        {
            if (was) target.Train();
        }
    }

    /// <summary>The suite's stages on the source: each point keeps the first stage's example that fools it, else the last one's.</summary>
    private static (Tensor Adversarial, int[] Stage) OnSource(Module source, AttackSuite suite, Tensor x, Tensor y, long[] ids)
    {
        var n = (int)x.Size(0);
        var result = x.Clone();
        var stage = new int[n];
        var pending = Enumerable.Range(0, n).ToList();
        for (var k = 0; k < suite.Stages.Count && pending.Count > 0; k++)
        {
            using var idx = torch.From(pending.Select(i => (long)i).ToArray()).To(x.Device);
            using var xs = x.IndexSelect(0, idx);
            using var ys = y.IndexSelect(0, idx);
            var adv = suite.Stages[k].Perturb(source, xs, ys, sampleIds: pending.Select(i => ids[i]).ToArray());
            result.IndexPut_(idx, adv);
            bool[] fooled;
            using (torch.NoGrad()) fooled = source.Forward(adv).Argmax(1).Ne(ys).ToArray<bool>();
            foreach (var i in pending) stage[i] = k;
            pending = pending.Where((_, j) => !fooled[j]).ToList();
        }
        return (result, stage);
    }

    private static SuiteState Outcomes(AttackSuite suite, int[] clean, int[] onAdversarial, long[] labels, int[] stageOf, Tensor adv, Tensor x)
    {
        var n = labels.Length;
        using var delta = adv - x;
        var norms = Attack.PerturbationNorm(delta, suite.Norm).Cpu().ToArray<float>();
        var state = new SuiteState
        {
            Name = suite.Name,
            Stages = suite.Stages.Select(s => s.Name).ToArray(),
            BrokenBy = new int[n],
            Prediction = onAdversarial,
            PerturbationNorm = norms,
            StageSeconds = new double[suite.Stages.Count],
            RobustAfterStage = new int[suite.Stages.Count],
            StagesDone = suite.Stages.Count,
            MinPixel = n == 0 ? 0 : adv.Min().Item(),
            MaxPixel = n == 0 ? 0 : adv.Max().Item(),
            NanCount = adv.IsNan().Sum().ItemLong(),
        };
        for (var i = 0; i < n; i++)
            state.BrokenBy[i] = clean[i] != labels[i] ? Outcome.Misclassified : onAdversarial[i] != labels[i] ? stageOf[i] : Outcome.Robust;
        var robust = state.BrokenBy.Count(b => b == Outcome.Robust);
        for (var k = 0; k < state.RobustAfterStage.Length; k++)
            state.RobustAfterStage[k] = robust + state.BrokenBy.Count(b => b > k);
        return state;
    }

    private static int[] Predict(Module model, Tensor x, int batchSize, CancellationToken cancel, Action<int, int>? progress)
    {
        var n = (int)x.Size(0);
        var pred = new int[n];
        for (var start = 0; start < n; start += batchSize)
        {
            cancel.ThrowIfCancellationRequested();
            using var s = DisposeScope.Open();
            using var _ = torch.NoGrad();
            var count = Math.Min(batchSize, n - start);
            var p = model.Forward(x.Narrow(0, start, count)).Argmax(1).ToArray<long>();
            for (var k = 0; k < count; k++) pred[start + k] = (int)p[k];
            progress?.Invoke(start + count, n);
        }
        return pred;
    }

    /// <summary>Stands for saved examples in a suite's stage list (they were crafted elsewhere).</summary>
    private sealed class SavedExamples(string name, double eps, Norm norm) : Attack(name, eps, norm)
    {
        protected override Tensor Run(Module model, Tensor x, Tensor y) => throw new InvalidOperationException("saved examples are not crafted here");
    }
}
