using System.Globalization;

namespace RobustCli.Torch.optim;

/// <summary>
/// torch.optim.Adam, and AdamW when <c>decoupledWeightDecay</c> (the parameter shrinks by lr*wd before the
/// Adam update instead of wd*param joining the gradient). Bias corrections as in PyTorch.
/// </summary>
public class Adam : Optimizer
{
    private readonly Tensor?[] expAvg;
    private readonly Tensor?[] expAvgSq;
    private readonly long[] steps;

    public double Beta1 { get; private set; }
    public double Beta2 { get; private set; }
    public double Eps { get; private set; }
    public double WeightDecay { get; private set; }
    public bool DecoupledWeightDecay { get; }

    public Adam(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weightDecay = 0, bool decoupledWeightDecay = false) : base(parameters, lr)
    {
        if (beta1 is < 0 or >= 1 || beta2 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta1), "betas must be in [0, 1)");
        Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay; DecoupledWeightDecay = decoupledWeightDecay;
        expAvg = new Tensor?[Params.Length];
        expAvgSq = new Tensor?[Params.Length];
        steps = new long[Params.Length];
    }

    protected override void Update(int[] indices, Tensor[] grads)
    {
        foreach (var i in indices)
        {
            if (expAvg[i] != null) continue;
            expAvg[i] = Keep(torch.ZerosLike(Params[i]));
            expAvgSq[i] = Keep(torch.ZerosLike(Params[i]));
        }
        // Parameters that have taken different numbers of steps get different bias corrections: group by step.
        foreach (var group in indices.Select((p, k) => (p, k)).GroupBy(x => steps[x.p] + 1))
        {
            var step = group.Key;
            var members = group.ToArray();
            var ps = members.Select(x => Params[x.p]).ToArray();
            var g = members.Select(x => grads[x.k]).ToArray();
            var m = members.Select(x => expAvg[x.p]!).ToArray();
            var v = members.Select(x => expAvgSq[x.p]!).ToArray();
            foreach (var x in members) steps[x.p] = step;
            if (WeightDecay != 0)
            {
                if (DecoupledWeightDecay) ForeachScalar_(ScalarOp.Mul, ps, 1 - CurrentLr * WeightDecay);
                else g = ForeachAdd(g, ps, WeightDecay);
            }
            ForeachScalar_(ScalarOp.Mul, m, Beta1);
            ForeachAdd_(m, g, 1 - Beta1);
            ForeachScalar_(ScalarOp.Mul, v, Beta2);
            ForeachAddcmul_(v, g, g, 1 - Beta2);
            var bc1 = 1 - Math.Pow(Beta1, step);
            var bc2 = 1 - Math.Pow(Beta2, step);
            var denom = ForeachUnary(UnaryOp.Sqrt, v);
            ForeachScalar_(ScalarOp.Div, denom, Math.Sqrt(bc2));
            ForeachScalar_(ScalarOp.Add, denom, Eps);
            ForeachAddcdiv_(ps, m, denom, -CurrentLr / bc1);
        }
    }

    protected override IDictionary<string, object?> Hyperparameters() => new Dictionary<string, object?>
    {
        ["betas"] = new object?[] { Beta1, Beta2 }, ["eps"] = Eps, ["weight_decay"] = WeightDecay, ["amsgrad"] = false,
        ["maximize"] = false, ["foreach"] = null, ["capturable"] = false, ["differentiable"] = false, ["fused"] = false,
    };

    protected override void LoadHyperparameters(Dictionary<string, object?> g)
    {
        if (g.GetValueOrDefault("betas") is not System.Collections.IList { Count: 2 } betas) throw new FormatException("optimizer state_dict lacks 'betas'");
        Beta1 = Convert.ToDouble(betas[0], CultureInfo.InvariantCulture);
        Beta2 = Convert.ToDouble(betas[1], CultureInfo.InvariantCulture);
        Eps = D(g, "eps"); WeightDecay = D(g, "weight_decay");
    }

    protected override Dictionary<string, object?>? ParamState(int i)
    {
        if (expAvg[i] == null) return null;
        // PyTorch keeps "step" as a float tensor since 1.12.
        return new Dictionary<string, object?>
        {
            ["step"] = torch.Scalar(steps[i]).DetachFromScope(),
            ["exp_avg"] = expAvg[i]!.Clone().DetachFromScope(),
            ["exp_avg_sq"] = expAvgSq[i]!.Clone().DetachFromScope(),
        };
    }

    protected override void LoadParamState(int i, Dictionary<string, object?>? s)
    {
        expAvg[i]?.Dispose();
        expAvgSq[i]?.Dispose();
        if (s == null) { expAvg[i] = expAvgSq[i] = null; steps[i] = 0; return; }
        expAvg[i] = LoadTensor(s, "exp_avg", Params[i]);
        expAvgSq[i] = LoadTensor(s, "exp_avg_sq", Params[i]);
        steps[i] = s.GetValueOrDefault("step") switch
        {
            Tensor t => (long)Math.Round(t.Item()),
            long l => l,
            double d => (long)d,
            _ => throw new FormatException("optimizer state lacks 'step'"),
        };
    }

    public override void Dispose()
    {
        foreach (var t in expAvg) t?.Dispose();
        foreach (var t in expAvgSq) t?.Dispose();
        base.Dispose();
    }
}

/// <summary>torch.optim.AdamW (decoupled weight decay, default 1e-2).</summary>
public sealed class AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
    double weightDecay = 1e-2) : Adam(parameters, lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay: true);
