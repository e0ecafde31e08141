namespace RobustCli.Torch.nn;

/// <summary>An ordered name -> tensor map (PyTorch's OrderedDict state_dict). Disposing it frees the tensors it holds.</summary>
public sealed class StateDict : IReadOnlyDictionary<string, Tensor>, IDisposable
{
    private readonly List<string> order = [];
    private readonly Dictionary<string, Tensor> map = new(StringComparer.Ordinal);

    public void Add(string name, Tensor value)
    {
        if (!map.TryAdd(name, value)) throw new ArgumentException($"duplicate state_dict key '{name}'");
        order.Add(name);
    }

    public Tensor this[string key] => map.TryGetValue(key, out var t) ? t : throw new KeyNotFoundException($"no key '{key}' in the state_dict");
    public IEnumerable<string> Keys => order;
    public IEnumerable<Tensor> Values => order.Select(k => map[k]);
    public int Count => order.Count;
    public bool ContainsKey(string key) => map.ContainsKey(key);
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out Tensor value) => map.TryGetValue(key, out value);

    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator()
    {
        foreach (var k in order) yield return new KeyValuePair<string, Tensor>(k, map[k]);
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Takes every tensor out of the current scope so the dictionary outlives it.</summary>
    public StateDict DetachFromScope()
    {
        foreach (var t in map.Values) t.DetachFromScope();
        return this;
    }

    public void Dispose()
    {
        foreach (var t in map.Values) t.Dispose();
    }
}
