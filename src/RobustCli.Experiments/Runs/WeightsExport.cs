using RobustCli.Experiments.Config;
using RobustCli.Experiments.Jobs;
using RobustCli.Torch.Serialization;

namespace RobustCli.Experiments.Runs;

/// <summary>
/// A run's weights (or a weights file's) written in another ecosystem's format: TorchSharp's Module.save format
/// (.dat), torch.save's (.pt) or safetensors. The state dict is the one `robust eval` measures (a run with
/// train.ema gives its averaged weights), with the key names of the widely used PyTorch implementation.
/// </summary>
public static class WeightsExport
{
    public sealed record Format(string Name, string Extension, string LoadHint);

    public static readonly Format[] Formats =
    [
        new("torchsharp", ".dat", "TorchSharp: model.load(\"{0}\") on a module with the same submodule names"),
        new("pytorch", ".pt", "PyTorch: model.load_state_dict(torch.load(\"{0}\"))"),
        new("safetensors", ".safetensors", "PyTorch: model.load_state_dict(safetensors.torch.load_file(\"{0}\"))"),
    ];

    public sealed record Result(string Path, Format Format, int Tensors, bool Ema, string Source);

    public static Result Export(string checkpoint, string format, string? output, string which = "best")
    {
        var f = Formats.FirstOrDefault(x => x.Name == format)
            ?? throw new ConfigException($"--format {format}: expected one of {string.Join(", ", Formats.Select(x => x.Name))}");
        var (file, _) = EvaluationJob.Locate(checkpoint, which);
        var target = Path.GetFullPath(output ?? DefaultPath(checkpoint, file, which, f));
        if (string.Equals(target, Path.GetFullPath(file), StringComparison.Ordinal))
            throw new ConfigException($"--out {target}: that is the file being exported; name another");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        using var sd = Checkpoint.EvaluatedWeights(file, out var ema);
        switch (f.Name)
        {
            case "torchsharp": TorchSharpWeights.Save(target, sd); break;
            case "pytorch": TorchArchive.SaveStateDict(target, sd); break;
            default: SafeTensors.Save(target, sd, new Dictionary<string, string> { ["source"] = Path.GetFileName(file), ["weights"] = ema ? "ema" : "model" }); break;
        }
        return new Result(target, f, sd.Count, ema, file);
    }

    /// <summary>A run's export goes to its export/ folder (best.dat, last.pt, ...); a file's beside it.</summary>
    private static string DefaultPath(string checkpoint, string file, string which, Format f) =>
        Directory.Exists(checkpoint)
            ? Path.Combine(checkpoint, "export", which + f.Extension)
            : Path.ChangeExtension(file, f.Extension);
}
