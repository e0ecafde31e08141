using RobustCli.Torch;

namespace RobustCli.Core.Training;

/// <summary>
/// torch.nn.utils.clip_grad_norm_ (2-norm): the norm over all gradients together; when it exceeds max_norm, every
/// gradient is scaled by max_norm / (norm + 1e-6). Returns the norm before clipping.
/// </summary>
public static class GradientClipping
{
    public static double ClipNorm(IEnumerable<Tensor> parameters, double maxNorm)
    {
        using var scope = DisposeScope.Open();
        using var _ = torch.NoGrad();
        var grads = parameters.Select(p => p.Grad).Where(g => g != null).Select(g => g!).ToList();
        if (grads.Count == 0) return 0;
        var norms = torch.Stack(grads.Select(g => g.Norm(2)).ToArray());
        var total = norms.Norm(2).Item();
        var coef = maxNorm / (total + 1e-6);
        if (coef < 1)
            foreach (var g in grads) g.Mul_(coef);
        return total;
    }
}
