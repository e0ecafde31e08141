using System.Globalization;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Evaluation;
using RobustCli.Core.Models;
using RobustCli.Core.Registry;
using RobustCli.Core.Tasks;
using RobustCli.Experiments.Config;
using RobustCli.Experiments.Runs;
using RobustCli.Torch;
using RobustCli.Torch.Serialization;

namespace RobustCli.Experiments.Jobs;

/// <summary>What to evaluate: a checkpoint (ours, or a PyTorch state dict with an architecture named) and the attacks.</summary>
public sealed record EvaluationRequest(string Checkpoint, IReadOnlyList<string> Attacks, double? Eps, int N, int BatchSize,
    string? Dataset, string? Arch, string? DataPath, string Device, string? Normalize)
{
    /// <summary>linf or l2, for autoattack and presets without a norm suffix.</summary>
    public string Norm { get; init; } = "linf";
    public string Version { get; init; } = "standard";
    public IReadOnlyList<string> Components { get; init; } = [];
    public ulong Seed { get; init; }
    public string? StatePath { get; init; }
    public bool KeepAdversarial { get; init; }
    public Action<string>? Log { get; init; }
    public Action<string>? Warn { get; init; }
    public Action<string, int, int>? Progress { get; init; }
    public CancellationToken Cancel { get; init; }
    /// <summary>A named output of a model with several (an SoE's expert0, ensemble); null: its primary output.</summary>
    public string? Output { get; init; }
    /// <summary>Transfer: craft the attacks on this run's (or checkpoint's) model, or read saved examples (--save-adv), and answer them with the evaluated model.</summary>
    public string? TransferFrom { get; init; }
    /// <summary>Evaluate one contiguous share of the points (after --n); null: all of them.</summary>
    public Shard? Shard { get; init; }
    /// <summary>Levels the task is measured at (--sigma: a denoiser's noise levels); null: the task's own.</summary>
    public IReadOnlyList<double>? Levels { get; init; }
    /// <summary>A folder for pictures of what was measured (a denoiser's strips; --save-adv with a task that writes pictures).</summary>
    public string? SaveFolder { get; init; }
    /// <summary>For a run folder: "best" (checkpoints/best.pt, else last.pt) or "last" (the model the run's own final evaluation measured).</summary>
    public string Which { get; init; } = "best";
    /// <summary>Evaluate weights that hold NaN or infinite values (with a warning) instead of refusing them.</summary>
    public bool AllowNonFinite { get; init; }
}

/// <summary>What an evaluation measured (the task's <see cref="TaskEvaluation"/>) and on what.</summary>
public sealed record EvaluationReport(string CheckpointFile, string Dataset, string Arch, double Eps, TaskEvaluation Evaluation, IReadOnlyList<AttackSuite> Suites)
{
    /// <summary>The per-sample robust accuracy of an evaluation of a task that measures one (classification).</summary>
    public EvaluationResult Result => Evaluation.Robustness ?? throw new InvalidOperationException("this evaluation measured no robust accuracy");
    /// <summary>The task measured a robust accuracy: its eps, curves, shards and adversarial tensors apply.</summary>
    public bool IsRobustness => Evaluation.Robustness != null;
    /// <summary>--attack hypocritical: the hypocritical risk on the misclassified points, one per spec.</summary>
    public IReadOnlyList<HypocriticalResult> Hypocritical { get; init; } = [];
    /// <summary>With --shard: the shard, where its points start and how many the whole evaluation has.</summary>
    public Shard? Shard { get; init; }
    public int FirstIndex { get; init; }
    public int TotalCount { get; init; }
    /// <summary>Which of a run's checkpoints was measured: "best" or "last"; null for a weights file named directly.</summary>
    public string? Which { get; init; }
}

/// <summary>A loaded model (and the view of it evaluated) with its test points and budget; disposing frees the model.</summary>
public sealed record LoadedEvaluation(Classifier Model, RobustCli.Torch.nn.Module Evaluated, ImageDataset Test, double Eps, int NumClasses, Device Device,
    string File, string Arch, string Dataset, IReadOnlyList<string> Warnings) : IDisposable
{
    /// <summary>What a resumable evaluation's fingerprint names: architecture, its options and the output evaluated.</summary>
    public string Identity { get; init; } = "";
    /// <summary>Where <see cref="Test"/> starts in the evaluated points (a shard's first index; 0 otherwise).</summary>
    public int FirstIndex { get; init; }
    /// <summary>How many points the whole evaluation has (the shards' total).</summary>
    public int TotalCount { get; init; }
    public string Normalize { get; init; } = "";
    /// <summary>Which of a run's checkpoints this is ("best", "last"), or null for a weights file.</summary>
    public string? Which { get; init; }
    public void Dispose() => Model.Dispose();
}

/// <summary>
/// robust eval: loads a model from a run folder (its config names architecture, dataset and eps) or from a weights
/// file (ours or PyTorch's: RobustBench's prefix stripping, normalization buffers and key names are handled), and
/// measures clean accuracy, each suite's robust accuracy (AutoAttack's per-sample worst case over its attacks) and
/// the worst case over all.
/// </summary>
public static class EvaluationJob
{
    public static EvaluationReport Run(EvaluationRequest req, string? repoRoot)
    {
        // Located once; a path that does not exist is reported after the flags are checked, as it always was.
        (string File, RunConfig? Config)? found = Directory.Exists(req.Checkpoint) || File.Exists(req.Checkpoint) ? Locate(req.Checkpoint, req.Which) : null;
        var task = TaskOf(found?.Config, req.Arch);
        if (req.Levels is { Count: > 0 } && task.Levels == null)
            throw new ConfigException($"--sigma: noise levels are for denoisers and other tasks measured at levels ({string.Join(", ", TasksWithLevels())}); this model's task is {task.Name}");
        if (!task.MeasuresRobustAccuracy) return RunTask(req, repoRoot, task, found ?? Locate(req.Checkpoint, req.Which));
        if (req.SaveFolder != null)
            throw new ConfigException($"--save-adv {req.SaveFolder}: name a .pt, .pth or .safetensors file for the adversarial examples");
        // Flags are checked before any file is read, so a typo is reported as such.
        var defaults = SuiteDefaults(req.Norm, req.Version, req.Components, req.Seed);
        if (req.TransferFrom != null && req.StatePath != null)
            throw new ConfigException("--state: a transfer evaluation (--transfer-from) is not resumable; drop --state");
        var warnings = new List<string>();
        // The attacks are checked before the weights are read, so a typo in one is reported as such.
        var located = found ?? Locate(req.Checkpoint, req.Which);
        var datasetName = req.Dataset ?? located.Config?.Data.Name
            ?? throw new ConfigException($"--checkpoint {req.Checkpoint}: no run config beside it; name the data with --dataset");
        _ = req.Arch ?? located.Config?.Model.Arch
            ?? throw new ConfigException($"--checkpoint {req.Checkpoint}: no run config beside it; name the architecture with --arch ({string.Join(", ", ModelFactory.Names)})");
        var eps = req.Eps ?? located.Config?.Attack.Eps
            ?? throw new ConfigException($"--checkpoint {req.Checkpoint}: no run config beside it; give the budget with --eps (e.g. 8/255)");
        // Hypocritical perturbations are measured on the misclassified points, apart from the robust accuracies.
        var hypocritical = req.Attacks.Where(IsHypocritical).Select(spec =>
        {
            try { return (spec, Attack: AttackPresets.Create(spec, eps, null, spec)); }
            catch (FormatException e) { throw new ConfigException($"--attack {spec}: {e.Message}"); }
        }).ToList();
        if (req.Shard != null && (hypocritical.Count > 0 || req.TransferFrom != null))
            throw new ConfigException($"--shard: {(hypocritical.Count > 0 ? "hypocritical risk" : "a transfer evaluation")} is not sharded; run it whole, or drop --shard");
        if (hypocritical.Count > 0 && req.TransferFrom != null)
            throw new ConfigException("--attack hypocritical: hypocritical perturbations are crafted on the evaluated model itself; drop --transfer-from or the attack");
        var specs = (req.Attacks.Count > 0 ? req.Attacks : task.DefaultAttacks).Where(a => !IsHypocritical(a)).ToList();
        // Parsed now to check the attacks before any weights are read; the evaluation parses them again and says their warnings.
        var parseWarnings = new List<string>();
        var suites = Suites(specs, eps, DatasetCatalog.Get(datasetName).NumClasses, defaults, parseWarnings.Add);
        using var loaded = Load(req, repoRoot, located, eps, warnings);
        var (evaluated, test, device) = (loaded.Evaluated, loaded.Test, loaded.Device);
        var shown = req.Output != null ? "its output " + req.Output : loaded.Arch;
        // What an attack needs of the model (an expert selection, probe outputs) is asked of the model as evaluated: an
        // --output view of one expert no longer selects.
        foreach (var a in suites.SelectMany(s => s.Stages))
            if (ModelCapability.Missing(a.Requires, evaluated) is { } missing)
                throw new ConfigException($"--attack {a.Name}: it {missing.Need("attacks", shown)}");
        foreach (var w in warnings) req.Warn?.Invoke(w);
        // A transfer evaluation runs the parsed suites itself: their warnings are said here.
        if (req.TransferFrom != null)
            foreach (var w in parseWarnings)
            {
                req.Warn?.Invoke(w);
                warnings.Add(w);
            }
        var options = new EvaluationOptions
        {
            BatchSize = req.BatchSize,
            Device = device,
            StatePath = req.StatePath,
            Fingerprint = Fingerprint(loaded.File, loaded.Identity, eps, loaded.Normalize),
            KeepAdversarial = req.KeepAdversarial,
            FirstIndex = loaded.FirstIndex,
            Log = req.Log,
            Warn = req.Warn,
            Progress = req.Progress,
            Cancel = req.Cancel,
        };
        EvaluationResult result;
        if (req.TransferFrom == null)
        {
            // The task's own evaluation, as a run's final evaluation measures it.
            var measured = task.Measure(new TaskEvaluationRequest(evaluated, test, specs, eps)
            {
                Norm = req.Norm, Version = req.Version, Components = req.Components, Seed = req.Seed, BatchSize = req.BatchSize, Device = device,
                StateFile = req.StatePath == null ? null : _ => req.StatePath, Fingerprint = options.Fingerprint, FirstIndex = loaded.FirstIndex,
                KeepAdversarial = req.KeepAdversarial, Log = req.Log, Warn = req.Warn, Progress = req.Progress, Cancel = req.Cancel,
            });
            result = measured.Robustness ?? throw new InvalidOperationException($"the {task.Name} task measured no robust accuracy");
            warnings.AddRange(measured.Warnings);
        }
        else if (SavedExamples(req.TransferFrom) is { } saved)
        {
            using (saved)
            {
                req.Log?.Invoke($"transfer: answering the adversarial examples saved in {req.TransferFrom}");
                test = CheckSavedLabels(req.TransferFrom, saved, test);
                var examples = saved.Where(kv => kv.Key != "labels" && !kv.Key.EndsWith("_robust", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);
                result = TransferEvaluator.Saved(evaluated, test, examples, eps, AttackSuites.ParseNorm(req.Norm), options);
            }
        }
        else
        {
            var sourceWarnings = new List<string>();
            var source = LoadModel(req.TransferFrom, Locate(req.TransferFrom), req.Dataset ?? loaded.Dataset, null, null, sourceWarnings, req.Log, req.AllowNonFinite);
            using var sourceModel = source.Model;
            if (source.Dataset != loaded.Dataset)
                throw new ConfigException($"--transfer-from {req.TransferFrom}: that model was trained on {source.Dataset}, this one on {loaded.Dataset}");
            foreach (var w in sourceWarnings) req.Warn?.Invoke("source model: " + w);
            sourceModel.To(device);
            req.Log?.Invoke($"transfer: crafting on {source.File} ({source.Arch}), answering with {loaded.File} ({loaded.Arch}{(req.Output != null ? "/" + req.Output : "")})");
            result = TransferEvaluator.Craft(sourceModel, evaluated, test, suites, options);
        }
        var all = warnings.Concat(result.Warnings).Distinct().ToList();
        var risks = hypocritical.Select(h =>
        {
            if (!h.Attack.HasOwnSeed) h.Attack.Seed = req.Seed;
            var r = HypocriticalEvaluator.Evaluate(evaluated, test, h.Attack, req.BatchSize, device, req.Progress);
            req.Log?.Invoke($"hypocritical risk ({h.spec}): {r.MadeCorrect} of {r.Misclassified} misclassified points made to look correct ({r.Seconds:F1} s)");
            return r;
        }).ToList();
        var final = new EvaluationResult(result.Labels, result.CleanPrediction, result.Suites, result.CleanSeconds, all)
        {
            Adversarial = result.Adversarial,
            ImageShape = result.ImageShape,
        };
        return new EvaluationReport(loaded.File, loaded.Dataset, loaded.Arch + (req.Output != null ? "/" + req.Output : ""), eps, Tabulate(final, risks, loaded.FirstIndex, eps), suites)
        {
            Hypocritical = risks, Shard = req.Shard, FirstIndex = loaded.FirstIndex, TotalCount = loaded.TotalCount, Which = loaded.Which,
        };
    }

    /// <summary>
    /// A robustness evaluation as its tables (the same rows a run's final evaluation writes), with the risks measured
    /// beside it (hypocritical_risk rows, and their lines under the table).
    /// </summary>
    public static TaskEvaluation Tabulate(EvaluationResult r, IReadOnlyList<HypocriticalResult> risks, int firstIndex, double eps)
    {
        var printed = EvaluationTables.Printed(r);
        string Pct(double v) => double.IsFinite(v) ? (100 * v).ToString("F2", CultureInfo.InvariantCulture) + "%" : "-";
        return new TaskEvaluation
        {
            Summary = EvaluationTables.Summary([r], risks.Select(h => (RiskName(h.Name), h.Risk, h.Seconds, h.Count)).ToList()),
            Samples = EvaluationTables.Samples(r, firstIndex),
            // Not a robust accuracy: the share of the misclassified points an attacker made look correct.
            Printed = printed with { Rows = [.. printed.Rows, .. risks.Select(h => EvaluationTables.PrintedRisk(RiskName(h.Name), h.Risk, h.Misclassified, h.Seconds))] },
            Notes = [.. EvaluationTables.Notes(r), .. risks.Select(h => string.Create(CultureInfo.InvariantCulture,
                $"{h.Name}: accuracy shown after hypocritical perturbations {Pct(h.AccuracyAfter)} (clean {Pct(h.CleanAccuracy)}); largest perturbation {h.MaxPerturbation:G6} (eps {eps:G6}), pixels in [{(double.IsFinite(h.MinPixel) ? h.MinPixel : 0):G4}, {(double.IsFinite(h.MaxPixel) ? h.MaxPixel : 0):G4}]"))],
            Warnings = r.Warnings, Document = EvaluationTables.Document(r), Count = r.Count, Robustness = r,
            Scores = [("clean", r.CleanAccuracy), .. r.Suites.Select(x => (x.Name, x.RobustAccuracy)), .. r.Suites.Count > 1 ? [("worst_case", r.WorstCaseAccuracy)] : Array.Empty<(string, double)>()],
        };
    }

    /// <summary>The task a checkpoint was trained for: its run's, else the first task of the architecture named (--arch), else classification.</summary>
    public static ITask TaskOf(string checkpoint, string? arch, string which = "best") =>
        TaskOf(Directory.Exists(checkpoint) || File.Exists(checkpoint) ? Locate(checkpoint, which).Config : null, arch);

    private static ITask TaskOf(RunConfig? config, string? arch)
    {
        if (config != null) return ComponentFactory.Task(config.Task);
        var name = arch != null && ModelFactory.Registry.TryGet(arch, out var r) ? r.Tasks[0] : ClassificationTask.Registration.Name;
        var registration = Tasks.Registry.Get(name);
        return registration.Create(new TaskBuild(registration.Options.Defaults));
    }

    private static IEnumerable<string> TasksWithLevels() =>
        Tasks.Registry.All.Where(r => r.Create(new TaskBuild(r.Options.Defaults)).Levels != null).Select(r => "task " + r.Name);

    /// <summary>
    /// robust eval on a model of a task whose evaluation is its own (a denoiser's PSNR and SSIM, a toy task's score):
    /// the model of a run folder (its config names architecture, task and test data) or a weights file (ours or
    /// PyTorch's, e.g. the ObsAtk code's {'state_dict': ...}; what its registration reads off the weights, such as a
    /// DnCNN's depth, width and channels), measured by <see cref="ITask.Measure"/>.
    /// </summary>
    private static EvaluationReport RunTask(EvaluationRequest req, string? repoRoot, ITask task, (string File, RunConfig? Config) located)
    {
        foreach (var (given, flag) in new[] { (req.TransferFrom != null, "--transfer-from"), (req.Shard != null, "--shard"), (req.StatePath != null, "--state"), (req.Output != null, "--output") })
            if (given) throw new ConfigException($"{flag}: the {task.Name} task's evaluation is not a robust accuracy; {flag} applies to classifiers");
        if (req.Attacks.FirstOrDefault(IsHypocritical) is { } risk)
            throw new ConfigException($"--attack {risk}: measures a classifier's hypocritical risk; the {task.Name} task has none");
        var (file, config) = located;
        var arch = req.Arch ?? config?.Model.Arch
            ?? throw new ConfigException($"--checkpoint {req.Checkpoint}: no run config beside it; name the architecture with --arch ({string.Join(", ", ModelFactory.Registry.All.Where(m => m.Tasks.Contains(task.Name)).Select(m => m.Name))})");
        ModelRegistration registration;
        try { registration = ModelFactory.Get(arch); }
        catch (FormatException e) { throw new ConfigException($"--arch {arch}: {e.Message}"); }
        if (!registration.Tasks.Contains(task.Name))
            throw new ConfigException($"--arch {arch}: not a model for the {task.Name} task; those that are: {string.Join(", ", ModelFactory.Registry.All.Where(m => m.Tasks.Contains(task.Name)).Select(m => m.Name))}");
        var dataConfig = config?.Data ?? new DataConfig { Name = req.Dataset ?? throw new ConfigException($"--checkpoint {req.Checkpoint}: no run config beside it; name the test data with --dataset ({string.Join(", ", DatasetCatalog.Registry.Names)})") };
        if (req.Dataset != null)
        {
            if (!DatasetCatalog.Registry.TryGet(req.Dataset, out var named)) throw new ConfigException($"--dataset {req.Dataset}: unknown dataset{Levenshtein.Suggest(req.Dataset, DatasetCatalog.Registry.Names)}");
            // The run's config is this call's own fresh load: the flags override it in place. A folder of pictures
            // named for a run trained on pictures is its test set.
            if (named.Pictures != null && DatasetCatalog.Get(dataConfig.Name).Pictures != null) dataConfig.TestSet = req.Dataset;
            else (dataConfig.Name, dataConfig.TestSet) = (req.Dataset, null);
        }
        if (req.DataPath != null) (dataConfig.TestPath, dataConfig.Path) = (req.DataPath, req.DataPath);
        using var weights = Checkpoint.EvaluatedWeights(file, out var ema);
        if (ema) req.Log?.Invoke($"{file} keeps an EMA of the weights (train.ema): evaluating the averaged weights");
        var warnings = new List<string>();
        WeightsCheck.Finite(file, weights, req.AllowNonFinite, warnings);
        foreach (var w in warnings) req.Warn?.Invoke(w);
        // A model from elsewhere may say by its weights how it was built (a DnCNN's depth, width, gray or colour):
        // the pictures are read with those channels.
        var own = config?.Model.Options is { } o && config.Model.Arch == arch;
        var fromWeights = own ? (config!.Model.Options!, null) : registration.FromWeights?.Invoke(weights) ?? (registration.Options.Defaults, (int?)null);
        if (config == null && fromWeights.Item2 is { } channels) dataConfig.Channels = channels;
        var data = ComponentFactory.LoadData(dataConfig, repoRoot, needTrain: false);
        ImageSource test = data.Test;
        if (req.N > 0) test = test is PictureSet p ? p.Take(req.N) : ((ImageDataset)test).Take(req.N);
        using var model = own ? ComponentFactory.Model(config!.Model, data.Spec, data.Channels, config)
            : ModelFactory.Create(arch, fromWeights.Item1, Math.Max(1, data.Spec.NumClasses), test.Channels, null);
        try { model.LoadStateDict(weights); }
        catch (RobustCli.Torch.nn.StateDictMismatchException e) { throw new ConfigException($"--checkpoint {file}: the weights do not fit {arch}({fromWeights.Item1}): {WeightsCheck.Summary(e)}"); }
        var device = JobRuntime.ResolveDevice(req.Device);
        model.To(device);
        model.Eval();
        var attacks = req.Attacks.Count > 0 ? req.Attacks : task.DefaultAttacks;
        var dup = attacks.GroupBy(a => a).FirstOrDefault(g => g.Count() > 1);
        if (dup != null) throw new ConfigException($"--attack: '{dup.Key}' is named twice");
        var eps = req.Eps ?? config?.Attack.Eps ?? 8 / 255.0;
        req.Log?.Invoke($"{file}: {arch}({fromWeights.Item1}) on {test.Name}, {test.Count} test images");
        TaskEvaluation evaluation;
        try
        {
            evaluation = task.Measure(new TaskEvaluationRequest(OutputSelector.For(model, task.Output), test, attacks, eps)
            {
                Seed = req.Seed, BatchSize = req.BatchSize, Device = device, Levels = req.Levels, SaveFolder = req.SaveFolder,
                Log = req.Log, Warn = req.Warn, Progress = req.Progress, Cancel = req.Cancel,
            });
        }
        catch (FormatException e) when (!e.Message.StartsWith("--", StringComparison.Ordinal)) { throw new ConfigException($"--attack: {e.Message}"); }
        return new EvaluationReport(file, test.Name, arch, eps, evaluation with { Warnings = [.. warnings, .. evaluation.Warnings] }, []) { Which = WhichOf(located) };
    }

    /// <summary>Whether an attack spec names an attack that measures a risk rather than a robust accuracy (hypocritical, with options).</summary>
    public static bool IsHypocritical(string spec) => AttackPresets.RegistrationOf(spec)?.MeasuresRisk != null;

    /// <summary>The CSV row name of a risk: its declared row (hypocritical_risk), with the spec when it has options or a norm suffix.</summary>
    public static string RiskName(string spec)
    {
        var r = AttackPresets.RegistrationOf(spec);
        var row = r?.MeasuresRisk?.Row ?? spec;
        return row + (r != null && !string.Equals(spec.Trim(), r.Name, StringComparison.OrdinalIgnoreCase) ? "(" + spec + ")" : "");
    }

    /// <summary>
    /// The model (on its device, in eval mode) and test points an evaluation would use, for analyses of their own
    /// (robust diagnose): the same checkpoint lookup, flags and warnings as <see cref="Run"/>.
    /// </summary>
    public static LoadedEvaluation Load(EvaluationRequest req, string? repoRoot)
    {
        var located = Locate(req.Checkpoint, req.Which);
        var eps = req.Eps ?? located.Config?.Attack.Eps
            ?? throw new ConfigException($"--checkpoint {req.Checkpoint}: no run config beside it; give the budget with --eps (e.g. 8/255)");
        return Load(req, repoRoot, located, eps, []);
    }

    private static LoadedEvaluation Load(EvaluationRequest req, string? repoRoot, (string File, RunConfig? Config) located, double eps, List<string> warnings)
    {
        var target = LoadModel(req.Checkpoint, located, req.Dataset, req.Arch, req.Normalize, warnings, req.Log, req.AllowNonFinite);
        try
        {
            var device = JobRuntime.ResolveDevice(req.Device);
            var test = DatasetCatalog.Load(target.Dataset, train: false, req.DataPath ?? target.Config?.Data.Path, repoRoot);
            if (req.N > 0) test = test.Take(req.N);
            var total = test.Count;
            var first = 0;
            if (req.Shard is { } shard)
            {
                (first, var count) = shard.Range(total);
                if (count == 0) throw new ConfigException($"--shard {shard}: {total} points make no shard {shard.K} of {shard.N}; use fewer shards");
                test = test.Subset(Enumerable.Range(first, count).ToArray(), $"{test.Name}[shard {shard}]");
            }
            var evaluated = Select(target.Model, req.Output, target.Arch);
            target.Model.To(device);
            // The view of an output is a module of its own: it goes to eval mode with the model it wraps.
            evaluated.Eval();
            return new LoadedEvaluation(target.Model, evaluated, test, eps, DatasetCatalog.Get(target.Dataset).NumClasses, device, target.File,
                target.Arch, target.Dataset, warnings)
            {
                Identity = target.Arch + "(" + target.Options + ")" + (req.Output != null ? "/" + req.Output : ""),
                Normalize = target.Normalize,
                Which = WhichOf(located),
                FirstIndex = first,
                TotalCount = total,
            };
        }
        catch
        {
            target.Model.Dispose();
            throw;
        }
    }

    /// <summary>A model built and loaded from a checkpoint, with what it was read as.</summary>
    private sealed record LoadedModel(Classifier Model, string File, string Dataset, string Arch, string Options, string Normalize, RunConfig? Config);

    /// <summary>
    /// The model of a run folder or weights file (ours, or a PyTorch state dict with an architecture named):
    /// RobustBench's prefix stripping, normalization buffers and foreign key names are handled.
    /// </summary>
    private static LoadedModel LoadModel(string checkpoint, (string File, RunConfig? Config) located, string? datasetFlag, string? archFlag, string? normalizeFlag,
        List<string> warnings, Action<string>? log, bool allowNonFinite = false)
    {
        var (file, config) = located;
        var dataset = datasetFlag ?? config?.Data.Name
            ?? throw new ConfigException($"--checkpoint {checkpoint}: no run config beside it; name the data with --dataset");
        var arch = archFlag ?? config?.Model.Arch
            ?? throw new ConfigException($"--checkpoint {checkpoint}: no run config beside it; name the architecture with --arch ({string.Join(", ", ModelFactory.Names)})");
        var spec = DatasetCatalog.Get(dataset);
        var modelConfig = config?.Model ?? new ModelConfig { Arch = arch, Normalize = "none" };
        modelConfig.Arch = arch;
        if (normalizeFlag != null) modelConfig.Normalize = normalizeFlag;
        var (weights, foreignNorm) = ForeignWeights.Prepare(Checkpoint.EvaluatedWeights(file, out var isEma));
        if (isEma) log?.Invoke($"{file} keeps an EMA of the weights (train.ema): evaluating the averaged weights, as the run's validation did");
        using var sd = weights;
        WeightsCheck.Finite(file, sd, allowNonFinite, warnings);
        var normalization = ComponentFactory.Normalization(modelConfig, spec);
        if (foreignNorm != null)
        {
            if (normalizeFlag == "none") warnings.Add($"{file} carries normalization buffers (mean {string.Join(", ", foreignNorm.Mean.Select(v => v.ToString("G4", CultureInfo.InvariantCulture)))}) but --normalize none drops them");
            else normalization = foreignNorm;
        }
        OptionValues modelOptions;
        try { modelOptions = modelConfig.Options is { } o && config?.Model.Arch == arch && o.Declaration == ModelFactory.Get(arch).Options ? o : ModelFactory.Get(arch).Options.Defaults; }
        catch (FormatException e) { throw new ConfigException($"--arch {arch}: {e.Message}"); }
        // A run's model is rebuilt with the heads its method gave it (GAT's auxiliary tasks), a bare multi-task
        // weights file with the heads it holds, so the weights load whole.
        var heads = config != null && config.Model.Arch == arch ? ComponentFactory.Heads(config, spec)
            : ModelFactory.Get(arch).HeadsFromWeights?.Invoke(sd) ?? [];
        var model = ModelFactory.Create(arch, modelOptions, spec.NumClasses, spec.Channels, normalization, heads) as Classifier
            ?? throw new ConfigException($"--arch {arch}: not a classifier; robust eval measures classifiers (a denoiser's robust PSNR is in its run's final_eval.csv)");
        try { ForeignWeights.Load(model, sd); }
        catch (RobustCli.Torch.nn.StateDictMismatchException e)
        {
            model.Dispose();
            throw new ConfigException($"--checkpoint {file}: the weights do not fit {arch}: {WeightsCheck.Summary(e)}");
        }
        catch { model.Dispose(); throw; }
        if (!model.Normalizes && config == null && spec.UsuallyStandardized)
            warnings.Add($"the model normalizes nothing inside and the weights file carries no normalization buffers; if it was trained on standardized {dataset} inputs, pass --normalize auto (attacks must see [0, 1] pixels, so normalization belongs inside the model)");
        return new LoadedModel(model, file, dataset, arch, modelOptions.Canonical(), modelConfig.Normalize, config);
    }

    /// <summary>The model itself, or a view of one of its named outputs (--output expert0).</summary>
    private static RobustCli.Torch.nn.Module Select(Classifier model, string? output, string arch)
    {
        if (output == null) return model;
        if (model is not IMultiOutput multi)
            throw new ConfigException($"--output {output}: {arch} has one output; --output picks one named output of a model with several (an expert of an ensemble, a probe)");
        var logits = multi.OutputNames.Where(n => n != "scores").ToList();
        if (!logits.Contains(output))
            throw new ConfigException($"--output {output}: {arch} has no such output of logits; it has {string.Join(", ", logits)}");
        return OutputSelector.For(model, output);
    }

    /// <summary>The tensors of a --save-adv file (they hold "labels"), or null when the path is a model.</summary>
    private static RobustCli.Torch.nn.StateDict? SavedExamples(string path)
    {
        if (!File.Exists(path)) return null;
        var t = Weights.Load(path);
        if (t.ContainsKey("labels")) return t;
        t.Dispose();
        return null;
    }

    /// <summary>Saved examples belong to the first N test images: the labels must agree.</summary>
    private static ImageDataset CheckSavedLabels(string path, RobustCli.Torch.nn.StateDict saved, ImageDataset test)
    {
        var labels = saved["labels"].To(DType.Int64).ToArray<long>();
        if (labels.Length > test.Count)
            throw new ConfigException($"--transfer-from {path}: {labels.Length} saved examples but only {test.Count} test images (drop --n, or check --dataset)");
        var data = test.Take(labels.Length);
        var mismatch = Enumerable.Range(0, labels.Length).FirstOrDefault(i => labels[i] != data.Labels[i], -1);
        if (mismatch >= 0)
            throw new ConfigException($"--transfer-from {path}: saved label {mismatch} is {labels[mismatch]}, the test set's is {data.Labels[mismatch]}; the examples were made on other data");
        return data;
    }

    public static SuiteDefaults SuiteDefaults(string norm, string version, IReadOnlyList<string> components, ulong seed)
    {
        Norm n;
        try { n = AttackSuites.ParseNorm(norm); }
        catch (FormatException e) { throw new ConfigException("--norm: " + e.Message); }
        if (!AutoAttackSuite.Versions.Contains(version))
            throw new ConfigException($"--version {version}: expected one of {string.Join(", ", AutoAttackSuite.Versions)}");
        if (version == "custom" && components.Count == 0)
            throw new ConfigException("--version custom: name the attacks with --component (e.g. --component apgd-ce --component square:queries=1000)");
        if (version != "custom" && components.Count > 0)
            throw new ConfigException($"--component only goes with --version custom (the {version} version fixes its attacks)");
        return new SuiteDefaults(n, version, components, seed);
    }

    public static List<AttackSuite> Suites(IReadOnlyList<string> specs, double eps, int numClasses, SuiteDefaults defaults, Action<string> warn)
    {
        var suites = new List<AttackSuite>();
        foreach (var s in specs)
        {
            try { suites.Add(AttackSuites.Parse(s, eps, numClasses, defaults, warn)); }
            catch (Exception e) when (e is FormatException or ArgumentException) { throw new ConfigException($"--attack {s}: {e.Message}"); }
        }
        var dup = suites.GroupBy(x => x.Name).FirstOrDefault(g => g.Count() > 1);
        if (dup != null) throw new ConfigException($"--attack: '{dup.Key}' is named twice");
        return suites;
    }

    /// <summary>The model file (path, size, time) and settings that decide the outcome; part of a --state file's identity.</summary>
    private static string Fingerprint(string file, string arch, double eps, string normalize)
    {
        var info = new FileInfo(file);
        return FormattableString.Invariant($"model={info.FullName}:{info.Length}:{info.LastWriteTimeUtc.Ticks}|arch={arch}|eps={eps:R}|normalize={normalize}");
    }

    /// <summary>
    /// A run folder gives checkpoints/best.pt (else last.pt), or with <paramref name="which"/> "last" its last.pt, and
    /// its config; a file gives itself and the config of the run it sits in, if any.
    /// </summary>
    public static (string File, RunConfig? Config) Locate(string checkpoint, string which = "best")
    {
        if (which is not ("best" or "last")) throw new ConfigException($"--which {which}: expected best or last");
        if (Directory.Exists(checkpoint))
        {
            var run = RunFolder.Open(checkpoint);
            if (which == "last" && !File.Exists(run.LastCheckpoint))
                throw new ConfigException($"--checkpoint {checkpoint}: --which last, but the run has no checkpoints/last.pt yet");
            var file = which == "best" && File.Exists(run.BestCheckpoint) ? run.BestCheckpoint : run.LastCheckpoint;
            if (!File.Exists(file)) throw new ConfigException($"--checkpoint {checkpoint}: the run has no checkpoint yet (checkpoints/best.pt or last.pt)");
            return (file, ConfigLoader.Load(run.ConfigFile).Config);
        }
        if (which == "last") throw new ConfigException($"--which last: picks a run folder's checkpoint; {checkpoint} is a file, evaluated as it is");
        if (!File.Exists(checkpoint)) throw new ConfigException($"--checkpoint {checkpoint}: no such file or run folder");
        var dir = Path.GetDirectoryName(Path.GetFullPath(checkpoint));
        var runConfig = dir == null ? null : Path.Combine(Path.GetDirectoryName(dir) ?? dir, "config.yaml");
        return (checkpoint, runConfig != null && File.Exists(runConfig) ? ConfigLoader.Load(runConfig).Config : null);
    }

    /// <summary>"best" or "last" for a run's checkpoint, null for a weights file named directly.</summary>
    private static string? WhichOf((string File, RunConfig? Config) located)
    {
        var dir = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(located.File)));
        var name = Path.GetFileName(located.File);
        return located.Config != null && dir == "checkpoints" && name is "best.pt" or "last.pt" ? Path.GetFileNameWithoutExtension(name) : null;
    }

    /// <summary>
    /// --save-adv: each suite's adversarial examples as float32 [N, C, H, W] (the clean image where the suite broke
    /// nothing), plus "labels" (int64) and "<suite>_robust" (bool), in torch.save or safetensors format.
    /// </summary>
    public static void SaveAdversarial(EvaluationReport r, string path)
    {
        if (r.Result.Adversarial == null) throw new InvalidOperationException("the evaluation did not keep its adversarial examples");
        using var scope = DisposeScope.Open();
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var suite in r.Result.Suites)
        {
            tensors.Add(new(suite.Name, torch.From<float>(r.Result.Adversarial[suite.Name], r.Result.ImageShape)));
            tensors.Add(new(suite.Name + "_robust", torch.From(suite.Robust)));
        }
        tensors.Add(new("labels", torch.From((long[])r.Result.Labels.Clone())));
        Weights.Save(path, tensors, new Dictionary<string, string> { ["eps"] = r.Eps.ToString("R", CultureInfo.InvariantCulture), ["dataset"] = r.Dataset });
    }
}
