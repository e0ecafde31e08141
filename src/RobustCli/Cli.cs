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
            ConfigCommand.Create(),
            BenchCommand.Create(),
            InfoCommand.Create(),
        };
        return root;
    }
}
