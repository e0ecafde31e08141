using System.Globalization;
using CsvHelper;
using RobustCli.Core.Evaluation;
using RobustCli.Core.Tasks;
using RobustCli.Torch.Serialization;

namespace RobustCli.Experiments.Runs;

/// <summary>
/// A denoising evaluation as CSV: the summary has a row per condition (condition, sigma, the Gaussian level of the
/// observation the attack started from, mean PSNR and SSIM, seconds, n); the per-image table a row per image and
/// condition (image, condition, sigma, psnr, ssim), long format for plotting and pivoting.
/// </summary>
public static class DenoisingCsv
{
    private static readonly CsvWriterOptions Config = new() { NewLine = "\n" };

    public static void Write(string path, string samplesPath, DenoisingResult result)
    {
        AtomicFile.Write(path, s =>
        {
            using var w = new StreamWriter(s, leaveOpen: true);
            using var csv = CsvWriter.Create(w, Config);
            foreach (var h in new[] { "condition", "sigma", "observation_sigma", "psnr", "ssim", "seconds", "n" }) csv.WriteField(h);
            csv.EndRecord();
            foreach (var r in result.Rows)
            {
                csv.WriteField(r.Key == "noise-free" ? "noise-free" : r.Condition);
                csv.WriteField(F(r.Sigma));
                csv.WriteField(F(r.ObservationSigma));
                csv.WriteField(r.MeanPsnr.ToString("F4", CultureInfo.InvariantCulture));
                csv.WriteField(r.MeanSsim.ToString("F5", CultureInfo.InvariantCulture));
                csv.WriteField(r.Seconds.ToString("F2", CultureInfo.InvariantCulture));
                csv.WriteField(r.Psnr.Length.ToString(CultureInfo.InvariantCulture));
                csv.EndRecord();
            }
        });
        AtomicFile.Write(samplesPath, s =>
        {
            using var w = new StreamWriter(s, leaveOpen: true);
            using var csv = CsvWriter.Create(w, Config);
            foreach (var h in new[] { "image", "condition", "sigma", "psnr", "ssim" }) csv.WriteField(h);
            csv.EndRecord();
            foreach (var r in result.Rows)
                for (var i = 0; i < r.Psnr.Length; i++)
                {
                    csv.WriteField(result.Images[i]);
                    csv.WriteField(r.Key == "noise-free" ? "noise-free" : r.Condition);
                    csv.WriteField(F(r.Sigma));
                    csv.WriteField(r.Psnr[i].ToString("F4", CultureInfo.InvariantCulture));
                    csv.WriteField(r.Ssim[i].ToString("F5", CultureInfo.InvariantCulture));
                    csv.EndRecord();
                }
        });
    }

    private static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
}
