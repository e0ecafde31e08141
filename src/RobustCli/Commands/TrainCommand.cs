using System.CommandLine;
using RobustCli.Experiments.Config;
using RobustCli.Experiments.Jobs;

namespace RobustCli.Commands;

/// <summary><c>robust train</c>: one training run from a config (or the rest of a killed run, with --resume).</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config", "-c") { Description = "YAML config (configs/*.yaml)." };
        var sets = SharedOptions.Set();
        var device = new Option<string?>("--device") { Description = "auto, cpu, cuda or cuda:N (overrides the config)." };
        var runsDir = SharedOptions.RunsDir();
        var name = new Option<string?>("--name") { Description = "Run name: the folder under runs/ (overrides the config)." };
        var resume = new Option<DirectoryInfo?>("--resume") { Description = "Continue a killed run from its checkpoints/last.pt." };
        var seed = new Option<int?>("--seed") { Description = "Random seed (overrides the config)." };
        var runDir = new Option<DirectoryInfo?>("--run-dir")
        {
            Description = "Train in exactly this folder: start the run there, or continue it (from its last checkpoint) when the folder already holds this config's run, or do nothing when that run completed. Repeat the same command until it succeeds (requeued cluster jobs do).",
        };
        var noProgress = SharedOptions.NoProgress();
        var cmd = new Command("train", $"""
            Train a model as a config says; writes runs/<name>/<time>-<id>/ (config.yaml, metrics.csv, log.txt,
            checkpoints/last.pt and best.pt, final_eval.csv, summary.json).

            Methods (train.method): {string.Join(", ", RobustCli.Core.Training.Methods.Registry.Names)}; their options
            live under train.<method>, e.g. train.trades.beta (robust config list methods shows them all).

            Examples:
              robust train --config configs/quickstart.yaml
              robust train --config configs/trades.yaml --set train.trades.beta=3 --set train.epochs=50
              robust train --resume runs/trades/20261122-101500-1a2b3c
              robust train --config configs/trades.yaml --run-dir runs/trades/beta6   # start, or continue after a kill
            """)
        {
            config, sets, device, runsDir, name, resume, seed, runDir, noProgress,
        };
        cmd.SetAction(parse => Guard.Run(parse.InvocationConfiguration.Error, () =>
        {
            var o = parse.InvocationConfiguration.Output;
            var resumeDir = parse.GetValue(resume);
            var fixedDir = parse.GetValue(runDir);
            if (fixedDir != null && resumeDir != null)
                throw new ConfigException("--run-dir already continues the run in that folder: drop --resume");
            RunConfig cfg;
            IReadOnlyList<string> warnings = [];
            if (resumeDir != null)
            {
                if (parse.GetValue(sets)!.Length > 0 || parse.GetValue(config) != null)
                    throw new ConfigException("--resume continues a run with its own config.yaml: drop --config and --set");
                cfg = ConfigLoader.Load(Path.Combine(resumeDir.FullName, "config.yaml")).Config;
            }
            else
            {
                var file = parse.GetValue(config) ?? throw new ConfigException("give --config FILE (or --resume RUN_DIR)");
                var all = parse.GetValue(sets)!.ToList();
                if (parse.GetValue(device) is { } d) all.Add($"device={d}");
                if (parse.GetValue(name) is { } n) all.Add($"name={n}");
                if (parse.GetValue(seed) is { } s) all.Add($"seed={s}");
                var loaded = ConfigLoader.Load(file.FullName, all);
                if (loaded.Sweep.Count > 0)
                    o.WriteLine($"note: {file.Name} has a sweep: section; `robust train` runs the base config once (use `robust sweep` for the grid)");
                cfg = loaded.Config;
                warnings = loaded.Warnings;
                foreach (var w in warnings) parse.InvocationConfiguration.Error.WriteLine("warning: " + w);
            }
            var result = ProgressDisplay.RunJob(parse, SharedOptions.Options(parse, runsDir) with { ConfigWarnings = warnings }, parse.GetValue(noProgress),
                opts => fixedDir != null ? TrainingJob.RunIn(cfg, opts, fixedDir.FullName) : TrainingJob.Run(cfg, opts, resumeDir?.FullName));
            o.WriteLine($"run folder: {result.Folder.Path}");
            if (result.Summary.Final.Count > 0)
            {
                var task = ComponentFactory.Task(cfg.Task);
                o.WriteLine("final: " + string.Join(", ", result.Summary.Final.Select(kv => $"{kv.Key} {task.Format(kv.Key, kv.Value ?? double.NaN)}")));
            }
            if (result.Summary.Status == "interrupted")
                parse.InvocationConfiguration.Error.WriteLine($"interrupted: continue with `robust train --resume {result.Folder.Path}`" + (fixedDir != null ? " or the same command" : ""));
            else if (result.ExitCode != 0) parse.InvocationConfiguration.Error.WriteLine($"error: the run {result.Summary.Status}: {result.Summary.Error}");
            return result.ExitCode;
        }));
        return cmd;
    }
}
