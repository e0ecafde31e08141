using System.Buffers.Binary;
using System.IO.Compression;

namespace RobustCli.Core.Data;

/// <summary>The IDX format of MNIST and Fashion-MNIST (big-endian header; gzipped or not).</summary>
public static class IdxReader
{
    public static byte[] ReadAll(string path)
    {
        using var f = File.OpenRead(path);
        var gz = f.ReadByte() == 0x1f && f.ReadByte() == 0x8b;
        f.Position = 0;
        using Stream s = gz ? new GZipStream(f, CompressionMode.Decompress) : f;
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    /// <summary>Reads an unsigned-byte IDX file: its dimensions and data.</summary>
    public static (int[] Dims, byte[] Data) Read(string path)
    {
        var b = ReadAll(path);
        if (b.Length < 4 || b[0] != 0 || b[1] != 0) throw new FormatException($"{path}: not an IDX file (bad magic number)");
        if (b[2] != 0x08) throw new FormatException($"{path}: IDX element type 0x{b[2]:x2} is not unsigned byte");
        var nd = b[3];
        var dims = new int[nd];
        for (var i = 0; i < nd; i++) dims[i] = BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(4 + 4 * i));
        var offset = 4 + 4 * nd;
        var n = dims.Aggregate(1L, (a, d) => a * d);
        if (b.Length - offset != n) throw new FormatException($"{path}: header promises {n} bytes of data, file holds {b.Length - offset}");
        return (dims, b[offset..]);
    }

    public static ImageDataset Load(string name, string imagesPath, string labelsPath, int numClasses = 10)
    {
        var (idims, pixels) = Read(imagesPath);
        var (ldims, labels) = Read(labelsPath);
        if (idims.Length != 3 || ldims.Length != 1 || idims[0] != ldims[0])
            throw new FormatException($"{imagesPath} / {labelsPath}: expected N x H x W images and N labels, got [{string.Join(",", idims)}] and [{string.Join(",", ldims)}]");
        return new ImageDataset(name, pixels, labels.Select(l => (long)l).ToArray(), 1, idims[1], idims[2], numClasses);
    }
}
