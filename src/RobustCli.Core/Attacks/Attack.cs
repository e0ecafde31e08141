using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Attacks;

public enum Norm { Linf, L2 }

/// <summary>How an iterative attack starts: at x, uniformly in the eps-ball, or at x + 0.001 N(0, 1) (TRADES, MART).</summary>
public enum RandomStart { None, Uniform, Normal }

/// <summary>
/// An attack: (model, x, y) -> x_adv, all in [0, 1] pixel space. The model is put in eval mode for the attack and
/// restored after; x_adv is detached, inside the eps-ball around x and inside [0, 1]. Subclasses implement
/// <see cref="Run"/>; the loss and the projection are parameters, not subclasses.
/// </summary>
public abstract class Attack
{
    protected Attack(string name, double eps, Norm norm)
    {
        if (eps < 0) throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be >= 0");
        Name = name; Eps = eps; Norm = norm;
    }

    public string Name { get; }
    public double Eps { get; }
    public Norm Norm { get; }

    /// <summary>Seeds the per-sample noise (see <see cref="SampleNoise"/>) when sample indices are given.</summary>
    public ulong Seed { get; set; }

    /// <summary>The seed was given in the attack's spec (seed=N), so an evaluation's default seed leaves it alone.</summary>
    public bool HasOwnSeed { get; set; }

    /// <summary>
    /// Every setting that decides the result (family, norm, eps and each declared option, defaults included), set by
    /// the attack registry; an evaluation's resumable state is tied to it.
    /// </summary>
    /// <summary>What the attacked model must offer (from the attack's registration; see <see cref="AttackRegistration.Requires"/>).</summary>
    public IReadOnlyList<Models.ModelCapability> Requires { get; set; } = [];
    public string? Settings { get; set; }

    /// <summary>
    /// Keep x_adv inside [0, 1]. True for images; false where the input is not an image but an observation that may
    /// leave the box (a denoiser's unclipped noisy input), so the projection changes nothing but the perturbation.
    /// </summary>
    public bool ClampToBox { get; set; } = true;

    /// <summary>Raised with a message when the attack sees something that makes its result suspect (zero gradients...).</summary>
    public event Action<string>? Warning;

    /// <summary>Per-sample noise for the current call when the caller named the samples; null: the global generator.</summary>
    protected SampleNoise? Noise { get; private set; }

    /// <summary>
    /// Attack with the model in eval mode (or as it is, when <paramref name="evalMode"/> is false). With
    /// <paramref name="sampleIds"/> (dataset indices of the rows), every random draw belongs to its sample, so the
    /// result of a sample does not depend on the batch it is in.
    /// </summary>
    public Tensor Perturb(Module model, Tensor x, Tensor y, bool evalMode = true, long[]? sampleIds = null)
    {
        if (sampleIds != null && sampleIds.Length != x.Size(0))
            throw new ArgumentException($"{sampleIds.Length} sample ids for a batch of {x.Size(0)}", nameof(sampleIds));
        var wasTraining = model.Training;
        if (evalMode) model.Eval();
        Noise = sampleIds == null ? null : new SampleNoise(Seed, sampleIds);
        try
        {
            using var scope = DisposeScope.Open();
            var adv = Run(model, x, y);
            return adv.Detach().MoveToOuterScope();
        }
        finally
        {
            Noise = null;
            if (evalMode && wasTraining) model.Train();
        }
    }

    protected void Warn(string message) => Warning?.Invoke(message);

    /// <summary>Raised with the fraction of the current <see cref="Perturb"/> call done, for progress on long attacks.</summary>
    public event Action<double>? Progressed;

    private int part, parts = 1;

    /// <summary>Step <paramref name="step"/> (0-based) of <paramref name="steps"/> of the current run is done.</summary>
    protected void StepDone(int step, int steps)
    {
        if (Progressed != null && steps > 0) Progressed((part + (step + 1.0) / steps) / parts);
    }

    /// <summary>
    /// AutoAttack's outer loop (APGD, FAB, Square): for each round — a target class when <paramref name="targeted"/>,
    /// the (r + 2)-th largest clean logit, runner-up first — and each restart, <paramref name="single"/> attacks the
    /// points still correctly classified (x, y, target, their noise, round, restart) and says which it fooled and
    /// with what point. A fooled point keeps that point; points never fooled keep x.
    /// </summary>
    protected Tensor AttackRemaining(Module model, Tensor x, Tensor y, int rounds, int restarts, bool targeted,
        Func<Tensor, Tensor, Tensor?, SampleNoise?, int, int, (Tensor Fooled, Tensor Points)> single, SampleNoise? fallbackNoise = null)
    {
        var batchNoise = Noise ?? fallbackNoise;
        var adv = x.Clone();
        Tensor robust;
        long classes;
        using (torch.NoGrad())
        {
            var clean = model.Forward(x);
            robust = clean.Argmax(1).Eq(y);
            classes = clean.Size(1);
        }
        if (targeted && rounds > classes - 1)
        {
            Warn($"{Name}: {rounds} target classes asked for but the model has {classes} classes; using {classes - 1}");
            rounds = (int)classes - 1;
        }
        parts = Math.Max(1, rounds * restarts);
        for (var r = 0; r < rounds; r++)
            for (var restart = 0; restart < restarts; restart++)
            {
                part = r * restarts + restart;
                using var scope = DisposeScope.Open();
                var idx = robust.Nonzero().Flatten();
                if (idx.NumEl == 0) return adv;
                var noise = batchNoise?.Subset(idx.ToArray<long>());
                var xs = x.IndexSelect(0, idx);
                var ys = y.IndexSelect(0, idx);
                Tensor? target = null;
                if (targeted)
                    using (torch.NoGrad()) target = model.Forward(xs).Sort(1).Indices.Select(1, -(r + 2));
                var (fooled, points) = single(xs, ys, target, noise, r, restart);
                var hit = fooled.Nonzero().Flatten();
                if (hit.NumEl == 0) continue;
                var where = idx.IndexSelect(0, hit);
                adv.IndexPut_(where, points.IndexSelect(0, hit));
                robust.IndexPut_(where, torch.Zeros([where.NumEl], DType.Bool, x.Device));
            }
        return adv;
    }

    /// <summary>Uniform [0, 1) noise shaped like x: the rows' own streams when known, else the global generator.</summary>
    protected Tensor UniformLike(Tensor x, SampleNoise? noise, params long[] stream) =>
        noise == null ? torch.RandLike(x) : noise.Uniform(SampleNoise.Stream(stream), PerSampleShape(x), x.Device, x.DType);

    /// <summary>Standard normal noise shaped like x, as <see cref="UniformLike"/>.</summary>
    protected Tensor NormalLike(Tensor x, SampleNoise? noise, params long[] stream) =>
        noise == null ? torch.RandnLike(x) : noise.Normal(SampleNoise.Stream(stream), PerSampleShape(x), x.Device, x.DType);

    private static long[] PerSampleShape(Tensor x) => x.Shape[1..];

    protected abstract Tensor Run(Module model, Tensor x, Tensor y);

    /// <summary>The gradient of the loss at x_adv with respect to x_adv alone (no weight gradients).</summary>
    protected static Tensor InputGradient(Module model, Tensor xAdv, Tensor y, IAttackLoss loss, Tensor? natural)
    {
        var point = xAdv.Detach().RequiresGrad_();
        using var logits = model.Forward(point);
        using var value = loss.Compute(logits, y, natural);
        var g = Autograd.Grad(value, point);
        point.Dispose();
        return g;
    }

    /// <summary>
    /// Runs <paramref name="steps"/> updates of an iterate kept outside every scope: each step gets the current point
    /// and returns the next, and its temporaries are freed as it ends. The result joins the caller's scope.
    /// </summary>
    protected static Tensor Iterate(Tensor start, int steps, Func<Tensor, Tensor> step)
    {
        var current = start.DetachFromScope();
        try
        {
            for (var k = 0; k < steps; k++)
            {
                using var scope = DisposeScope.Open();
                var next = step(current).DetachFromScope();
                current.Dispose();
                current = next;
            }
            return current.AttachToCurrentScope();
        }
        catch
        {
            current.Dispose();
            throw;
        }
    }

    /// <summary>Projects x_adv onto the eps-ball around x (Linf or L2) and then, with <paramref name="box"/>, onto the [0, 1] box.</summary>
    public static Tensor Project(Tensor xAdv, Tensor x, double eps, Norm norm, bool box = true)
    {
        using var delta = xAdv - x;
        if (norm == Norm.Linf) delta.Clamp_(-eps, eps);
        else
        {
            using var n = PerSampleNorm(delta, 2).Clamp_(min: 1e-12);
            using var factor = n.RDiv(eps).Clamp_(max: 1.0);
            delta.Mul_(factor);
        }
        var projected = x + delta;
        return box ? projected.Clamp_(0, 1) : projected;
    }

    /// <summary>Projects x_adv onto this attack's eps-ball around x, and onto the box when <see cref="ClampToBox"/>.</summary>
    protected Tensor Project(Tensor xAdv, Tensor x) => Project(xAdv, x, Eps, Norm, ClampToBox);

    /// <summary>The p-norm of each sample, shaped [N, 1, 1, 1] for broadcasting.</summary>
    public static Tensor PerSampleNorm(Tensor t, double p)
    {
        using var flat = t.Flatten(1);
        using var n = flat.Norm(p, 1);
        return n.View(BroadcastShape(t));
    }

    /// <summary>The size of each sample's perturbation in the given norm, shaped [N].</summary>
    public static Tensor PerturbationNorm(Tensor delta, Norm norm)
    {
        using var flat = delta.Flatten(1);
        return flat.Norm(norm == Norm.Linf ? double.PositiveInfinity : 2, [1]);
    }

    protected static long[] BroadcastShape(Tensor t)
    {
        var shape = new long[t.Dim];
        Array.Fill(shape, 1L);
        shape[0] = t.Size(0);
        return shape;
    }

    /// <summary>A random start point inside the eps-ball (clamped to the box); restart r draws its own noise.</summary>
    protected Tensor StartPoint(Tensor x, double eps, Norm norm, RandomStart start, int restart = 0)
    {
        switch (start)
        {
            case RandomStart.None:
                return x.Clone();
            case RandomStart.Normal:
                using (var noise = NormalLike(x, Noise, 1, restart)) return Box(x + noise.Mul_(0.001));
            default:
                if (norm == Norm.Linf)
                {
                    using var u = UniformLike(x, Noise, 2, restart).Mul_(2).Sub_(1).Mul_(eps);
                    return Box(x + u);
                }
                // Uniform radius in the L2 ball along a uniformly random direction, as torchattacks' PGDL2 does.
                using (var d = NormalLike(x, Noise, 3, restart))
                {
                    using var n = PerSampleNorm(d, 2).Clamp_(min: 1e-12);
                    using var r = Noise == null
                        ? torch.Rand([x.Size(0)], x.DType, x.Device).View(BroadcastShape(x))
                        : Noise.Uniform(SampleNoise.Stream(4, restart), [1, 1, 1], x.Device, x.DType).View(BroadcastShape(x));
                    d.Div_(n).Mul_(r).Mul_(eps);
                    return Box(x + d);
                }
        }
    }

    private Tensor Box(Tensor t) => ClampToBox ? t.Clamp_(0, 1) : t;

    /// <summary>One ascent step: sign of the gradient (Linf) or the L2-normalised gradient, times alpha.</summary>
    protected static void Ascend(Tensor xAdv, Tensor grad, double alpha, Norm norm)
    {
        if (norm == Norm.Linf)
        {
            xAdv.Add_(grad.Sign_(), alpha);
            return;
        }
        using var n = PerSampleNorm(grad, 2).Add_(1e-10);
        xAdv.Add_(grad.Div_(n), alpha);
    }

    public override string ToString() => $"{Name} ({Norm}, eps {Eps:G4})";
}
