using System.CommandLine;
using System.Diagnostics;
using RobustCli.Experiments.Config;

namespace RobustCli.Commands;

/// <summary>The flags that override a config's slurm: section, shared by robust sweep and robust eval, and sbatch itself.</summary>
internal sealed class SlurmOptions
{
    public Option<bool> Slurm { get; } = new("--slurm") { Description = "Write Slurm batch scripts (a job array, and the job that follows it) instead of running here." };
    public Option<bool> Submit { get; } = new("--submit") { Description = "With --slurm: submit the scripts with sbatch and print the job ids." };
    public Option<string?> Partition { get; } = new("--partition") { Description = "Slurm partition (overrides slurm.partition)." };
    public Option<string?> Account { get; } = new("--account") { Description = "Slurm account (overrides slurm.account)." };
    public Option<int?> Gpus { get; } = new("--gpus") { Description = "GPUs per array task (overrides slurm.gpus)." };
    public Option<int?> Cpus { get; } = new("--cpus") { Description = "CPU cores per array task (overrides slurm.cpus_per_task)." };
    public Option<string?> Mem { get; } = new("--mem") { Description = "Memory per array task, 16G (overrides slurm.mem)." };
    public Option<string?> Time { get; } = new("--time") { Description = "Time limit per array task, HH:MM:SS (overrides slurm.time)." };
    public Option<int?> MaxParallel { get; } = new("--max-parallel") { Description = "Array tasks at once, the %K of --array (overrides slurm.max_parallel)." };

    public IEnumerable<Option> All => [Slurm, Submit, Partition, Account, Gpus, Cpus, Mem, Time, MaxParallel];

    /// <summary>The config's section with the flags given applied, as --set slurm.KEY=VALUE would (so they are checked the same way).</summary>
    public IEnumerable<string> Sets(ParseResult parse)
    {
        if (parse.GetValue(Partition) is { } p) yield return $"slurm.partition={p}";
        if (parse.GetValue(Account) is { } a) yield return $"slurm.account={a}";
        if (parse.GetValue(Gpus) is { } g) yield return $"slurm.gpus={g}";
        if (parse.GetValue(Cpus) is { } c) yield return $"slurm.cpus_per_task={c}";
        if (parse.GetValue(Mem) is { } m) yield return $"slurm.mem={m}";
        if (parse.GetValue(Time) is { } t) yield return $"slurm.time={t}";
        if (parse.GetValue(MaxParallel) is { } k) yield return $"slurm.max_parallel={k}";
    }

    /// <summary>Whether a flag of the section was given without --slurm (it would do nothing).</summary>
    public void CheckUsed(ParseResult parse)
    {
        if (!parse.GetValue(Slurm) && (parse.GetValue(Submit) || Sets(parse).Any()))
            throw new ConfigException("--submit and the Slurm resource flags go with --slurm");
    }

    /// <summary>sbatch --parsable SCRIPT [--dependency=...]: the job id.</summary>
    public static string Sbatch(string script, string? dependency = null)
    {
        var psi = new ProcessStartInfo("sbatch") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("--parsable");
        if (dependency != null) psi.ArgumentList.Add("--dependency=" + dependency);
        psi.ArgumentList.Add(script);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new ConfigException($"--submit: sbatch is not on PATH here; submit the script yourself on the cluster's login node: sbatch {script}");
        }
        using (p)
        {
            var output = p.StandardOutput.ReadToEnd();
            var error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new ConfigException($"sbatch {script} failed (exit {p.ExitCode}): {error.Trim()}");
            return output.Trim().Split(';')[0];
        }
    }
}
