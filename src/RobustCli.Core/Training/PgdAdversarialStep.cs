using RobustCli.Torch;
using RobustCli.Torch.nn;
using RobustCli.Torch.optim;

namespace RobustCli.Core.Training;

/// <summary>
/// One PGD-k adversarial-training step (Madry et al.): k L-inf PGD steps from a uniform random start
/// with input-only gradients and the model in eval mode, then one optimiser step on the adversarial batch
/// in train mode. It is the step ../shared/bench/reference_pgd_at.py times, and the benchmark runs it.
/// </summary>
public sealed class PgdAdversarialStep(Module model, Optimizer optimizer, double eps, double alpha, int steps, Generator? generator = null)
{
    /// <summary>Runs the step; returns the training loss (a 0-dim tensor in the caller's scope).</summary>
    public Tensor Run(Tensor x, Tensor y)
    {
        model.Eval();
        var delta = torch.RandLike(x, generator).Mul_(2).Sub_(1).Mul_(eps).DetachFromScope();
        try
        {
            for (var k = 0; k < steps; k++)
            {
                using var scope = DisposeScope.Open();
                delta.RequiresGrad = true;
                var xAdv = (x + delta).Clamp_(0, 1);
                var loss = F.CrossEntropy(model.Forward(xAdv), y);
                var g = Autograd.Grad(loss, delta);
                using (torch.NoGrad())
                {
                    var next = delta.Detach().Add_(g.Sign_().Mul_(alpha)).Clamp_(-eps, eps);
                    next.DetachFromScope();
                    delta.Dispose();
                    delta = next;
                }
            }
            model.Train();
            using var trainScope = DisposeScope.Open();
            Tensor xFinal;
            using (torch.NoGrad()) xFinal = (x + delta).Clamp_(0, 1);
            var trainLoss = F.CrossEntropy(model.Forward(xFinal), y);
            optimizer.ZeroGrad();
            trainLoss.Backward();
            optimizer.Step();
            return trainLoss.Detach().MoveToOuterScope();
        }
        finally
        {
            delta.Dispose();
        }
    }
}
