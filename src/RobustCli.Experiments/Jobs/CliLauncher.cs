namespace RobustCli.Experiments.Jobs;

/// <summary>How to start the CLI in a process of its own (a sweep's parallel jobs, a Slurm task): the executable and the arguments before the command's.</summary>
public sealed record CliLauncher(string Executable, IReadOnlyList<string> Prefix)
{
    /// <summary>The robust apphost beside the running assembly, else dotnet robust.dll.</summary>
    public static CliLauncher Current()
    {
        var dir = AppContext.BaseDirectory;
        var host = Path.Combine(dir, "robust");
        if (File.Exists(host)) return new CliLauncher(host, []);
        return new CliLauncher("dotnet", [Path.Combine(dir, "robust.dll")]);
    }

    public string CommandLine => string.Join(" ", new[] { Executable }.Concat(Prefix).Select(Shell.Quote));
}
