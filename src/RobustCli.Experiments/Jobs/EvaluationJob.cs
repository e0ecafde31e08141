using System.Globalization;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Evaluation;
using RobustCli.Core.Models;
using RobustCli.Core.Registry;
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
}

public sealed record EvaluationReport(string CheckpointFile, string Dataset, string Arch, double Eps, EvaluationResult Result, IReadOnlyList<AttackSuite> Suites);

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
        // Flags are checked before any file is read, so a typo is reported as such.
        var defaults = SuiteDefaults(req.Norm, req.Version, req.Components, req.Seed);
        var (file, config) = Locate(req.Checkpoint);
        var dataset = req.Dataset ?? config?.Data.Name
            ?? throw new ConfigException($"--checkpoint {req.Checkpoint}: no run config beside it; name the data with --dataset");
        var arch = req.Arch ?? config?.Model.Arch
            ?? throw new ConfigException($"--checkpoint {req.Checkpoint}: no run config beside it; name the architecture with --arch ({string.Join(", ", ModelFactory.Names)})");
        var eps = req.Eps ?? config?.Attack.Eps
            ?? throw new ConfigException($"--checkpoint {req.Checkpoint}: no run config beside it; give the budget with --eps (e.g. 8/255)");
        var spec = DatasetCatalog.Get(dataset);
        var warnings = new List<string>();
        var suites = Suites(req.Attacks, eps, spec.NumClasses, defaults, warnings.Add);
        var modelConfig = config?.Model ?? new ModelConfig { Arch = arch, Normalize = "none" };
        modelConfig.Arch = arch;
        if (req.Normalize != null) modelConfig.Normalize = req.Normalize;
        var device = JobRuntime.ResolveDevice(req.Device);
        var test = DatasetCatalog.Load(dataset, train: false, req.DataPath ?? config?.Data.Path, repoRoot);
        if (req.N > 0) test = test.Take(req.N);
        var (weights, foreignNorm) = ForeignWeights.Prepare(Checkpoint.EvaluatedWeights(file, out var isEma));
        if (isEma) req.Log?.Invoke($"{file} keeps an EMA of the weights (train.ema): evaluating the averaged weights, as the run's validation did");
        using var sd = weights;
        var normalization = ComponentFactory.Normalization(modelConfig, spec);
        if (foreignNorm != null)
        {
            if (req.Normalize == "none") warnings.Add($"{file} carries normalization buffers (mean {string.Join(", ", foreignNorm.Mean.Select(v => v.ToString("G4", CultureInfo.InvariantCulture)))}) but --normalize none drops them");
            else normalization = foreignNorm;
        }
        OptionValues modelOptions;
        try { modelOptions = modelConfig.Options is { } o && config?.Model.Arch == arch && o.Declaration == ModelFactory.Get(arch).Options ? o : ModelFactory.Get(arch).Options.Defaults; }
        catch (FormatException e) { throw new ConfigException($"--arch {arch}: {e.Message}"); }
        using var model = ModelFactory.Create(arch, modelOptions, spec.NumClasses, spec.Channels, normalization) as Classifier
            ?? throw new ConfigException($"--arch {arch}: not a classifier; robust eval measures classifiers (a denoiser's robust PSNR is in its run's final_eval.csv)");
        ForeignWeights.Load(model, sd);
        if (!model.Normalizes && config == null && spec.Mean.Any(m => Math.Abs(m) > 1e-9) && dataset.StartsWith("cifar", StringComparison.Ordinal))
            warnings.Add($"the model normalizes nothing inside and the weights file carries no normalization buffers; if it was trained on standardized {dataset} inputs, pass --normalize auto (attacks must see [0, 1] pixels, so normalization belongs inside the model)");
        model.To(device);
        model.Eval();
        foreach (var w in warnings) req.Warn?.Invoke(w);
        var result = RobustnessEvaluator.Evaluate(model, test, suites, new EvaluationOptions
        {
            BatchSize = req.BatchSize,
            Device = device,
            StatePath = req.StatePath,
            Fingerprint = Fingerprint(file, arch + "(" + modelOptions.Canonical() + ")", eps, modelConfig.Normalize),
            KeepAdversarial = req.KeepAdversarial,
            Log = req.Log,
            Warn = req.Warn,
            Progress = req.Progress,
            Cancel = req.Cancel,
        });
        var all = warnings.Concat(result.Warnings).Distinct().ToList();
        return new EvaluationReport(file, dataset, arch, eps, new EvaluationResult(result.Labels, result.CleanPrediction, result.Suites, result.CleanSeconds, all)
        {
            Adversarial = result.Adversarial,
            ImageShape = result.ImageShape,
        }, suites);
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

    /// <summary>A run folder gives checkpoints/best.pt (else last.pt) and its config; a file gives itself and the config of the run it sits in, if any.</summary>
    public static (string File, RunConfig? Config) Locate(string checkpoint)
    {
        if (Directory.Exists(checkpoint))
        {
            var run = RunFolder.Open(checkpoint);
            var file = File.Exists(run.BestCheckpoint) ? run.BestCheckpoint : run.LastCheckpoint;
            if (!File.Exists(file)) throw new ConfigException($"--checkpoint {checkpoint}: the run has no checkpoint yet (checkpoints/best.pt or last.pt)");
            return (file, ConfigLoader.Load(run.ConfigFile).Config);
        }
        if (!File.Exists(checkpoint)) throw new ConfigException($"--checkpoint {checkpoint}: no such file or run folder");
        var dir = Path.GetDirectoryName(Path.GetFullPath(checkpoint));
        var runConfig = dir == null ? null : Path.Combine(Path.GetDirectoryName(dir) ?? dir, "config.yaml");
        return (checkpoint, runConfig != null && File.Exists(runConfig) ? ConfigLoader.Load(runConfig).Config : null);
    }

    public static void WriteCsv(EvaluationReport r, string path) => EvaluationCsv.Write(path, r.Result);

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
