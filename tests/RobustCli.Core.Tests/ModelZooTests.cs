using RobustCli.Core.Models;
using RobustCli.Torch;

namespace RobustCli.Core.Tests;

public sealed class ModelZooTests
{
    [Theory]
    [InlineData("resnet18", 34, 10, 11_173_962)]
    [InlineData("wrn", 34, 10, 46_160_474)]
    [InlineData("wrn", 28, 10, 36_479_194)]
    [InlineData("wrn28-10", 0, 0, 36_479_194)]
    [InlineData("wrn34-10", 0, 0, 46_160_474)]
    [InlineData("wrn16-4", 0, 0, 2_748_890)]
    [InlineData("preact18", 34, 10, 11_172_170)]
    [InlineData("smallcnn", 34, 10, 0)]
    public void ParameterCountsMatchThePyTorchImplementations(string arch, int depth, int width, long expected)
    {
        using var scope = DisposeScope.Open();
        using var m = ModelFactory.Create(new ModelSpec(arch, 10, arch == "smallcnn" ? 1 : 3, null, depth, width));
        if (expected > 0) Assert.Equal(expected, m.ParameterCount());
        var x = torch.Rand(2, arch == "smallcnn" ? 1 : 3, arch == "smallcnn" ? 28 : 32, arch == "smallcnn" ? 28 : 32);
        m.Eval();
        Assert.Equal(new long[] { 2, 10 }, m.Forward(x).Shape);
    }

    [Fact]
    public void KeyNamesFollowRobustBenchs()
    {
        using var scope = DisposeScope.Open();
        using var wrn = new WideResNet(28, 10);
        var keys = wrn.StateDict().Keys.ToList();
        Assert.Contains("block1.layer.0.convShortcut.weight", keys);
        Assert.Contains("block3.layer.3.bn2.running_var", keys);
        Assert.Equal("conv1.weight", keys[0]);
        Assert.Equal(new[] { "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked", "fc.weight", "fc.bias" }, keys.TakeLast(7));
        using var r = new ResNet18();
        var rk = r.StateDict().Keys.ToList();
        Assert.Contains("layer2.0.shortcut.0.weight", rk);
        Assert.Contains("layer2.0.shortcut.1.running_mean", rk);
        Assert.Equal("linear.bias", rk[^1]);
    }

    [Fact]
    public void NormalizationLivesInsideTheModelAndOutsideTheStateDict()
    {
        using var scope = DisposeScope.Open();
        torch.ManualSeed(4);
        using var plain = new SmallCnn();
        torch.ManualSeed(4);
        using var normalized = new SmallCnn(normalization: new Normalization([0.5], [0.25]));
        Assert.Equal(plain.StateDict().Keys, normalized.StateDict().Keys);
        var x = torch.Rand(3, 1, 28, 28);
        var expected = plain.Forward((x - 0.5) / 0.25);
        Assert.Equal(expected.ToArray<float>(), normalized.Forward(x).ToArray<float>());
        Assert.Throws<ArgumentException>(() => new SmallCnn(normalization: new Normalization([0.5, 0.5], [1, 1])));
    }
}
