using System.Diagnostics;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Torch;
using RobustCli.Torch.nn;
using RobustCli.Torch.Serialization;

namespace RobustCli.Core.Evaluation;

/// <summary>How an evaluation runs: batch size, resumable state, what to keep, where to report.</summary>
public sealed class EvaluationOptions
{
    public int BatchSize { get; init; } = 256;
    public Device? Device { get; init; }
    /// <summary>A JSON file saved after each batch; an existing one for the same settings is resumed.</summary>
    public string? StatePath { get; init; }
    /// <summary>Names the model, data and settings; a state file with another fingerprint is refused.</summary>
    public string Fingerprint { get; init; } = "";
    /// <summary>Keep every suite's adversarial examples (for --save-adv); with a state file they are saved beside it.</summary>
    public bool KeepAdversarial { get; init; }
    /// <summary>Run AutoAttack's sanity checks (randomness, output range...) and our own.</summary>
    public bool RunChecks { get; init; } = true;
    public Action<string>? Log { get; init; }
    public Action<string>? Warn { get; init; }
    /// <summary>(what, done, total) after every batch: "clean" or "suite/stage".</summary>
    public Action<string, int, int>? Progress { get; init; }
    public CancellationToken Cancel { get; init; }
    /// <summary>
    /// Where the data starts in the full test set (a shard, robust eval --shard): the per-sample random draws are
    /// keyed by the full set's index, so a shard's samples meet exactly the noise they meet in an unsharded run.
    /// </summary>
    public int FirstIndex { get; init; }
    /// <summary>Longest wait between state saves when adversarial examples are kept (they are large); otherwise every batch.</summary>
    public TimeSpan AdversarialSaveInterval { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// Clean accuracy and robust accuracy under attack suites, as AutoAttack's run_standard_evaluation does it: a clean
/// pass marks misclassified points (non-robust, never attacked); then each attack of a suite runs, in batches, on
/// the points still robust, and every point it breaks leaves the pool. A suite's robust accuracy is thus the
/// per-sample worst case over its attacks; several suites (pgd20, autoattack) are independent, and the overall
/// worst case takes every suite into account. Random draws are per sample (<see cref="SampleNoise"/>), so neither
/// the batch size nor a resume changes any sample's outcome. The model is evaluated in eval mode and left in the
/// mode it was in.
/// </summary>
public static class RobustnessEvaluator
{
    /// <summary>The training loop's form: single attacks over a loader's data.</summary>
    public static EvaluationResult Evaluate(Module model, DataLoader loader, IReadOnlyList<Attack> attacks, Action<int, int>? progress = null) =>
        Evaluate(model, loader.Data as ImageDataset ?? throw new ArgumentException("robustness is measured on a labelled image dataset"),
            attacks.Select(AttackSuite.Single).ToList(), new EvaluationOptions
        {
            BatchSize = loader.BatchSize,
            Device = loader.Device,
            RunChecks = false,
            Progress = progress == null ? null : (_, done, total) => progress(done, total),
        });

    public static EvaluationResult Evaluate(Module model, ImageDataset data, IReadOnlyList<AttackSuite> suites, EvaluationOptions options)
    {
        var device = options.Device ?? Device.CPU;
        var warnings = new List<string>();
        EvaluationState state = LoadOrCreate(data, suites, options);
        void Warn(string m)
        {
            if (state.Warnings.Contains(m)) return;
            state.Warnings.Add(m);
            warnings.Add(m);
            options.Warn?.Invoke(m);
        }
        var wasTraining = model.Training;
        if (wasTraining && options.RunChecks)
            Warn("the model was in train mode; it is evaluated in eval mode (BatchNorm running statistics, no dropout), as attacks and accuracy must see the same model");
        model.Eval();
        var handlers = new List<(Attack, Action<string>)>();
        foreach (var a in suites.SelectMany(s => s.Stages))
        {
            Action<string> h = Warn;
            a.Warning += h;
            handlers.Add((a, h));
        }
        using var scope = DisposeScope.Open();
        var (xAll, yAll) = ToTensors(data, device);
        var shape = xAll.Shape;
        var size = data.ImageSize;
        float[]? clean = options.KeepAdversarial ? data.Pixels.Select(p => p / 255f).ToArray() : null;
        var adversarial = options.KeepAdversarial ? LoadAdversarial(options.StatePath, suites, clean!, state) : null;
        var lastSave = Stopwatch.StartNew();
        void Save(bool force)
        {
            if (options.StatePath == null) return;
            if (adversarial != null)
            {
                if (!force && lastSave.Elapsed < options.AdversarialSaveInterval) return;
                SaveAdversarial(options.StatePath, adversarial, shape);
            }
            state.Save(options.StatePath);
            lastSave.Restart();
        }
        try
        {
            if (options.RunChecks) RunChecks(model, xAll, Math.Min(options.BatchSize, data.Count), suites, Warn);
            if (state.CleanPrediction == null)
            {
                var sw = Stopwatch.StartNew();
                var pred = new int[data.Count];
                for (var start = 0; start < data.Count; start += options.BatchSize)
                {
                    options.Cancel.ThrowIfCancellationRequested();
                    using var s = DisposeScope.Open();
                    var count = Math.Min(options.BatchSize, data.Count - start);
                    using var _ = torch.NoGrad();
                    var p = model.Forward(xAll.Narrow(0, start, count)).Argmax(1).ToArray<long>();
                    for (var k = 0; k < count; k++) pred[start + k] = (int)p[k];
                    options.Progress?.Invoke("clean", start + count, data.Count);
                }
                state.CleanPrediction = pred;
                state.CleanSeconds = sw.Elapsed.TotalSeconds;
                foreach (var suite in state.Suites)
                    for (var i = 0; i < data.Count; i++)
                    {
                        var ok = pred[i] == data.Labels[i];
                        suite.BrokenBy[i] = ok ? Outcome.Robust : Outcome.Misclassified;
                        suite.Prediction[i] = pred[i];
                    }
                Save(force: true);
            }
            var cleanCorrect = state.CleanPrediction.Where((p, i) => p == data.Labels[i]).Count();
            options.Log?.Invoke($"clean accuracy: {Percent(cleanCorrect, data.Count)} ({cleanCorrect}/{data.Count})");
            for (var si = 0; si < suites.Count; si++)
                RunSuite(model, suites[si], state.Suites[si], xAll, yAll, size, adversarial?[suites[si].Name], options, Save);
            Save(force: true);
            if (options.RunChecks)
                foreach (var (suite, s) in suites.Zip(state.Suites))
                    foreach (var w in FinalWarnings(suite.Name, suite.AutoAttackVersion, suite.Eps, suite.Norm, s, data.Count)) Warn(w);
        }
        finally
        {
            foreach (var (a, h) in handlers) a.Warning -= h;
            if (wasTraining) model.Train();
        }
        return new EvaluationResult(data.Labels, state.CleanPrediction!,
            suites.Zip(state.Suites, (suite, s) => new SuiteResult(s, suite.AutoAttackVersion, suite.Eps, suite.Norm)).ToList(),
            state.CleanSeconds, state.Warnings.ToList())
        {
            Adversarial = adversarial,
            ImageShape = shape,
        };
    }

    private static void RunSuite(Module model, AttackSuite suite, SuiteState s, Tensor xAll, Tensor yAll, int size, float[]? adversarial,
        EvaluationOptions options, Action<bool> save)
    {
        var n = s.BrokenBy.Length;
        for (var k = s.StagesDone; k < suite.Stages.Count; k++)
        {
            var attack = suite.Stages[k];
            if (s.Queue == null)
            {
                s.Queue = Enumerable.Range(0, n).Where(i => s.BrokenBy[i] == Outcome.Robust).ToArray();
                s.Cursor = 0;
            }
            var what = suite.Stages.Count == 1 ? suite.Name : $"{suite.Name}/{attack.Name}";
            options.Progress?.Invoke(what, s.Cursor, s.Queue.Length);
            // Within a batch, the attack's own steps move the count, so a long attack shows its pace and ETA.
            var reported = s.Cursor;
            var batchCount = 0;
            Action<double> onStep = f =>
            {
                var done = s.Cursor + (int)(batchCount * Math.Clamp(f, 0, 1));
                if (done <= reported || done >= s.Cursor + batchCount) return;
                reported = done;
                options.Progress?.Invoke(what, done, s.Queue.Length);
            };
            if (options.Progress != null) attack.Progressed += onStep;
            try
            {
                while (s.Cursor < s.Queue.Length)
                {
                    options.Cancel.ThrowIfCancellationRequested();
                    var sw = Stopwatch.StartNew();
                    var count = Math.Min(options.BatchSize, s.Queue.Length - s.Cursor);
                    batchCount = count;
                    var ids = s.Queue.AsSpan(s.Cursor, count).ToArray().Select(i => (long)i).ToArray();
                    using (var scope = DisposeScope.Open())
                    {
                        var index = torch.From(ids).To(xAll.Device);
                        var x = xAll.IndexSelect(0, index);
                        var y = yAll.IndexSelect(0, index);
                        var adv = attack.Perturb(model, x, y, sampleIds: options.FirstIndex == 0 ? ids : ids.Select(i => i + options.FirstIndex).ToArray());
                        using var _ = torch.NoGrad();
                        var pred = model.Forward(adv).Argmax(1).ToArray<long>();
                        var norms = Attack.PerturbationNorm(adv - x, suite.Norm).ToArray<float>();
                        var labels = y.ToArray<long>();
                        var broken = Enumerable.Range(0, count).Where(j => pred[j] != labels[j]).ToList();
                        if (broken.Count > 0)
                        {
                            var rows = torch.From(broken.Select(j => (long)j).ToArray()).To(adv.Device);
                            var advBroken = adv.IndexSelect(0, rows);
                            s.MinPixel = Math.Min(s.MinPixel, advBroken.Min().Item());
                            s.MaxPixel = Math.Max(s.MaxPixel, advBroken.Max().Item());
                            s.NanCount += advBroken.IsNan().Sum().ItemLong();
                            var host = adversarial == null ? null : advBroken.Contiguous().Cpu().To(DType.Float32).ToArray<float>();
                            for (var b = 0; b < broken.Count; b++)
                            {
                                var j = broken[b];
                                var i = (int)ids[j];
                                s.BrokenBy[i] = k;
                                s.Prediction[i] = (int)pred[j];
                                s.PerturbationNorm[i] = norms[j];
                                if (host != null) Array.Copy(host, (long)b * size, adversarial!, (long)i * size, size);
                            }
                        }
                    }
                    s.Cursor += count;
                    reported = s.Cursor;
                    s.StageSeconds[k] += sw.Elapsed.TotalSeconds;
                    options.Progress?.Invoke(what, s.Cursor, s.Queue.Length);
                    save(false);
                }
            }
            finally
            {
                attack.Progressed -= onStep;
            }
            s.RobustAfterStage[k] = s.BrokenBy.Count(b => b == Outcome.Robust);
            options.Log?.Invoke($"robust accuracy after {what}: {Percent(s.RobustAfterStage[k], n)} ({s.StageSeconds[k]:F1} s on {s.Queue.Length} points)");
            s.StagesDone = k + 1;
            s.Queue = null;
            s.Cursor = 0;
            save(true);
            if (s.RobustAfterStage[k] == 0)
            {
                // Nothing left to attack: the later stages keep their zero counts.
                for (var j = k + 1; j < suite.Stages.Count; j++) s.RobustAfterStage[j] = 0;
                s.StagesDone = suite.Stages.Count;
                save(true);
                break;
            }
        }
    }

    private static string Percent(int k, int n) => n == 0 ? "n/a" : (100.0 * k / n).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) + "%";

    /// <summary>The whole evaluation set as one tensor on the device: attacks pick their batches from it by index.</summary>
    internal static (Tensor X, Tensor Y) ToTensors(ImageDataset data, Device device)
    {
        var pixels = new float[data.Pixels.Length];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = data.Pixels[i] / 255f;
        using var x = torch.From<float>(pixels, [data.Count, data.Channels, data.Height, data.Width]);
        using var y = torch.From((long[])data.Labels.Clone());
        return (x.To(device), y.To(device));
    }

    private static EvaluationState LoadOrCreate(ImageDataset data, IReadOnlyList<AttackSuite> suites, EvaluationOptions options)
    {
        var fingerprint = $"{options.Fingerprint}|data={data.Name}:{data.Count}:{Checksum(data)}{(options.FirstIndex != 0 ? "@" + options.FirstIndex : "")}|" + string.Join("|", suites.Select(s => s.Describe() + ":seed=" + s.Stages[0].Seed));
        if (options.StatePath != null && EvaluationState.Load(options.StatePath) is { } saved)
        {
            if (saved.Fingerprint != fingerprint)
                throw new InvalidDataException($"{options.StatePath}: this evaluation state was made for other settings (model, data, eps, attacks or seed):\n  saved: {saved.Fingerprint}\n  now:   {fingerprint}\nuse another --state file, or delete it to start afresh");
            options.Log?.Invoke($"resuming from {options.StatePath}");
            return saved;
        }
        return new EvaluationState
        {
            Fingerprint = fingerprint,
            Count = data.Count,
            Labels = data.Labels,
            Suites = suites.Select(s => new SuiteState
            {
                Name = s.Name,
                Stages = s.Stages.Select(a => a.Name).ToArray(),
                BrokenBy = Enumerable.Repeat(Outcome.Pending, data.Count).ToArray(),
                Prediction = new int[data.Count],
                PerturbationNorm = new float[data.Count],
                StageSeconds = new double[s.Stages.Count],
                RobustAfterStage = new int[s.Stages.Count],
            }).ToList(),
        };
    }

    /// <summary>A cheap content hash of the evaluation data (FNV-1a over labels and a stride of pixels).</summary>
    private static string Checksum(ImageDataset data)
    {
        var h = 1469598103934665603UL;
        foreach (var y in data.Labels) h = (h ^ (ulong)y) * 1099511628211UL;
        var step = Math.Max(1, data.Pixels.Length / 65536);
        for (var i = 0; i < data.Pixels.Length; i += step) h = (h ^ data.Pixels[i]) * 1099511628211UL;
        return h.ToString("x16");
    }

    private static string AdversarialPath(string statePath) => statePath + ".adv.safetensors";

    private static Dictionary<string, float[]> LoadAdversarial(string? statePath, IReadOnlyList<AttackSuite> suites, float[] clean, EvaluationState state)
    {
        var result = suites.ToDictionary(s => s.Name, _ => (float[])clean.Clone());
        var saved = new HashSet<string>();
        if (statePath != null && File.Exists(AdversarialPath(statePath)))
        {
            var (tensors, _) = SafeTensors.Load(AdversarialPath(statePath));
            using (tensors)
                foreach (var s in suites)
                    if (tensors.ContainsKey(s.Name) && tensors[s.Name].NumEl == clean.Length)
                    {
                        result[s.Name] = tensors[s.Name].ToArray<float>();
                        saved.Add(s.Name);
                    }
        }
        // Points broken before this process started need their saved examples; without them --save-adv would lie.
        var missing = state.Suites.Where(s => !saved.Contains(s.Name) && s.BrokenBy.Any(b => b >= 0)).Select(s => s.Name).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"{statePath}: the saved evaluation kept no adversarial examples for {string.Join(", ", missing)} (it ran without --save-adv); use another --state file to save them");
        return result;
    }

    private static void SaveAdversarial(string statePath, Dictionary<string, float[]> adversarial, long[] shape)
    {
        using var scope = DisposeScope.Open();
        SafeTensors.Save(AdversarialPath(statePath), adversarial.Select(kv => new KeyValuePair<string, Tensor>(kv.Key, torch.From<float>(kv.Value, shape))));
    }

    /// <summary>
    /// AutoAttack's checks before attacking (checks.py), as warnings: a randomized forward pass, outputs that look
    /// like probabilities, too many target classes; and ours: inputs outside [0, 1] (normalization outside the model).
    /// </summary>
    private static void RunChecks(Module model, Tensor xAll, int batch, IReadOnlyList<AttackSuite> suites, Action<string> warn)
    {
        if (batch == 0) return;
        using var scope = DisposeScope.Open();
        using var _ = torch.NoGrad();
        var x = xAll.Narrow(0, 0, batch);
        var lo = x.Min().Item();
        var hi = x.Max().Item();
        if (lo < 0 || hi > 1)
            warn($"inputs range over [{lo:G4}, {hi:G4}], not [0, 1]: normalization seems to be applied outside the model, so eps is not in pixel units; put it inside the model (--normalize auto)");
        var logits = model.Forward(x);
        if (!suites.Any(s => s.AutoAttackVersion == "rand"))
        {
            var outputs = Enumerable.Range(0, 4).Select(_ => model.Forward(x)).Prepend(logits).ToList();
            var correct = outputs.Select(o => o.Argmax(1)).ToList();
            var changed = correct.Skip(1).Any(c => !c.Eq(correct[0]).All().Item<bool>());
            var unit = outputs.Select(o => o / o.Norm(2, [1], keepDim: true).Clamp(min: 1e-12)).ToList();
            var maxDiff = unit.Skip(1).Select(u => (u - unit[0]).Norm(2, [1]).Max().Item()).DefaultIfEmpty(0).Max();
            if (changed || maxDiff > 1e-4)
                warn($"the forward pass is randomized (outputs change between identical passes, up to {maxDiff:G3}): use AutoAttack's rand version (--version rand), which averages gradients over 20 passes");
        }
        var inUnit = logits.Min().Item() >= -1e-5 && logits.Max().Item() <= 1 + 1e-5;
        var sumsToOne = (logits.Sum(1) - 1).Abs().Max().Item() <= 1e-5;
        if (inUnit && sumsToOne)
            warn("the model's outputs look like probabilities (in [0, 1], summing to 1); the attacks' losses expect logits, remove the final softmax");
    }

    /// <summary>
    /// After the attacks: Square beating the white-box attacks, and the budget and pixel range of the points returned.
    /// Public because they are facts of the per-sample outcome: a merge of shards recounts them over all the points.
    /// </summary>
    public static IEnumerable<string> FinalWarnings(string name, string? autoAttackVersion, double eps, Norm norm, SuiteState s, int n)
    {
        var square = Array.FindIndex(s.Stages, st => st.StartsWith("square", StringComparison.Ordinal));
        if (autoAttackVersion != null && square > 0 && s.StagesDone == s.Stages.Length)
        {
            var whiteBox = s.RobustAfterStage.Where((_, k) => k != square).DefaultIfEmpty(n).Min();
            if (n > 0 && (whiteBox - s.RobustAfterStage[square]) / (double)n > 0.002)
                yield return $"{name}: Square broke {whiteBox - s.RobustAfterStage[square]} points that every white-box attack missed: the gradients may be masked and the robustness overestimated";
        }
        // Points not broken keep x, whose norm is 0: the largest norm is the largest among the broken points.
        var broken = s.PerturbationNorm.DefaultIfEmpty(0f).Max();
        if (broken > eps + 1e-5)
            yield return $"{name}: a returned point is {broken:G6} from its image in {norm}, more than eps {eps:G6}";
        if (s.NanCount > 0) yield return $"{name}: {s.NanCount} NaN values in the adversarial examples";
        if (s.MinPixel < -1e-6 || s.MaxPixel > 1 + 1e-6)
            yield return $"{name}: adversarial pixels range over [{s.MinPixel:G6}, {s.MaxPixel:G6}], outside [0, 1]";
    }
}
