using System.CommandLine;
using RobustCli.Experiments.Jobs;

namespace RobustCli.Commands;

internal static class SharedOptions
{
    public static Option<string[]> Set() => new("--set")
    {
        Description = "Override a config key: --set train.beta=3 (repeatable; lists as --set train.schedule.milestones=[50,75]).",
        DefaultValueFactory = _ => [],
        AllowMultipleArgumentsPerToken = false,
    };

    public static Option<DirectoryInfo?> RunsDir() => new("--runs-dir") { Description = "Folder for run folders (default: runs/ in the repository, else ./runs)." };

    public static Option<bool> NoProgress() => new("--no-progress") { Description = "Plain log lines instead of a live progress bar." };

    public static string ResolveRunsDir(DirectoryInfo? dir) =>
        dir?.FullName ?? Path.Combine(RepoPaths.Root ?? Directory.GetCurrentDirectory(), "runs");

    public static JobOptions Options(ParseResult parse, Option<DirectoryInfo?> runsDir) =>
        new(ResolveRunsDir(parse.GetValue(runsDir)), RepoPaths.Root, parse.InvocationConfiguration.Error, Cancel: Interruption.Token);
}
