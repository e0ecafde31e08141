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
            parse.InvocationConfiguration.Output.Write(ConfigLoader.ToYaml(loaded.Config));
            return 0;
        }));
        return new Command("config", """
            Validate a config or show it resolved.

            Examples:
              robust config validate configs/noilin.yaml
              robust config show configs/trades.yaml --set train.beta=3
            """) { validate, show };
    }
}
