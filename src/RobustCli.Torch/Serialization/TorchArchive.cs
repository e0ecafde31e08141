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

    /// <summary>
    /// Reads the object torch.save wrote. Tensors in the result are owned by the caller (outside every scope). The
    /// file is untrusted: record sizes are checked before they are read (a compression bomb is refused), every
    /// tensor view must lie inside its storage, and anything malformed is a <see cref="FormatException"/> naming
    /// <paramref name="path"/>.
    /// </summary>
    public static object? Load(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        if (file.Read(magic) < 4 || magic[0] != 'P' || magic[1] != 'K')
            throw new FormatException(
                $"{path} is neither a zip-format PyTorch checkpoint nor a safetensors file. Files written by torch.save before PyTorch 1.6 use a " +
                "legacy format this reader does not handle: re-save in Python with torch.save(torch.load(old), new).");
        file.Position = 0;
        ZipArchive zip;
        try { zip = new ZipArchive(file, ZipArchiveMode.Read); }
        catch (InvalidDataException e) { throw new FormatException($"{path}: not a readable zip archive ({e.Message}); the file is truncated or damaged"); }
        using (zip)
        {
            var pklEntry = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1)
                ?? throw new FormatException($"{path}: no <archive>/data.pkl record: not a torch.save checkpoint");
            var prefix = pklEntry.FullName[..^"data.pkl".Length];
            var storages = new Dictionary<string, Tensor>();
            try
            {
                var reader = new PickleReader(ReadAll(pklEntry, path),
                    pid => LoadStorage(zip, prefix, pid, storages, path),
                    Rebuild);
                return reader.Load();
            }
            catch (FormatException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
            {
                throw new FormatException($"{path}: {e.Message}", e);
            }
            catch (InvalidDataException e)
            {
                throw new FormatException($"{path}: a damaged record in the archive ({e.Message})", e);
            }
            catch (TorchException e)
            {
                throw new FormatException($"{path}: {e.Message.Split('\n')[0]}", e);
            }
            finally
            {
                foreach (var s in storages.Values) s.Dispose();
            }
        }
    }

    /// <summary>A record's bytes, once its declared size is known to be sane: at most 2 GiB, and no compression bomb.</summary>
    private static byte[] ReadAll(ZipArchiveEntry e, string path)
    {
        // torch.save stores records uncompressed; a deflated one may shrink, but not a thousandfold past a few MiB.
        if (e.Length > int.MaxValue || e.Length < 0)
            throw new FormatException($"{path}: record {e.FullName} claims {e.Length} bytes, more than this reader takes (2 GiB)");
        if (e.Length > (16L << 20) && e.Length > 100 * Math.Max(1, e.CompressedLength))
            throw new FormatException($"{path}: record {e.FullName} inflates {e.CompressedLength} bytes to {e.Length}: a compression bomb, not a checkpoint");
        using var s = e.Open();
        var bytes = new byte[e.Length];
        var read = 0;
        while (read < bytes.Length)
        {
            var n = s.Read(bytes, read, bytes.Length - read);
            if (n == 0) throw new FormatException($"{path}: record {e.FullName} ends after {read} of its {e.Length} bytes");
            read += n;
        }
        if (s.ReadByte() >= 0) throw new FormatException($"{path}: record {e.FullName} holds more than the {e.Length} bytes it declares");
        return bytes;
    }

    private static object LoadStorage(ZipArchive zip, string prefix, object?[] pid, Dictionary<string, Tensor> cache, string path)
    {
        if (pid.Length < 5 || pid[0] as string != "storage")
            throw new FormatException($"{path}: unexpected persistent id ({string.Join(", ", pid)})");
        var type = pid[1] as PyGlobal ?? throw new FormatException($"{path}: storage type missing");
        var key = pid[2]?.ToString() ?? throw new FormatException($"{path}: storage key missing");
        if (cache.TryGetValue(key, out var cached)) return cached;
        var dtype = StorageTypes.FirstOrDefault(s => s.Name == type.Name);
        if (dtype.Name == null) throw new FormatException($"{path}: unsupported storage type {type.Module}.{type.Name}");
        if (key.Contains('/') || key.Contains('\\')) throw new FormatException($"{path}: storage key '{key}' is not a record name");
        var entry = zip.GetEntry(prefix + "data/" + key) ?? throw new FormatException($"{path}: storage record data/{key} missing");
        var bytes = ReadAll(entry, path);
        var size = dtype.DType.ElementSize();
        if (bytes.Length % size != 0)
            throw new FormatException($"{path}: storage record data/{key} has {bytes.Length} bytes, not a whole number of {size}-byte {dtype.DType} elements");
        var numel = bytes.Length / size;
        if (pid[4] is long declared && declared > numel)
            throw new FormatException($"{path}: storage data/{key} declares {declared} elements but its record holds {numel}");
        var t = Tensor.FromBytes(bytes, [numel], dtype.DType, Device.CPU).DetachFromScope();
        cache[key] = t;
        return t;
    }

    /// <summary>A tensor view's geometry, checked: at most 64 dimensions, sizes and strides >= 0, every element inside the storage.</summary>
    private static (long Offset, long[] Size, long[] Stride) ViewOf(Tensor storage, object?[] args)
    {
        if (args.Length < 4) throw new FormatException($"a tensor is rebuilt from {args.Length} arguments, not 4 or more");
        static long Int(object? o, string what) => o is long v ? v : throw new FormatException($"a tensor's {what} is {o?.GetType().Name ?? "None"}, not an integer");
        static long[] Ints(object? o, string what) => o is object?[] t
            ? (t.Length <= 64 ? t.Select(x => Int(x, what)).ToArray() : throw new FormatException($"a tensor with {t.Length} dimensions"))
            : throw new FormatException($"a tensor's {what} is {o?.GetType().Name ?? "None"}, not a tuple");
        var offset = Int(args[1], "storage offset");
        var size = Ints(args[2], "size");
        var stride = Ints(args[3], "stride");
        if (size.Length != stride.Length) throw new FormatException($"a tensor has {size.Length} sizes but {stride.Length} strides");
        if (offset < 0 || size.Any(d => d < 0) || stride.Any(d => d < 0))
            throw new FormatException($"a tensor view with a negative size, stride or offset (size [{string.Join(", ", size)}], stride [{string.Join(", ", stride)}], offset {offset})");
        if (size.Contains(0)) return (offset, size, stride);
        // The last element the view reads, in exact arithmetic: a lying header cannot overflow its way inside.
        var last = new System.Numerics.BigInteger(offset);
        for (var i = 0; i < size.Length; i++) last += (System.Numerics.BigInteger)(size[i] - 1) * stride[i];
        if (last >= storage.NumEl)
            throw new FormatException($"a tensor view of size [{string.Join(", ", size)}] reads element {last} of a storage of {storage.NumEl}: the storage is too short");
        return (offset, size, stride);
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
                var storage = args.Length > 0 ? args[0] as Tensor ?? throw new FormatException("tensor without storage") : throw new FormatException("tensor without storage");
                var (offset, size, stride) = ViewOf(storage, args);
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
