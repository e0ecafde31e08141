using System.Text;

namespace RobustCli.Torch.nn;

/// <summary>
/// torch.nn.Module in C#: named parameters, buffers and children registered in order, so state_dict keys
/// and their order are PyTorch's (own parameters, then persistent buffers, then each child with
/// "child." prefixed; Sequential children are "0", "1", ...). Parameters and buffers live outside every
/// DisposeScope and are freed when the module is disposed.
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<(string Name, Tensor? Value)> parameters = [];
    private readonly List<(string Name, Tensor? Value, bool Persistent)> buffers = [];
    private readonly List<(string Name, Module Value)> children = [];
    private bool disposed;

    public bool Training { get; private set; } = true;

    public abstract Tensor Forward(Tensor input);

    public Tensor Call(Tensor input) => Forward(input);

    // ---- registration ----

    protected Tensor RegisterParameter(string name, Tensor value)
    {
        CheckName(name);
        value.DetachFromScope();
        if (!value.RequiresGrad) value.RequiresGrad = true;
        parameters.Add((name, value));
        return value;
    }

    protected Tensor RegisterBuffer(string name, Tensor value, bool persistent = true)
    {
        CheckName(name);
        value.DetachFromScope();
        buffers.Add((name, value, persistent));
        return value;
    }

    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckName(name);
        children.Add((name, module));
        return module;
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"'{name}' is not a valid member name: it must be non-empty and contain no '.'");
        if (parameters.Any(p => p.Name == name) || buffers.Any(b => b.Name == name) || children.Any(c => c.Name == name))
            throw new ArgumentException($"'{name}' is already registered in {GetType().Name}");
    }

    // ---- traversal ----

    public IEnumerable<(string Name, Module Module)> NamedChildren() => children;

    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in children)
            foreach (var m in child.NamedModules(prefix.Length == 0 ? name : prefix + "." + name))
                yield return m;
    }

    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters(string prefix = "", bool recurse = true)
    {
        foreach (var (name, p) in parameters)
            if (p != null) yield return (Join(prefix, name), p);
        if (!recurse) yield break;
        foreach (var (name, child) in children)
            foreach (var x in child.NamedParameters(Join(prefix, name)))
                yield return x;
    }

    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Parameter);

    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(string prefix = "", bool persistentOnly = false)
    {
        foreach (var (name, b, persistent) in buffers)
            if (b != null && (persistent || !persistentOnly)) yield return (Join(prefix, name), b);
        foreach (var (name, child) in children)
            foreach (var x in child.NamedBuffers(Join(prefix, name), persistentOnly))
                yield return x;
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    // ---- modes and devices ----

    public Module Train(bool on = true)
    {
        Training = on;
        foreach (var (_, c) in children) c.Train(on);
        return this;
    }

    public Module Eval() => Train(false);

    /// <summary>Moves every parameter and buffer to a device, keeping the tensor objects (param.data = ...).</summary>
    public Module To(Device device) => Transform(_ => true, t => t.To(device));

    /// <summary>Casts floating-point parameters and buffers (integer buffers such as num_batches_tracked stay).</summary>
    public Module To(DType dtype) => Transform(t => t.DType.IsFloatingPoint(), t => t.To(dtype));

    /// <summary>Stores 4-D weights channels_last (the layout cuDNN's tensor cores want); values are unchanged.</summary>
    public Module ToMemoryFormat(MemoryFormat format) => Transform(t => t.Dim == 4, t => t.Contiguous(format));

    /// <summary>Replaces the data of every parameter and buffer that <paramref name="applies"/> to, in place.</summary>
    private Module Transform(Func<Tensor, bool> applies, Func<Tensor, Tensor> convert)
    {
        using var noGrad = torch.NoGrad();
        foreach (var t in AllTensors())
        {
            if (!applies(t)) continue;
            using var converted = convert(t);
            t.SetData(converted);
        }
        return this;
    }

    private IEnumerable<Tensor> AllTensors() =>
        NamedParameters().Select(p => p.Parameter).Concat(NamedBuffers().Select(b => b.Buffer));

    // ---- gradients ----

    /// <summary>Drops (default, as PyTorch 2.x) or zeroes every parameter's gradient.</summary>
    public void ZeroGrad(bool setToNone = true) => torch.ZeroGrads(Parameters().ToList(), setToNone);

    // ---- state dict ----

    /// <summary>
    /// name -> tensor in PyTorch's order. The tensors are detached aliases of the module's own storage
    /// (owned by the caller or the current scope): writing into them writes into the module.
    /// </summary>
    public StateDict StateDict()
    {
        var sd = new StateDict();
        foreach (var (name, t) in NamedStateEntries()) sd.Add(name, t.Detach());
        return sd;
    }

    /// <summary>
    /// The state_dict entries in PyTorch's order: each module's own parameters, then its persistent
    /// buffers, then each child's entries in full (so layer1.bn1.running_mean precedes layer1.conv1.weight).
    /// </summary>
    public IEnumerable<(string Name, Tensor Value)> NamedStateEntries(string prefix = "")
    {
        foreach (var (name, p) in parameters)
            if (p != null) yield return (Join(prefix, name), p);
        foreach (var (name, b, persistent) in buffers)
            if (b != null && persistent) yield return (Join(prefix, name), b);
        foreach (var (name, child) in children)
            foreach (var e in child.NamedStateEntries(Join(prefix, name)))
                yield return e;
    }

    /// <summary>
    /// Copies values in. Strict (the default) demands the same keys and shapes and throws one error listing
    /// every missing key, unexpected key and shape difference. Non-strict copies the keys that match.
    /// </summary>
    public LoadResult LoadStateDict(IReadOnlyDictionary<string, Tensor> source, bool strict = true)
    {
        var own = NamedStateEntries().ToList();
        var ownNames = own.Select(o => o.Item1).ToHashSet();
        var missing = own.Select(o => o.Item1).Where(n => !source.ContainsKey(n)).ToList();
        var unexpected = source.Keys.Where(k => !ownNames.Contains(k)).ToList();
        var shapeErrors = new List<string>();
        foreach (var (name, t) in own)
        {
            if (!source.TryGetValue(name, out var s)) continue;
            var a = t.Shape;
            var b = s.Shape;
            if (!a.SequenceEqual(b))
                shapeErrors.Add($"{name}: expected [{string.Join(", ", a)}], got [{string.Join(", ", b)}]");
        }
        if (strict && (missing.Count > 0 || unexpected.Count > 0 || shapeErrors.Count > 0))
        {
            var msg = new StringBuilder($"Error(s) in loading state_dict for {GetType().Name}:");
            if (missing.Count > 0) msg.Append($"\n  missing keys ({missing.Count}): {string.Join(", ", missing)}");
            if (unexpected.Count > 0) msg.Append($"\n  unexpected keys ({unexpected.Count}): {string.Join(", ", unexpected)}");
            if (shapeErrors.Count > 0) msg.Append($"\n  shape differences ({shapeErrors.Count}):\n    {string.Join("\n    ", shapeErrors)}");
            throw new StateDictMismatchException(msg.ToString(), missing, unexpected, shapeErrors);
        }
        using (torch.NoGrad())
        {
            foreach (var (name, t) in own)
                if (source.TryGetValue(name, out var s) && t.Shape.SequenceEqual(s.Shape))
                    t.Copy_(s);
        }
        return new LoadResult(missing, unexpected, shapeErrors);
    }

    public long ParameterCount() => Parameters().Sum(p => p.NumEl);

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var (_, p) in parameters) p?.Dispose();
        foreach (var (_, b, _) in buffers) b?.Dispose();
        foreach (var (_, c) in children) c.Dispose();
        GC.SuppressFinalize(this);
    }
}

public sealed record LoadResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys, IReadOnlyList<string> ShapeErrors);

public sealed class StateDictMismatchException(string message, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
    IReadOnlyList<string> shapeErrors) : Exception(message)
{
    public IReadOnlyList<string> MissingKeys { get; } = missing;
    public IReadOnlyList<string> UnexpectedKeys { get; } = unexpected;
    public IReadOnlyList<string> ShapeErrors { get; } = shapeErrors;
}
