using System.Buffers.Binary;
using System.Text;

namespace RobustCli.Torch.Serialization;

/// <summary>
/// Writes protocol-2 pickles of plain data (dicts, lists, tuples as object?[], strings, numbers, bools,
/// None) and tensors, the way torch.save lays them out, so Python's torch.load reads them, also with
/// weights_only=True (only OrderedDict, torch._utils._rebuild_tensor_v2 and torch.*Storage are referenced).
/// </summary>
internal sealed class PickleWriter(Stream output, Func<Tensor, (string Key, string StorageType, long Numel)> persistentId)
{
    private readonly BinaryWriter w = new(output, Encoding.UTF8, leaveOpen: true);

    public void WriteRoot(object? value)
    {
        w.Write((byte)0x80);
        w.Write((byte)2);
        Write(value);
        w.Write((byte)'.');
        w.Flush();
    }

    private void Write(object? v)
    {
        switch (v)
        {
            case null: w.Write((byte)'N'); break;
            case bool b: w.Write(b ? (byte)0x88 : (byte)0x89); break;
            case int i: WriteInt(i); break;
            case long l: WriteInt(l); break;
            case float f: WriteFloat(f); break;
            case double d: WriteFloat(d); break;
            case string s: WriteString(s); break;
            case Tensor t: WriteTensor(t); break;
            case OrderedTensors od: WriteOrderedDict(od.Items.Select(kv => (kv.Key, (object?)kv.Value))); break;
            case nn.StateDict sd: WriteOrderedDict(sd.Select(kv => (kv.Key, (object?)kv.Value))); break;
            case IDictionary<string, object?> d: WriteDict(d.Select(kv => ((object)kv.Key, kv.Value))); break;
            case IDictionary<object, object?> d: WriteDict(d.Select(kv => (kv.Key, kv.Value))); break;
            case object?[] tuple: WriteTuple(tuple); break;
            case System.Collections.IList list: WriteList(list); break;
            default: throw new NotSupportedException($"cannot pickle a {v.GetType().Name}");
        }
    }

    private void WriteInt(long v)
    {
        if (v is >= 0 and < 256) { w.Write((byte)'K'); w.Write((byte)v); }
        else if (v is >= 0 and < 65536) { w.Write((byte)'M'); w.Write((ushort)v); }
        else if (v is >= int.MinValue and <= int.MaxValue) { w.Write((byte)'J'); w.Write((int)v); }
        else { w.Write((byte)0x8a); w.Write((byte)8); w.Write(v); } // LONG1, 8 bytes little-endian two's complement
    }

    private void WriteFloat(double d)
    {
        w.Write((byte)'G');
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleBigEndian(b, d);
        w.Write(b);
    }

    private void WriteString(string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((byte)'X');
        w.Write(bytes.Length);
        w.Write(bytes);
    }

    private void WriteGlobal(string module, string name)
    {
        w.Write((byte)'c');
        w.Write(Encoding.ASCII.GetBytes(module + "\n" + name + "\n"));
    }

    private void WriteTuple(IReadOnlyList<object?> items)
    {
        w.Write((byte)'(');
        foreach (var x in items) Write(x);
        w.Write((byte)'t');
    }

    private void WriteList(System.Collections.IList items)
    {
        w.Write((byte)']');
        if (items.Count == 0) return;
        w.Write((byte)'(');
        foreach (var x in items) Write(x);
        w.Write((byte)'e');
    }

    private void WriteDict(IEnumerable<(object Key, object? Value)> items)
    {
        w.Write((byte)'}');
        WriteItems(items);
    }

    private void WriteOrderedDict(IEnumerable<(string Key, object? Value)> items)
    {
        WriteGlobal("collections", "OrderedDict");
        w.Write((byte)')');
        w.Write((byte)'R');
        WriteItems(items.Select(x => ((object)x.Key, x.Value)));
    }

    private void WriteItems(IEnumerable<(object Key, object? Value)> items)
    {
        var list = items.ToList();
        if (list.Count == 0) return;
        w.Write((byte)'(');
        foreach (var (k, v) in list) { Write(k); Write(v); }
        w.Write((byte)'u');
    }

    private void WriteTensor(Tensor t)
    {
        var (key, storageType, numel) = persistentId(t);
        WriteGlobal("torch._utils", "_rebuild_tensor_v2");
        w.Write((byte)'(');
        // persistent id: ('storage', storage_type, key, location, numel)
        w.Write((byte)'(');
        WriteString("storage");
        WriteGlobal("torch", storageType);
        WriteString(key);
        WriteString("cpu");
        WriteInt(numel);
        w.Write((byte)'t');
        w.Write((byte)'Q');
        WriteInt(0); // storage offset: every tensor is written contiguous in its own storage
        var shape = t.Shape;
        WriteTuple(shape.Select(s => (object?)s).ToArray());
        var stride = new long[shape.Length];
        long acc = 1;
        for (var i = shape.Length - 1; i >= 0; i--) { stride[i] = acc; acc *= Math.Max(shape[i], 1); }
        WriteTuple(stride.Select(s => (object?)s).ToArray());
        w.Write(t.RequiresGrad ? (byte)0x88 : (byte)0x89);
        WriteGlobal("collections", "OrderedDict");
        w.Write((byte)')');
        w.Write((byte)'R');
        w.Write((byte)'t');
        w.Write((byte)'R');
    }
}

/// <summary>An ordered name -> tensor map pickled as collections.OrderedDict (what model.state_dict() is).</summary>
internal sealed record OrderedTensors(IReadOnlyList<KeyValuePair<string, Tensor>> Items);
