using System.Text.Json;
using System.Text.Json.Serialization;
using RobustCli.Torch.Serialization;

namespace RobustCli.Experiments.Runs;

/// <summary>summary.json: the run's status, best and last metrics, final evaluation, timing and versions.</summary>
public sealed class RunSummary
{
    public string Status { get; set; } = "running";
    public string? Error { get; set; }
    public string Name { get; set; } = "";
    public string Method { get; set; } = "";
    public string Task { get; set; } = "classification";
    public string Dataset { get; set; } = "";
    public string Arch { get; set; } = "";
    public int Seed { get; set; }
    public string Device { get; set; } = "";
    public int EpochsDone { get; set; }
    public int EpochsPlanned { get; set; }
    public int? BestEpoch { get; set; }
    /// <summary>The best value of <see cref="SelectedBy"/> (validation robust accuracy; robust PSNR in dB for denoising).</summary>
    public double? BestValRobustAcc { get; set; }
    /// <summary>The metrics column best.pt is chosen by.</summary>
    public string SelectedBy { get; set; } = "val_robust_acc";
    /// <summary>Validation clean accuracy at the best epoch.</summary>
    public double? BestValCleanAcc { get; set; }
    public Dictionary<string, double?> Last { get; set; } = [];
    public Dictionary<string, double?> Final { get; set; } = [];
    /// <summary>Warnings of the final evaluation (AutoAttack's checks and ours).</summary>
    public List<string> Warnings { get; set; } = [];
    public double WallSeconds { get; set; }
    public string RobustCliVersion { get; set; } = typeof(RunSummary).Assembly.GetName().Version?.ToString() ?? "?";
    public string LibTorchVersion { get; set; } = "";
    /// <summary>The tensor engine the run trained on: "native" (our shim) or "torchsharp".</summary>
    public string Engine { get; set; } = "";
    public string StartedUtc { get; set; } = DateTime.UtcNow.ToString("o");
    public string? FinishedUtc { get; set; }

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public void Save(string path) => AtomicFile.Write(path, s => JsonSerializer.Serialize(s, this, Options));

    public static RunSummary Load(string path) =>
        JsonSerializer.Deserialize<RunSummary>(File.ReadAllText(path), Options) ?? throw new FormatException($"{path}: empty summary");
}
