using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using RobustCli.Torch.nn;

namespace RobustCli.Torch.Serialization;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header
/// ({name: {dtype, shape, data_offsets}, "__metadata__": {string: string}}), then the raw bytes.
/// Python reads it with <c>safetensors.torch.load_file(path)</c>.
/// </summary>
public static class SafeTensors
{
    private static readonly (string Code, DType DType)[] Codes =
    [
        ("F32", DType.Float32), ("F64", DType.Float64), ("F16", DType.Float16), ("BF16", DType.BFloat16),
        ("I64", DType.Int64), ("I32", DType.Int32), ("I16", DType.Int16), ("I8", DType.Int8), ("U8", DType.UInt8), ("BOOL", DType.Bool),
    ];

    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        AtomicFile.Write(path, s => Write(s, tensors, metadata));

    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var items = tensors.Select(kv => (kv.Key, Bytes: kv.Value.ToBytes(), kv.Value.DType, Shape: kv.Value.Shape)).ToList();
        using var header = new MemoryStream();
        using (var j = new Utf8JsonWriter(header))
        {
            j.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                j.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) j.WriteString(k, v);
                j.WriteEndObject();
            }
            long offset = 0;
            foreach (var (key, bytes, dtype, shape) in items)
            {
                j.WriteStartObject(key);
                j.WriteString("dtype", Codes.First(c => c.DType == dtype).Code);
                j.WriteStartArray("shape");
                foreach (var d in shape) j.WriteNumberValue(d);
                j.WriteEndArray();
                j.WriteStartArray("data_offsets");
                j.WriteNumberValue(offset);
                j.WriteNumberValue(offset + bytes.Length);
                j.WriteEndArray();
                j.WriteEndObject();
                offset += bytes.Length;
            }
            j.WriteEndObject();
        }
        // The header is padded with spaces to a multiple of 8 so the data that follows is aligned.
        var h = header.ToArray();
        var padded = (h.Length + 7) / 8 * 8;
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
        stream.Write(len);
        stream.Write(h);
        for (var i = h.Length; i < padded; i++) stream.WriteByte((byte)' ');
        foreach (var item in items) stream.Write(item.Bytes);
    }

    /// <summary>Reads every tensor (in file order) and the metadata.</summary>
    public static (StateDict Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw new FormatException($"{path}: too short for a safetensors file");
        var n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (n > (ulong)(bytes.Length - 8)) throw new FormatException($"{path}: header length {n} exceeds the file");
        var dataStart = 8 + (int)n;
        using var doc = JsonDocument.Parse(new ReadOnlyMemory<byte>(bytes, 8, (int)n));
        var metadata = new Dictionary<string, string>();
        var entries = new List<(string Name, DType DType, long[] Shape, long Begin, long End)>();
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__")
            {
                foreach (var m in p.Value.EnumerateObject()) metadata[m.Name] = m.Value.GetString() ?? "";
                continue;
            }
            var code = p.Value.GetProperty("dtype").GetString();
            var dtype = Codes.FirstOrDefault(c => c.Code == code);
            if (dtype.Code == null) throw new FormatException($"{path}: tensor '{p.Name}' has unsupported dtype {code}");
            var shape = p.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            var offs = p.Value.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            entries.Add((p.Name, dtype.DType, shape, offs[0], offs[1]));
        }
        // Order by position in the data block, which is the order the writer emitted them.
        var sd = new StateDict();
        foreach (var e in entries.OrderBy(e => e.Begin))
        {
            if (e.End < e.Begin || dataStart + e.End > bytes.Length) throw new FormatException($"{path}: tensor '{e.Name}' lies outside the file");
            var t = Tensor.FromBytes(new ReadOnlySpan<byte>(bytes, dataStart + (int)e.Begin, (int)(e.End - e.Begin)), e.Shape, e.DType, Device.CPU);
            sd.Add(e.Name, t.DetachFromScope());
        }
        return (sd, metadata);
    }
}
