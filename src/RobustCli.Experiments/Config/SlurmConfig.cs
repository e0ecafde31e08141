using System.Text.RegularExpressions;

namespace RobustCli.Experiments.Config;

/// <summary>
/// A config's slurm: section, the resources of each array task that robust sweep --slurm and robust eval --slurm
/// write into their #SBATCH lines (flags of the same names override them). Not part of a run's config: changing the
/// time or the partition and resubmitting continues the same runs.
/// </summary>
public sealed partial class SlurmConfig
{
    /// <summary>--partition; none: the cluster's default.</summary>
    public string? Partition { get; set; }
    /// <summary>--account to charge; none: the user's default.</summary>
    public string? Account { get; set; }
    /// <summary>--qos; none: the default.</summary>
    public string? Qos { get; set; }
    /// <summary>GPUs per task (--gres=gpu:N); 0 trains on the CPU.</summary>
    [Range(0)] public int Gpus { get; set; }
    /// <summary>CPU cores per task (--cpus-per-task); the task's threads follow it.</summary>
    [Range(1)] public int CpusPerTask { get; set; } = 4;
    /// <summary>Memory per task (--mem), as Slurm writes it: 16G, 64000M.</summary>
    public string Mem { get; set; } = "16G";
    /// <summary>Time limit per task (--time): minutes, MM:SS, HH:MM:SS or D-HH:MM:SS.</summary>
    public string Time { get; set; } = "24:00:00";
    /// <summary>Array tasks running at once (the %K of --array=0-N%K); 0: as many as the cluster allows.</summary>
    [Range(0)] public int MaxParallel { get; set; }
    /// <summary>
    /// Minutes before the time limit at which a training task checkpoints, stops and puts itself back in the queue
    /// (scontrol requeue), to continue in a fresh allocation; 0: never (a timed-out task is resubmitted by hand).
    /// </summary>
    [Range(0)] public int RequeueBeforeEnd { get; set; } = 5;
    /// <summary>More #SBATCH options, written as given (--constraint=a100, --mail-type=END).</summary>
    public List<string> Sbatch { get; set; } = [];
    /// <summary>Shell lines run before robust in every task (module load cuda, source venv/bin/activate).</summary>
    public List<string> Setup { get; set; } = [];

    [GeneratedRegex(@"^\d+[KMGT]?$")]
    private static partial Regex MemPattern();

    [GeneratedRegex(@"^(\d+|\d+:\d{2}|\d+:\d{2}:\d{2}|\d+-\d+(:\d{2}){0,2})$")]
    private static partial Regex TimePattern();

    internal void Validate(ConfigLoader.Context ctx)
    {
        if (!MemPattern().IsMatch(Mem)) ctx.Error("slurm.mem", $"expected memory as Slurm writes it (16G, 64000M), got '{Mem}'");
        if (!TimePattern().IsMatch(Time)) ctx.Error("slurm.time", $"expected a time limit as Slurm writes it (minutes, HH:MM:SS or D-HH:MM:SS), got '{Time}'");
        foreach (var o in Sbatch)
            if (!o.StartsWith("--", StringComparison.Ordinal) || o.Contains('\n'))
                ctx.Error("slurm.sbatch", $"each entry is one sbatch option starting with --, got '{o}'");
    }
}
