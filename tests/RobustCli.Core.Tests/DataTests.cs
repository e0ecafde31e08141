using System.Buffers.Binary;
using System.IO.Compression;
using RobustCli.Core.Data;
using RobustCli.Tests.Shared;
using RobustCli.Torch;
using RobustCli.Torch.Serialization;

namespace RobustCli.Core.Tests;

public sealed class DataTests
{
    private static void WriteIdx(string path, byte[] data, int[] dims, bool gzip)
    {
        var header = new byte[4 + 4 * dims.Length];
        header[2] = 0x08;
        header[3] = (byte)dims.Length;
        for (var i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dims[i]);
        using var f = File.Create(path);
        using Stream s = gzip ? new GZipStream(f, CompressionLevel.Fastest) : f;
        s.Write(header);
        s.Write(data);
    }

    private static (byte[] Pixels, byte[] Labels) WriteMnistLike(string dir, bool gzip, int n = 12)
    {
        Directory.CreateDirectory(dir);
        var rng = new Random(5);
        var pixels = new byte[n * 28 * 28];
        rng.NextBytes(pixels);
        var labels = Enumerable.Range(0, n).Select(i => (byte)(i % 10)).ToArray();
        var ext = gzip ? ".gz" : "";
        foreach (var split in new[] { "train", "t10k" })
        {
            WriteIdx(Path.Combine(dir, $"{split}-images-idx3-ubyte{ext}"), pixels, [n, 28, 28], gzip);
            WriteIdx(Path.Combine(dir, $"{split}-labels-idx1-ubyte{ext}"), labels, [n], gzip);
        }
        return (pixels, labels);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void IdxFilesGzippedOrNot(bool gzip)
    {
        var dir = TestPaths.TempDir();
        var (pixels, labels) = WriteMnistLike(Path.Combine(dir, "mnist"), gzip);
        var d = DatasetCatalog.Load("mnist", train: true, explicitPath: Path.Combine(dir, "mnist"));
        Assert.Equal((12, 1, 28, 28, 10), (d.Count, d.Channels, d.Height, d.Width, d.NumClasses));
        Assert.Equal(pixels, d.Pixels);
        Assert.Equal(labels.Select(l => (long)l), d.Labels);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CifarBinaryRecords(bool cifar100)
    {
        var dir = Path.Combine(TestPaths.TempDir(), cifar100 ? "cifar100" : "cifar10", cifar100 ? "cifar-100-binary" : "cifar-10-batches-bin");
        Directory.CreateDirectory(dir);
        var rng = new Random(3);
        var files = cifar100 ? new[] { "train.bin", "test.bin" } : new[] { "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin" };
        var images = new List<byte[]>();
        var fine = new List<long>();
        foreach (var f in files)
        {
            using var s = File.Create(Path.Combine(dir, f));
            for (var i = 0; i < 3; i++)
            {
                var img = new byte[3072];
                rng.NextBytes(img);
                var label = (byte)rng.Next(cifar100 ? 100 : 10);
                if (cifar100) s.WriteByte((byte)rng.Next(20));
                s.WriteByte(label);
                s.Write(img);
                if (f != "test.bin" && f != "test_batch.bin") { images.Add(img); fine.Add(label); }
            }
        }
        // The archive's own folder (cifar-10-batches-bin/) is found one level down.
        var d = DatasetCatalog.Load(cifar100 ? "cifar100" : "cifar10", train: true, explicitPath: Path.GetDirectoryName(dir));
        Assert.Equal(images.Count, d.Count);
        Assert.Equal(images.SelectMany(x => x), d.Pixels);
        Assert.Equal(fine, d.Labels);
        Assert.Equal(cifar100 ? 100 : 10, d.NumClasses);
    }

    [Fact]
    public void SvhnMatFilesWrittenByScipy()
    {
        var dir = TestPaths.TempDir();
        TestPaths.RunPython("make_data_fixtures.py", dir);
        using var expected = SafeTensors.Load(Path.Combine(dir, "expected.safetensors")).Tensors;
        foreach (var train in new[] { true, false })
        {
            var split = train ? "train" : "test";
            var d = DatasetCatalog.Load("svhn", train, explicitPath: Path.Combine(dir, "svhn"));
            Assert.Equal(expected[$"svhn.{split}.images"].ToArray<byte>(), d.Pixels);
            Assert.Equal(expected[$"svhn.{split}.labels"].ToArray<long>(), d.Labels);
        }
    }

    [Fact]
    public void MissingDatasetNamesEveryPlaceSearchedAndTheFilesExpected()
    {
        var dir = TestPaths.TempDir();
        var e = Assert.Throws<DatasetNotFoundException>(() => DatasetCatalog.Load("cifar10", true, Path.Combine(dir, "nowhere"), repoRoot: dir));
        Assert.Contains(Path.Combine(dir, "nowhere"), e.Message);
        Assert.Contains(Path.Combine(dir, "datasets", "cifar10"), e.Message);
        Assert.Contains("/usr/share/datasets/cifar10", e.Message);
        Assert.Contains("data_batch_1.bin", e.Message);
        Assert.Contains("cifar-10-binary.tar.gz", e.Message);
    }

    [Fact]
    public void ValidationSplitIsClassBalancedDisjointAndSeeded()
    {
        var labels = Enumerable.Range(0, 1000).Select(i => (long)(i % 10)).ToArray();
        var d = new ImageDataset("t", Enumerable.Range(0, 1000).Select(i => (byte)(i % 251)).ToArray(), labels, 1, 1, 1, 10);
        var (train, val) = d.SplitValidation(100, 7);
        Assert.Equal(900, train.Count);
        Assert.Equal(100, val.Count);
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(10, val.Labels.Count(l => l == c)));
        var (_, again) = d.SplitValidation(100, 7);
        Assert.Equal(val.Pixels, again.Pixels);
        var (_, other) = d.SplitValidation(100, 8);
        Assert.NotEqual(val.Pixels, other.Pixels);
    }

    [Fact]
    public void LoaderShufflesBySeedAndEpochAndAugmentsReproducibly()
    {
        var n = 50;
        var d = new ImageDataset("t", Enumerable.Range(0, n * 3 * 4 * 4).Select(i => (byte)(i * 7 % 256)).ToArray(),
            Enumerable.Range(0, n).Select(i => (long)(i % 5)).ToArray(), 3, 4, 4, 5);
        var loader = new DataLoader(d, 16, shuffle: true, new Augmentation(1, true), seed: 3);
        Assert.Equal(loader.Order(2), new DataLoader(d, 16, shuffle: true, seed: 3).Order(2));
        Assert.NotEqual(loader.Order(2), loader.Order(3));
        Assert.Equal(Enumerable.Range(0, n), loader.Order(2).Order());
        float[] Epoch(int e) => loader.Epoch(e).SelectMany(b => { using (b) return b.X.ToArray<float>(); }).ToArray();
        Assert.Equal(Epoch(1), Epoch(1));
        var batches = loader.Epoch(0).Select(b => { using (b) return (b.Count, b.X.Shape); }).ToList();
        Assert.Equal(new[] { 16, 16, 16, 2 }, batches.Select(b => b.Count));
        Assert.Equal(new long[] { 16, 3, 4, 4 }, batches[0].Shape);
        // Without augmentation pixels are bytes / 255 in the shuffled order.
        var plain = new DataLoader(d, 8, shuffle: true, seed: 3);
        using var first = plain.Epoch(0).First();
        var expected = d.Image(first.Indices[0]).ToArray().Select(b => b / 255f).ToArray();
        Assert.Equal(expected, first.X[0].Flatten().ToArray<float>());
        Assert.Equal(d.Labels[first.Indices[0]], first.Y[0].ItemLong());
    }

    [Fact]
    public void AbandonedEpochFreesItsPrefetchedBatches()
    {
        var d = new ImageDataset("t", new byte[64 * 4], Enumerable.Range(0, 64).Select(i => (long)(i % 2)).ToArray(), 1, 2, 2, 2);
        var before = Tensor.NativeLiveCount;
        foreach (var b in new DataLoader(d, 4).Epoch(0)) { b.Dispose(); break; }
        Assert.Equal(before, Tensor.NativeLiveCount);
    }
}
