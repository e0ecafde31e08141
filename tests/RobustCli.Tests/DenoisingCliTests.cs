using System.CommandLine;
using System.Globalization;
using RobustCli.Core.Data;
using RobustCli.Tests.Shared;

namespace RobustCli.Tests;

/// <summary>robust train and eval on a denoiser: PSNR/SSIM tables, per-image CSV, PNG strips, PyTorch weights, and the flags' checks.</summary>
public sealed class DenoisingCliTests
{
    private static string Config(string dir)
    {
        var train = TinyPictures.Folder(5, 40, seed: 1, folder: Path.Combine(dir, "train"));
        var test = TinyPictures.Folder(2, 36, seed: 2, folder: Path.Combine(dir, "test"));
        var path = Path.Combine(dir, "hat.yaml");
        File.WriteAllText(path, $$$"""
            name: tiny-hat
            task: {name: denoise, sigma: [0, 55], eval_sigmas: [25]}
            data: {name: bsd400, path: {{{train}}}, test_set: set12, test_path: {{{test}}}, val_size: 1, patch_size: 24, repeat: 32}
            model: {arch: dncnn, depth: 4, features: 12, normalize: none}
            train: {method: hat, epochs: 2, batch_size: 16, optimizer: {name: adam, lr: 0.003, weight_decay: 0}, schedule: {name: constant}}
            eval: {batch_size: 4, val_attack: obsatk2, test_attack: obsatk2, test_every: 0, final: [obsatk2]}
            """);
        return path;
    }

    [Fact]
    public void EvalOnADenoiserWritesPsnrSsimPerImageAndStrips()
    {
        var dir = TestPaths.TempDir();
        var runs = TestPaths.TempDir();
        var (code, output, err) = InProcessCli.Run("train", "--config", Config(dir), "--runs-dir", runs, "--no-progress");
        Assert.True(code == 0, err + output);
        Assert.Contains("ssim gaussian@25 0.", output);
        var run = Directory.GetDirectories(Path.Combine(runs, "tiny-hat")).Single();
        var strips = Path.Combine(dir, "strips");
        var csv = Path.Combine(dir, "eval.csv");
        (code, output, err) = InProcessCli.Run("eval", "--checkpoint", run, "--attack", "obsatk3", "--attack", "uniform-noise:level=5", "--sigma", "15", "--sigma", "25",
            "--save-adv", strips, "--out", csv);
        Assert.True(code == 0, err + output);
        Assert.Contains("PSNR (dB)", output);
        var rows = File.ReadAllLines(csv);
        Assert.Equal("condition,sigma,observation_sigma,psnr,ssim,seconds,n", rows[0]);
        Assert.Equal(["noise-free", "gaussian", "obsatk3", "uniform-noise:level=5", "gaussian", "obsatk3", "uniform-noise:level=5"], rows.Skip(1).Select(r => r.Split(',')[0]));
        double Psnr(int row) => double.Parse(rows[row].Split(',')[3], CultureInfo.InvariantCulture);
        // More noise, lower PSNR; the noise-free input scores highest.
        Assert.True(Psnr(1) > Psnr(2) && Psnr(2) > Psnr(5), string.Join("\n", rows));
        Assert.Equal(1 + 7 * 2, File.ReadAllLines(Path.ChangeExtension(csv, null) + "-samples.csv").Length);
        // A strip per picture and condition: clean | noisy | adversarial | denoised side by side, 4 px apart.
        var strip = Path.Combine(strips, "pic00_obsatk3@25_strip.png");
        Assert.True(File.Exists(strip), string.Join(", ", Directory.GetFiles(strips).Select(Path.GetFileName)));
        var clean = ImageCodec.Read(Path.Combine(dir, "test", "pic00.png"), 1);
        var picture = ImageCodec.Read(strip, 1);
        Assert.Equal(clean.Height, picture.Height);
        Assert.Equal(4 * clean.Width + 12, picture.Width);
        Assert.Equal(clean.Pixels[0], picture.Pixels[0]);
        Assert.True(File.Exists(Path.Combine(strips, "pic01_uniform-noise_level-5@15_input.png")), string.Join(", ", Directory.GetFiles(strips).Select(Path.GetFileName)));
        Assert.True(File.Exists(Path.Combine(strips, "pic01_gaussian@25_denoised.png")));

        // The weights alone, as a PyTorch user would hand them over: the DnCNN's size is read off the weights.
        var weights = Path.Combine(run, "checkpoints", "best.pt");
        var copy = Path.Combine(dir, "dncnn.pt");
        File.Copy(weights, copy);
        (code, output, err) = InProcessCli.Run("eval", "--checkpoint", copy, "--arch", "dncnn", "--dataset", "set12", "--data-path", Path.Combine(dir, "test"), "--sigma", "25", "--out", Path.Combine(dir, "bare.csv"));
        Assert.True(code == 0, err + output);
        Assert.Contains("dncnn(depth=4,features=12)", output);
        Assert.Equal(File.ReadAllLines(csv)[5].Split(',')[3], File.ReadAllLines(Path.Combine(dir, "bare.csv"))[2].Split(',')[3]);
    }

    [Theory]
    [InlineData("--sigma", "25", "noise levels are for denoisers")]
    public void DenoisingFlagsOnAClassifierAreRefused(string flag, string value, string message)
    {
        var data = TinyData.FashionMnistLike(64, 16);
        var dir = TestPaths.TempDir();
        var config = Path.Combine(dir, "c.yaml");
        File.WriteAllText(config, TinyData.Config(data, "standard", 1).Replace("final: [pgd3, cw3]", "final: []"));
        var runs = TestPaths.TempDir();
        Assert.Equal(0, InProcessCli.Run("train", "--config", config, "--runs-dir", runs, "--no-progress").Code);
        var run = Directory.GetDirectories(Path.Combine(runs, "tiny")).Single();
        var (code, _, err) = InProcessCli.Run("eval", "--checkpoint", run, flag, value);
        Assert.Equal(2, code);
        Assert.Contains(message, err);
        (code, _, err) = InProcessCli.Run("eval", "--checkpoint", run, "--attack", "obsatk5");
        Assert.Equal(2, code);
        Assert.Contains("attacks denoisers", err);
    }

    [Fact]
    public void ADenoiserEvalWithBadInputExplainsItself()
    {
        var dir = TestPaths.TempDir();
        var (code, _, err) = InProcessCli.Run("eval", "--checkpoint", Path.Combine(dir, "none.pt"), "--arch", "dncnn", "--dataset", "set12");
        Assert.Equal(2, code);
        Assert.Contains("no such file", err);
        var runs = TestPaths.TempDir();
        Assert.Equal(0, InProcessCli.Run("train", "--config", Config(dir), "--runs-dir", runs, "--no-progress", "--set", "train.epochs=1").Code);
        var run = Directory.GetDirectories(Path.Combine(runs, "tiny-hat")).Single();
        (code, _, err) = InProcessCli.Run("eval", "--checkpoint", run, "--attack", "cw20");
        Assert.Equal(2, code);
        Assert.Contains("attacks classifiers only", err);
        (code, _, err) = InProcessCli.Run("eval", "--checkpoint", run, "--sigma", "300");
        Assert.Equal(2, code);
        Assert.Contains("--sigma 300", err);
        (code, _, err) = InProcessCli.Run("eval", "--checkpoint", run, "--save-adv", Path.Combine(dir, "adv.pt"));
        Assert.Equal(2, code);
        Assert.Contains("name a folder", err);
        Assert.DoesNotContain("   at ", err);
    }
}
