using RobustCli.Tests.Shared;
using RobustCli.Torch.nn;
using RobustCli.Torch.Serialization;
using Xunit;

namespace RobustCli.Torch.Tests;

/// <summary>TorchSharp's Module.save format (.dat), written and read by our own code (TorchSharp itself is the other side in TorchSharpInteropCliTests).</summary>
public class TorchSharpFormatTests
{
    [Fact]
    public void TheBytesAreTorchSharpsLayout()
    {
        using var scope = DisposeScope.Open();
        using var ms = new MemoryStream();
        TorchSharpWeights.Write(ms, [new("a", torch.From(new float[] { 1, 2 }))]);
        // count 1; key "a" (length 1); dtype 6 (float32); rank 1; dim 2; 8 bytes of data
        byte[] expected = [1, 1, (byte)'a', 6, 1, 2, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40];
        Assert.Equal(expected, ms.ToArray());
    }

    [Fact]
    public void EveryDtypeAndShapeRoundTrips()
    {
        using var scope = DisposeScope.Open();
        var dir = TestPaths.TempDir();
        var path = Path.Combine(dir, "m.dat");
        var sd = new Dictionary<string, Tensor>
        {
            ["conv.weight"] = torch.Randn(3, 2, 3, 3),
            ["bn.num_batches_tracked"] = torch.From(new long[] { 300 }).Reshape(),
            ["mask"] = torch.From(new[] { true, false, true, true }).Reshape(2, 2),
            ["wide"] = torch.Rand(200, 300).To(DType.Float64),
            ["empty"] = torch.Zeros([0, 4]),
        };
        Weights.Save(path, sd);
        using var back = Weights.Load(path);
        Assert.Equal(sd.Keys, back.Keys);
        foreach (var (k, t) in sd)
        {
            Assert.Equal(t.DType, back[k].DType);
            Assert.Equal(t.Shape, back[k].Shape);
            Assert.Equal(t.ToBytes(), back[k].ToBytes());
        }
        // Recognised by its bytes too, whatever the file is called.
        var renamed = Path.Combine(dir, "m.bin");
        File.Copy(path, renamed);
        using var again = Weights.Load(renamed);
        Assert.Equal(sd.Keys, again.Keys);
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("trailing")]
    [InlineData("huge-count")]
    [InlineData("overlong-varint")]
    [InlineData("shape-beyond-file")]
    [InlineData("unknown-dtype")]
    [InlineData("duplicate-key")]
    public void AMalformedFileIsRefusedWithAMessage(string kind)
    {
        using var scope = DisposeScope.Open();
        using var ms = new MemoryStream();
        TorchSharpWeights.Write(ms, [new("w", torch.Rand(4, 4)), new("b", torch.Rand(4))]);
        var good = ms.ToArray();
        byte[] bad = kind switch
        {
            "truncated" => good[..^3],
            "trailing" => [.. good, 0],
            "huge-count" => [0xff, 0xff, 0xff, 0x7f, .. good[1..]],
            "overlong-varint" => [.. Enumerable.Repeat((byte)0xff, 12), 0],
            // w's rank-2 shape says 4 x 4; make it 4 x 100000
            "shape-beyond-file" => [.. good[..6], 0xa0, 0x8d, 0x06, .. good[7..]],
            "unknown-dtype" => [.. good[..3], 9, .. good[4..]],
            "duplicate-key" => Duplicate(good),
            _ => throw new ArgumentException(kind),
        };
        var path = Path.Combine(TestPaths.TempDir(), "bad.dat");
        File.WriteAllBytes(path, bad);
        var ex = Assert.ThrowsAny<Exception>(() => Weights.Load(path).Dispose());
        Assert.True(ex is FormatException or InvalidDataException, $"{kind}: {ex.GetType().Name}: {ex.Message}");
        Assert.Contains("bad.dat", ex.Message);
    }

    // Both entries named "w" (the second key "b" becomes "w").
    private static byte[] Duplicate(byte[] good)
    {
        var copy = good.ToArray();
        var i = Array.LastIndexOf(copy, (byte)'b');
        copy[i] = (byte)'w';
        return copy;
    }
}
