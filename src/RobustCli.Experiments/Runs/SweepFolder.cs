using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using RobustCli.Experiments.Config;
using RobustCli.Torch.Serialization;

namespace RobustCli.Experiments.Runs;

/// <summary>One grid point as the manifest records it.</summary>
public sealed record SweepManifestJob(int Index, string Label, Dictionary<string, string> Assignments);

/// <summary>sweep.json: what the sweep is (its config, overrides and grid) and the Slurm jobs that run it.</summary>
public sealed class SweepManifest
{
    public string Name { get; set; } = "";
    public string Config { get; set; } = "";
    public List<string> Sets { get; set; } = [];
    public List<string> Axes { get; set; } = [];
    public List<SweepManifestJob> Jobs { get; set; } = [];
    public string CreatedUtc { get; set; } = "";
    /// <summary>Job ids sbatch gave (the array, the report after it); null until submitted.</summary>
    public string? SlurmArrayJob { get; set; }
    public string? SlurmReportJob { get; set; }
}

/// <summary>
/// A sweep's folder, runs/&lt;name&gt;/sweep-&lt;time&gt;-&lt;id&gt;/ (or one named with --dir): sweep.json, jobs/NNN.yaml
/// (each grid point's resolved config), runs/NNN/ (each grid point's run folder: robust train --config jobs/NNN.yaml
/// --run-dir runs/NNN, which starts, continues or leaves alone the run), logs/, slurm/ and summary.csv. Every
/// path is fixed in advance, so any job can be run again — by a requeued Slurm task, a second sweep command, a
/// hand — and continues where it stopped.
/// </summary>
public sealed class SweepFolder
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string Path { get; }

    private SweepFolder(string path) { Path = path; }

    public string ManifestFile => System.IO.Path.Combine(Path, "sweep.json");
    public string JobsDir => System.IO.Path.Combine(Path, "jobs");
    public string RunsDir => System.IO.Path.Combine(Path, "runs");
    public string LogsDir => System.IO.Path.Combine(Path, "logs");
    public string SlurmDir => System.IO.Path.Combine(Path, "slurm");
    public string SummaryFile => System.IO.Path.Combine(Path, "summary.csv");
    public string ReportDir => System.IO.Path.Combine(Path, "report");
    public static string JobId(int index) => index.ToString("000", CultureInfo.InvariantCulture);
    public string JobConfig(int index) => System.IO.Path.Combine(JobsDir, JobId(index) + ".yaml");
    public string RunDir(int index) => System.IO.Path.Combine(RunsDir, JobId(index));

    /// <summary>A new folder runs/&lt;name&gt;/sweep-&lt;time&gt;-&lt;id&gt;.</summary>
    public static SweepFolder CreateNew(string runsDir, string name)
    {
        var stamp = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var id = Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
        return At(System.IO.Path.Combine(runsDir, name, $"sweep-{stamp}-{id}"));
    }

    /// <summary>The folder at a chosen path, created when missing.</summary>
    public static SweepFolder At(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(full);
        return new SweepFolder(full);
    }

    public static SweepFolder Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(System.IO.Path.Combine(full, "sweep.json")))
            throw new ConfigException($"{path}: not a sweep folder (no sweep.json in it); robust sweep writes one under runs/<name>/sweep-<time>-<id>/");
        return new SweepFolder(full);
    }

    public SweepManifest LoadManifest() =>
        JsonSerializer.Deserialize<SweepManifest>(File.ReadAllText(ManifestFile), Json) ?? throw new ConfigException($"{ManifestFile}: empty");

    public void SaveManifest(SweepManifest m)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(m, Json);
        AtomicFile.Write(ManifestFile, s => s.Write(bytes));
    }

    /// <summary>
    /// Writes the grid (jobs/NNN.yaml and sweep.json) into the folder; a folder that already holds this grid is kept
    /// as it is (its Slurm job ids included), one that holds another grid is refused.
    /// </summary>
    public void WriteGrid(IReadOnlyList<Jobs.SweepJob> jobs, string configFile, IReadOnlyList<string> sets)
    {
        Directory.CreateDirectory(JobsDir);
        var yaml = jobs.Select(j => ConfigLoader.ToYaml(j.Config)).ToList();
        if (File.Exists(ManifestFile))
        {
            var same = LoadManifest().Jobs.Count == jobs.Count
                       && jobs.All(j => File.Exists(JobConfig(j.Index)) && File.ReadAllText(JobConfig(j.Index)) == yaml[j.Index]);
            if (!same) throw new ConfigException($"{Path}: this folder holds another sweep (other grid points or settings); give another --dir");
            return;
        }
        for (var i = 0; i < jobs.Count; i++) AtomicFile.WriteText(JobConfig(i), yaml[i]);
        SaveManifest(new SweepManifest
        {
            Name = jobs[0].Config.Name, Config = System.IO.Path.GetFullPath(configFile), Sets = sets.ToList(),
            Axes = jobs[0].Assignments.Select(a => a.Path).ToList(),
            Jobs = jobs.Select(j => new SweepManifestJob(j.Index, j.Label, j.Assignments.ToDictionary(a => a.Path, a => a.Value))).ToList(),
            CreatedUtc = DateTime.UtcNow.ToString("o"),
        });
    }
}
