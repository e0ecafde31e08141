using System.Diagnostics;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Evaluation;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Tasks;

/// <summary>
/// One condition of a denoising evaluation: the noise level and the attack (none: Gaussian noise alone), with PSNR
/// and SSIM per image and their means.
/// </summary>
public sealed record DenoisingRow(string Condition, string Attack, double Sigma, double ObservationSigma, double[] Psnr, double[] Ssim, double Seconds)
{
    public double MeanPsnr => Psnr.Length == 0 ? double.NaN : Psnr.Average();
    public double MeanSsim => Ssim.Length == 0 ? double.NaN : Ssim.Average();
    /// <summary>The row's name in tables and summaries: "gaussian@25", "obsatk5@25", "noise-free".</summary>
    public string Key => Sigma == 0 && Attack == "none" ? "noise-free" : $"{Condition}@{Sigma:0.##}";
}

public sealed record DenoisingResult(IReadOnlyList<string> Images, IReadOnlyList<DenoisingRow> Rows);

/// <summary>What a denoising evaluation measures and how.</summary>
public sealed class DenoisingEvaluationOptions
{
    /// <summary>Noise levels in /255 units (the paper's 15 and 25).</summary>
    public IReadOnlyList<double> Sigmas { get; init; } = [15, 25];
    public ulong Seed { get; init; }
    public int BatchSize { get; init; } = 1;
    public Device? Device { get; init; }
    /// <summary>A folder to write, per image, condition and level, the adversarial observation, the denoised output and a strip clean | noisy | adversarial | denoised.</summary>
    public string? SaveFolder { get; init; }
    public Action<string>? Log { get; init; }
}

/// <summary>
/// Measures a denoiser as the HAT paper does: PSNR and SSIM on the noise-free image, then at each level sigma under
/// Gaussian noise of sigma and under each attack, whose observation carries Gaussian noise of sigma minus the
/// attack's own level (ObsAtk 5 at sigma 25 starts from Gaussian 20). ObsAtk's budget uses the mean element count of
/// the test images, as the reference's. Every draw is per image (seed, image index, level), so a result does not
/// depend on the batch size.
/// </summary>
public static class DenoisingEvaluator
{
    public static DenoisingResult Evaluate(Module model, DenoiseTask task, ImageSource data, IReadOnlyList<Attack> attacks, DenoisingEvaluationOptions options)
    {
        var was = model.Training;
        model.Eval();
        var meanElements = DenoiseTask.MeanElements(data);
        foreach (var a in attacks.OfType<IObservationAttack>()) a.ReferenceElements = meanElements;
        var batchSize = data.FixedShape ? options.BatchSize : 1;
        var loader = new DataLoader(data, batchSize, device: options.Device);
        var names = Enumerable.Range(0, data.Count).Select(i => data is PictureSet p ? p.Pictures[i].Name : $"image{i:D5}").ToList();
        var rows = new List<DenoisingRow>();
        if (options.SaveFolder != null) Directory.CreateDirectory(options.SaveFolder);
        try
        {
            rows.Add(Measure(model, task, loader, "clean", "none", 0, null, options, names));
            foreach (var sigma in options.Sigmas)
            {
                rows.Add(Measure(model, task, loader, "gaussian", "none", sigma, null, options, names));
                foreach (var attack in attacks) rows.Add(Measure(model, task, loader, attack.Name, attack.Name, sigma, attack, options, names));
            }
        }
        finally
        {
            if (was) model.Train();
        }
        return new DenoisingResult(names, rows);
    }

    private static DenoisingRow Measure(Module model, DenoiseTask task, DataLoader loader, string condition, string attackName, double sigma, Attack? attack,
        DenoisingEvaluationOptions options, IReadOnlyList<string> names)
    {
        var sw = Stopwatch.StartNew();
        var observationSigma = DenoiseTask.ObservationSigma(sigma, attack);
        var psnr = new List<double>();
        var ssim = new List<double>();
        var seed = options.Seed + (ulong)Math.Round(sigma * 1000);
        foreach (var batch in loader.Epoch(0))
        {
            using var owned = batch;
            using var scope = DisposeScope.Open();
            var x = batch.X;
            var (noisy, input) = task.AttackedObservation(model, x, batch.SampleIds, seed, sigma, attack);
            Tensor output;
            using (torch.NoGrad()) output = model.Forward(input);
            psnr.AddRange(ImageQuality.Psnr(output, x).ToArray<float>().Select(v => (double)v));
            ssim.AddRange(ImageQuality.Ssim(output, x).ToArray<float>().Select(v => (double)v));
            if (options.SaveFolder != null && sigma > 0)
                Save(options.SaveFolder, batch, names, $"{condition}@{sigma:0.##}", x, noisy, input, output);
        }
        var row = new DenoisingRow(condition, attackName, sigma, observationSigma, psnr.ToArray(), ssim.ToArray(), sw.Elapsed.TotalSeconds);
        options.Log?.Invoke($"{row.Key}: PSNR {row.MeanPsnr:F2} dB, SSIM {row.MeanSsim:F4} ({row.Seconds:F1}s)");
        return row;
    }

    /// <summary>Per image: the observation the model saw, its output, and a strip clean | noisy | adversarial | denoised (noisy = adversarial for Gaussian rows).</summary>
    private static void Save(string folder, Batch batch, IReadOnlyList<string> names, string condition, Tensor clean, Tensor noisy, Tensor input, Tensor output)
    {
        using var scope = DisposeScope.Open();
        var (c, h, w) = ((int)clean.Size(1), (int)clean.Size(2), (int)clean.Size(3));
        var gap = 4;
        var strip = torch.Ones([clean.Size(0), c, h, 4 * w + 3 * gap], device: clean.Device);
        Tensor[] panels = [clean, noisy, input, output.Clamp(0, 1)];
        for (var k = 0; k < 4; k++) strip.Narrow(3, k * (w + gap), w).Copy_(panels[k]);
        var stripCpu = strip.Cpu().Contiguous().ToArray<float>();
        var inCpu = input.Cpu().Contiguous().ToArray<float>();
        var outCpu = output.Clamp(0, 1).Cpu().Contiguous().ToArray<float>();
        var safe = condition.Replace(':', '_').Replace('/', '_').Replace('=', '-').Replace(',', '_');
        for (var i = 0; i < batch.Count; i++)
        {
            var stem = Path.GetFileNameWithoutExtension(names[batch.Indices[i]]);
            var size = c * h * w;
            var stripSize = c * h * (4 * w + 3 * gap);
            ImageCodec.WritePng(Path.Combine(folder, $"{stem}_{safe}_input.png"), inCpu.AsSpan(i * size, size), c, h, w);
            ImageCodec.WritePng(Path.Combine(folder, $"{stem}_{safe}_denoised.png"), outCpu.AsSpan(i * size, size), c, h, w);
            ImageCodec.WritePng(Path.Combine(folder, $"{stem}_{safe}_strip.png"), stripCpu.AsSpan(i * stripSize, stripSize), c, h, 4 * w + 3 * gap);
        }
    }
}
