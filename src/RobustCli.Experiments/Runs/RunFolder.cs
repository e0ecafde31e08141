using System.Globalization;
using System.Security.Cryptography;

namespace RobustCli.Experiments.Runs;

/// <summary>
/// A run's folder: runs/&lt;name&gt;/&lt;UTC timestamp&gt;-&lt;id&gt;/ with config.yaml, metrics.csv, log.txt,
/// checkpoints/{last,best}.pt, summary.json and plots/. A folder is claimed by creating it exclusively, so two runs
/// started at once never share one.
/// </summary>
public sealed class RunFolder
{
    public string Path { get; }

    private RunFolder(string path) { Path = path; }

    public string ConfigFile => System.IO.Path.Combine(Path, "config.yaml");
    public string MetricsFile => System.IO.Path.Combine(Path, "metrics.csv");
    public string LogFile => System.IO.Path.Combine(Path, "log.txt");
    public string SummaryFile => System.IO.Path.Combine(Path, "summary.json");
    public string FinalEvalFile => System.IO.Path.Combine(Path, "final_eval.csv");
    public string CheckpointDir => System.IO.Path.Combine(Path, "checkpoints");
    /// <summary>The run's curves, redrawn from metrics.csv at each epoch's end (PNG and SVG).</summary>
    public string PlotsDir => System.IO.Path.Combine(Path, "plots");
    public string LastCheckpoint => System.IO.Path.Combine(CheckpointDir, "last.pt");
    public string BestCheckpoint => System.IO.Path.Combine(CheckpointDir, "best.pt");
    /// <summary>The EMA of the weights (train.ema), a plain weights file.</summary>
    public string EmaCheckpoint => System.IO.Path.Combine(CheckpointDir, "ema.pt");

    public static RunFolder Create(string runsDir, string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(System.IO.Path.GetInvalidFileNameChars()) >= 0 || name is "." or "..")
            throw new ArgumentException($"'{name}' cannot be a run name (it becomes a folder name)");
        var parent = System.IO.Path.Combine(runsDir, name);
        Directory.CreateDirectory(parent);
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var stamp = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
            var id = Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
            var path = System.IO.Path.Combine(parent, $"{stamp}-{id}");
            // Directory.CreateDirectory succeeds on an existing folder; a marker file created with CreateNew is the claim.
            Directory.CreateDirectory(path);
            try
            {
                using (new FileStream(System.IO.Path.Combine(path, ".claim"), FileMode.CreateNew)) { }
            }
            catch (IOException)
            {
                continue;
            }
            Directory.CreateDirectory(System.IO.Path.Combine(path, "checkpoints"));
            return new RunFolder(path);
        }
        throw new IOException($"could not claim a new run folder under {parent}");
    }

    /// <summary>
    /// A run folder at a path chosen in advance (a sweep's grid point, a Slurm array task), created with its
    /// checkpoints/ when missing. Unlike <see cref="Create"/> it does not claim: one job owns the path by
    /// construction, and a job killed before it wrote config.yaml must be able to start again in it.
    /// </summary>
    public static RunFolder CreateAt(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.Combine(full, "checkpoints"));
        return new RunFolder(full);
    }

    /// <summary>Whether a folder holds a run (its config.yaml).</summary>
    public static bool Holds(string path) => File.Exists(System.IO.Path.Combine(path, "config.yaml"));

    public static RunFolder Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!Directory.Exists(full) || !File.Exists(System.IO.Path.Combine(full, "config.yaml")))
            throw new DirectoryNotFoundException($"{path} is not a run folder (no config.yaml in it)");
        return new RunFolder(full);
    }
}
