using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Training;

/// <summary>Standard (non-adversarial) training: cross entropy on clean inputs.</summary>
public sealed class StandardTraining : ITrainingMethod
{
    public string Name => "standard";

    public StepResult Step(StepContext ctx, Tensor x, Tensor y)
    {
        ctx.Model.Train();
        var logits = ctx.Model.Forward(x);
        var loss = MethodSteps.Optimize(ctx.Optimizer, F.CrossEntropy(logits, y));
        return new StepResult(loss, logits.Argmax(1), null);
    }
}
