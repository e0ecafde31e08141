using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Models;
using RobustCli.Core.Training;
using RobustCli.Tests.Shared;
using RobustCli.Torch;
using RobustCli.Torch.optim;
using RobustCli.Torch.Serialization;

namespace RobustCli.Core.Tests;

/// <summary>
/// GAT against tests/python/gat_reference.py (written from the official taskaugment code): the rotation and jigsaw
/// batches, MGDA's weights (and the closed form and a brute-force search), the curvature regulariser with its
/// double-backward gradient, and whole training steps (ew, mgda, with curvature, TRADES) down to the weights.
/// </summary>
public sealed class GatTests
{
    private static readonly MacroClasses FashionGroups = DatasetCatalog.Get("fashion-mnist").Macro!;

    private static string Python(string cmd, Dictionary<string, Tensor> input)
    {
        var dir = TestPaths.TempDir();
        SafeTensors.Save(Path.Combine(dir, "in.safetensors"), input);
        TestPaths.RunPython("gat_reference.py", [cmd, Path.Combine(dir, "in.safetensors"), Path.Combine(dir, "out.safetensors")]);
        return Path.Combine(dir, "out.safetensors");
    }

    private static MultiTaskNetwork Net(GatSettings s, int channels, int width = 4, ulong seed = 5)
    {
        torch.ManualSeed(seed);
        var heads = s.Ordered.Select(t => GatTasks.Head(t, s.JigsawClasses, FashionGroups)).ToList();
        var net = new MultiTaskNetwork(new ResNetEncoder([2, 2, 2, 2], false, channels, width), 10, channels, null, heads);
        net.To(DType.Float64);
        return net;
    }

    private static Dictionary<string, Tensor> WithWeights(MultiTaskNetwork net, Dictionary<string, Tensor> input)
    {
        foreach (var (k, v) in net.StateDict()) input["sd." + k] = v.Clone();
        return input;
    }

    [Theory]
    [InlineData(3, 32, 8)]
    [InlineData(1, 28, 7)]
    public void RotationAndJigsawBatchesEqualTheReference(int channels, int size, int batch)
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(4);
        var x = torch.Rand([batch, channels, size, size], DType.Float64);
        var rng = new Random(7);
        var rot = GatTasks.BalancedRotations(batch, rng);
        var jig = GatTasks.JigsawOrders(batch, 10, 0.1, rng);
        // Every class appears, so each permutation is exercised.
        jig[0] = 0;
        for (var i = 1; i < batch; i++) jig[i] = i;
        var perms = GatTasks.JigsawPermutations(10, 11);
        var flat = perms.SelectMany(p => p.Select(v => (long)v)).ToArray();
        using var expected = SafeTensors.Load(Python("transforms", new()
        {
            ["x"] = x, ["rot"] = torch.From(rot, [batch]), ["jig"] = torch.From(jig, [batch]), ["perms"] = torch.From(flat, [9, 16]),
        })).Tensors;
        TensorAssert.Close(expected["rotated"], GatTasks.Rotate(x, rot), 0, 0, "rotated");
        TensorAssert.Close(expected["shuffled"], GatTasks.Shuffle(x, jig, perms), 0, 0, "shuffled");
        TensorAssert.Close(expected["both"], GatTasks.Rotate(GatTasks.Shuffle(x, jig, perms), rot), 0, 0, "jigsaw then rotation");
        Assert.True((GatTasks.Shuffle(x, jig, perms) - x).Abs().Max().Item() > 0.1, "the permutations moved tiles");
    }

    [Fact]
    public void PrepareTransformsTheBatchItselfWithReproducibleBalancedLabels()
    {
        using var scope = DisposeScope.Open();
        var s = new GatSettings { Tasks = [GatTasks.Rotation, GatTasks.Jigsaw, GatTasks.Macro] };
        var method = new GatTraining(s, new AttackSettings(Norm.Linf, 0.1, 0.02, 1, RandomStart.None), seed: 3, FashionGroups);
        using var net = Net(s, 1);
        torch.ManualSeed(2);
        var x = torch.Rand([64, 1, 28, 28]);
        var y = torch.RandInt(0, 10, [64]);
        var ctx = new StepContext(net, 2, 5, 10, batch: 4);
        using var batch = method.Prepare(ctx, x, y);
        var rot = batch.Labels[GatTasks.Rotation].ToArray<long>();
        var jig = batch.Labels[GatTasks.Jigsaw].ToArray<long>();
        // The official pool is [0, 1, 2, 3] × (B/4 + 1), shuffled and cut to B: each angle 13 to 17 times in 64.
        Assert.All(Enumerable.Range(0, 4), k => Assert.InRange(rot.Count(r => r == k), 13, 17));
        TensorAssert.Close(GatTasks.Rotate(GatTasks.Shuffle(x, jig, method.Permutations), rot), batch.Inputs, 0, 0, "the batch is transformed");
        TensorAssert.Close(torch.From(FashionGroups.Labels(y.ToArray<long>()), [64]), batch.Labels[GatTasks.Macro], 0, 0, "macro labels");
        // The same (seed, epoch, batch) draws the same; another batch draws differently (resume depends on it).
        using var again = method.Prepare(ctx, x, y);
        TensorAssert.Close(batch.Inputs, again.Inputs, 0, 0, "reproducible");
        using var other = method.Prepare(new StepContext(net, 2, 5, 10, batch: 5), x, y);
        Assert.NotEqual(rot, other.Labels[GatTasks.Rotation].ToArray<long>());
        // Permutations are fixed by the seed: the same for another instance, different for another seed.
        var twin = new GatTraining(s, new AttackSettings(Norm.Linf, 0.1, 0.02, 1, RandomStart.None), seed: 3, FashionGroups);
        Assert.Equal(method.Permutations, twin.Permutations);
        Assert.NotEqual(method.Permutations, new GatTraining(s, new AttackSettings(Norm.Linf, 0.1, 0.02, 1, RandomStart.None), seed: 4, FashionGroups).Permutations);
        Assert.All(method.Permutations, p => Assert.Equal(Enumerable.Range(0, 16), p.Order()));
    }

    [Fact]
    public void JigsawLabelsFavourTheIdentityAsTheOfficialBias()
    {
        var orders = GatTasks.JigsawOrders(50_000, 10, 0.1, new Random(1));
        // P(0) = 0.1 + 0.9/10; each other class 0.9/10.
        Assert.InRange(orders.Count(o => o == 0) / 50_000.0, 0.18, 0.20);
        for (var k = 1; k < 10; k++) Assert.InRange(orders.Count(o => o == k) / 50_000.0, 0.084, 0.096);
        var rot = GatTasks.BalancedRotations(10, new Random(2));
        Assert.All(Enumerable.Range(0, 4), k => Assert.InRange(rot.Count(r => r == k), 1, 3));
    }

    [Fact]
    public void MgdaWeightsEqualTheClosedFormTheReferenceAndABruteForceSearch()
    {
        var rng = new Random(5);
        double Dot(double[] a, double[] b) => a.Zip(b).Sum(p => p.First * p.Second);
        double[] Rand(int n) => Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        double[,] Gram(double[][] g)
        {
            var m = new double[g.Length, g.Length];
            for (var i = 0; i < g.Length; i++)
                for (var j = 0; j < g.Length; j++) m[i, j] = Dot(g[i], g[j]);
            return m;
        }
        // Two tasks: w1 = (g2·g2 − g1·g2)/‖g1 − g2‖² inside, 0.999 / 0.001 at the ends.
        for (var trial = 0; trial < 20; trial++)
        {
            var g = new[] { Rand(30), Rand(30) };
            var w = MinNormSolver.Solve(Gram(g)).Weights;
            double g11 = Dot(g[0], g[0]), g12 = Dot(g[0], g[1]), g22 = Dot(g[1], g[1]);
            var expected = g12 >= g11 ? 0.999 : g12 >= g22 ? 0.001 : (g22 - g12) / (g11 + g22 - 2 * g12);
            Assert.Equal(expected, w[0], 12);
            Assert.Equal(1 - expected, w[1], 12);
        }
        var inner = new[] { Rand(5), Rand(5) };
        inner[1] = inner[0].Select(v => -v * 2).ToArray();
        Assert.Equal(2 / 3.0, MinNormSolver.Solve(Gram(inner)).Weights[0], 12);
        var big = new[] { Rand(5).Select(v => v * 10).ToArray(), Rand(5) };
        big[0] = big[1].Select(v => v * 10).ToArray();
        Assert.Equal(0.001, MinNormSolver.Solve(Gram(big)).Weights[0], 12);

        // Three and four tasks: the reference's Frank-Wolfe result, and no simplex point of a fine grid does better.
        foreach (var (tasks, dims) in new[] { (3, 4), (3, 50), (4, 6) })
        {
            var g = Enumerable.Range(0, tasks).Select(_ => Rand(dims)).ToArray();
            var solution = MinNormSolver.Solve(Gram(g));
            using var expected = SafeTensors.Load(Python("mgda", new() { ["grads"] = torch.From(g.SelectMany(r => r).ToArray(), [tasks, dims]) })).Tensors;
            var reference = expected["sol"].ToArray<double>();
            for (var i = 0; i < tasks; i++) Assert.Equal(reference[i], solution.Weights[i], 9);
            Assert.Equal(1.0, solution.Weights.Sum(), 9);
            Assert.All(solution.Weights, v => Assert.True(v >= 0));
            double Norm2(double[] w) => Enumerable.Range(0, dims).Sum(d => Math.Pow(Enumerable.Range(0, tasks).Sum(t => w[t] * g[t][d]), 2));
            var found = Norm2(solution.Weights);
            var best = double.PositiveInfinity;
            const int steps = 100;
            for (var a = 0; a <= steps; a++)
                for (var b = 0; a + b <= steps; b++)
                {
                    if (tasks == 3) best = Math.Min(best, Norm2([a / (double)steps, b / (double)steps, (steps - a - b) / (double)steps]));
                    else
                        for (var c = 0; a + b + c <= steps; c += 2)
                            best = Math.Min(best, Norm2([a / (double)steps, b / (double)steps, c / (double)steps, (steps - a - b - c) / (double)steps]));
                }
            Assert.True(found <= best + 1e-6, $"{tasks} tasks: the solver's ‖Σ w g‖² {found} exceeds the grid's {best}");
        }
    }

    [Theory]
    [InlineData(GatTasks.Rotation)]
    [InlineData(GatTasks.Macro)]
    public void CurvatureAndItsDoubleBackwardGradientEqualTheReference(string second)
    {
        using var scope = DisposeScope.Open();
        var s = new GatSettings { Tasks = [second] };
        using var net = Net(s, 3);
        torch.ManualSeed(8);
        var x = torch.Rand([4, 3, 32, 32], DType.Float64);
        var y = torch.RandInt(0, 10, [4]);
        var l2 = second == GatTasks.Macro ? torch.From(FashionGroups.Labels(y.ToArray<long>()), [4]) : torch.From(GatTasks.BalancedRotations(4, new Random(1)), [4]);
        using var expected = SafeTensors.Load(Python("curvature", WithWeights(net, new()
        {
            ["x"] = x, ["y"] = y, ["l2"] = l2, ["width"] = torch.From(new long[] { 4 }),
            ["task2"] = torch.From(new long[] { Array.IndexOf(GatTasks.All, second) }),
        }))).Tensors;
        net.Train();
        net.ZeroGrad();
        var r = GatTraining.Curvature(net, x, y, second, l2);
        Assert.Equal(expected["r"].ToArray<double>()[0], r.Item(), 9);
        Assert.InRange(r.Item(), 1e-6, 10);
        r.Backward();
        foreach (var (n, p) in net.NamedParameters())
            TensorAssert.Close(expected["grad." + n], p.Grad ?? torch.ZerosLike(p), 1e-7, 1e-10, "grad " + n);
        // The gradient reaches the encoder's weights only through the input gradients: a double backward.
        Assert.True(net.NamedParameters().First(p => p.Name == "encoder.conv1.weight").Parameter.Grad!.Abs().Sum().Item() > 0);
    }

    [Theory]
    [InlineData("ew", 0.0, "madry")]
    [InlineData("mgda", 0.0, "madry")]
    [InlineData("mgda", 1.0, "madry")]
    [InlineData("ew", 0.5, "trades")]
    public void OneStepEqualsTheReference(string weighting, double curvature, string algorithm)
    {
        using var scope = DisposeScope.Open();
        var s = new GatSettings
        {
            Tasks = [GatTasks.Rotation, GatTasks.Jigsaw, GatTasks.Macro], Weighting = weighting, Curvature = curvature, Algorithm = algorithm,
            RotationWeight = 1, JigsawWeight = 0.5,
        };
        const double eps = 8 / 255.0, alpha = 2 / 255.0, lr = 0.05;
        var method = new GatTraining(s, new AttackSettings(Norm.Linf, eps, alpha, 3, RandomStart.None), seed: 1, FashionGroups);
        using var net = Net(s, 1);
        torch.ManualSeed(6);
        var x = torch.Rand([8, 1, 28, 28], DType.Float64);
        var y = torch.RandInt(0, 10, [8]);
        var ctx = new StepContext(net, 0, 1, 10) { LogCleanAccuracy = false };
        using var batch = method.Prepare(ctx, x, y);
        var input = WithWeights(net, new()
        {
            ["x"] = batch.Inputs, ["y"] = y, ["width"] = torch.From(new long[] { 4 }),
            ["steps"] = torch.From(new long[] { 3 }), ["eps"] = torch.From(new[] { eps }), ["alpha"] = torch.From(new[] { alpha }),
            ["lr"] = torch.From(new[] { lr }), ["momentum"] = torch.From(new[] { 0.9 }), ["wd"] = torch.From(new[] { 5e-4 }),
            ["weighting"] = torch.From(new long[] { weighting == "ew" ? 0 : 1 }), ["curvature"] = torch.From(new[] { curvature }),
            ["algorithm"] = torch.From(new long[] { algorithm == "trades" ? 1 : 0 }),
            ["rot_w"] = torch.From(new[] { 1.0 }), ["jig_w"] = torch.From(new[] { 0.5 }),
        });
        foreach (var (k, v) in batch.Labels) input["lab." + k] = v;
        // TRADES' attack starts where KL(clean ‖ adv) has a zero gradient, so it needs a random start, which the two
        // sides cannot share: its case takes the reference's adversarial batch and checks the rest of the step.
        var trades = algorithm == "trades";
        if (trades) input["random_start"] = torch.From(new long[] { 1 });
        using var expected = SafeTensors.Load(Python("step", input)).Tensors;

        var optimizer = new SGD(net.Parameters().ToList(), lr, 0.9, 0, 5e-4);
        var step = new OptimizationStep(optimizer);
        var terms = new[] { "main", "macro", "jigsaw", "rotation" }.Concat(curvature > 0 ? ["curvature"] : []).ToList();
        var losses = new Dictionary<string, double>();
        double[] weights;
        if (trades)
        {
            net.Train();
            var computed = GatTraining.Losses(net, batch, expected["adv"], y, s);
            foreach (var (name, loss) in computed.Terms) losses[name] = loss.Item();
            weights = GatTraining.Backward(net, computed.Terms, weighting, step, out _);
            step.Apply();
        }
        else
        {
            var result = step.Run(method, ctx, x, y);
            method.OnEpochEnd(new EpochEnd(0, 0, 0));
            var metrics = method.Metrics.ToDictionary(m => m.Column, m => m.Value);
            foreach (var t in terms) losses[t] = metrics[$"gat_{t}_loss"];
            weights = terms.Select(t => metrics[$"gat_w_{t}"]).ToArray();
            Assert.Equal(terms.Sum(t => losses[t]), result.Loss, 9);
        }
        Assert.Equal(terms, losses.Keys);
        foreach (var t in terms)
            Assert.Equal(expected["loss." + t].ToArray<double>()[0], losses[t], 9);
        var w = expected["w"].ToArray<double>();
        for (var i = 0; i < terms.Count; i++) Assert.Equal(w[i], weights[i], 7);
        Assert.Equal(weighting == "ew" ? terms.Count : 1.0, w.Sum(), 9);
        foreach (var (k, v) in net.StateDict())
            TensorAssert.Close(expected["sd." + k].To(v.DType), v, 1e-8, 1e-10, k);
    }

    [Fact]
    public void MultiTaskWeightsMoveBothWaysWithPyTorch()
    {
        using var scope = DisposeScope.Open();
        var dir = TestPaths.TempDir();
        var pt = Path.Combine(dir, "gat.pt");
        TestPaths.RunPython("gat_reference.py", "init", pt, "4", "1");
        MultiTaskNetwork net;
        using (var sd = Weights.Load(pt))
        {
            // The heads are read from the keys, as robust eval does for a weights file without its run's config.
            var heads = MultiTaskNetwork.HeadsIn(sd);
            Assert.Equal(["macro:class_object#macro:3", "jigsaw:jigsaw:10", "rotation:rotation:4"], heads.Select(h => $"{h.Name}:{h.Key}:{h.Classes}"));
            net = new MultiTaskNetwork(new ResNetEncoder([2, 2, 2, 2], false, 1, 4), 10, 1, null, heads);
            net.LoadStateDict(sd);
        }
        using var _ = net;
        net.Eval();
        using var io = SafeTensors.Load(pt + ".io.safetensors").Tensors;
        using (torch.NoGrad())
        {
            var all = net.ForwardAll(io["x"]);
            foreach (var (name, key) in new[] { ("logits", "main"), ("macro", "macro"), ("jigsaw", "jigsaw"), ("rotation", "rotation") })
                TensorAssert.Close(io[key], all[name], 1e-5, 1e-6, "forward of PyTorch's weights: " + name);
        }
        using (torch.NoGrad()) net.StateDict()["encoder.layer2.0.conv1.weight"].Mul_(0.5);
        var ours = Path.Combine(dir, "ours.pt");
        Weights.Save(ours, net);
        var check = Path.Combine(dir, "check.safetensors");
        SafeTensors.Save(check, new Dictionary<string, Tensor> { ["x"] = io["x"] });
        TestPaths.RunPython("gat_reference.py", "check", ours, check, "4", "1");
        using var back = SafeTensors.Load(check).Tensors;
        using (torch.NoGrad()) TensorAssert.Close(back["out_py"], net.Forward(io["x"]), 1e-5, 1e-6, "PyTorch's forward of our weights");
    }

    [Fact]
    public void TheEncodersHaveTheOfficialShapesKeysAndSizes()
    {
        using var scope = DisposeScope.Open();
        long Count(Torch.nn.Module m, string prefix) => m.NamedParameters().Where(p => p.Name.StartsWith(prefix, StringComparison.Ordinal)).Sum(p => p.Parameter.NumEl);
        // ResNet-50's trunk is torchvision's (23,508,032 parameters without fc) with a 3x3 instead of a 7x7 stem.
        using (var r50 = (MultiTaskNetwork)ModelFactory.Create("multitask-resnet50", ModelFactory.Get("multitask-resnet50").Options.Defaults, 10, 3, null))
        {
            Assert.Equal(23_508_032 - 64 * 3 * 49 + 64 * 3 * 9, Count(r50, "encoder."));
            var keys = r50.StateDict().Keys.ToList();
            Assert.Contains("encoder.layer1.0.downsample.0.weight", keys);
            Assert.Contains("encoder.layer4.2.conv3.weight", keys);
            Assert.Equal(new long[] { 10, 2048 }, r50.StateDict()["task_to_decoder.class_object#multilabel.fc.weight"].Shape);
        }
        // WRN-28-10's trunk: 36,479,194 parameters less its fc (640 x 10 + 10).
        using (var wrn = (MultiTaskNetwork)ModelFactory.Create("multitask-wrn", ModelFactory.Get("multitask-wrn").Options.Defaults, 10, 3, null))
        {
            Assert.Equal(36_479_194 - 6_410, Count(wrn, "encoder."));
            Assert.Contains("encoder.block1.layer.0.convShortcut.weight", wrn.StateDict().Keys);
        }
        // The official stem pads by 3: 32x32 inputs give 36x36 maps, 5x5 after three stride-2 stages (4x4 with padding 1).
        var x = torch.Rand([2, 3, 32, 32]);
        foreach (var (padding, side) in new[] { (3, 5L), (1, 4L) })
        {
            using var net = new MultiTaskNetwork(new ResNetEncoder([2, 2, 2, 2], false, 3, 4, padding), 10, 3, null, []);
            using var maps = net.Encoder.Forward(x);
            Assert.Equal(new long[] { 2, 32, side, side }, maps.Shape);
            Assert.Equal(new long[] { 2, 10 }, net.Forward(x).Shape);
        }
    }
}

