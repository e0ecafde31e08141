using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Evaluation;

/// <summary>
/// Full-reference image quality of a denoiser's estimate against the clean image, per sample, both with peak 1 and
/// the estimate clamped to [0, 1] first (as the reference's evaluation clamps its output).
/// </summary>
public static class ImageQuality
{
    /// <summary>PSNR in dB: -10 log10(MSE), the MSE floored at 1e-10 (100 dB for a perfect estimate).</summary>
    public static Tensor Psnr(Tensor estimate, Tensor clean)
    {
        using var _ = torch.NoGrad();
        using var scope = DisposeScope.Open();
        var mse = (estimate.Clamp(0, 1) - clean).Pow_(2).Flatten(1).Mean([1]).Clamp_(min: 1e-10);
        return mse.Log_().Mul_(-10 / Math.Log(10)).MoveToOuterScope();
    }

    /// <summary>
    /// SSIM (Wang et al. 2004) with an 11 x 11 Gaussian window of sigma 1.5, K1 = 0.01, K2 = 0.03, data range 1 and
    /// population (not sample) covariances, averaged over the positions where the window fits inside the image and
    /// over channels: scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5,
    /// use_sample_covariance=False, data_range=1, channel_axis=0), which filters with reflection and then drops the
    /// 5-pixel border. Computed in float64. Images smaller than 11 x 11 are refused.
    /// </summary>
    public static Tensor Ssim(Tensor estimate, Tensor clean)
    {
        using var _ = torch.NoGrad();
        using var scope = DisposeScope.Open();
        var (h, w) = (clean.Size(2), clean.Size(3));
        if (h < 11 || w < 11) throw new ArgumentException($"SSIM needs images of at least 11 x 11 pixels, got {h} x {w}");
        var channels = clean.Size(1);
        var x = estimate.Clamp(0, 1).To(DType.Float64);
        var y = clean.To(DType.Float64);
        var window = Window(channels, x.Device);
        Tensor Filter(Tensor t) => F.Conv2d(t, window, groups: channels);
        var (c1, c2) = (0.01 * 0.01, 0.03 * 0.03);
        var ux = Filter(x);
        var uy = Filter(y);
        var vx = Filter(x * x) - ux * ux;
        var vy = Filter(y * y) - uy * uy;
        var vxy = Filter(x * y) - ux * uy;
        var numerator = (ux * uy).Mul_(2).Add_(c1) * vxy.Mul_(2).Add_(c2);
        var denominator = (ux * ux + uy * uy).Add_(c1) * (vx + vy).Add_(c2);
        var map = numerator / denominator;
        return map.Flatten(1).Mean([1]).To(DType.Float32).MoveToOuterScope();
    }

    private static Tensor Window(long channels, Device device)
    {
        var g = new double[11];
        for (var i = 0; i < 11; i++) g[i] = Math.Exp(-(i - 5) * (i - 5) / (2 * 1.5 * 1.5));
        var sum = g.Sum();
        var k = new double[channels * 121];
        for (var c = 0; c < channels; c++)
            for (var i = 0; i < 11; i++)
                for (var j = 0; j < 11; j++) k[c * 121 + i * 11 + j] = g[i] / sum * (g[j] / sum);
        return torch.From(k, [channels, 1, 11, 11], device);
    }
}
