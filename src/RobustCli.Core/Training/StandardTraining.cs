using RobustCli.Core.Registry;
using RobustCli.Torch;

namespace RobustCli.Core.Training;

/// <summary>Standard (non-adversarial) training: the task's loss on clean inputs (cross entropy; MSE for denoising).</summary>
public sealed class StandardTraining : ITrainingMethod
{
    public static readonly MethodRegistration Registration = new("standard", "standard training on clean inputs (no attack)",
        OptionDeclaration.None, _ => new StandardTraining()) { Tasks = ["classification", "denoise"] };

    public string Name => "standard";

    public MethodOutput Compute(StepContext ctx, Tensor x, Tensor y)
    {
        ctx.Model.Train();
        var output = ctx.Model.Forward(x);
        return new MethodOutput(ctx.Task.Loss(output, y), output, null);
    }
}
