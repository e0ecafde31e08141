using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Training;

/// <summary>Pieces every method's loss shares.</summary>
internal static class MethodSteps
{
    /// <summary>
    /// The model's outputs on clean inputs in eval mode, without gradients: a training-accuracy figure, and an extra
    /// forward pass per batch, skipped when train.log_clean_accuracy is false.
    /// </summary>
    public static Tensor? CleanOutput(StepContext ctx, Tensor x)
    {
        if (!ctx.LogCleanAccuracy) return null;
        var model = ctx.Model;
        var was = model.Training;
        model.Eval();
        try
        {
            using var _ = torch.NoGrad();
            return model.Forward(x);
        }
        finally
        {
            if (was) model.Train();
        }
    }

    /// <summary>Logits on the natural and the adversarial batch in train mode (TRADES, MART: gradients flow through both).</summary>
    public static (Tensor Natural, Tensor Adversarial) TrainModeLogits(Module model, Tensor x, Tensor adv)
    {
        model.Train();
        return (model.Forward(x), model.Forward(adv));
    }
}
