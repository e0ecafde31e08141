using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Models;
using RobustCli.Core.Registry;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Evaluation;

/// <summary>
/// A report measured on validation after every epoch for models that offer what it reads (an expert ensemble's
/// per-expert accuracies): its metrics.csv columns for a given model, and their values. The training loop and the
/// run's metrics header ask <see cref="EpochReports.For"/>; neither knows which reports exist.
/// </summary>
public sealed record EpochReportRegistration(string Name, string Description, ModelCapability Requires,
    Func<Module, IReadOnlyList<string>> Columns,
    Func<Module, DataLoader, Attack?, ulong, IReadOnlyList<(string Column, double Value)>> Measure) : IRegistration
{
    public OptionDeclaration Options => OptionDeclaration.None;
}

/// <summary>The per-epoch reports by name. Adding one is its file plus one line here (or a Register call).</summary>
public static class EpochReports
{
    public static readonly Registry<EpochReportRegistration> Registry = new("epoch report", [ExpertReport.Registration]);

    /// <summary>The reports the model (as evaluated: the EMA, a view) offers what they need for, in registration order.</summary>
    public static IReadOnlyList<EpochReportRegistration> For(Module model) => Registry.All.Where(r => r.Requires.IsOfferedBy(model)).ToList();

    /// <summary>Every column the model's reports add to metrics.csv, in order.</summary>
    public static IReadOnlyList<string> Columns(Module model) => For(model).SelectMany(r => r.Columns(model)).ToList();
}
