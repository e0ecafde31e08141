using RobustCli.Core.Attacks;
using RobustCli.Core.Tasks;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Training;

/// <summary>What a method sees for one batch.</summary>
public sealed class StepContext(Module model, int epoch, int totalEpochs, int numClasses, int batch = 0)
{
    public Module Model { get; } = model;
    /// <summary>0-based epoch.</summary>
    public int Epoch { get; } = epoch;
    public int TotalEpochs { get; } = totalEpochs;
    public int NumClasses { get; } = numClasses;
    /// <summary>0-based index of the batch within the epoch (seeds per-batch randomness reproducibly).</summary>
    public int Batch { get; } = batch;
    /// <summary>What the batch holds and how outputs are scored; classification unless the run says otherwise.</summary>
    public ITask Task { get; init; } = ClassificationTask.Instance;
    /// <summary>Dataset indices of the rows: training attacks draw their noise per sample (null: the global generator).</summary>
    public long[]? SampleIds { get; init; }
    /// <summary>Seeds the per-sample noise of this epoch's attacks.</summary>
    public ulong NoiseSeed { get; init; }
    /// <summary>Spend an extra eval-mode forward per batch on the clean training accuracy (train.log_clean_accuracy).</summary>
    public bool LogCleanAccuracy { get; init; } = true;

    /// <summary>
    /// Runs a training attack with this batch's per-sample noise, on the model in eval mode, or as it is (train mode,
    /// BatchNorm on batch statistics, as SoE's reference crafts) with <paramref name="evalMode"/> false.
    /// </summary>
    /// <param name="on">A view of the model the attack reads instead of it (CIFS's logits and probes side by side).</param>
    public Tensor Perturb(Attack attack, Tensor x, Tensor y, bool evalMode = true, Module? on = null)
    {
        attack.Seed = NoiseSeed;
        attack.ClampToBox = Task.InputsInBox;
        return attack.Perturb(on ?? Model, x, y, evalMode, SampleIds);
    }
}

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
