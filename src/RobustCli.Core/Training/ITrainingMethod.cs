using RobustCli.Torch;
using RobustCli.Torch.nn;
using RobustCli.Torch.optim;

namespace RobustCli.Core.Training;

/// <summary>What a method sees for one step.</summary>
public sealed class StepContext(Module model, Optimizer optimizer, int epoch, int totalEpochs, int numClasses, int batch = 0)
{
    /// <summary>0-based index of the batch within the epoch (seeds per-batch randomness reproducibly).</summary>
    public int Batch { get; } = batch;
    public Module Model { get; } = model;
    public Optimizer Optimizer { get; } = optimizer;
    /// <summary>0-based epoch.</summary>
    public int Epoch { get; } = epoch;
    public int TotalEpochs { get; } = totalEpochs;
    public int NumClasses { get; } = numClasses;
}

/// <summary>
/// A step's outcome: the loss value, and the predictions on the clean and adversarial inputs (null where a
/// method has none), which the loop scores against the true labels.
/// </summary>
public sealed record StepResult(double Loss, Tensor? CleanPredictions, Tensor? AdversarialPredictions);

/// <summary>Validation results handed to a method at the end of an epoch.</summary>
public sealed record EpochEnd(int Epoch, double ValidationCleanAccuracy, double ValidationRobustAccuracy);

/// <summary>
/// A training method: one optimisation step on a batch (it owns its attack and its loss), an optional hook at
/// each epoch's end, extra metrics for metrics.csv, and the state it needs saved to resume.
/// </summary>
public interface ITrainingMethod
{
    string Name { get; }

    /// <summary>One step on (x, y): craft what the method needs, compute the loss, backward, optimizer step.</summary>
    StepResult Step(StepContext ctx, Tensor x, Tensor y);

    void OnEpochEnd(EpochEnd info) { }

    /// <summary>Method-specific columns for metrics.csv, in a fixed order (e.g. NoiLIn's noise_rate).</summary>
    IReadOnlyList<(string Column, double Value)> Metrics => [];

    /// <summary>State needed to resume exactly (plain values: numbers, strings, lists).</summary>
    Dictionary<string, object?> SaveState() => new();

    void LoadState(IReadOnlyDictionary<string, object?> state) { }
}
