using RobustCli.Torch.Native;

namespace RobustCli.Torch.optim;

/// <summary>
/// Base of the optimisers: one parameter group, state kept outside every DisposeScope, updates made with
/// libtorch's multi-tensor (_foreach_) kernels so a step costs a handful of native calls, not several per
/// parameter. StateDict() has PyTorch's layout ({"state": {index: {...}}, "param_groups": [{...}]}), so it
/// saves as a file torch.optim's load_state_dict accepts.
/// </summary>
public abstract class Optimizer : IDisposable
{
    protected readonly Tensor[] Params;

    protected Optimizer(IEnumerable<Tensor> parameters, double lr)
    {
        Params = parameters.ToArray();
        if (Params.Length == 0) throw new ArgumentException("optimizer got an empty parameter list");
        if (lr < 0) throw new ArgumentOutOfRangeException(nameof(lr), lr, "learning rate must be >= 0");
        LearningRate = lr;
    }

    public double LearningRate { get; set; }

    public IReadOnlyList<Tensor> Parameters => Params;

    /// <summary>One update from the gradients now held by the parameters (parameters without one are skipped).</summary>
    public void Step()
    {
        using var scope = DisposeScope.Open();
        using var noGrad = torch.NoGrad();
        var grads = Grads();
        var idx = new List<int>();
        for (var i = 0; i < grads.Length; i++) if (grads[i] != null) idx.Add(i);
        if (idx.Count == 0) return;
        Update(idx.ToArray(), idx.Select(i => grads[i]!).ToArray());
    }

    /// <summary>Applies the update to Params[indices[k]] with gradient grads[k]. Runs under no-grad inside a scope.</summary>
    protected abstract void Update(int[] indices, Tensor[] grads);

    public void ZeroGrad(bool setToNone = true) => torch.ZeroGrads(Params, setToNone);

    private unsafe Tensor?[] Grads()
    {
        var h = torch.Handles(Params);
        var r = new IntPtr[h.Length];
        fixed (IntPtr* p = h)
        fixed (IntPtr* q = r)
            TorchException.Check(NativeMethods.rcl_grads(p, h.Length, q));
        return r.Select(x => x == IntPtr.Zero ? null : new Tensor(x)).ToArray();
    }

    /// <summary>PyTorch's optimizer state_dict layout; tensors are copies the caller owns.</summary>
    public Dictionary<string, object?> StateDict()
    {
        var state = new Dictionary<object, object?>();
        for (var i = 0; i < Params.Length; i++)
        {
            var s = ParamState(i);
            if (s != null) state[(long)i] = s;
        }
        var group = new Dictionary<string, object?>(Hyperparameters()) { ["lr"] = LearningRate };
        group["params"] = Enumerable.Range(0, Params.Length).Select(i => (object?)(long)i).ToList();
        return new Dictionary<string, object?> { ["state"] = state, ["param_groups"] = new List<object?> { group } };
    }

    /// <summary>Restores hyperparameters and state from <see cref="StateDict"/>'s layout, ours or one torch.load returned.</summary>
    public void LoadStateDict(object stateDict)
    {
        var sd = StringKeyed(stateDict, "optimizer state_dict");
        if (sd.GetValueOrDefault("param_groups") is not System.Collections.IList { Count: 1 } groups)
            throw new FormatException("optimizer state_dict: expected 'param_groups' with exactly one group");
        var group = StringKeyed(groups[0], "optimizer param group");
        if (group.GetValueOrDefault("params") is not System.Collections.IList ids || ids.Count != Params.Length)
            throw new FormatException($"optimizer state_dict is for {(group.GetValueOrDefault("params") as System.Collections.IList)?.Count ?? 0} parameters, this optimizer has {Params.Length}");
        LearningRate = D(group, "lr");
        LoadHyperparameters(group);
        var state = new Dictionary<long, object?>();
        if (sd.GetValueOrDefault("state") is System.Collections.IDictionary raw)
            foreach (System.Collections.DictionaryEntry e in raw)
                state[Convert.ToInt64(e.Key, System.Globalization.CultureInfo.InvariantCulture)] = e.Value;
        else if (sd.GetValueOrDefault("state") is IEnumerable<KeyValuePair<object, object?>> pairs)
            foreach (var (k, v) in pairs) state[Convert.ToInt64(k, System.Globalization.CultureInfo.InvariantCulture)] = v;
        for (var i = 0; i < Params.Length; i++)
        {
            var key = Convert.ToInt64(ids[i], System.Globalization.CultureInfo.InvariantCulture);
            LoadParamState(i, state.TryGetValue(key, out var s) && s != null ? StringKeyed(s, $"optimizer state of parameter {key}") : null);
        }
    }

    /// <summary>A dict with string keys, from our own dictionaries or the object-keyed ones the unpickler builds.</summary>
    protected static Dictionary<string, object?> StringKeyed(object? o, string what) => o switch
    {
        IEnumerable<KeyValuePair<string, object?>> d => d.ToDictionary(kv => kv.Key, kv => kv.Value),
        IEnumerable<KeyValuePair<object, object?>> d => d.ToDictionary(kv => kv.Key.ToString()!, kv => kv.Value),
        _ => throw new FormatException($"{what}: expected a dict, got {o?.GetType().Name ?? "None"}"),
    };

    protected abstract IDictionary<string, object?> Hyperparameters();
    protected abstract void LoadHyperparameters(Dictionary<string, object?> group);
    protected abstract Dictionary<string, object?>? ParamState(int index);
    protected abstract void LoadParamState(int index, Dictionary<string, object?>? state);

    protected static double D(Dictionary<string, object?> g, string key) =>
        g.TryGetValue(key, out var v) && v != null ? Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture)
            : throw new FormatException($"optimizer state_dict param group lacks '{key}'");

    protected static bool B(Dictionary<string, object?> g, string key) =>
        g.TryGetValue(key, out var v) && v is bool b ? b : throw new FormatException($"optimizer state_dict param group lacks '{key}'");

    /// <summary>A state tensor kept by the optimiser: out of every scope, on the parameter's device.</summary>
    protected static Tensor Keep(Tensor t) => t.DetachFromScope();

    protected static Tensor LoadTensor(Dictionary<string, object?> s, string key, Tensor like)
    {
        if (s.GetValueOrDefault(key) is not Tensor t) throw new FormatException($"optimizer state lacks tensor '{key}'");
        return Keep(t.To(like.Device, like.DType));
    }

    public virtual void Dispose() => GC.SuppressFinalize(this);

    // ---- multi-tensor helpers ----

    internal static unsafe void ForeachAdd_(Tensor[] self, Tensor[] other, double alpha)
    {
        var a = torch.Handles(self);
        var b = torch.Handles(other);
        fixed (IntPtr* p = a)
        fixed (IntPtr* q = b)
            TorchException.Check(NativeMethods.rcl_foreach_binary_(0, p, q, a.Length, alpha));
    }

    internal enum ScalarOp { Add = 0, Mul = 1, Div = 2, Sub = 3 }

    internal static unsafe void ForeachScalar_(ScalarOp op, Tensor[] self, double s)
    {
        var a = torch.Handles(self);
        fixed (IntPtr* p = a) TorchException.Check(NativeMethods.rcl_foreach_scalar_((int)op, p, a.Length, s));
    }

    internal static unsafe void ForeachAddcmul_(Tensor[] self, Tensor[] t1, Tensor[] t2, double value) => Pointwise(0, self, t1, t2, value);
    internal static unsafe void ForeachAddcdiv_(Tensor[] self, Tensor[] t1, Tensor[] t2, double value) => Pointwise(1, self, t1, t2, value);

    private static unsafe void Pointwise(int op, Tensor[] self, Tensor[] t1, Tensor[] t2, double value)
    {
        var a = torch.Handles(self);
        var b = torch.Handles(t1);
        var c = torch.Handles(t2);
        fixed (IntPtr* p = a)
        fixed (IntPtr* q = b)
        fixed (IntPtr* r = c)
            TorchException.Check(NativeMethods.rcl_foreach_pointwise_(op, p, q, r, a.Length, value));
    }

    internal enum UnaryOp { Sqrt = 0, Clone = 1, Neg = 2 }

    internal static unsafe Tensor[] ForeachUnary(UnaryOp op, Tensor[] self)
    {
        var a = torch.Handles(self);
        var r = new IntPtr[a.Length];
        fixed (IntPtr* p = a)
        fixed (IntPtr* q = r)
            TorchException.Check(NativeMethods.rcl_foreach_unary((int)op, p, a.Length, q));
        return r.Select(Tensor.Wrap).ToArray();
    }

    internal static unsafe Tensor[] ForeachAdd(Tensor[] self, Tensor[] other, double alpha)
    {
        var a = torch.Handles(self);
        var b = torch.Handles(other);
        var r = new IntPtr[a.Length];
        fixed (IntPtr* p = a)
        fixed (IntPtr* q = b)
        fixed (IntPtr* o = r)
            TorchException.Check(NativeMethods.rcl_foreach_add(p, q, a.Length, alpha, o));
        return r.Select(Tensor.Wrap).ToArray();
    }
}
