using System.CommandLine;
using RobustCli.Experiments.Config;

namespace RobustCli.Commands;

/// <summary><c>robust config validate|show</c>: check a config, or print it fully resolved (defaults included).</summary>
public static class ConfigCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "YAML config." };
        var sets = SharedOptions.Set();
        var validate = new Command("validate", "Check a config: exit 0 when valid, 2 with file:line:column messages when not.") { file, sets };
        validate.SetAction(parse => Guard.Run(parse.InvocationConfiguration.Error, () =>
        {
            var loaded = ConfigLoader.Load(parse.GetValue(file)!.FullName, parse.GetValue(sets));
            foreach (var w in loaded.Warnings) parse.InvocationConfiguration.Error.WriteLine("warning: " + w);
            parse.InvocationConfiguration.Output.WriteLine($"ok: {parse.GetValue(file)!.Name} ({loaded.Config.Train.Method} on {loaded.Config.Data.Name}, " +
                $"{loaded.Config.Model.Arch}{(loaded.Sweep.Count > 0 ? $", sweep over {string.Join(", ", loaded.Sweep.Select(a => a.Path))}" : "")})");
            return 0;
        }));
        var file2 = new Argument<FileInfo>("file") { Description = "YAML config." };
        var sets2 = SharedOptions.Set();
        var show = new Command("show", "Print the fully resolved config (defaults included, --set applied).") { file2, sets2 };
        show.SetAction(parse => Guard.Run(parse.InvocationConfiguration.Error, () =>
        {
            var loaded = ConfigLoader.Load(parse.GetValue(file2)!.FullName, parse.GetValue(sets2));
            foreach (var w in loaded.Warnings) parse.InvocationConfiguration.Error.WriteLine("warning: " + w);
            parse.InvocationConfiguration.Output.Write(ConfigLoader.ToYaml(loaded.Config));
            return 0;
        }));
        return new Command("config", """
            Validate a config or show it resolved; list what can be named in one (methods, attacks, models, tasks,
            datasets, optimizers, schedules) with every option, its default and range.

            Examples:
              robust config validate configs/noilin.yaml
              robust config show configs/trades.yaml --set train.trades.beta=3
              robust config list methods
            """) { validate, show, List() };
    }

    /// <summary><c>robust config list KIND</c>: the registrations of a kind, each with its options from its declaration.</summary>
    private static Command List()
    {
        var kind = new Argument<string>("kind") { Description = "methods, attacks, models, tasks, datasets, optimizers or schedules." };
        var cmd = new Command("list", "List the registered methods, attacks, models, tasks, datasets, optimizers or schedules with their options (key, default, range).") { kind };
        cmd.SetAction(parse => Guard.Run(parse.InvocationConfiguration.Error, () =>
        {
            var o = parse.InvocationConfiguration.Output;
            IEnumerable<(string Name, string Description, RobustCli.Core.Registry.OptionDeclaration Options, string Where)> entries = parse.GetValue(kind) switch
            {
                "methods" => RobustCli.Core.Training.Methods.Registry.All.Select(r => (r.Name, r.Description, r.Options, $"train.{r.Section}.")),
                "attacks" => RobustCli.Core.Attacks.Attacks.Registry.All.Select(r => (r.Name, r.Description + (r.Examples.Count > 0 ? $" (e.g. {string.Join(", ", r.Examples)})" : ""), r.Options, $"{r.Name}:")),
                "models" => RobustCli.Core.Models.ModelFactory.Registry.All.Select(r => (r.Name, r.Description + $" [{string.Join(", ", r.Tasks)}]", r.Options, "model.")),
                "tasks" => RobustCli.Core.Tasks.Tasks.Registry.All.Select(r => (r.Name, r.Description, r.Options, "task.")),
                "datasets" => RobustCli.Core.Data.DatasetCatalog.Registry.All.Select(r => (r.Name, r.Description, r.Options, "data.")),
                "optimizers" => RobustCli.Core.Training.Optimizers.Registry.All.Select(r => (r.Name, r.Description, r.Options, "train.optimizer.")),
                "schedules" => RobustCli.Core.Training.Schedules.Registry.All.Select(r => (r.Name, r.Description, r.Options, "train.schedule.")),
                var k => throw new ConfigException($"config list {k}: expected methods, attacks, models, tasks, datasets, optimizers or schedules"),
            };
            foreach (var e in entries)
            {
                o.WriteLine($"{e.Name}: {e.Description}");
                foreach (var line in e.Options.HelpLines("  " + e.Where)) o.WriteLine(line);
            }
            return 0;
        }));
        return cmd;
    }
}
