using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Evaluation;
using RobustCli.Core.Models;
using RobustCli.Core.Registry;
using RobustCli.Core.Tasks;
using RobustCli.Core.Training;
using RobustCli.Tests.Shared;
using RobustCli.Torch;
using RobustCli.Torch.nn;
using RobustCli.Torch.optim;
using RobustCli.Torch.Serialization;

namespace RobustCli.Core.Tests;

/// <summary>
/// Robust denoising against tests/python/hat_reference.py (written from the official ObsAtk/HAT code) and
/// scikit-image: ObsAtk's iterate, one HAT batch (loss, gradients, BatchNorm statistics), DnCNN weights both ways,
/// PSNR/SSIM and the image reader; then what ObsAtk's projection guarantees and what the attack does to a denoiser.
/// </summary>
public sealed class DenoisingTests
{
    private const string SkimageData = "/usr/lib/python3/dist-packages/skimage/data";

    private static DnCNN Net(int channels = 1, int depth = 4, int features = 8, ulong seed = 3)
    {
        torch.ManualSeed(seed);
        var net = new DnCNN(channels, depth, features);
        // BatchNorm as a trained one would be: scales near 1, running statistics off the defaults.
        using (torch.NoGrad())
            foreach (var (name, t) in net.StateDict())
            {
                if (name.EndsWith("running_mean", StringComparison.Ordinal)) t.Uniform_(-0.05, 0.05);
                else if (name.EndsWith("running_var", StringComparison.Ordinal)) t.Uniform_(0.5, 1.5);
                else if (name.EndsWith(".weight", StringComparison.Ordinal) && t.Dim == 1) t.Uniform_(0.5, 1.5);
            }
        net.To(DType.Float64);
        return net;
    }

    private static Dictionary<string, Tensor> Input(DnCNN net, Tensor y, Tensor x)
    {
        var input = new Dictionary<string, Tensor>();
        foreach (var (k, v) in net.StateDict()) input["sd." + k] = v;
        input["y"] = y;
        input["x"] = x;
        input["depth"] = torch.From(new long[] { net.Depth });
        input["features"] = torch.From(new long[] { 8 });
        return input;
    }

    private static string Python(string cmd, Dictionary<string, Tensor> input, params string[] args)
    {
        var dir = TestPaths.TempDir();
        SafeTensors.Save(Path.Combine(dir, "in.safetensors"), input);
        TestPaths.RunPython("hat_reference.py", [cmd, Path.Combine(dir, "in.safetensors"), Path.Combine(dir, "out.safetensors"), .. args]);
        return Path.Combine(dir, "out.safetensors");
    }

    private static (Tensor Noisy, Tensor Clean) Batch(int n, int channels, int h, int w, ulong seed)
    {
        torch.ManualSeed(seed);
        // Smooth images (a sum of two ramps) plus texture: something a denoiser can get wrong in structured ways.
        var clean = (torch.Rand([n, channels, h, w], DType.Float64) * 0.3 + 0.35);
        var noisy = (clean + torch.RandnLike(clean) * 0.1).Clamp_(0, 1);
        return (noisy, clean);
    }

    private static DenoiseTask Task(string sigma = "25", bool clip = true, string noise = "gaussian")
    {
        var reg = Tasks.Tasks.Registry.Get("denoise");
        var options = reg.Options.ParseAndResolve(new Dictionary<string, string> { ["sigma"] = sigma, ["clip_observation"] = clip ? "true" : "false", ["noise"] = noise });
        return (DenoiseTask)reg.Create(new TaskBuild(options));
    }

    [Theory]
    [InlineData(1, 5, 0.3, 0)]
    [InlineData(3, 5, 0.3, 0)]
    [InlineData(1, 1, 1.0, 0)]
    [InlineData(1, 3, 0.3, 150)]
    public void ObsAtkEqualsTheReference(int channels, int steps, double fraction, double elements)
    {
        using var scope = DisposeScope.Open();
        using var net = Net(channels);
        net.Eval();
        var (y, x) = Batch(3, channels, 10, 9, 5);
        using var expected = SafeTensors.Load(Python("obsatk", Input(net, y, x), [.. new[] { "5", steps.ToString(), fraction.ToString("R", System.Globalization.CultureInfo.InvariantCulture) },
            .. elements > 0 ? new[] { elements.ToString(System.Globalization.CultureInfo.InvariantCulture) } : []])).Tensors;
        var attack = new ObsAttack("obsatk", 5, steps, fraction) { ReferenceElements = elements > 0 ? elements : null };
        var adv = attack.Perturb(net, y, x);
        TensorAssert.Close(expected["adv"], adv, 1e-9, 1e-11, "adversarial observation");
        // It moved: a test of the identity would pass too.
        Assert.True((adv - y).Abs().Max().Item() > 1e-3);
    }

    [Fact]
    public void ObsAtkPerturbationsAreZeroMeanAndWithinTheBudget()
    {
        using var scope = DisposeScope.Open();
        using var net = Net(3, depth: 5);
        net.Eval();
        var (y, x) = Batch(4, 3, 12, 12, 8);
        var attack = new ObsAttack("obsatk", 7, 10, 0.3);
        var rho = attack.Radius(3 * 12 * 12);
        Assert.Equal(7 / 255.0 * Math.Sqrt(432), rho, 12);
        // Without the box the zero-mean projection and the rescale are the last operations: exact.
        attack.ClampToBox = false;
        var delta = attack.Perturb(net, y, x) - y;
        var means = delta.Flatten(1).Mean([1]).ToArray<double>();
        var norms = Attack.PerturbationNorm(delta, Norm.L2).ToArray<double>();
        Assert.All(means, m => Assert.True(Math.Abs(m) < 1e-12, $"mean {m}"));
        Assert.All(norms, n => Assert.InRange(n, 0.5 * rho, rho * (1 + 1e-9)));
        // With the box (the task's clamped observations) the final clamp may move the mean a little, never the budget.
        attack.ClampToBox = true;
        var boxed = attack.Perturb(net, y, x);
        Assert.True(boxed.Min().Item() >= 0 && boxed.Max().Item() <= 1);
        Assert.All(Attack.PerturbationNorm(boxed - y, Norm.L2).ToArray<double>(), n => Assert.True(n <= rho * (1 + 1e-9), $"norm {n} > {rho}"));
        // The plain L2 PGD it is compared with keeps a non-zero mean.
        var plain = new ObsAttack("l2", 7, 10, 0.3, zeroMean: false) { ClampToBox = false };
        var plainMeans = (plain.Perturb(net, y, x) - y).Flatten(1).Mean([1]).Abs().Max().Item();
        Assert.True(plainMeans > 1e-6, $"plain PGD's mean {plainMeans}");
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(2.0)]
    public void HatBatchEqualsTheReference(double alpha)
    {
        using var scope = DisposeScope.Open();
        using var net = Net(1, depth: 5);
        var (y, x) = Batch(4, 1, 10, 10, 9);
        var input = Input(net, y, x);
        using var expected = SafeTensors.Load(Python("hat", input, "5", alpha.ToString(System.Globalization.CultureInfo.InvariantCulture))).Tensors;
        var method = (HatTraining)Methods.Registry.Get("hat").Create(new MethodBuild(
            Methods.Registry.Get("hat").Options.Resolve(new Dictionary<string, object?> { ["alpha"] = alpha }), new AttackSettings(Norm.Linf, 0, 0, 1, RandomStart.None), 0, 0, _ => throw new InvalidOperationException()));
        net.Train();
        var ctx = new StepContext(net, 0, 1, 1) { Task = Task() };
        var output = method.Compute(ctx, y, x);
        Assert.Equal(expected["loss"].ToArray<double>()[0], output.Loss.Item(), 10);
        var metrics = method.Metrics.ToDictionary(m => m.Column, m => m.Value);
        Assert.Equal(expected["loss_obs"].ToArray<double>()[0] / 8, metrics["hat_obs_loss"], 10);
        Assert.Equal(expected["loss_adv"].ToArray<double>()[0] / 8, metrics["hat_adv_loss"], 10);
        net.ZeroGrad();
        output.Loss.Backward();
        foreach (var (n, p) in net.NamedParameters())
            TensorAssert.Close(expected["grad." + n], p.Grad!, 1e-8, 1e-11, "grad " + n);
        foreach (var (n, t) in net.StateDict())
            TensorAssert.Close(expected["sd." + n].To(t.DType), t, 1e-10, 1e-12, n);
        // Both terms matter here: the smoothness term is not vanishingly small next to the reconstruction.
        Assert.True(metrics["hat_adv_loss"] > 1e-4 * metrics["hat_obs_loss"], $"adv {metrics["hat_adv_loss"]}, obs {metrics["hat_obs_loss"]}");
    }

    [Fact]
    public void DnCnnWeightsMoveBothWaysWithPyTorch()
    {
        using var scope = DisposeScope.Open();
        var dir = TestPaths.TempDir();
        var pt = Path.Combine(dir, "dncnn.pt");
        TestPaths.RunPython("hat_reference.py", "init", pt, "7", "6", "8", "3");
        using var net = new DnCNN(3, 6, 8);
        using (var sd = Weights.Load(pt)) net.LoadStateDict(sd);
        net.Eval();
        using var io = SafeTensors.Load(pt + ".io.safetensors").Tensors;
        using (torch.NoGrad()) TensorAssert.Close(io["out"], net.Forward(io["x"]), 1e-5, 1e-6, "forward of PyTorch's weights");
        Assert.Contains("dncnn.3.running_var", net.StateDict().Keys);
        // Ours, changed, back to PyTorch.
        using (torch.NoGrad()) net.StateDict()["dncnn.2.weight"].Mul_(0.5);
        var ours = Path.Combine(dir, "ours.pt");
        Weights.Save(ours, net);
        var check = Path.Combine(dir, "check.safetensors");
        SafeTensors.Save(check, new Dictionary<string, Tensor> { ["x"] = io["x"] });
        TestPaths.RunPython("hat_reference.py", "check", ours, check, "6", "8", "3");
        using var back = SafeTensors.Load(check).Tensors;
        using (torch.NoGrad()) TensorAssert.Close(back["out_py"], net.Forward(io["x"]), 1e-5, 1e-6, "PyTorch's forward of our weights");
    }

    [Fact]
    public void DnCnnIsResidualBiasFreeAndInitialisedAsTheReference()
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(1);
        using var net = new DnCNN(1, 20, 64);
        var sd = net.StateDict();
        Assert.Equal(20, sd.Keys.Count(k => k.EndsWith(".weight", StringComparison.Ordinal) && sd[k].Dim == 4));
        Assert.DoesNotContain(sd.Keys, k => k.EndsWith(".bias", StringComparison.Ordinal) && sd[k].Size(0) == 64 && !sd.ContainsKey(k.Replace(".bias", ".running_mean")));
        Assert.Equal(["dncnn.0.weight", "dncnn.2.weight", "dncnn.3.weight", "dncnn.3.bias", "dncnn.3.running_mean"], sd.Keys.Take(5));
        var std = sd["dncnn.2.weight"].Std().Item();
        Assert.InRange(std, 0.9 * Math.Sqrt(2.0 / 576), 1.1 * Math.Sqrt(2.0 / 576));
        var gamma = sd["dncnn.3.weight"];
        Assert.True(gamma.Abs().Max().Item() <= 0.025 + 1e-7);
        // The paper's names: DnCNN-S has 17 convolutions, DnCNN-B and -C 20 (colour follows the data's channels).
        foreach (var (name, depth, channels) in new[] { ("dncnn-s", 17, 1), ("dncnn-b", 20, 1), ("dncnn-c", 20, 3) })
        {
            using var m = (DnCNN)ModelFactory.Create(name, ModelFactory.Get(name).Options.Defaults, 1, channels, null);
            Assert.Equal(depth, m.Depth);
            Assert.Equal([64, channels, 3, 3], m.StateDict()["dncnn.0.weight"].Shape);
        }
        var outputs = net.ForwardAll(torch.Rand([1, 1, 9, 9]));
        TensorAssert.Close(outputs["image"] + outputs["noise"], torch.Zeros([1, 1, 9, 9]) + (outputs["image"] + outputs["noise"]), 0, 0);
    }

    [Fact]
    public void PsnrAndSsimEqualScikitImage()
    {
        using var scope = DisposeScope.Open();
        foreach (var (c, h, w) in new[] { (1, 24, 31), (3, 16, 16) })
        {
            torch.ManualSeed((ulong)(c * 100 + h));
            var clean = torch.Rand([3, c, h, w], DType.Float64);
            // Outputs of a denoiser: the clean image plus error, a little outside [0, 1] (the scores clamp first).
            var estimate = clean + torch.RandnLike(clean) * torch.From(new double[] { 0.02, 0.1, 0.3 }, [3, 1, 1, 1]);
            using var expected = SafeTensors.Load(Python("quality", new Dictionary<string, Tensor> { ["a"] = estimate, ["b"] = clean })).Tensors;
            TensorAssert.Close(expected["psnr"], ImageQuality.Psnr(estimate, clean).To(DType.Float64), 1e-6, 1e-6, $"PSNR {c}x{h}x{w}");
            TensorAssert.Close(expected["ssim"], ImageQuality.Ssim(estimate, clean).To(DType.Float64), 1e-6, 1e-7, $"SSIM {c}x{h}x{w}");
        }
        Assert.Throws<ArgumentException>(() => ImageQuality.Ssim(torch.Rand([1, 1, 8, 20]), torch.Rand([1, 1, 8, 20])));
    }

    [Theory]
    [InlineData("camera.png", 1)]
    [InlineData("astronaut.png", 3)]
    [InlineData("rocket.jpg", 3)]
    public void ImagesDecodeAsScikitImageReadsThem(string file, int channels)
    {
        var path = Path.Combine(SkimageData, file);
        Assert.True(File.Exists(path), $"{path} is missing: apt-get install python3-skimage (scripts/setup.sh does)");
        var picture = ImageCodec.Read(path, channels);
        var dir = TestPaths.TempDir();
        TestPaths.RunPython("hat_reference.py", "imread", path, Path.Combine(dir, "px.safetensors"));
        using var expected = SafeTensors.Load(Path.Combine(dir, "px.safetensors")).Tensors;
        var hwc = expected["pixels"];
        Assert.Equal(picture.Height, hwc.Size(0));
        Assert.Equal(picture.Width, hwc.Size(1));
        var reference = (hwc.Dim == 2 ? hwc.Unsqueeze(0) : hwc.Permute(2, 0, 1)).Contiguous().ToArray<byte>();
        var maxDiff = reference.Zip(picture.Pixels).Max(p => Math.Abs(p.First - p.Second));
        // PNG is lossless: byte for byte. JPEG decoders may round a few pixels differently.
        Assert.True(maxDiff <= (file.EndsWith(".jpg") ? 2 : 0), $"{file}: largest difference {maxDiff}");
        // Colour read as gray: BT.601 luma of the RGB bytes.
        var gray = ImageCodec.Read(path, 1);
        var plane = picture.Height * picture.Width;
        var i = plane / 2 + 7;
        var luma = channels == 3 ? Math.Round(0.299 * picture.Pixels[i] + 0.587 * picture.Pixels[plane + i] + 0.114 * picture.Pixels[2 * plane + i], MidpointRounding.AwayFromZero) : picture.Pixels[i];
        Assert.Equal(luma, gray.Pixels[i]);
    }

    [Fact]
    public void PngsWrittenAreReadBackExactly()
    {
        var dir = TestPaths.TempDir();
        var values = Enumerable.Range(0, 3 * 5 * 7).Select(i => (i * 37 % 256) / 255f).ToArray();
        var path = Path.Combine(dir, "x.png");
        ImageCodec.WritePng(path, values, 3, 5, 7);
        var back = ImageCodec.Read(path, 3);
        Assert.Equal(values.Select(v => (byte)Math.Round(v * 255)), back.Pixels);
        Assert.False(File.Exists(path + ".tmp"));
        Assert.Throws<InvalidDataException>(() => { File.WriteAllText(Path.Combine(dir, "bad.png"), "not a png"); ImageCodec.Read(Path.Combine(dir, "bad.png"), 1); });
    }

    [Fact]
    public void PatchesAreTheEightSymmetriesOfTheSquareAndReproducible()
    {
        // numpy: rot90([[a, b], [c, d]]) = [[b, d], [a, c]]; flipud after it: [[a, c], [b, d]].
        var p = new Picture("p", [1, 2, 3, 4], 1, 2, 2);
        var set = new PatchSet("t", [p], 2, 1, augment: true);
        float[] Mode(int mode)
        {
            var r = new float[4];
            for (var y = 0; y < 2; y++)
                for (var x = 0; x < 2; x++)
                {
                    var (sy, sx) = PatchSet.Source(mode, y, x, 2);
                    r[y * 2 + x] = p.Pixels[sy * 2 + sx];
                }
            return r;
        }
        Assert.Equal([1f, 2, 3, 4], Mode(0));
        Assert.Equal([3f, 4, 1, 2], Mode(1));
        Assert.Equal([2f, 4, 1, 3], Mode(2));
        Assert.Equal([1f, 3, 2, 4], Mode(3));
        Assert.Equal([4f, 3, 2, 1], Mode(4));
        Assert.Equal([3f, 1, 4, 2], Mode(6));
        Assert.Equal(8, Enumerable.Range(0, 8).Select(m => string.Join(",", Mode(m))).Distinct().Count());
        // Patches of a bigger picture: in range, reproducible per (seed, epoch), different across epochs.
        var big = new Picture("b", Enumerable.Range(0, 2 * 20 * 30).Select(i => (byte)(i % 251)).ToArray(), 2, 20, 30);
        var patches = new PatchSet("t", [big], 8, 5, augment: true);
        Assert.Equal(5, patches.Count);
        var loader = new DataLoader(patches, 5, shuffle: true, seed: 4);
        float[] First(int epoch) { using var b = loader.Epoch(epoch).First(); return b.X.ToArray<float>(); }
        Assert.Equal(First(1), First(1));
        Assert.NotEqual(First(1), First(2));
        Assert.Throws<ArgumentException>(() => new PatchSet("t", [big], 21, 1, true));
    }

    [Fact]
    public void PictureFoldersLoadAndAMissingOneSaysWhereItLooked()
    {
        var root = TestPaths.TempDir();
        var folder = Path.Combine(root, "datasets", "set12");
        Directory.CreateDirectory(folder);
        ImageCodec.WritePng(Path.Combine(folder, "b.png"), new float[3 * 12 * 14], 3, 12, 14);
        ImageCodec.WritePng(Path.Combine(folder, "a.png"), Enumerable.Repeat(0.5f, 16 * 13).ToArray(), 1, 16, 13);
        var pictures = DatasetCatalog.LoadPictures("set12", train: false, repoRoot: root);
        Assert.Equal(["a.png", "b.png"], pictures.Select(p => p.Name));
        Assert.All(pictures, p => Assert.Equal(1, p.Channels));
        Assert.Equal(128, pictures[0].Pixels[0]);
        var set = new PictureSet("set12", pictures);
        Assert.False(set.FixedShape);
        Assert.Equal((16 * 13 + 12 * 14) / 2.0, DenoiseTask.MeanElements(set));
        Assert.Contains("differ in size", Assert.Throws<InvalidOperationException>(() => new DataLoader(set, 2).Epoch(0).First()).Message);
        Assert.Equal(2, new DataLoader(set, 1).Epoch(0).Count());
        var missing = Assert.Throws<DatasetNotFoundException>(() => DatasetCatalog.LoadPictures("kodak24", train: false, repoRoot: root)).Message;
        Assert.Contains(Path.Combine(root, "datasets", "kodak24"), missing);
        Assert.Contains("kodim01.png", missing);
        Assert.Contains("data.test_set", Assert.Throws<DatasetNotFoundException>(() => DatasetCatalog.LoadPictures("bsd400", train: false, repoRoot: root)).Message);
    }

    [Fact]
    public void ObservationsDrawALevelPerImageFromTheInterval()
    {
        using var scope = DisposeScope.Open();
        var clean = torch.Full([64, 1, 32, 32], 0.5);
        var ids = Enumerable.Range(0, 64).Select(i => (long)i).ToArray();
        var ranged = Task("[0, 55]", clip: false).Observe(clean, ids, 1, null);
        var stds = (ranged - clean).Flatten(1).Std(1).ToArray<float>().Select(s => s * 255).ToArray();
        Assert.All(stds, s => Assert.InRange(s, 0, 55 * 1.1));
        Assert.True(stds.Min() < 10 && stds.Max() > 45, $"levels {stds.Min():F1} .. {stds.Max():F1} do not span [0, 55]");
        var fixedLevel = Task("25", clip: false, noise: "uniform").Observe(clean, ids, 1, null);
        var diff = (fixedLevel - clean);
        Assert.InRange(diff.Std().Item() * 255, 24, 26);
        Assert.True(diff.Abs().Max().Item() <= Math.Sqrt(3) * 25 / 255 + 1e-6, "uniform noise of std s lies within sqrt(3) s");
        var clipped = Task("[0, 55]").Observe(clean, ids, 1, 50);
        Assert.True(clipped.Min().Item() >= 0 && clipped.Max().Item() <= 1);
        // Per sample: the same image id gets the same observation in any batch.
        TensorAssert.Close(ranged.Narrow(0, 10, 2), Task("[0, 55]", clip: false).Observe(clean.Narrow(0, 0, 2), [10, 11], 1, null), 0, 0);
        Assert.Contains("low <= high", Assert.Throws<OptionException>(() => Task("[55, 0]")).Message);
    }

    [Fact]
    public void ObsAtkHurtsANormallyTrainedDenoiserMoreThanRandomNoiseOfTheSameEnergy()
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(11);
        var task = Task("[0, 40]");
        // Images with edges and flat regions, as photographs have.
        Tensor Images(int n, int size, ulong seed)
        {
            torch.ManualSeed(seed);
            var yy = torch.Arange(0, size, 1, DType.Float32).View(1, 1, size, 1);
            var xx = torch.Arange(0, size, 1, DType.Float32).View(1, 1, 1, size);
            var a = torch.Rand([n, 1, 1, 1]) * 0.8 + 0.1;
            var b = torch.Rand([n, 1, 1, 1]) * 0.8 + 0.1;
            var cut = torch.Rand([n, 1, 1, 1]) * size;
            var edge = (xx + yy * 0.5).Sub(cut).Sign_().Add_(1).Mul_(0.5);
            return (a + (b - a) * edge + torch.Rand([n, 1, size, size]) * 0.05).Clamp_(0, 1);
        }
        var train = Images(256, 24, 1);
        using var net = new DnCNN(1, 5, 16);
        using var opt = new Adam(net.Parameters().ToList(), 2e-3);
        var standard = Methods.Registry.Get("standard").Create(new MethodBuild(OptionDeclaration.None.Defaults, new AttackSettings(Norm.Linf, 0, 0, 1, RandomStart.None), 0, 0, _ => throw new InvalidOperationException()));
        for (var step = 0; step < 150; step++)
        {
            using var s = DisposeScope.Open();
            var ids = Enumerable.Range(0, 32).Select(i => (long)(step * 32 + i)).ToArray();
            var x = train.IndexSelect(0, torch.From(ids.Select(i => i % 256).ToArray()));
            var y = task.Observe(x, ids, 5, null);
            opt.ZeroGrad();
            var ctx = new StepContext(net, 0, 1, 1) { Task = task };
            standard.Compute(ctx, y, x).Loss.Backward();
            opt.Step();
        }
        net.Eval();
        var test = new ImageDataset("t", Images(16, 32, 2).Mul(255).Round_().To(DType.UInt8).ToArray<byte>(), new long[16], 1, 32, 32, 1);
        var loader = new DataLoader(test, 16);
        var obs = task.Evaluate(net, loader, new ObsAttack("obsatk5", 5, 5, 0.3), 3);
        var gauss = task.Evaluate(net, loader, new RandomNoiseAttack("gaussian-noise", 5, uniform: false), 3);
        var uniform = task.Evaluate(net, loader, new RandomNoiseAttack("uniform-noise", 5, uniform: true), 3);
        // The denoiser learned something: better than its noisy input at sigma 15 (24.6 dB).
        Assert.True(obs.Clean > 26, $"clean PSNR {obs.Clean:F2}");
        Assert.True(obs.Robust < gauss.Robust - 0.5, $"ObsAtk {obs.Robust:F2} dB, Gaussian noise of the same energy {gauss.Robust:F2} dB");
        Assert.True(obs.Robust < uniform.Robust - 0.5, $"ObsAtk {obs.Robust:F2} dB, uniform noise {uniform.Robust:F2} dB");
    }
}
