using System.Buffers.Binary;

namespace RobustCli.Tests.Shared;

/// <summary>A tiny Fashion-MNIST-shaped dataset (IDX files) that tests make for themselves.</summary>
public static class TinyData
{
    /// <summary>Writes train/t10k IDX files of n images each; labels follow a simple pixel rule so a model can learn them.</summary>
    public static string FashionMnistLike(int trainCount = 256, int testCount = 64)
    {
        var dir = Path.Combine(TestPaths.TempDir(), "fashion-mnist");
        Directory.CreateDirectory(dir);
        var rng = new Random(11);
        foreach (var (split, n) in new[] { ("train", trainCount), ("t10k", testCount) })
        {
            var pixels = new byte[n * 28 * 28];
            var labels = new byte[n];
            for (var i = 0; i < n; i++)
            {
                labels[i] = (byte)(i % 10);
                // Class c lights up row band c: easy enough to learn in a few steps.
                for (var p = 0; p < 28 * 28; p++)
                    pixels[i * 784 + p] = (byte)(p / 28 / 3 == labels[i] ? 200 + rng.Next(56) : rng.Next(60));
            }
            Write(Path.Combine(dir, $"{split}-images-idx3-ubyte"), pixels, [n, 28, 28]);
            Write(Path.Combine(dir, $"{split}-labels-idx1-ubyte"), labels, [n]);
        }
        return dir;
    }

    private static void Write(string path, byte[] data, int[] dims)
    {
        var header = new byte[4 + 4 * dims.Length];
        header[2] = 0x08;
        header[3] = (byte)dims.Length;
        for (var i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dims[i]);
        File.WriteAllBytes(path, [.. header, .. data]);
    }

    /// <summary>A small, fast config over the tiny data: SmallCNN, PGD-AT with 2 attack steps.</summary>
    public static string Config(string dataDir, string method = "pgd-at", int epochs = 2, string extra = "") => $"""
        name: tiny
        seed: 3
        device: cpu
        data: {"{"}name: fashion-mnist, path: {dataDir}, val_size: 40, test_subset: 48{"}"}
        model: {"{"}arch: smallcnn, normalize: none{"}"}
        train:
          method: {method}
          epochs: {epochs}
          batch_size: 32
          optimizer: {"{"}name: adam, lr: 0.002, weight_decay: 0{"}"}
          schedule: {"{"}name: constant{"}"}
          noilin: {"{"}tau: 1{"}"}
        attack: {"{"}eps: 0.1, step: 0.05, steps: 2{"}"}
        eval: {"{"}val_attack: pgd3, test_attack: pgd3, test_every: 1, final: [pgd3, cw3]{"}"}
        {extra}
        """;
}
