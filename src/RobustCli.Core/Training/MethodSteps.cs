using RobustCli.Torch;
using RobustCli.Torch.nn;
using RobustCli.Torch.optim;

namespace RobustCli.Core.Training;

/// <summary>Pieces every method's step shares.</summary>
internal static class MethodSteps
{
    /// <summary>Predictions on clean inputs in eval mode, without gradients (a training-accuracy figure).</summary>
    public static Tensor CleanPredictions(Module model, Tensor x)
    {
        var was = model.Training;
        model.Eval();
        try
        {
            using var _ = torch.NoGrad();
            using var logits = model.Forward(x);
            return logits.Argmax(1);
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

    /// <summary>Backward and optimizer step on a scalar loss; returns its value.</summary>
    public static double Optimize(Optimizer optimizer, Tensor loss)
    {
        optimizer.ZeroGrad();
        loss.Backward();
        optimizer.Step();
        return loss.Item();
    }
}
