using RobustCli.Torch.nn;

namespace RobustCli.Torch.Serialization;

/// <summary>
/// State dicts to and from files that PyTorch and TorchSharp read and write. The format follows the extension:
/// <c>.safetensors</c> is safetensors, <c>.dat</c> TorchSharp's Module.save format; anything else (.pt, .pth,
/// .ckpt) is torch.save's zip format. Loading detects the format from the bytes and finds the state dict inside
/// common checkpoint layouts.
/// </summary>
public static class Weights
{
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> stateDict, IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) SafeTensors.Save(path, stateDict, metadata);
        else if (IsTorchSharpName(path)) TorchSharpWeights.Save(path, stateDict);
        else TorchArchive.SaveStateDict(path, stateDict);
    }

    public static void Save(string path, Module module, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var scope = DisposeScope.Open();
        using var sd = module.StateDict();
        Save(path, sd, metadata);
    }

    /// <summary>Keys under which checkpoints commonly nest the model's state dict.</summary>
    public static readonly string[] NestedKeys = ["state_dict", "model_state_dict", "model", "net", "network"];

    /// <summary>Loads a state dict (tensors owned by the returned StateDict; dispose it when done).</summary>
    public static StateDict Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"weights file not found: {path}", path);
        if (IsSafeTensors(path)) return SafeTensors.Load(path).Tensors;
        // TorchSharp's format has no magic number: it is taken only when the whole file parses as it.
        if (!IsZip(path))
        {
            if (TorchSharpWeights.TryLoad(path) is { } sd) return sd;
            if (IsTorchSharpName(path)) throw TorchSharpWeights.NotThisFormat(path);
        }
        return FromArchive(TorchArchive.Load(path), path);
    }

    /// <summary>The extension TorchSharp's examples and docs give Module.save's files.</summary>
    public static bool IsTorchSharpName(string path) => path.EndsWith(".dat", StringComparison.OrdinalIgnoreCase);

    private static bool IsZip(string path)
    {
        using var f = File.OpenRead(path);
        Span<byte> head = stackalloc byte[4];
        return f.Read(head) == 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4;
    }

    /// <summary>
    /// The state dict inside what <see cref="TorchArchive.Load(string)"/> returned for <paramref name="path"/>, at the top or
    /// under one of <see cref="NestedKeys"/>; the rest of the tree is freed.
    /// </summary>
    public static StateDict FromArchive(object? root, string path)
    {
        var found = FindStateDict(root);
        if (found == null)
        {
            DisposeTensors(root);
            throw new FormatException($"{path}: no state dict found: expected a dict of tensors at the top or under one of {string.Join(", ", NestedKeys)}");
        }
        var sd = new StateDict();
        foreach (var (k, v) in found) sd.Add(k.ToString()!, (Tensor)v!);
        // Tensors outside the state dict (optimizer state in a training checkpoint) are freed now.
        DisposeTensors(root, keep: sd.Values.ToHashSet());
        return sd;
    }

    /// <summary>
    /// Removes a prefix that every key carries (DataParallel's "module.", a wrapper's "model."), as RobustBench's
    /// loader does; keys are left alone when not all of them have it. The tensors move to the returned dict.
    /// </summary>
    public static StateDict StripCommonPrefixes(StateDict sd, params string[] prefixes)
    {
        foreach (var prefix in prefixes.Length > 0 ? prefixes : ["module.", "model."])
        {
            if (sd.Count == 0 || !sd.Keys.All(k => k.StartsWith(prefix, StringComparison.Ordinal))) continue;
            var stripped = new StateDict();
            foreach (var (k, v) in sd) stripped.Add(k[prefix.Length..], v);
            sd = stripped;
        }
        return sd;
    }

    private static IEnumerable<KeyValuePair<object, object?>>? FindStateDict(object? root)
    {
        if (root is not IDictionary<object, object?> d) return null;
        if (d.Count > 0 && d.All(kv => kv.Key is string && kv.Value is Tensor)) return d;
        foreach (var key in NestedKeys)
            if (d.TryGetValue(key, out var inner) && FindStateDict(inner) is { } found) return found;
        return null;
    }

    /// <summary>Frees every tensor inside an object tree that TorchArchive.Load or an optimizer StateDict returned.</summary>
    public static void DisposeTensors(object? o, HashSet<Tensor>? keep = null) =>
        DisposeTensors(o, keep, new HashSet<object>(ReferenceEqualityComparer.Instance));

    // Shared references (the pickle memo) are visited once: a tree of shared lists must not cost exponential time.
    private static void DisposeTensors(object? o, HashSet<Tensor>? keep, HashSet<object> seen)
    {
        if (o == null || o is string || !seen.Add(o)) return;
        switch (o)
        {
            case Tensor t when keep == null || !keep.Contains(t): t.Dispose(); break;
            case IDictionary<object, object?> d: foreach (var v in d.Values) DisposeTensors(v, keep, seen); break;
            case System.Collections.IEnumerable e: foreach (var v in e) DisposeTensors(v, keep, seen); break;
            case PyObject p: foreach (var v in p.Args.Append(p.State)) DisposeTensors(v, keep, seen); break;
        }
    }

    private static bool IsSafeTensors(string path)
    {
        using var f = File.OpenRead(path);
        Span<byte> head = stackalloc byte[9];
        if (f.Read(head) < 9) return false;
        var n = BitConverter.ToUInt64(head[..8]);
        return head[8] == (byte)'{' && n < (ulong)f.Length;
    }
}
