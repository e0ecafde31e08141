using RobustCli.Torch;
using RobustCli.Torch.optim;

namespace RobustCli.Core.Training;

/// <summary>
/// The optimisation step the loop owns: the method computes its loss; this does zero-grad, backward, gradient
/// clipping (train.grad_clip: the global 2-norm, as clip_grad_norm_), the optimizer step and the EMA update. A
/// method that combines gradients itself (<see cref="IOwnsOptimizationStep"/>) gets this object and calls
/// <see cref="Apply"/> once its gradients are in place.
/// </summary>
public sealed class OptimizationStep(Optimizer optimizer, double gradClip = 0, WeightAverage? average = null) : IOptimizationStep
{
    public Optimizer Optimizer { get; } = optimizer;
    public WeightAverage? Average { get; } = average;
    public IReadOnlyList<Tensor> Parameters => Optimizer.Parameters;

    public void ZeroGrad() => Optimizer.ZeroGrad();

    public void Apply()
    {
        if (gradClip > 0) GradientClipping.ClipNorm(Optimizer.Parameters, gradClip);
        Optimizer.Step();
        Average?.Update();
    }

    /// <summary>One whole step of a method on (x, y): its loss, backward, then <see cref="Apply"/>.</summary>
    public StepResult Run(ITrainingMethod method, StepContext ctx, Tensor x, Tensor y)
    {
        if (method is IOwnsOptimizationStep owner) return owner.Step(ctx, x, y, this);
        var output = method.Compute(ctx, x, y);
        ZeroGrad();
        output.Loss.Backward();
        Apply();
        return new StepResult(output.Loss.Item(), output.CleanOutput, output.AdversarialOutput);
    }
}
