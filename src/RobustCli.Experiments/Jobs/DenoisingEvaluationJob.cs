using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Evaluation;
using RobustCli.Core.Models;
using RobustCli.Core.Registry;
using RobustCli.Core.Tasks;
using RobustCli.Experiments.Config;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Experiments.Jobs;

/// <summary>What to evaluate on a denoiser: a checkpoint, the attacks, the noise levels and the test pictures.</summary>
public sealed record DenoisingEvaluationRequest(string Checkpoint, IReadOnlyList<string> Attacks, IReadOnlyList<double>? Sigmas, int N, int BatchSize,
    string? Dataset, string? Arch, string? DataPath, string Device)
{
    public ulong Seed { get; init; }
    /// <summary>A folder for the adversarial observations, denoised outputs and strips (PNG).</summary>
    public string? SaveFolder { get; init; }
    public Action<string>? Log { get; init; }
    /// <summary>For a run folder: "best" or "last" (see <see cref="EvaluationRequest.Which"/>).</summary>
    public string Which { get; init; } = "best";
    public bool AllowNonFinite { get; init; }
}

public sealed record DenoisingReport(string CheckpointFile, string TestSet, string Arch, DenoisingResult Result, IReadOnlyList<double> Sigmas);

/// <summary>
/// robust eval on a denoiser: the model of a run folder (its config names architecture, task and test pictures) or
/// a weights file (ours or PyTorch's, e.g. the ObsAtk code's {'state_dict': ...}; a DnCNN's depth, width and
/// channels are read off its weights) measured by <see cref="DenoisingEvaluator"/>: PSNR and SSIM noise-free, under
/// Gaussian noise and under each attack at each noise level.
/// </summary>
public static class DenoisingEvaluationJob
{
    /// <summary>The checkpoint is a denoiser's: its run trained the denoise task, or the architecture named is a denoiser.</summary>
    public static bool Applies(string checkpoint, string? arch)
    {
        if (arch != null && ModelFactory.Registry.TryGet(arch, out var r)) return r.Tasks.Contains("denoise");
        if (!Directory.Exists(checkpoint) && !File.Exists(checkpoint)) return false;
        try { return EvaluationJob.Locate(checkpoint).Config?.Task.Name == "denoise"; }
        catch (ConfigException) { return false; }
    }

    public static DenoisingReport Run(DenoisingEvaluationRequest req, string? repoRoot)
    {
        var (file, config) = EvaluationJob.Locate(req.Checkpoint, req.Which);
        var arch = req.Arch ?? config?.Model.Arch
            ?? throw new ConfigException($"--checkpoint {req.Checkpoint}: no run config beside it; name the architecture with --arch (dncnn, tiny-denoiser)");
        var registration = ModelFactory.Get(arch);
        if (!registration.Tasks.Contains("denoise"))
            throw new ConfigException($"--arch {arch}: not a denoiser; denoisers: {string.Join(", ", ModelFactory.Registry.All.Where(m => m.Tasks.Contains("denoise")).Select(m => m.Name))}");
        var task = config?.Task.Options is { } taskOptions && config.Task.Name == "denoise"
            ? (DenoiseTask)Tasks.Registry.Get("denoise").Create(new TaskBuild(taskOptions))
            : (DenoiseTask)Tasks.Registry.Get("denoise").Create(new TaskBuild(Tasks.Registry.Get("denoise").Options.Defaults));
        var dataConfig = config?.Data ?? new DataConfig { Name = req.Dataset ?? throw new ConfigException($"--checkpoint {req.Checkpoint}: no run config beside it; name the test pictures with --dataset (set12, set68, cbsd68, kodak24, skimage-photos)") };
        if (req.Dataset != null)
        {
            if (!DatasetCatalog.Registry.TryGet(req.Dataset, out var named)) throw new ConfigException($"--dataset {req.Dataset}: unknown dataset{Levenshtein.Suggest(req.Dataset, DatasetCatalog.Registry.Names)}");
            // The run's config is this call's own fresh load: the flags override it in place.
            if (named.Pictures != null && DatasetCatalog.Get(dataConfig.Name).Pictures != null) dataConfig.TestSet = req.Dataset;
            else (dataConfig.Name, dataConfig.TestSet) = (req.Dataset, null);
        }
        if (req.DataPath != null) (dataConfig.TestPath, dataConfig.Path) = (req.DataPath, req.DataPath);
        using var weights = Checkpoint.EvaluatedWeights(file, out var ema);
        if (ema) req.Log?.Invoke($"{file} keeps an EMA of the weights (train.ema): evaluating the averaged weights");
        var warnings = new List<string>();
        WeightsCheck.Finite(file, weights, req.AllowNonFinite, warnings);
        foreach (var w in warnings) req.Log?.Invoke("warning: " + w);
        // A model from elsewhere may say by its weights how it was built (a DnCNN's depth, width, gray or colour):
        // the pictures are read with those channels.
        var fromWeights = config?.Model.Options is { } o && config.Model.Arch == arch ? (o, null) : registration.FromWeights?.Invoke(weights) ?? (registration.Options.Defaults, null);
        var options = fromWeights.Options;
        if (config == null && fromWeights.InChannels is { } channels) dataConfig.Channels = channels;
        var data = ComponentFactory.LoadData(dataConfig, repoRoot, needTrain: false);
        ImageSource test = data.Test;
        if (req.N > 0) test = test is PictureSet p ? p.Take(req.N) : ((ImageDataset)test).Take(req.N);
        using var model = ModelFactory.Create(arch, options, 1, test.Channels, null);
        try { model.LoadStateDict(weights); }
        catch (StateDictMismatchException e) { throw new ConfigException($"--checkpoint {file}: the weights do not fit {arch}({options}): {WeightsCheck.Summary(e)}"); }
        var device = JobRuntime.ResolveDevice(req.Device);
        model.To(device);
        var forward = OutputSelector.For(model, task.Output);
        var attacks = new List<Attack>();
        foreach (var spec in req.Attacks)
        {
            try { attacks.Add(AttackPresets.Create(spec, config?.Attack.Eps ?? 8 / 255.0, ((ITask)task).EvaluationLoss, displayName: spec)); }
            catch (FormatException e) { throw new ConfigException($"--attack {spec}: {e.Message}"); }
        }
        var dup = req.Attacks.GroupBy(a => a).FirstOrDefault(g => g.Count() > 1);
        if (dup != null) throw new ConfigException($"--attack: '{dup.Key}' is named twice");
        var sigmas = req.Sigmas is { Count: > 0 } s ? s : task.EvalSigmas.Select(v => (double)v).ToList();
        if (sigmas.FirstOrDefault(v => v <= 0 || v > 255) is var bad and not 0) throw new ConfigException($"--sigma {bad}: a noise level in /255 units in (0, 255]");
        req.Log?.Invoke($"{file}: {arch}({options}) on {test.Name}, {test.Count} pictures, sigma {string.Join(", ", sigmas)}; ObsAtk's budget uses their mean size ({DenoiseTask.MeanElements(test):F0} values)");
        var result = DenoisingEvaluator.Evaluate(forward, task, test, attacks, new DenoisingEvaluationOptions
        {
            Sigmas = sigmas, Seed = req.Seed, BatchSize = req.BatchSize, Device = device, SaveFolder = req.SaveFolder, Log = req.Log,
        });
        return new DenoisingReport(file, test.Name, arch, result, sigmas);
    }
}
