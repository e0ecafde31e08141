using RobustCli.Core.Registry;

namespace RobustCli.Core.Training;

/// <summary>The training methods by name. Adding one is its file plus one line here (or a Register call).</summary>
public static class Methods
{
    public static readonly Registry<MethodRegistration> Registry = new("method",
    [
        StandardTraining.Registration,
        PgdAdversarialTraining.Registration,
        TradesTraining.Registration,
        MartTraining.Registration,
        FriendlyAdversarialTraining.Registration,
        FgsmRsTraining.Registration,
        NoiLinTraining.Registration,
        SoeTraining.Registration,
        HatTraining.Registration,
        VanillaAdversarialTraining.Registration,
        CifsTraining.Registration,
        GatTraining.Registration,
    ]);

    /// <summary>The metrics.csv columns of a method with the given options (its base's follow a wrapper's own).</summary>
    public static IReadOnlyList<string> Columns(string name, Func<string, OptionValues> optionsOf)
    {
        var r = Registry.Get(name);
        if (r.BaseOption == null) return r.Columns;
        return [.. r.Columns, .. Columns(optionsOf(name).String(r.BaseOption), optionsOf)];
    }
}
