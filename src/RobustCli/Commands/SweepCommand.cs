using System.CommandLine;
using RobustCli.Experiments.Jobs;

namespace RobustCli.Commands;

/// <summary><c>robust sweep</c>: the grid of a config's sweep: section, one run folder per job, one summary CSV.</summary>
public static class SweepCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config", "-c") { Description = "YAML config with a sweep: section.", Required = true };
        var sets = SharedOptions.Set();
        var dryRun = new Option<bool>("--dry-run") { Description = "List the jobs and exit." };
        var runsDir = SharedOptions.RunsDir();
        var noProgress = SharedOptions.NoProgress();
        var cmd = new Command("sweep", """
            Run every job of a config's sweep: section (a grid over key paths), one after another.

            sweep:
              train.beta: [1, 3, 6]
              seed: [0, 1, 2]

            Examples:
              robust sweep --config configs/trades-sweep.yaml --dry-run
              robust sweep --config configs/trades-sweep.yaml --set train.epochs=20
            """)
        {
            config, sets, dryRun, runsDir, noProgress,
        };
        cmd.SetAction(parse => Guard.Run(parse.InvocationConfiguration.Error, () =>
        {
            var o = parse.InvocationConfiguration.Output;
            var jobs = Sweep.Expand(parse.GetValue(config)!.FullName, parse.GetValue(sets)!);
            o.WriteLine($"{jobs.Count} job(s):");
            foreach (var j in jobs) o.WriteLine($"  {j.Index + 1}. {(j.Label.Length == 0 ? "(the base config)" : j.Label)}");
            if (parse.GetValue(dryRun)) return 0;
            var (code, csv) = ProgressDisplay.RunJob(parse, SharedOptions.Options(parse, runsDir), parse.GetValue(noProgress), opts => Sweep.Run(jobs, opts));
            o.WriteLine($"sweep summary: {csv}");
            return code;
        }));
        return cmd;
    }
}
