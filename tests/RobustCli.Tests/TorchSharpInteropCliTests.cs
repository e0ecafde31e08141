using System.Runtime.InteropServices;
using RobustCli.Core.Models;
using RobustCli.Experiments.Runs;
using RobustCli.Tests.Shared;
using RobustCli.Torch;
using RobustCli.Torch.Serialization;
using Xunit;

namespace RobustCli.Tests;

/// <summary>
/// Weights both ways with TorchSharp itself: tools/TorchSharpPeer is plain TorchSharp code (its own process, its
/// own libtorch 2.10) that saves a seeded SmallCNN with Module.save and loads ours with Module.load.
/// </summary>
public class TorchSharpInteropCliTests
{
    private static float[] ReadFloats(string path) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();

    private static Classifier SmallCnn() => ModelFactory.Create(new ModelSpec("smallcnn", 10, 1, null));

    [Fact]
    public void AModelSavedByTorchSharpGivesTorchSharpsLogitsAndEvaluates()
    {
        var dir = TestPaths.TempDir();
        string weights = Path.Combine(dir, "model.dat"), input = Path.Combine(dir, "x.bin"), logits = Path.Combine(dir, "logits.bin");
        TestPaths.RunTorchSharpPeer("save", "7", weights, input, logits);

        using (var scope = DisposeScope.Open())
        {
            using var sd = Weights.Load(weights);
            Assert.Equal(14, sd.Count);
            Assert.Equal([32L, 1, 3, 3], sd["c1.weight"].Shape);
            using var m = SmallCnn();
            ForeignWeights.Load(m, sd);
            m.Eval();
            var x = torch.From(ReadFloats(input)).Reshape(8, 1, 28, 28);
            using (torch.NoGrad())
                TensorAssert.Close(torch.From(ReadFloats(logits)).Reshape(8, 10), m.Forward(x), 1e-4, 1e-5, "logits of TorchSharp's SmallCNN");
        }

        // The same file through robust eval, as a user hands it over: the format is recognised from its bytes.
        var data = TinyData.FashionMnistLike(64, 32);
        var renamed = Path.Combine(dir, "model.weights");
        File.Copy(weights, renamed);
        foreach (var file in new[] { weights, renamed })
        {
            var (code, output, err) = InProcessCli.Run("eval", "--checkpoint", file, "--arch", "smallcnn", "--dataset", "fashion-mnist",
                "--data-path", data, "--attack", "pgd3", "--eps", "0.1", "--n", "32", "--out", Path.Combine(dir, Path.GetFileName(file) + ".csv"), "--no-progress");
            Assert.True(code == 0, err + output);
            Assert.Contains("pgd3", output);
        }
    }

    [Fact]
    public void ARunExportedForTorchSharpGivesOurLogitsThere()
    {
        var run = InProcessCli.TinyPgdAtRun;
        var dir = TestPaths.TempDir();
        var exported = new Dictionary<string, string>();
        foreach (var (format, ext) in new[] { ("torchsharp", ".dat"), ("pytorch", ".pt"), ("safetensors", ".safetensors") })
        {
            var target = Path.Combine(dir, "best" + ext);
            var (code, output, err) = InProcessCli.Run("export", run, "--format", format, "--out", target);
            Assert.True(code == 0, err + output);
            Assert.Contains($"in {format} format", output);
            exported[format] = target;
        }

        // Our logits on a batch, from the checkpoint robust eval measures ...
        var input = Path.Combine(dir, "x.bin");
        var theirs = Path.Combine(dir, "logits.bin");
        using var scope = DisposeScope.Open();
        var x = torch.Rand(8, 1, 28, 28);
        File.WriteAllBytes(input, MemoryMarshal.AsBytes(x.ToArray<float>().AsSpan()).ToArray());
        using var m = SmallCnn();
        using (var sd = Checkpoint.EvaluatedWeights(Path.Combine(run, "checkpoints", "best.pt"), out _)) ForeignWeights.Load(m, sd);
        m.Eval();
        Tensor ours;
        using (torch.NoGrad()) ours = m.Forward(x);

        // ... equal TorchSharp's, with the .dat loaded by Module.load (strict: every key and shape must match).
        TestPaths.RunTorchSharpPeer("logits", exported["torchsharp"], input, theirs);
        TensorAssert.Close(ours, torch.From(ReadFloats(theirs)).Reshape(8, 10), 1e-4, 1e-5, "TorchSharp's logits of the exported run");

        // The three exports hold the same tensors.
        using var dat = Weights.Load(exported["torchsharp"]);
        foreach (var other in new[] { exported["pytorch"], exported["safetensors"] })
        {
            using var sd = Weights.Load(other);
            Assert.Equal(dat.Keys.Order(), sd.Keys.Order());
            foreach (var k in dat.Keys) Assert.Equal(dat[k].ToArray<float>(), sd[k].ToArray<float>());
        }
    }

    [Fact]
    public void ExportRefusesAnUnknownFormatAndItsOwnSource()
    {
        var run = InProcessCli.TinyPgdAtRun;
        var (code, _, err) = InProcessCli.Run("export", run, "--format", "onnx");
        Assert.Equal(2, code);
        Assert.Contains("onnx", err);
        var best = Path.Combine(run, "checkpoints", "best.pt");
        (code, _, err) = InProcessCli.Run("export", best, "--format", "pytorch", "--out", best);
        Assert.Equal(2, code);
        Assert.Contains("that is the file being exported", err);
    }
}
