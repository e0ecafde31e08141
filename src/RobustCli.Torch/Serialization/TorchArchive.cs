using System.IO.Compression;
using System.Text;

namespace RobustCli.Torch.Serialization;

/// <summary>
/// PyTorch's checkpoint format (torch.save since 1.6): a zip archive holding <c>archive/data.pkl</c> (the
/// pickled object, tensors as persistent references to storages) and one raw little-endian record per
/// storage under <c>archive/data/</c>. Written so that <c>torch.load(path)</c> reads it, also with
/// weights_only=True; read from whatever torch.save wrote (state dicts, OrderedDicts, nested checkpoints).
/// </summary>
public static class TorchArchive
{
    private static readonly (string Name, DType DType)[] StorageTypes =
    [
        ("FloatStorage", DType.Float32), ("DoubleStorage", DType.Float64), ("HalfStorage", DType.Float16),
        ("BFloat16Storage", DType.BFloat16), ("LongStorage", DType.Int64), ("IntStorage", DType.Int32),
        ("ShortStorage", DType.Int16), ("CharStorage", DType.Int8), ("ByteStorage", DType.UInt8), ("BoolStorage", DType.Bool),
    ];

    /// <summary>Writes an object tree (dicts, lists, object?[] tuples, numbers, strings, tensors) atomically.</summary>
    public static void Save(string path, object? root) => AtomicFile.Write(path, stream => Write(stream, root));

    /// <summary>Writes a state dict as the collections.OrderedDict that model.state_dict() is.</summary>
    public static void SaveStateDict(string path, IEnumerable<KeyValuePair<string, Tensor>> stateDict) =>
        Save(path, new OrderedTensors(stateDict.ToList()));

    public static void Write(Stream stream, object? root)
    {
        var tensors = new List<Tensor>();
        using var pkl = new MemoryStream();
        new PickleWriter(pkl, t =>
        {
            tensors.Add(t);
            var storageType = StorageTypes.FirstOrDefault(s => s.DType == t.DType).Name
                ?? throw new NotSupportedException($"no PyTorch storage type for {t.DType}");
            return ((tensors.Count - 1).ToString(System.Globalization.CultureInfo.InvariantCulture), storageType, t.NumEl);
        }).WriteRoot(root);

        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        AddEntry(zip, "archive/data.pkl", pkl.ToArray());
        AddEntry(zip, "archive/byteorder", Encoding.ASCII.GetBytes("little"));
        for (var i = 0; i < tensors.Count; i++)
            AddEntry(zip, $"archive/data/{i}", tensors[i].ToBytes());
        AddEntry(zip, "archive/version", Encoding.ASCII.GetBytes("3\n"));
    }

    private static void AddEntry(ZipArchive zip, string name, byte[] bytes)
    {
        var e = zip.CreateEntry(name, CompressionLevel.NoCompression);
        using var s = e.Open();
        s.Write(bytes);
    }

    /// <summary>Reads the object torch.save wrote. Tensors in the result are owned by the caller (outside every scope).</summary>
    public static object? Load(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        if (file.Read(magic) < 4 || magic[0] != 'P' || magic[1] != 'K')
            throw new FormatException(
                $"{path} is not a zip-format PyTorch checkpoint. Files written by torch.save before PyTorch 1.6 use a " +
                "legacy format this reader does not handle: re-save in Python with torch.save(torch.load(old), new).");
        file.Position = 0;
        using var zip = new ZipArchive(file, ZipArchiveMode.Read);
        var pklEntry = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1)
            ?? throw new FormatException($"{path}: no <archive>/data.pkl record: not a torch.save checkpoint");
        var prefix = pklEntry.FullName[..^"data.pkl".Length];
        var storages = new Dictionary<string, Tensor>();
        try
        {
            var reader = new PickleReader(ReadAll(pklEntry),
                pid => LoadStorage(zip, prefix, pid, storages, path),
                Rebuild);
            return reader.Load();
        }
        finally
        {
            foreach (var s in storages.Values) s.Dispose();
        }
    }

    private static byte[] ReadAll(ZipArchiveEntry e)
    {
        using var s = e.Open();
        using var m = new MemoryStream((int)e.Length);
        s.CopyTo(m);
        return m.ToArray();
    }

    private static object LoadStorage(ZipArchive zip, string prefix, object?[] pid, Dictionary<string, Tensor> cache, string path)
    {
        if (pid.Length < 5 || pid[0] as string != "storage")
            throw new FormatException($"{path}: unexpected persistent id ({string.Join(", ", pid)})");
        var type = pid[1] as PyGlobal ?? throw new FormatException($"{path}: storage type missing");
        var key = pid[2]?.ToString() ?? throw new FormatException($"{path}: storage key missing");
        if (cache.TryGetValue(key, out var cached)) return cached;
        var dtype = StorageTypes.FirstOrDefault(s => s.Name == type.Name);
        if (dtype.Name == null) throw new FormatException($"{path}: unsupported storage type torch.{type.Name}");
        var entry = zip.GetEntry(prefix + "data/" + key) ?? throw new FormatException($"{path}: storage record data/{key} missing");
        var bytes = ReadAll(entry);
        var numel = bytes.Length / dtype.DType.ElementSize();
        var t = Tensor.FromBytes(bytes, [numel], dtype.DType, Device.CPU).DetachFromScope();
        cache[key] = t;
        return t;
    }

    private static object? Rebuild(PyGlobal fn, object?[] args)
    {
        switch (fn.Module, fn.Name)
        {
            case ("collections", "OrderedDict"):
                return new OrderedDictionary<object, object?>();
            case ("torch._utils", "_rebuild_tensor_v2"):
            case ("torch._utils", "_rebuild_tensor"):
            {
                var storage = args[0] as Tensor ?? throw new FormatException("tensor without storage");
                var offset = Convert.ToInt64(args[1], System.Globalization.CultureInfo.InvariantCulture);
                var size = ((object?[])args[2]!).Select(Convert.ToInt64).ToArray();
                var stride = ((object?[])args[3]!).Select(Convert.ToInt64).ToArray();
                using var view = storage.AsStrided(size, stride, offset);
                var t = view.Contiguous().DetachFromScope();
                if (args.Length > 4 && args[4] is true) t.RequiresGrad = true;
                return t;
            }
            case ("torch._utils", "_rebuild_parameter"):
            case ("torch._utils", "_rebuild_parameter_with_state"):
                return args[0];
            case ("torch", "device"):
                return string.Join(":", args);
            default:
                return new PyObject(fn.Module, fn.Name, args);
        }
    }
}

/// <summary>Writes a file by writing a temporary sibling and renaming it, so a crash never leaves a half-written file.</summary>
public static class AtomicFile
{
    /// <summary>Text as UTF-8 (no byte-order mark), atomically.</summary>
    public static void WriteText(string path, string text) => Write(path, s => s.Write(new System.Text.UTF8Encoding(false).GetBytes(text)));

    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = $"{full}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var s = new FileStream(tmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
            {
                write(s);
                s.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }
}
