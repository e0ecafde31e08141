using System.CommandLine;
using RobustCli.Commands;

namespace RobustCli;

/// <summary>The command tree, built in one place so the program and the tests parse the same way.</summary>
public static class Cli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("RobustCli: train adversarially robust image classifiers, attack them, measure robust accuracy.")
        {
            TrainCommand.Create(),
            EvalCommand.Create(),
            SweepCommand.Create(),
            RunsCommand.Create(),
            ReportCommand.Create(),
            DiagnoseCommand.Create(),
            ConfigCommand.Create(),
            BenchCommand.Create(),
            ExportCommand.Create(),
            InfoCommand.Create(),
        };
        return root;
    }

    /// <summary>
    /// Parses and runs a command line: a malformed one (an unknown flag, a missing value) prints System.CommandLine's
    /// message and exits 2, and nothing escapes as a stack trace.
    /// </summary>
    public static int Run(string[] args, InvocationConfiguration? configuration = null)
    {
        var config = configuration ?? new InvocationConfiguration();
        return Guard.Run(config.Error, () =>
        {
            var parse = Build().Parse(args);
            if (parse.Errors.Count > 0)
            {
                foreach (var e in parse.Errors) config.Error.WriteLine("error: " + e.Message);
                config.Error.WriteLine("see `robust --help` or `robust <command> --help`");
                return Guard.BadInput;
            }
            return parse.Invoke(config);
        });
    }
}
