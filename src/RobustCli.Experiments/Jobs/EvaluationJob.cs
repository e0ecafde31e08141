using System.Globalization;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Evaluation;
using RobustCli.Core.Models;
using RobustCli.Experiments.Config;
using RobustCli.Experiments.Runs;
using RobustCli.Torch;
using RobustCli.Torch.Serialization;

namespace RobustCli.Experiments.Jobs;

/// <summary>What to evaluate: a checkpoint (ours, or a PyTorch state dict with an architecture named) and the attacks.</summary>
public sealed record EvaluationRequest(string Checkpoint, IReadOnlyList<string> Attacks, double? Eps, int N, int BatchSize,
    string? Dataset, string? Arch, string? DataPath, string Device, string? Normalize);

public sealed record EvaluationReport(string CheckpointFile, string Dataset, string Arch, double Eps, EvaluationResult Result, IReadOnlyList<Attack> Attacks);

/// <summary>
/// robust eval: loads a model from a run folder (its config names architecture, dataset and eps) or from a weights
/// file, and measures clean accuracy, each attack's robust accuracy and the per-sample worst case over them.
/// </summary>
public static class EvaluationJob
{
    public static EvaluationReport Run(EvaluationRequest req, string? repoRoot, Action<int, int>? progress = null)
    {
        var (file, config) = Locate(req.Checkpoint);
        var dataset = req.Dataset ?? config?.Data.Name
            ?? throw new ConfigException($"--checkpoint {req.Checkpoint}: no run config beside it; name the data with --dataset");
        var arch = req.Arch ?? config?.Model.Arch
            ?? throw new ConfigException($"--checkpoint {req.Checkpoint}: no run config beside it; name the architecture with --arch ({string.Join(", ", ModelFactory.Names)})");
        var eps = req.Eps ?? config?.Attack.Eps
            ?? throw new ConfigException($"--checkpoint {req.Checkpoint}: no run config beside it; give the budget with --eps (e.g. 8/255)");
        var attacks = req.Attacks.Select(a => AttackPresets.Create(a, eps)).ToList();
        var spec = DatasetCatalog.Get(dataset);
        var modelConfig = config?.Model ?? new ModelConfig { Arch = arch, Normalize = "none" };
        modelConfig.Arch = arch;
        if (req.Normalize != null) modelConfig.Normalize = req.Normalize;
        var device = JobRuntime.ResolveDevice(req.Device);
        var test = DatasetCatalog.Load(dataset, train: false, req.DataPath ?? config?.Data.Path, repoRoot);
        if (req.N > 0) test = test.Take(req.N);
        using var model = ComponentFactory.Model(modelConfig, spec);
        using (var sd = Weights.StripCommonPrefixes(Weights.Load(file))) model.LoadStateDict(sd);
        model.To(device);
        model.Eval();
        var result = RobustnessEvaluator.Evaluate(model, new DataLoader(test, req.BatchSize, device: device), attacks, progress);
        return new EvaluationReport(file, dataset, arch, eps, result, attacks);
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

    public static void WriteCsv(EvaluationReport r, string path) => EvaluationCsv.Write(path, r.Result, r.Attacks);
}
