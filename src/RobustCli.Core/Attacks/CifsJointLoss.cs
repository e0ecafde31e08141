using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Attacks;

/// <summary>
/// CIFS's joint cross entropy (the official joint_CE_loss): [CE(final) + beta/P sum_p CE(probe_p)] * 3/(beta + 1),
/// from the concatenation of the final and the P probe logits; with joint false, CE(final) * 3/(beta + 1) (the
/// official "CE" attack loss). As an attack's loss the scale does not matter for sign steps.
/// </summary>
public sealed class CifsJointLoss(double beta, int probes, bool joint = true) : IAttackLoss
{
    public double Beta { get; } = beta;
    public string Name => joint ? "cifs-joint" : "cifs-ce";

    public Tensor Compute(Tensor logits, Tensor labels, Tensor? naturalLogits)
    {
        var k = logits.Size(1) / (probes + 1);
        using var final = logits.Narrow(1, 0, k);
        var parts = new List<Tensor>();
        if (joint)
            for (var p = 0; p < probes; p++)
                using (var probe = logits.Narrow(1, (p + 1) * k, k)) parts.Add(F.CrossEntropy(probe, labels));
        return Combine(F.CrossEntropy(final, labels), parts, Beta);
    }

    /// <summary>[ce_final + beta/P sum ce_probes] * 3/(beta + 1); the parts are disposed.</summary>
    public static Tensor Combine(Tensor final, IReadOnlyList<Tensor> probeLosses, double beta)
    {
        using var f = final;
        Tensor total;
        if (probeLosses.Count == 0) total = f * (3 / (beta + 1));
        else
        {
            using var sum = probeLosses.Skip(1).Aggregate(probeLosses[0].Clone(), (a, b) => a.Add_(b));
            using var scaled = sum * (beta / probeLosses.Count);
            total = (scaled + f).Mul_(3 / (beta + 1));
        }
        foreach (var p in probeLosses) p.Dispose();
        return total;
    }
}
