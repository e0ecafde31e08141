using RobustCli.Core.Attacks;
using RobustCli.Core.Tasks;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Training;

/// <summary>
/// What a method computes for one batch: the loss to minimise (the loop does backward and the optimizer step), the
/// model's outputs on the clean and the adversarial inputs where it has them (scored by the task: accuracy, PSNR),
/// and named values for metrics.csv.
/// </summary>
public sealed record MethodOutput(Tensor Loss, Tensor? CleanOutput = null, Tensor? AdversarialOutput = null);

/// <summary>A step's outcome as the loop reports it: the loss value and the outputs scored.</summary>
public sealed record StepResult(double Loss, Tensor? CleanOutput, Tensor? AdversarialOutput);

/// <summary>Validation results handed to a method at the end of an epoch: the task's clean and robust scores (accuracies for classification).</summary>
public sealed record EpochEnd(int Epoch, double ValidationCleanAccuracy, double ValidationRobustAccuracy);

/// <summary>
/// A training method computes losses: it crafts what it needs (adversarial examples, noisy labels) and returns the
/// loss of a batch; the training loop owns zero-grad, backward, clipping, the optimizer step and the EMA. It may
/// hook each epoch's end, report metrics (the columns its registration declares) and keep state for resume.
/// </summary>
public interface ITrainingMethod
{
    string Name { get; }

    MethodOutput Compute(StepContext ctx, Tensor x, Tensor y);

    void OnEpochEnd(EpochEnd info) { }

    /// <summary>Method-specific values for metrics.csv, in the order of the registration's columns (e.g. NoiLIn's noise_rate).</summary>
    IReadOnlyList<(string Column, double Value)> Metrics => [];

    /// <summary>State needed to resume exactly (plain values: numbers, strings, lists).</summary>
    Dictionary<string, object?> SaveState() => new();

    void LoadState(IReadOnlyDictionary<string, object?> state) { }
}

/// <summary>
/// The one way a method takes over the optimisation step: when it must combine several gradients itself (GAT's
/// MGDA). It computes and combines gradients into the parameters' .grad, then calls <see cref="IOptimizationStep.Apply"/>,
/// which clips, steps and updates the EMA exactly as for every other method.
/// </summary>
public interface IOwnsOptimizationStep
{
    StepResult Step(StepContext ctx, Tensor x, Tensor y, IOptimizationStep step);
}

/// <summary>The loop's optimisation services, for a method that owns its step.</summary>
public interface IOptimizationStep
{
    IReadOnlyList<Tensor> Parameters { get; }
    void ZeroGrad();
    /// <summary>Clip (train.grad_clip), optimizer step, EMA update, from the gradients the parameters hold.</summary>
    void Apply();
}
