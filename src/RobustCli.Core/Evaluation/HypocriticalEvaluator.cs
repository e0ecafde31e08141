using System.Diagnostics;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Evaluation;

/// <summary>
/// What hypocritical perturbations achieve on a test set: of the points the model misclassifies, how many an
/// attacker within eps can make it classify correctly (Tao et al. 2022). <see cref="Risk"/> is that fraction — the
/// conditional form the paper's hypocritical risk takes when divided by the error rate; <see cref="AccuracyAfter"/>
/// is the accuracy an evaluator would be shown. The largest perturbation and the pixel range are measured on the
/// returned points, so a result that left the ball or the box would show it.
/// </summary>
public sealed record HypocriticalResult(string Name, int Count, int Misclassified, int MadeCorrect, double MaxPerturbation, double MinPixel, double MaxPixel,
    double Seconds)
{
    public double Risk => Misclassified == 0 ? 0 : MadeCorrect / (double)Misclassified;
    public double CleanAccuracy => Count == 0 ? double.NaN : (Count - Misclassified) / (double)Count;
    public double AccuracyAfter => Count == 0 ? double.NaN : (Count - Misclassified + MadeCorrect) / (double)Count;
}

public static class HypocriticalEvaluator
{
    /// <summary>Attacks the misclassified points in batches (per-sample seeds, as every evaluation); the model is evaluated in eval mode.</summary>
    public static HypocriticalResult Evaluate(Module model, ImageDataset data, Attack attack, int batchSize, Device device,
        Action<string, int, int>? progress = null)
    {
        var sw = Stopwatch.StartNew();
        model.Eval();
        using var scope = DisposeScope.Open();
        var (xAll, yAll) = RobustnessEvaluator.ToTensors(data, device);
        var wrong = new List<long>();
        for (var start = 0; start < data.Count; start += batchSize)
        {
            using var s = DisposeScope.Open();
            using var _ = torch.NoGrad();
            var count = Math.Min(batchSize, data.Count - start);
            var pred = model.Forward(xAll.Narrow(0, start, count)).Argmax(1).ToArray<long>();
            for (var k = 0; k < count; k++) if (pred[k] != data.Labels[start + k]) wrong.Add(start + k);
        }
        int madeCorrect = 0;
        double maxNorm = 0, minPixel = double.PositiveInfinity, maxPixel = double.NegativeInfinity;
        for (var b = 0; b < wrong.Count; b += batchSize)
        {
            using var s = DisposeScope.Open();
            var ids = wrong.Skip(b).Take(batchSize).ToArray();
            using var index = torch.From(ids).To(device);
            var x = xAll.IndexSelect(0, index);
            var y = yAll.IndexSelect(0, index);
            var adv = attack.Perturb(model, x, y, sampleIds: ids);
            using var _ = torch.NoGrad();
            madeCorrect += (int)model.Forward(adv).Argmax(1).Eq(y).Sum().ItemLong();
            using var delta = adv - x;
            maxNorm = Math.Max(maxNorm, attack.Norm == Norm.Linf ? delta.Abs().Max().Item() : PerSampleL2(delta).Max().Item());
            minPixel = Math.Min(minPixel, adv.Min().Item());
            maxPixel = Math.Max(maxPixel, adv.Max().Item());
            progress?.Invoke(attack.Name, Math.Min(b + batchSize, wrong.Count), wrong.Count);
        }
        return new HypocriticalResult(attack.Name, data.Count, wrong.Count, madeCorrect, maxNorm, minPixel, maxPixel, sw.Elapsed.TotalSeconds);
    }

    private static Tensor PerSampleL2(Tensor delta) => delta.Flatten(1).Square().Sum([1]).Sqrt();
}
