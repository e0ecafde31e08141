using RobustCli.Torch.Native;

namespace RobustCli.Torch.optim;

/// <summary>
/// Base of the optimisers: parameter groups by learning-rate scale, state kept outside every DisposeScope, updates made with
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

    /// <summary>The base learning rate (what a schedule sets); a parameter group's is this times its scale.</summary>
    public double LearningRate { get; set; }

    /// <summary>The learning rate of the group being updated, inside <see cref="Update"/>.</summary>
    protected double CurrentLr { get; private set; }

    private double[]? scales;

    public IReadOnlyList<Tensor> Parameters => Params;

    /// <summary>
    /// Per-parameter learning-rate multipliers (heads, sub-models): parameters with equal scales form one group, as
    /// torch.optim's param_groups, and a schedule moves every group's lr together.
    /// </summary>
    public void SetLearningRateScales(IReadOnlyList<double> perParameter)
    {
        if (perParameter.Count != Params.Length) throw new ArgumentException($"{perParameter.Count} scales for {Params.Length} parameters");
        if (perParameter.Any(s => s < 0 || !double.IsFinite(s))) throw new ArgumentException("learning-rate scales must be finite and >= 0");
        scales = perParameter.ToArray();
    }

    /// <summary>The groups: (scale, parameter indices), in order of first appearance.</summary>
    private List<(double Scale, int[] Indices)> Groups() => scales == null
        ? [(1.0, Enumerable.Range(0, Params.Length).ToArray())]
        : scales.Select((s, i) => (s, i)).GroupBy(p => p.s).Select(g => (g.Key, g.Select(p => p.i).ToArray())).ToList();

    /// <summary>One update from the gradients now held by the parameters (parameters without one are skipped).</summary>
    public void Step()
    {
        using var scope = DisposeScope.Open();
        using var noGrad = torch.NoGrad();
        var grads = Grads();
        foreach (var (scale, members) in Groups())
        {
            var idx = members.Where(i => grads[i] != null).ToArray();
            if (idx.Length == 0) continue;
            CurrentLr = LearningRate * scale;
            Update(idx, idx.Select(i => grads[i]!).ToArray());
        }
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
        var groups = new List<object?>();
        foreach (var (scale, members) in Groups())
        {
            var group = new Dictionary<string, object?>(Hyperparameters()) { ["lr"] = LearningRate * scale };
            group["params"] = members.Select(i => (object?)(long)i).ToList();
            groups.Add(group);
        }
        return new Dictionary<string, object?> { ["state"] = state, ["param_groups"] = groups };
    }

    /// <summary>Restores hyperparameters and state from <see cref="StateDict"/>'s layout, ours or one torch.load returned.</summary>
    public void LoadStateDict(object stateDict)
    {
        var sd = StringKeyed(stateDict, "optimizer state_dict");
        var mine = Groups();
        if (sd.GetValueOrDefault("param_groups") is not System.Collections.IList groups || groups.Count != mine.Count)
            throw new FormatException($"optimizer state_dict: expected 'param_groups' with {mine.Count} group(s)");
        // Saved ids in group order map to this optimizer's parameters in the same group order (as torch.optim does).
        var ids = new List<object?>();
        var order = new List<int>();
        for (var g = 0; g < groups.Count; g++)
        {
            var grp = StringKeyed(groups[g], "optimizer param group");
            if (grp.GetValueOrDefault("params") is not System.Collections.IList gids || gids.Count != mine[g].Indices.Length)
                throw new FormatException($"optimizer state_dict group {g} is for {(grp.GetValueOrDefault("params") as System.Collections.IList)?.Count ?? 0} parameters, this optimizer's has {mine[g].Indices.Length}");
            foreach (var id in gids) ids.Add(id);
            order.AddRange(mine[g].Indices);
        }
        // The base rate from the first group with a non-zero scale (a frozen group's lr is 0 whatever the base).
        var g0 = Math.Max(0, mine.FindIndex(g => g.Scale > 0));
        var group = StringKeyed(groups[g0], "optimizer param group");
        LearningRate = mine[g0].Scale > 0 ? D(group, "lr") / mine[g0].Scale : D(group, "lr");
        LoadHyperparameters(group);
        var state = new Dictionary<long, object?>();
        if (sd.GetValueOrDefault("state") is System.Collections.IDictionary raw)
            foreach (System.Collections.DictionaryEntry e in raw)
                state[Convert.ToInt64(e.Key, System.Globalization.CultureInfo.InvariantCulture)] = e.Value;
        else if (sd.GetValueOrDefault("state") is IEnumerable<KeyValuePair<object, object?>> pairs)
            foreach (var (k, v) in pairs) state[Convert.ToInt64(k, System.Globalization.CultureInfo.InvariantCulture)] = v;
        for (var j = 0; j < order.Count; j++)
        {
            var key = Convert.ToInt64(ids[j], System.Globalization.CultureInfo.InvariantCulture);
            LoadParamState(order[j], state.TryGetValue(key, out var s) && s != null ? StringKeyed(s, $"optimizer state of parameter {key}") : null);
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
