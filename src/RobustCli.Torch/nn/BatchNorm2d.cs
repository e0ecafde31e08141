namespace RobustCli.Torch.nn;

/// <summary>
/// torch.nn.BatchNorm2d: batch statistics in training (updating running_mean, running_var and
/// num_batches_tracked), running statistics in eval. momentum null means a cumulative average.
/// </summary>
public sealed class BatchNorm2d : Module
{
    public Tensor? Weight { get; }
    public Tensor? Bias { get; }
    public Tensor? RunningMean { get; }
    public Tensor? RunningVar { get; }
    public Tensor? NumBatchesTracked { get; }
    public double Eps { get; }
    public double? Momentum { get; }

    public BatchNorm2d(long numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true,
        bool trackRunningStats = true, Device? device = null)
    {
        Eps = eps; Momentum = momentum;
        if (affine)
        {
            Weight = RegisterParameter("weight", torch.Ones([numFeatures], device: device));
            Bias = RegisterParameter("bias", torch.Zeros([numFeatures], device: device));
        }
        if (trackRunningStats)
        {
            RunningMean = RegisterBuffer("running_mean", torch.Zeros([numFeatures], device: device));
            RunningVar = RegisterBuffer("running_var", torch.Ones([numFeatures], device: device));
            NumBatchesTracked = RegisterBuffer("num_batches_tracked", torch.Zeros([], DType.Int64, device));
        }
    }

    public override Tensor Forward(Tensor input)
    {
        if (input.Dim != 4) throw new ArgumentException($"BatchNorm2d expects a 4-D input, got {input.Describe()}");
        var factor = Momentum ?? 0.0;
        if (Training && NumBatchesTracked != null)
        {
            NumBatchesTracked.Add_(1);
            if (Momentum == null) factor = 1.0 / NumBatchesTracked.Item();
        }
        // Batch statistics in training (the kernel updates the running buffers in place), running ones in eval.
        return F.BatchNorm(input, RunningMean, RunningVar, Weight, Bias, Training || RunningMean == null, factor, Eps);
    }
}
