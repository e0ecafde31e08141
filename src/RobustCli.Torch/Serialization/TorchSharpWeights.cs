using System.Text;
using RobustCli.Torch.nn;

namespace RobustCli.Torch.Serialization;

/// <summary>
/// The format of TorchSharp's <c>Module.save</c> / <c>Module.load</c> (conventionally <c>.dat</c>): a LEB128 count
/// of entries, then per entry the key as a .NET BinaryWriter string (LEB128 byte length, UTF-8), the dtype (a
/// c10::ScalarType code, LEB128), the rank and each dimension (LEB128), and the tensor's contiguous little-endian
/// bytes. There is no magic number: a file is read as this format only when it parses exactly to its last byte.
/// Reading never executes anything; every length is checked against the bytes that remain.
/// </summary>
public static class TorchSharpWeights
{
    private const int MaxEntries = 1 << 20;
    private const int MaxKeyBytes = 1 << 16;
    private const int MaxRank = 16;

    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> stateDict) =>
        AtomicFile.Write(path, s => Write(s, stateDict));

    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> stateDict)
    {
        var items = stateDict.ToList();
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        Encode(w, items.Count);
        foreach (var (key, t) in items)
        {
            w.Write(key);
            Encode(w, (int)t.DType);
            var shape = t.Shape;
            Encode(w, shape.Length);
            foreach (var d in shape) Encode(w, d);
            w.Write(t.ToBytes());
        }
    }

    /// <summary>Loads a TorchSharp weights file (tensors owned by the returned StateDict).</summary>
    public static StateDict Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"weights file not found: {path}", path);
        return TryLoad(path) ?? throw NotThisFormat(path);
    }

    /// <summary>The file's tensors when it parses as TorchSharp's format exactly to its end; null when it does not.</summary>
    public static StateDict? TryLoad(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var entries = Scan(bytes);
        if (entries == null) return null;
        var sd = new StateDict();
        try
        {
            foreach (var e in entries)
                sd.Add(e.Key, Tensor.FromBytes(new ReadOnlySpan<byte>(bytes, e.Offset, e.Length), e.Shape, e.DType, Device.CPU));
        }
        catch
        {
            sd.Dispose();
            throw;
        }
        return sd;
    }

    public static FormatException NotThisFormat(string path) => new(
        $"{path}: not a TorchSharp weights file (Module.save's format: a count, then key, dtype, shape and bytes per tensor, ending at the file's end)");

    private sealed record Entry(string Key, DType DType, long[] Shape, int Offset, int Length);

    /// <summary>The entries of a well-formed file, or null at the first thing that does not fit the format.</summary>
    private static List<Entry>? Scan(byte[] bytes)
    {
        var pos = 0;
        if (!Decode(bytes, ref pos, out var count) || count < 0 || count > MaxEntries) return null;
        var entries = new List<Entry>((int)Math.Min(count, 1024));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < count; i++)
        {
            if (!Decode(bytes, ref pos, out var keyLength) || keyLength <= 0 || keyLength > MaxKeyBytes || keyLength > bytes.Length - pos) return null;
            string key;
            try { key = new UTF8Encoding(false, true).GetString(bytes, pos, (int)keyLength); }
            catch (DecoderFallbackException) { return null; }
            pos += (int)keyLength;
            if (!seen.Add(key)) return null;
            if (!Decode(bytes, ref pos, out var code) || code is not (0 or 1 or 2 or 3 or 4 or 5 or 6 or 7 or 11 or 15)) return null;
            var dtype = (DType)code;
            if (!Decode(bytes, ref pos, out var rank) || rank < 0 || rank > MaxRank) return null;
            var shape = new long[rank];
            long numel = 1;
            for (var d = 0; d < rank; d++)
            {
                if (!Decode(bytes, ref pos, out shape[d]) || shape[d] < 0) return null;
                numel = shape[d] == 0 ? 0 : numel > long.MaxValue / shape[d] ? long.MaxValue : numel * shape[d];
            }
            var remaining = bytes.Length - pos;
            if (numel > remaining / dtype.ElementSize()) return null;
            var length = (int)(numel * dtype.ElementSize());
            entries.Add(new Entry(key, dtype, shape, pos, length));
            pos += length;
        }
        return pos == bytes.Length ? entries : null;
    }

    private static void Encode(BinaryWriter w, long value)
    {
        if (value < 0) throw new ArgumentOutOfRangeException(nameof(value), "TorchSharp's format encodes non-negative integers only");
        do
        {
            var b = (byte)(value & 0x7f);
            value >>= 7;
            w.Write(value == 0 ? b : (byte)(b | 0x80));
        } while (value != 0);
    }

    private static bool Decode(byte[] bytes, ref int pos, out long value)
    {
        value = 0;
        for (var i = 0; i < 10; i++)
        {
            if (pos >= bytes.Length) return false;
            long b = bytes[pos++];
            value |= (b & 0x7f) << (7 * i);
            if ((b & 0x80) == 0) return value >= 0;
        }
        return false;
    }
}
