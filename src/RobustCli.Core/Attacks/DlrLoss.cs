using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Attacks;

/// <summary>
/// Per-sample attack losses of APGD (Croce and Hein 2020): cross entropy, the difference-of-logits ratio
/// DLR = -(z_y - max_{j != y} z_j) / (z_pi1 - z_pi3 + 1e-12), and its targeted form
/// -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2 + 1e-12), with z_pi1 >= z_pi2 >= ... the sorted logits.
/// </summary>
public static class ApgdLosses
{
    public static Tensor CrossEntropy(Tensor logits, Tensor y) => F.CrossEntropy(logits, y, reduction: Reduction.None);

    public static Tensor Dlr(Tensor logits, Tensor y)
    {
        if (logits.Size(1) < 3) throw new ArgumentException($"the DLR loss needs at least 3 classes, the model has {logits.Size(1)}; use the CE loss");
        using var sorted = logits.Sort(1).Values;
        using var top = sorted.Select(1, -1);
        using var second = sorted.Select(1, -2);
        using var third = sorted.Select(1, -3);
        using var topIndex = logits.Argmax(1);
        using var yIsTop = topIndex.Eq(y).To(logits.DType);
        using var zy = logits.Gather(1, y.Unsqueeze(1)).Squeeze(1);
        // max over j != y: the runner-up when y is on top, else the top logit.
        using var other = second * yIsTop + top * yIsTop.RSub(1);
        using var denom = (top - third).Add_(1e-12);
        return (zy - other).Div_(denom).Neg_();
    }

    public static Tensor TargetedDlr(Tensor logits, Tensor y, Tensor target)
    {
        if (logits.Size(1) < 4) throw new ArgumentException($"the targeted DLR loss needs at least 4 classes, the model has {logits.Size(1)}");
        using var sorted = logits.Sort(1).Values;
        using var zy = logits.Gather(1, y.Unsqueeze(1)).Squeeze(1);
        using var zt = logits.Gather(1, target.Unsqueeze(1)).Squeeze(1);
        using var top = sorted.Select(1, -1);
        using var third = sorted.Select(1, -3);
        using var fourth = sorted.Select(1, -4);
        using var denom = top - (third + fourth) * 0.5;
        return (zy - zt).Div_(denom.Add_(1e-12)).Neg_();
    }
}
