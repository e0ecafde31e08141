using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Attacks;

/// <summary>What an attack maximises, from the logits at the current point (and, for TRADES, the natural logits).</summary>
public interface IAttackLoss
{
    string Name { get; }
    bool NeedsNaturalLogits => false;
    Tensor Compute(Tensor logits, Tensor labels, Tensor? naturalLogits);
}

/// <summary>Cross entropy with the labels (mean over the batch; the scale does not matter for sign or normalised steps).</summary>
public sealed class CrossEntropyAttackLoss : IAttackLoss
{
    public string Name => "ce";
    public Tensor Compute(Tensor logits, Tensor labels, Tensor? naturalLogits) => F.CrossEntropy(logits, labels);
}

/// <summary>
/// The CW margin loss with confidence kappa: -sum_i max(z_y - max_{j != y} z_j + kappa, 0). The best other class is
/// found by pushing the true class's logit down by 10,000 first, as the reference implementations do.
/// </summary>
public sealed class CwMarginLoss(double kappa = 50) : IAttackLoss
{
    public double Kappa { get; } = kappa;
    public string Name => "cw";

    public Tensor Compute(Tensor logits, Tensor labels, Tensor? naturalLogits)
    {
        using var onehot = F.OneHot(labels, logits.Size(1)).To(logits.DType);
        using var correct = (logits * onehot).Sum(1);
        using var masked = logits - onehot * 10000.0;
        using var other = masked.Amax(1);
        using var margin = (correct - other).Add_(Kappa).Clamp_(min: 0);
        return margin.Sum().Neg_();
    }
}

/// <summary>TRADES' inner objective: KL(softmax(natural) || softmax(adversarial)), summed.</summary>
public sealed class TradesKlLoss : IAttackLoss
{
    public string Name => "kl";
    public bool NeedsNaturalLogits => true;

    public Tensor Compute(Tensor logits, Tensor labels, Tensor? naturalLogits)
    {
        ArgumentNullException.ThrowIfNull(naturalLogits);
        using var logp = F.LogSoftmax(logits, 1);
        using var q = F.Softmax(naturalLogits, 1);
        return F.KlDiv(logp, q, Reduction.Sum);
    }
}

/// <summary>
/// The squared error of the estimate, clamped to [0, 1] as PSNR scores it, to the target (the clean image), summed:
/// what an attack on a denoiser raises. Without the clamp an attack gains by pushing dark or bright pixels out of
/// range, which the score then clips back towards the truth, and robust PSNR can exceed clean PSNR.
/// </summary>
public sealed class MseAttackLoss : IAttackLoss
{
    public string Name => "mse";

    public Tensor Compute(Tensor logits, Tensor labels, Tensor? naturalLogits)
    {
        using var clamped = logits.Clamp(0, 1);
        return F.MseLoss(clamped, labels, Reduction.Sum);
    }
}

/// <summary>
/// Binary cross entropy with logits on the one-hot labels, averaged over samples and classes: GAT's main-task loss
/// (the official code treats CIFAR-10 as multi-label), for training and for its training attack.
/// </summary>
public sealed class OneHotBceLoss : IAttackLoss
{
    public string Name => "bce";

    public Tensor Compute(Tensor logits, Tensor labels, Tensor? naturalLogits) => Of(logits, labels);

    public static Tensor Of(Tensor logits, Tensor labels)
    {
        using var oneHot = F.OneHot(labels, logits.Size(1));
        using var target = oneHot.To(logits.DType);
        return F.BinaryCrossEntropyWithLogits(logits, target);
    }
}
