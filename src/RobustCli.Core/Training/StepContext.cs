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
