using System.Globalization;

namespace RobustCli.Torch.optim;

/// <summary>torch.optim.SGD: momentum, dampening, Nesterov and (coupled) weight decay, with PyTorch's update order.</summary>
public sealed class SGD : Optimizer
{
    private readonly Tensor?[] momentumBuffers;

    public double Momentum { get; private set; }
    public double Dampening { get; private set; }
    public double WeightDecay { get; private set; }
    public bool Nesterov { get; private set; }

    public SGD(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : base(parameters, lr)
    {
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException("Nesterov momentum requires a momentum and zero dampening");
        Momentum = momentum; Dampening = dampening; WeightDecay = weightDecay; Nesterov = nesterov;
        momentumBuffers = new Tensor?[Params.Length];
    }

    protected override void Update(int[] indices, Tensor[] grads)
    {
        var ps = indices.Select(i => Params[i]).ToArray();
        var d = WeightDecay != 0 ? ForeachAdd(grads, ps, WeightDecay) : grads;
        if (Momentum != 0)
        {
            // A parameter's first step starts its buffer as a copy of d_p; later steps decay and accumulate.
            var fresh = indices.Select((p, k) => (p, k)).Where(x => momentumBuffers[x.p] == null).ToArray();
            var old = indices.Select((p, k) => (p, k)).Where(x => momentumBuffers[x.p] != null).ToArray();
            if (old.Length > 0)
            {
                var bufs = old.Select(x => momentumBuffers[x.p]!).ToArray();
                ForeachScalar_(ScalarOp.Mul, bufs, Momentum);
                ForeachAdd_(bufs, old.Select(x => d[x.k]).ToArray(), 1 - Dampening);
            }
            if (fresh.Length > 0)
            {
                var clones = ForeachUnary(UnaryOp.Clone, fresh.Select(x => d[x.k]).ToArray());
                for (var j = 0; j < fresh.Length; j++) momentumBuffers[fresh[j].p] = Keep(clones[j]);
            }
            var buffers = indices.Select(i => momentumBuffers[i]!).ToArray();
            d = Nesterov ? ForeachAdd(d, buffers, Momentum) : buffers;
        }
        ForeachAdd_(ps, d, -CurrentLr);
    }

    protected override IDictionary<string, object?> Hyperparameters() => new Dictionary<string, object?>
    {
        ["momentum"] = Momentum, ["dampening"] = Dampening, ["weight_decay"] = WeightDecay, ["nesterov"] = Nesterov,
        ["maximize"] = false, ["foreach"] = null, ["differentiable"] = false,
    };

    protected override void LoadHyperparameters(Dictionary<string, object?> g)
    {
        Momentum = D(g, "momentum"); Dampening = D(g, "dampening"); WeightDecay = D(g, "weight_decay"); Nesterov = B(g, "nesterov");
    }

    protected override Dictionary<string, object?>? ParamState(int i) =>
        Momentum == 0 ? null : new Dictionary<string, object?> { ["momentum_buffer"] = momentumBuffers[i]?.Clone().DetachFromScope() };

    protected override void LoadParamState(int i, Dictionary<string, object?>? s)
    {
        momentumBuffers[i]?.Dispose();
        momentumBuffers[i] = s?.GetValueOrDefault("momentum_buffer") is Tensor ? LoadTensor(s, "momentum_buffer", Params[i]) : null;
    }

    public override void Dispose()
    {
        foreach (var b in momentumBuffers) b?.Dispose();
        base.Dispose();
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"SGD(lr={LearningRate}, momentum={Momentum}, dampening={Dampening}, weight_decay={WeightDecay}, nesterov={Nesterov})");
}
