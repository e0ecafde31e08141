using RobustCli.Tests.Shared;
using RobustCli.Torch;
using RobustCli.Torch.nn;
using RobustCli.Torch.optim;
using RobustCli.Torch.Serialization;

namespace RobustCli.Torch.Tests;

public sealed class SerializationTests
{
    private static StateDict Mixed()
    {
        var sd = new StateDict();
        sd.Add("a.weight", torch.Randn(3, 4).DetachFromScope());
        sd.Add("b.f64", torch.Linspace(0, 1, 5, DType.Float64).DetachFromScope());
        sd.Add("c.i64", torch.Arange(7).DetachFromScope());
        sd.Add("d.bf16", torch.From(new float[] { 1.5f, -2f }).To(DType.BFloat16).DetachFromScope());
        sd.Add("e.bool", torch.From(new[] { true, false, true }).DetachFromScope());
        sd.Add("f.scalar", torch.Scalar(3.25).DetachFromScope());
        sd.Add("g.empty", torch.Zeros([0, 3]).DetachFromScope());
        return sd;
    }

    [Theory]
    [InlineData("w.pt")]
    [InlineData("w.safetensors")]
    public void RoundTripKeepsKeysOrderDtypesShapesAndValues(string file)
    {
        var path = Path.Combine(TestPaths.TempDir(), file);
        using var sd = Mixed();
        Weights.Save(path, sd, new Dictionary<string, string> { ["format"] = "pt" });
        using var back = Weights.Load(path);
        Assert.Equal(sd.Keys, back.Keys);
        foreach (var k in sd.Keys) TensorAssert.Close(sd[k], back[k], 0, 0, k);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp-*"));
    }

    [Fact]
    public void NestedObjectsRoundTripThroughThePickle()
    {
        var path = Path.Combine(TestPaths.TempDir(), "obj.pt");
        using var t = torch.Ones(2).DetachFromScope();
        TorchArchive.Save(path, new Dictionary<string, object?>
        {
            ["epoch"] = 7L, ["lr"] = 0.05, ["name"] = "run", ["flag"] = true, ["none"] = null, ["big"] = 1L << 40,
            ["list"] = new List<object?> { 1L, -70000L, "x" }, ["tuple"] = new object?[] { 0.9, 0.999 }, ["tensor"] = t,
        });
        var o = (IDictionary<object, object?>)TorchArchive.Load(path)!;
        Assert.Equal(7L, o["epoch"]);
        Assert.Equal(0.05, o["lr"]);
        Assert.Equal("run", o["name"]);
        Assert.Equal(true, o["flag"]);
        Assert.Null(o["none"]);
        Assert.Equal(1L << 40, o["big"]);
        Assert.Equal(new List<object?> { 1L, -70000L, "x" }, o["list"]);
        Assert.Equal(new object?[] { 0.9, 0.999 }, o["tuple"]);
        Assert.Equal(new float[] { 1, 1 }, ((Tensor)o["tensor"]!).ToArray<float>());
        Weights.DisposeTensors(o);
    }

    [Fact]
    public void ReadsWhatPyTorchSaved()
    {
        var dir = TestPaths.TempDir();
        TestPaths.RunPython("interop.py", "save", "smallcnn", "3", dir);
        // A one-entry dict (which 1.13's own C++ unpickler cannot read) and mixed dtypes, views included.
        using (var one = Weights.Load(Path.Combine(dir, "one_entry.pt")))
            Assert.Equal(new float[] { 0, 1, 2, 3, 4, 5 }, one["w"].ToArray<float>());
        using var mixed = Weights.Load(Path.Combine(dir, "mixed.pt"));
        Assert.Equal(new[] { 0, 0.25, 0.5, 0.75, 1 }, mixed["f64"].ToArray<double>());
        Assert.Equal(new long[] { 0, 1, 2, 3 }, mixed["i64"].ToArray<long>());
        Assert.Equal(new double[] { 1.5, -2 }, mixed["bf16"].To(DType.Float64).ToArray<double>());
        Assert.Equal(new byte[] { 0, 255 }, mixed["u8"].ToArray<byte>());
        Assert.Equal(new[] { true, false }, mixed["b"].ToArray<bool>());
        Assert.Equal(new float[] { 1, 5, 9 }, mixed["view"].ToArray<float>());
        // The nested checkpoint yields the same state dict as the bare one.
        using var bare = Weights.Load(Path.Combine(dir, "state_dict.pt"));
        using var nested = Weights.Load(Path.Combine(dir, "checkpoint.pt"));
        Assert.Equal(bare.Keys, nested.Keys);
        Assert.Equal(new[] { "c1.weight", "c1.bias", "c2.weight" }, bare.Keys.Take(3));
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    public void OptimizerStateLoadsIntoTorchOptim(string kind)
    {
        var dir = TestPaths.TempDir();
        using var scope = DisposeScope.Open();
        using var m = new Linear(4, 3);
        using Optimizer opt = kind == "sgd" ? new SGD(m.Parameters(), lr: 0.5, momentum: 0.9) : new Adam(m.Parameters(), lr: 0.5);
        for (var i = 0; i < 2; i++)
        {
            opt.ZeroGrad();
            m.Forward(torch.Rand(5, 4)).Square().Sum().Backward();
            opt.Step();
        }
        opt.LearningRate = 0.125;
        TorchArchive.Save(Path.Combine(dir, "opt.pt"), opt.StateDict());
        TestPaths.RunPython("interop.py", "optimizer", kind, Path.Combine(dir, "opt.pt"), Path.Combine(dir, "out.safetensors"));
        using var py = SafeTensors.Load(Path.Combine(dir, "out.safetensors")).Tensors;
        Assert.Equal(0.125, py["lr"].Item());
        var ours = opt.StateDict();
        var state = (Dictionary<object, object?>)ours["state"]!;
        foreach (var (i, s) in state)
            foreach (var (k, v) in (Dictionary<string, object?>)s!)
                TensorAssert.Close((Tensor)v!, py[$"{i}.{k}"], 0, 0, $"param {i} {k}");
        Weights.DisposeTensors(ours);
    }

    [Fact]
    public void CommonPrefixesAreStrippedOnlyWhenEveryKeyHasThem()
    {
        using var sd = new StateDict();
        sd.Add("module.model.conv1.weight", torch.Ones(1).DetachFromScope());
        sd.Add("module.model.fc.bias", torch.Ones(1).DetachFromScope());
        Assert.Equal(["conv1.weight", "fc.bias"], Weights.StripCommonPrefixes(sd).Keys);
        using var mixed = new StateDict();
        mixed.Add("module.a", torch.Ones(1).DetachFromScope());
        mixed.Add("b", torch.Ones(1).DetachFromScope());
        Assert.Equal(["module.a", "b"], Weights.StripCommonPrefixes(mixed).Keys);
    }

    [Fact]
    public void LegacyAndForeignFilesGiveClearErrors()
    {
        var dir = TestPaths.TempDir();
        var legacy = Path.Combine(dir, "legacy.pt");
        File.WriteAllBytes(legacy, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc]);
        Assert.Contains("legacy format", Assert.Throws<FormatException>(() => Weights.Load(legacy)).Message);
        var noSd = Path.Combine(dir, "nosd.pt");
        TorchArchive.Save(noSd, new Dictionary<string, object?> { ["epoch"] = 1L });
        Assert.Contains("no state dict found", Assert.Throws<FormatException>(() => Weights.Load(noSd)).Message);
        Assert.Throws<FileNotFoundException>(() => Weights.Load(Path.Combine(dir, "missing.pt")));
    }
}
