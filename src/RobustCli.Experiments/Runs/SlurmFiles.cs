using RobustCli.Experiments.Config;
using RobustCli.Experiments.Jobs;
using RobustCli.Torch.Serialization;

namespace RobustCli.Experiments.Runs;

/// <summary>
/// The Slurm scripts a sweep or a sharded evaluation is submitted with, written into its folder (with the logs folder
/// Slurm opens a task's output in before the script runs), and the ids a submission was given.
/// </summary>
public static class SlurmFiles
{
    /// <summary>slurm/train-array.sbatch and slurm/report.sbatch of a sweep folder.</summary>
    public static (string Array, string Report) WriteSweep(SweepFolder folder, int jobs, SlurmConfig settings, CliLauncher robust, string name)
    {
        Directory.CreateDirectory(folder.SlurmDir);
        Directory.CreateDirectory(folder.LogsDir);
        var array = Path.Combine(folder.SlurmDir, "train-array.sbatch");
        var report = Path.Combine(folder.SlurmDir, "report.sbatch");
        AtomicFile.WriteText(array, SlurmScripts.TrainArray(folder, jobs, settings, robust, name));
        AtomicFile.WriteText(report, SlurmScripts.Report(folder, settings, robust, name));
        return (array, report);
    }

    /// <summary>eval-array.sbatch (one task per shard) and merge.sbatch in <paramref name="dir"/>.</summary>
    public static (string Array, string Merge) WriteEvaluation(string dir, int shards, IReadOnlyList<string> evalArgs, SlurmConfig settings, CliLauncher robust, string name)
    {
        Directory.CreateDirectory(Path.Combine(dir, "logs"));
        var array = Path.Combine(dir, "eval-array.sbatch");
        var merge = Path.Combine(dir, "merge.sbatch");
        AtomicFile.WriteText(array, SlurmScripts.EvalArray(dir, shards, evalArgs, settings, robust, name));
        AtomicFile.WriteText(merge, SlurmScripts.EvalMerge(dir, shards, settings, robust, name));
        return (array, merge);
    }

    /// <summary>slurm-jobs.txt: the ids a sharded evaluation's array and merge were submitted as.</summary>
    public static void RecordEvaluationJobs(string dir, string arrayId, string mergeId) =>
        AtomicFile.WriteText(Path.Combine(dir, "slurm-jobs.txt"), $"array {arrayId}\nmerge {mergeId}\n");
}
