using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace RobustCli.Core.Data;

/// <summary>A numeric array read from a MATLAB file: dimensions (column-major) and values.</summary>
public sealed record MatArray(string Name, int[] Dims, double[]? Values, byte[]? Bytes);

/// <summary>
/// Reads numeric arrays from MATLAB level-5 MAT-files (the format of SVHN's cropped digits), with zlib
/// compressed elements. uint8 arrays are kept as bytes; other classes are read as doubles.
/// </summary>
public static class MatFile
{
    private const int MiInt8 = 1, MiUInt8 = 2, MiInt16 = 3, MiUInt16 = 4, MiInt32 = 5, MiUInt32 = 6, MiSingle = 7,
        MiDouble = 9, MiInt64 = 12, MiUInt64 = 13, MiMatrix = 14, MiCompressed = 15;
    private const int MxUInt8Class = 9;

    public static Dictionary<string, MatArray> Read(string path)
    {
        var b = File.ReadAllBytes(path);
        if (b.Length < 128 || b[126] != 'I' || b[127] != 'M')
            throw new FormatException($"{path}: not a little-endian MATLAB level-5 MAT-file (MATLAB 7.3/HDF5 files are not supported)");
        var result = new Dictionary<string, MatArray>();
        ReadElements(b.AsSpan(128), result, path);
        return result;
    }

    private static void ReadElements(ReadOnlySpan<byte> s, Dictionary<string, MatArray> into, string path)
    {
        var pos = 0;
        while (pos + 8 <= s.Length)
        {
            var (type, size, offset, next) = Tag(s, pos, path);
            var data = s.Slice(offset, size);
            if (type == MiCompressed)
            {
                using var z = new ZLibStream(new MemoryStream(data.ToArray()), CompressionMode.Decompress);
                using var m = new MemoryStream();
                z.CopyTo(m);
                ReadElements(m.ToArray(), into, path);
            }
            else if (type == MiMatrix)
            {
                var a = ReadMatrix(data, path);
                if (a != null) into[a.Name] = a;
            }
            pos = next;
        }
    }

    /// <summary>An element's type, data size, data offset and the offset of the next element.</summary>
    private static (int Type, int Size, int Offset, int Next) Tag(ReadOnlySpan<byte> s, int pos, string path)
    {
        var word = BinaryPrimitives.ReadUInt32LittleEndian(s[pos..]);
        if ((word >> 16) != 0)
        {
            // Small data element: size in the upper half of the tag, data in the next 4 bytes.
            var small = (int)(word >> 16);
            return ((int)(word & 0xffff), small, pos + 4, pos + 8);
        }
        var size = BinaryPrimitives.ReadInt32LittleEndian(s[(pos + 4)..]);
        if (size < 0 || pos + 8 + size > s.Length) throw new FormatException($"{path}: element of {size} bytes runs past the end of the file");
        var type = (int)word;
        var next = pos + 8 + size;
        if (type != MiCompressed) next = pos + 8 + (size + 7) / 8 * 8;
        return (type, size, pos + 8, Math.Min(next, s.Length));
    }

    private static MatArray? ReadMatrix(ReadOnlySpan<byte> s, string path)
    {
        var (_, _, flagsAt, p1) = Tag(s, 0, path);
        var cls = s[flagsAt];
        var (_, dimsSize, dimsAt, p2) = Tag(s, p1, path);
        var dimsData = s.Slice(dimsAt, dimsSize);
        var dims = new int[dimsData.Length / 4];
        for (var i = 0; i < dims.Length; i++) dims[i] = BinaryPrimitives.ReadInt32LittleEndian(dimsData[(4 * i)..]);
        var (_, nameSize, nameAt, p3) = Tag(s, p2, path);
        var name = Encoding.ASCII.GetString(s.Slice(nameAt, nameSize));
        if (p3 >= s.Length) return new MatArray(name, dims, [], null);
        var (type, realSize, realAt, _) = Tag(s, p3, path);
        var real = s.Slice(realAt, realSize);
        if (cls == MxUInt8Class && type == MiUInt8) return new MatArray(name, dims, null, real.ToArray());
        return new MatArray(name, dims, ToDoubles(type, real, path), null);
    }

    private static double[] ToDoubles(int type, ReadOnlySpan<byte> d, string path)
    {
        int width = type switch
        {
            MiInt8 or MiUInt8 => 1, MiInt16 or MiUInt16 => 2, MiInt32 or MiUInt32 or MiSingle => 4, MiDouble or MiInt64 or MiUInt64 => 8,
            _ => throw new FormatException($"{path}: unsupported MAT data type {type}"),
        };
        var v = new double[d.Length / width];
        for (var i = 0; i < v.Length; i++)
        {
            var e = d.Slice(i * width, width);
            v[i] = type switch
            {
                MiInt8 => (sbyte)e[0], MiUInt8 => e[0],
                MiInt16 => BinaryPrimitives.ReadInt16LittleEndian(e), MiUInt16 => BinaryPrimitives.ReadUInt16LittleEndian(e),
                MiInt32 => BinaryPrimitives.ReadInt32LittleEndian(e), MiUInt32 => BinaryPrimitives.ReadUInt32LittleEndian(e),
                MiSingle => BinaryPrimitives.ReadSingleLittleEndian(e), MiDouble => BinaryPrimitives.ReadDoubleLittleEndian(e),
                MiInt64 => BinaryPrimitives.ReadInt64LittleEndian(e), _ => BinaryPrimitives.ReadUInt64LittleEndian(e),
            };
        }
        return v;
    }
}

/// <summary>SVHN's cropped digits (train_32x32.mat, test_32x32.mat): X is 32x32x3xN uint8, y is N labels with 10 for the digit 0.</summary>
public static class SvhnReader
{
    public static ImageDataset Load(string name, string path)
    {
        var m = MatFile.Read(path);
        if (!m.TryGetValue("X", out var x) || x.Bytes == null || x.Dims.Length != 4 || x.Dims[0] != 32 || x.Dims[1] != 32 || x.Dims[2] != 3)
            throw new FormatException($"{path}: expected a uint8 array X of 32x32x3xN");
        if (!m.TryGetValue("y", out var y) || y.Values == null || y.Values.Length != x.Dims[3])
            throw new FormatException($"{path}: expected N labels in y");
        var n = x.Dims[3];
        var pixels = new byte[(long)n * 3 * 32 * 32];
        // MATLAB is column-major: X(h, w, c, i) sits at h + 32 w + 1024 c + 3072 i; we store i, c, h, w row-major.
        for (var i = 0; i < n; i++)
            for (var c = 0; c < 3; c++)
                for (var h = 0; h < 32; h++)
                    for (var w = 0; w < 32; w++)
                        pixels[(((long)i * 3 + c) * 32 + h) * 32 + w] = x.Bytes[h + 32 * w + 1024 * c + 3072L * i];
        var labels = y.Values.Select(v => (long)v % 10).ToArray();
        return new ImageDataset(name, pixels, labels, 3, 32, 32, 10);
    }
}
