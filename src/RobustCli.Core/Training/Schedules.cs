using RobustCli.Core.Registry;
using RobustCli.Torch.optim;

namespace RobustCli.Core.Training;

/// <summary>What a learning-rate schedule is built from: the base learning rate, the run's epochs and its resolved options (train.schedule.*).</summary>
public sealed record ScheduleBuild(double Lr, int Epochs, OptionValues Options);

/// <summary>
/// A learning-rate schedule by name with the train.schedule keys it reads: validation, `config list schedules`
/// and the factory come from this one declaration. Warm-up (train.schedule.warmup_epochs) and per_step apply to all.
/// </summary>
public sealed record ScheduleRegistration(string Name, string Description, OptionDeclaration Options, Func<ScheduleBuild, LrSchedule> Create) : IRegistration
{
    /// <summary>The rate changes within an epoch whatever per_step says (one-cycle).</summary>
    public bool AlwaysPerStep { get; init; }
}

/// <summary>The learning-rate schedules by name. Adding one is its registration plus one line here (or a Register call).</summary>
public static class Schedules
{
    private static OptionSpec PerStep => OptionSpec.Bool("per_step", false, "update the rate every step (fractional epochs) rather than once per epoch");

    public static readonly ScheduleRegistration Constant = new("constant", "the base rate throughout", new OptionDeclaration([PerStep]), b => new ConstantSchedule(b.Lr));

    public static readonly ScheduleRegistration MultiStep = new("multistep", "rate *= gamma at each milestone epoch (torch MultiStepLR stepped once per epoch)",
        new OptionDeclaration(
        [
            OptionSpec.Ints("milestones", [], "0-based epochs from which the rate is multiplied by gamma once more", min: 0, sorted: true),
            OptionSpec.Double("gamma", 0.1, "the factor at each milestone", min: 0, minExclusive: true),
            PerStep,
        ]),
        b => new MultiStepSchedule(b.Lr, b.Options.Ints("milestones").ToList(), b.Options.Double("gamma")));

    public static readonly ScheduleRegistration Cosine = new("cosine", "cosine annealing from the base rate to min_lr over the run",
        new OptionDeclaration([OptionSpec.Double("min_lr", 0, "the rate at the end", min: 0), PerStep]),
        b => new CosineSchedule(b.Lr, b.Epochs, b.Options.Double("min_lr"), b.Options.Bool("per_step")));

    public static readonly ScheduleRegistration OneCycle = new("onecycle", "piecewise linear 0 -> lr -> 0 with the peak at peak_fraction of the run, every step",
        new OptionDeclaration([OptionSpec.Double("peak_fraction", 0.4, "where the peak is, as a fraction of the run", min: 0, max: 1, minExclusive: true, maxExclusive: true)]),
        b => PiecewiseLinearSchedule.OneCycle(b.Lr, b.Epochs, b.Options.Double("peak_fraction")))
    { AlwaysPerStep = true };

    public static readonly Registry<ScheduleRegistration> Registry = new("schedule", [Constant, MultiStep, Cosine, OneCycle]);
}
