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

    /// <summary>
    /// Reads every tensor (in file order) and the metadata. The header is untrusted: it must be a JSON object whose
    /// entries each give a known dtype, a shape of at most 64 non-negative dimensions and two offsets inside the data,
    /// and the shape's bytes must equal the offsets' span — all checked before a tensor is allocated.
    /// </summary>
    public static (StateDict Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw new FormatException($"{path}: too short for a safetensors file");
        var n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (n > (ulong)(bytes.Length - 8)) throw new FormatException($"{path}: header length {n} exceeds the file");
        var dataStart = 8 + (int)n;
        var dataLength = (long)bytes.Length - dataStart;
        var metadata = new Dictionary<string, string>();
        var entries = new List<(string Name, DType DType, long[] Shape, long Begin, long End)>();
        try
        {
            using var doc = JsonDocument.Parse(new ReadOnlyMemory<byte>(bytes, 8, (int)n), new JsonDocumentOptions { MaxDepth = 8 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new FormatException($"the header is a JSON {doc.RootElement.ValueKind}, not an object");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    if (p.Value.ValueKind != JsonValueKind.Object) throw new FormatException("__metadata__ is not an object of strings");
                    foreach (var m in p.Value.EnumerateObject()) metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                entries.Add(Entry(p, dataLength));
            }
        }
        catch (JsonException e) { throw new FormatException($"{path}: the header is not valid JSON ({e.Message.Split('\n')[0]})"); }
        catch (FormatException e) { throw new FormatException($"{path}: {e.Message}"); }
        catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or OverflowException or ArgumentException)
        {
            throw new FormatException($"{path}: a malformed header ({e.Message})");
        }
        // Order by position in the data block, which is the order the writer emitted them.
        var sd = new StateDict();
        try
        {
            foreach (var e in entries.OrderBy(e => e.Begin))
            {
                if (sd.ContainsKey(e.Name)) throw new FormatException($"{path}: tensor '{e.Name}' appears twice");
                var t = Tensor.FromBytes(new ReadOnlySpan<byte>(bytes, dataStart + (int)e.Begin, (int)(e.End - e.Begin)), e.Shape, e.DType, Device.CPU);
                sd.Add(e.Name, t.DetachFromScope());
            }
        }
        catch
        {
            sd.Dispose();
            throw;
        }
        return (sd, metadata);
    }

    private static (string Name, DType DType, long[] Shape, long Begin, long End) Entry(JsonProperty p, long dataLength)
    {
        if (p.Value.ValueKind != JsonValueKind.Object) throw new FormatException($"tensor '{p.Name}' is described by a JSON {p.Value.ValueKind}, not an object");
        var code = p.Value.TryGetProperty("dtype", out var dt) && dt.ValueKind == JsonValueKind.String ? dt.GetString()
            : throw new FormatException($"tensor '{p.Name}' has no dtype");
        var dtype = Codes.FirstOrDefault(c => c.Code == code);
        if (dtype.Code == null) throw new FormatException($"tensor '{p.Name}' has unsupported dtype {code}");
        long[] Ints(string key) => p.Value.TryGetProperty(key, out var a) && a.ValueKind == JsonValueKind.Array && a.GetArrayLength() <= 64
            ? a.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt64(out var v) ? v
                : throw new FormatException($"tensor '{p.Name}': {key} holds {x.GetRawText()}, not an integer")).ToArray()
            : throw new FormatException($"tensor '{p.Name}' has no {key} array (of at most 64 integers)");
        var shape = Ints("shape");
        var offsets = Ints("data_offsets");
        if (offsets.Length != 2) throw new FormatException($"tensor '{p.Name}' has {offsets.Length} data_offsets, not 2");
        var (begin, end) = (offsets[0], offsets[1]);
        if (begin < 0 || end < begin || end > dataLength)
            throw new FormatException($"tensor '{p.Name}' lies at bytes [{begin}, {end}) of a data block of {dataLength}: outside the file");
        if (shape.Any(d => d < 0)) throw new FormatException($"tensor '{p.Name}' has a negative dimension in shape [{string.Join(", ", shape)}]");
        var expected = shape.Aggregate(new System.Numerics.BigInteger(dtype.DType.ElementSize()), (a, d) => a * d);
        if (expected != end - begin)
            throw new FormatException($"tensor '{p.Name}' of shape [{string.Join(", ", shape)}] and dtype {code} needs {expected} bytes, its offsets give {end - begin}");
        return (p.Name, dtype.DType, shape, begin, end);
    }
}
