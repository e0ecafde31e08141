using RobustCli.Core.Attacks;
using RobustCli.Core.Models;
using RobustCli.Core.Training;
using RobustCli.Tests.Shared;
using RobustCli.Torch;
using RobustCli.Torch.nn;
using RobustCli.Torch.Serialization;

namespace RobustCli.Core.Tests;

/// <summary>
/// CIFS against tests/python/cifs_reference.py (written from the official code): the eval- and train-mode forward
/// with its importance masks, the joint loss and every gradient (a double backward through the probes), and PGD on
/// the joint loss through the masked model; then what the mask must be.
/// </summary>
public sealed class CifsTests
{
    private static CifsResNet18 Net(int channels = 3, int width = 8, ulong seed = 5)
    {
        torch.ManualSeed(seed);
        var net = new CifsResNet18(10, channels, null, width);
        // BatchNorm as a trained one would be, so eval mode tests the running statistics.
        using (torch.NoGrad())
            foreach (var (name, t) in net.StateDict())
            {
                if (name.EndsWith("running_mean", StringComparison.Ordinal)) t.Uniform_(-0.1, 0.1);
                else if (name.EndsWith("running_var", StringComparison.Ordinal)) t.Uniform_(0.5, 1.5);
            }
        net.To(DType.Float64);
        return net;
    }

    private static Dictionary<string, Tensor> Input(CifsResNet18 net, Tensor x, Tensor y, int width, double beta = 2)
    {
        var input = new Dictionary<string, Tensor>();
        foreach (var (k, v) in net.StateDict()) input["sd." + k] = v;
        input["x"] = x;
        input["y"] = y;
        input["width"] = torch.From(new long[] { width });
        input["beta"] = torch.From(new[] { beta });
        return input;
    }

    private static string Python(string cmd, Dictionary<string, Tensor> input, params string[] args)
    {
        var dir = TestPaths.TempDir();
        SafeTensors.Save(Path.Combine(dir, "in.safetensors"), input);
        TestPaths.RunPython("cifs_reference.py", [cmd, Path.Combine(dir, "in.safetensors"), Path.Combine(dir, "out.safetensors"), .. args]);
        return Path.Combine(dir, "out.safetensors");
    }

    [Theory]
    [InlineData(3, 32)]
    [InlineData(1, 28)]
    public void ForwardJointLossAndGradientsEqualTheReference(int channels, int size)
    {
        using var scope = DisposeScope.Open();
        using var net = Net(channels);
        torch.ManualSeed(9);
        var x = torch.Rand([6, channels, size, size], DType.Float64);
        var y = torch.RandInt(0, 10, [6]);
        using var expected = SafeTensors.Load(Python("forward", Input(net, x, y, 8))).Tensors;

        net.Eval();
        var all = net.ForwardAll(x);
        foreach (var name in net.OutputNames) TensorAssert.Close(expected[name], all[name], 1e-9, 1e-11, name);
        TensorAssert.Close(expected["logits"], net.Forward(x), 1e-9, 1e-11, "Forward");

        net.Train();
        net.Labels = y;
        net.ZeroGrad();
        var (loss, logits, _, _) = CifsTraining.Loss(net, x, y, 2);
        net.Labels = null;
        TensorAssert.Close(expected["logits_t"], logits, 1e-9, 1e-11, "train-mode logits");
        Assert.Equal(expected["loss"].ToArray<double>()[0], loss.Item(), 10);
        loss.Backward();
        foreach (var (n, p) in net.NamedParameters())
            TensorAssert.Close(expected["grad." + n], p.Grad ?? torch.ZerosLike(p), 1e-8, 1e-10, "grad " + n);
        // The probes' own parameters learn through the mask too (create_graph): their gradient is not only the probe CE's.
        Assert.True(net.NamedParameters().First(p => p.Name == "layer4.1.Probe.Probe.1.weight").Parameter.Grad!.Abs().Sum().Item() > 0);
        foreach (var (n, t) in net.StateDict())
            TensorAssert.Close(expected["sd." + n].To(t.DType), t, 1e-10, 1e-12, n);

        // The final logits' loss alone reaches the probes only through the masks: a non-zero gradient there is the
        // create_graph path (the input's gradient does not pass through the masks: the official code takes them on a
        // detached copy of the features, and so does this one).
        net.ZeroGrad();
        net.Labels = y;
        var finalOnly = F.CrossEntropy(net.ForwardAll(x)["logits"], y);
        net.Labels = null;
        finalOnly.Backward();
        Assert.True(net.NamedParameters().First(p => p.Name == "layer4.0.Probe.Probe.0.fc.weight").Parameter.Grad!.Abs().Sum().Item() > 0,
            "no gradient reached the probe through the mask");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PgdThroughTheMasksEqualsTheReference(bool joint)
    {
        using var scope = DisposeScope.Open();
        using var net = Net(1);
        torch.ManualSeed(13);
        var x = torch.Rand([5, 1, 28, 28], DType.Float64);
        var y = torch.RandInt(0, 10, [5]);
        using var expected = SafeTensors.Load(Python("pgd", Input(net, x, y, 8), "4", (8 / 255.0).ToString("R"), (2 / 255.0).ToString("R"), joint ? "1" : "0")).Tensors;
        var attack = new PgdAttack("pgd4", 8 / 255.0, 2 / 255.0, 4, Norm.Linf, RandomStart.None, 1, new CifsJointLoss(2, 2, joint));
        var adv = attack.Perturb(new ConcatenatedOutputs(net), x, y);
        TensorAssert.Close(expected["adv"], adv, 1e-9, 1e-11, "adversarial batch");
        Assert.True((adv - x).Abs().Max().Item() > 7 / 255.0, "the attack moved");
    }

    [Fact]
    public void TheMaskSumsToTwoAndFollowsTheLabelsOnlyInTraining()
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(3);
        var probe = new CifsProbe(16, 10, linear: true);
        var z = torch.Rand([4, 16, 3, 3]);
        probe.Eval();
        var m = probe.Mask(z, torch.From(new long[] { 0, 1, 2, 3 }));
        Assert.Equal([4, 16, 1, 1], m.Shape);
        TensorAssert.Close(torch.Full([4], 2.0), m.Sum([1, 2, 3]), 1e-5, 1e-6, "sum over channels");
        // Eval: the predictions decide, whatever the labels.
        TensorAssert.Close(m, probe.Mask(z, torch.From(new long[] { 9, 9, 9, 9 })), 0, 0, "eval mask");
        probe.Train();
        var a = probe.Mask(z, torch.From(new long[] { 0, 1, 2, 3 }));
        var b = probe.Mask(z, torch.From(new long[] { 5, 6, 7, 8 }));
        Assert.True((a - b).Abs().Max().Item() > 1e-6, "training masks follow the labels");
        // Inside a no-grad evaluation the mask is still a gradient.
        using (torch.NoGrad()) TensorAssert.Close(a, probe.Mask(z, torch.From(new long[] { 0, 1, 2, 3 })), 1e-6, 1e-7, "under no_grad");
    }
}
