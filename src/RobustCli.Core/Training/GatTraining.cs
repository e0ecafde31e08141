using System.Globalization;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Models;
using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Training;

/// <summary>GAT's settings, one per option of its registration.</summary>
public sealed record GatSettings
{
    public IReadOnlyList<string> Tasks { get; init; } = [GatTasks.Rotation, GatTasks.Jigsaw];
    /// <summary>"ew" (sum of the losses) or "mgda" (the min-norm combination of the encoder's task gradients).</summary>
    public string Weighting { get; init; } = "mgda";
    /// <summary>Weight of |R|, the gradient-curvature regulariser; 0 leaves it (and its two extra passes) out.</summary>
    public double Curvature { get; init; }
    /// <summary>"madry": (1 − β)·clean + β·adversarial on the classification tasks; "trades": clean + trades_beta · KL.</summary>
    public string Algorithm { get; init; } = "madry";
    public double AdversarialWeight { get; init; } = 0.5;
    public double TradesBeta { get; init; } = 6;
    public double RotationWeight { get; init; } = 1;
    public double JigsawWeight { get; init; } = 1;
    public int JigsawClasses { get; init; } = 10;
    public double JigsawIdentity { get; init; } = 0.1;

    /// <summary>The tasks in the official order of losses: main, macro, jigsaw, rotation (then the curvature term).</summary>
    public IReadOnlyList<string> Ordered => GatTasks.All.Where(Tasks.Contains).ToList();
}

/// <summary>A batch as GAT trains on it: the transformed images and each auxiliary task's labels (class indices).</summary>
public sealed record GatBatch(Tensor Inputs, IReadOnlyDictionary<string, Tensor> Labels) : IDisposable
{
    public void Dispose()
    {
        Inputs.Dispose();
        foreach (var t in Labels.Values) t.Dispose();
    }
}

/// <summary>The loss terms of one GAT step, in order (main, macro, jigsaw, rotation, curvature), and the logits scored.</summary>
public sealed record GatLosses(IReadOnlyList<(string Name, Tensor Loss)> Terms, Tensor CleanLogits, Tensor AdversarialLogits);

/// <summary>
/// Guided Adversarial Training (Ghamizi, Zhang et al., ICML 2023; taskaugment branch icml23, utils/train_utils.py):
/// adversarial training of a shared encoder with auxiliary tasks. Per batch: the jigsaw then the rotation
/// transformation of the batch itself; PGD on the main task's loss alone (BCE on one-hot labels, the model in eval
/// mode); then, in train mode, the adversarial and the clean forward passes and the loss terms — each
/// classification task (main, macro) mixes clean and adversarial BCE (MADRY) or adds TRADES' KL, each
/// self-supervised task (jigsaw, rotation) is a soft cross entropy on the clean pass, and the curvature regulariser
/// R = (1 − cos²(g1, g2))·‖g1 − g2‖²/‖g1 + g2‖² of the input gradients of the main and the next task's BCE is one
/// more term. With <c>ew</c> the loop backpropagates their sum; with <c>mgda</c> the encoder's gradient is the
/// min-norm combination of the terms' encoder gradients and each head keeps the gradient its terms give it (LibMTL's
/// MGDA, no gradient normalisation). The method owns the optimisation step for that; clipping, the optimizer and
/// the EMA stay the loop's.
/// </summary>
public sealed class GatTraining : ITrainingMethod, IOwnsOptimizationStep
{
    private static readonly string[] Terms = ["main", GatTasks.Macro, GatTasks.Jigsaw, GatTasks.Rotation, "curvature"];

    public static readonly MethodRegistration Registration = new("gat",
        "GAT (Ghamizi, Zhang et al. 2023): AT of a shared encoder with auxiliary tasks (rotation, jigsaw, macro), MGDA task weights and a curvature regulariser; needs a multitask-* model",
        new OptionDeclaration(
        [
            OptionSpec.Names("tasks", [GatTasks.Rotation, GatTasks.Jigsaw], "auxiliary tasks, each with its own head (macro: the dataset's class groups)", GatTasks.All),
            OptionSpec.Choice("weighting", "mgda", "how the encoder's task gradients combine: ew (their sum) or mgda (the min-norm point, Pareto-stationary)", "ew", "mgda"),
            OptionSpec.Double("curvature", 0, "weight of the gradient-curvature regulariser |R| across the first two tasks (0: off; the official --force_cosine uses 1)", min: 0),
            OptionSpec.Choice("algorithm", "madry", "how the classification tasks use the adversarial batch: madry (a clean/adversarial mix) or trades", "madry", "trades"),
            OptionSpec.Double("adversarial_weight", 0.5, "madry: the adversarial share of the classification loss (the official beta)", min: 0, max: 1),
            OptionSpec.Double("trades_beta", 6, "trades: the weight of the KL term", min: 0),
            OptionSpec.Double("rotation_weight", 1, "weight of the rotation loss (--loss_rot)", min: 0),
            OptionSpec.Double("jigsaw_weight", 1, "weight of the jigsaw loss (--loss_jigsaw)", min: 0),
            OptionSpec.Int("jigsaw_classes", 10, "jigsaw classes: the identity and jigsaw_classes − 1 fixed tile permutations", min: 2, max: 1000),
            OptionSpec.Double("jigsaw_identity", 0.1, "probability that a jigsaw label is forced to the identity", min: 0, max: 1),
        ], o => o.Double("curvature") > 0 && o.Names("tasks").Count == 0
            ? [new OptionError("curvature", "the curvature regulariser compares two tasks' gradients: add an auxiliary task to train.gat.tasks or set curvature to 0")]
            : []),
        b => new GatTraining(Settings(b.Options), b.Attack, b.Seed, b.Dataset?.Macro, b.EpsWarmupEpochs))
    {
        Models = [MultiTaskNetwork.ResNet18.Name, MultiTaskNetwork.ResNet50.Name, MultiTaskNetwork.Wrn.Name],
        Heads = (o, dataset) => HeadsFor(Settings(o), dataset),
        Columns = [.. Terms.Select(t => $"gat_{t}_loss"), .. Terms.Select(t => $"gat_w_{t}"), "gat_mgda_unconverged"],
    };

    public static GatSettings Settings(OptionValues o) => new()
    {
        Tasks = o.Names("tasks"),
        Weighting = o.String("weighting"),
        Curvature = o.Double("curvature"),
        Algorithm = o.String("algorithm"),
        AdversarialWeight = o.Double("adversarial_weight"),
        TradesBeta = o.Double("trades_beta"),
        RotationWeight = o.Double("rotation_weight"),
        JigsawWeight = o.Double("jigsaw_weight"),
        JigsawClasses = o.Int("jigsaw_classes"),
        JigsawIdentity = o.Double("jigsaw_identity"),
    };

    /// <summary>The heads the model needs: one per auxiliary task, in the official order.</summary>
    public static IReadOnlyList<TaskHead> HeadsFor(GatSettings s, DatasetSpec dataset)
    {
        if (s.Tasks.Contains(GatTasks.Macro) && dataset.Macro == null)
            throw new ArgumentException($"the macro task needs class groups, and {dataset.Name} has none (cifar10, cifar100 and fashion-mnist have them)");
        return s.Ordered.Select(t => GatTasks.Head(t, s.JigsawClasses, dataset.Macro)).ToList();
    }

    private readonly GatSettings settings;
    private readonly AttackSettings attack;
    private readonly int seed, epsWarmupEpochs;
    private readonly MacroClasses? macro;
    private readonly int[][] permutations;
    private readonly double[] lossSums = new double[Terms.Length], weightSums = new double[Terms.Length];
    private readonly long[] counts = new long[Terms.Length];
    private double[] lastLoss = Enumerable.Repeat(double.NaN, Terms.Length).ToArray(), lastWeight = Enumerable.Repeat(double.NaN, Terms.Length).ToArray();

    public GatTraining(GatSettings settings, AttackSettings attack, int seed, MacroClasses? macro = null, int epsWarmupEpochs = 0)
    {
        if (settings.Tasks.Contains(GatTasks.Macro) && macro == null) throw new ArgumentException("the macro task needs the dataset's class groups");
        this.settings = settings;
        this.attack = attack;
        this.seed = seed;
        this.macro = macro;
        this.epsWarmupEpochs = epsWarmupEpochs;
        permutations = GatTasks.JigsawPermutations(settings.JigsawClasses, SeedMix.Of(seed, 0x1195));
    }

    public string Name => "gat";
    /// <summary>The run's fixed jigsaw permutations (drawn once from the seed).</summary>
    public int[][] Permutations => permutations;
    /// <summary>MGDA solves that ran out of Frank-Wolfe iterations (their last iterate was used), over the run.</summary>
    public long UnconvergedSolves { get; private set; }
    private long unconvergedThisEpoch, lastUnconverged;

    /// <summary>The batch's transformations and labels: jigsaw, then rotation, drawn from (seed, epoch, batch).</summary>
    public GatBatch Prepare(StepContext ctx, Tensor x, Tensor y)
    {
        var rng = new Random(SeedMix.Of(seed, ctx.Epoch, ctx.Batch, 0x6a7));
        var labels = new Dictionary<string, Tensor>();
        var inputs = x.Clone();
        var b = (int)x.Size(0);
        if (settings.Tasks.Contains(GatTasks.Macro))
        {
            var classes = y.Cpu().ToArray<long>();
            labels[GatTasks.Macro] = torch.From(macro!.Labels(classes), [b]).To(x.Device);
        }
        if (settings.Tasks.Contains(GatTasks.Jigsaw))
        {
            var orders = GatTasks.JigsawOrders(b, settings.JigsawClasses, settings.JigsawIdentity, rng);
            var shuffled = GatTasks.Shuffle(inputs, orders, permutations);
            inputs.Dispose();
            inputs = shuffled;
            labels[GatTasks.Jigsaw] = torch.From(orders, [b]).To(x.Device);
        }
        if (settings.Tasks.Contains(GatTasks.Rotation))
        {
            var turns = GatTasks.BalancedRotations(b, rng);
            var rotated = GatTasks.Rotate(inputs, turns);
            inputs.Dispose();
            inputs = rotated;
            labels[GatTasks.Rotation] = torch.From(turns, [b]).To(x.Device);
        }
        return new GatBatch(inputs, labels);
    }

    public MethodOutput Compute(StepContext ctx, Tensor x, Tensor y) =>
        throw new NotSupportedException("gat owns its optimisation step (IOwnsOptimizationStep.Step)");

    public StepResult Step(StepContext ctx, Tensor x, Tensor y, IOptimizationStep step)
    {
        var model = ctx.Model as MultiTaskNetwork
            ?? throw new InvalidOperationException($"the gat method trains a multi-task model (model.arch: multitask-resnet18, multitask-resnet50, multitask-wrn), not {ctx.Model.GetType().Name}");
        using var scope = DisposeScope.Open();
        using var batch = Prepare(ctx, x, y);
        var clean = MethodSteps.CleanOutput(ctx, batch.Inputs);
        var a = attack.At(ctx.Epoch, epsWarmupEpochs);
        IAttackLoss attackLoss = settings.Algorithm == "trades" ? new TradesKlLoss() : new OneHotBceLoss();
        var adv = ctx.Perturb(new PgdAttack("train", a.Eps, a.Alpha, a.Steps, a.Norm, a.Start, 1, attackLoss), batch.Inputs, y);
        model.Train();
        var losses = Losses(model, batch, adv, y, settings);
        var weights = Backward(model, losses.Terms, settings.Weighting, step, out var converged);
        if (!converged)
        {
            UnconvergedSolves++;
            unconvergedThisEpoch++;
        }
        step.Apply();
        double total = 0;
        for (var i = 0; i < losses.Terms.Count; i++)
        {
            var k = Array.IndexOf(Terms, losses.Terms[i].Name);
            var v = losses.Terms[i].Loss.Item();
            total += v;
            lossSums[k] += v;
            weightSums[k] += weights[i];
            counts[k]++;
        }
        var advLogits = losses.AdversarialLogits.Detach();
        clean?.MoveToOuterScope();
        advLogits.MoveToOuterScope();
        return new StepResult(total, clean, advLogits);
    }

    /// <summary>
    /// The loss terms of a batch on the model in its current mode: the adversarial pass first, then the clean one
    /// (the official order, which BatchNorm's running statistics follow), then the curvature term's two passes.
    /// </summary>
    public static GatLosses Losses(MultiTaskNetwork model, GatBatch batch, Tensor adv, Tensor y, GatSettings s)
    {
        using var scope = DisposeScope.Open();
        var tasks = s.Ordered;
        var onAdv = tasks.Contains(GatTasks.Macro)
            ? model.ForwardAll(adv)
            : new Dictionary<string, Tensor> { ["logits"] = model.Forward(adv) };
        var onClean = model.ForwardAll(batch.Inputs);
        var terms = new List<(string, Tensor)> { ("main", ClassificationLoss(onClean["logits"], onAdv["logits"], y, s)) };
        foreach (var t in tasks)
        {
            var labels = batch.Labels[t];
            terms.Add((t, t switch
            {
                GatTasks.Macro => ClassificationLoss(onClean[t], onAdv[t], labels, s),
                GatTasks.Jigsaw => SoftCrossEntropy(onClean[t], labels) * s.JigsawWeight,
                _ => SoftCrossEntropy(onClean[t], labels) * s.RotationWeight,
            }));
        }
        if (s.Curvature > 0)
        {
            var second = tasks[0];
            var r = Curvature(model, batch.Inputs, y, second, batch.Labels[second]);
            // As the official code: a batch whose regulariser is NaN (a zero gradient) trains without it.
            if (!double.IsNaN(r.Item())) terms.Add(("curvature", r.Abs() * s.Curvature));
        }
        foreach (var (_, l) in terms) l.MoveToOuterScope();
        var cleanLogits = onClean["logits"].Detach().MoveToOuterScope();
        var advLogits = onAdv["logits"].Detach().MoveToOuterScope();
        return new GatLosses(terms, cleanLogits, advLogits);
    }

    /// <summary>A classification task's loss: MADRY's (1 − β)·BCE(clean) + β·BCE(adv), or TRADES' BCE(clean) + beta·KL(clean ‖ adv)/B.</summary>
    public static Tensor ClassificationLoss(Tensor clean, Tensor adv, Tensor labels, GatSettings s)
    {
        using var c = OneHotBceLoss.Of(clean, labels);
        if (s.Algorithm == "trades")
        {
            using var logAdv = F.LogSoftmax(adv, 1);
            using var logClean = F.LogSoftmax(clean, 1);
            using var pClean = logClean.Exp();
            using var gap = logClean - logAdv;
            using var pointwise = pClean * gap;
            using var kl = pointwise.Sum();
            using var scaled = kl * (s.TradesBeta / clean.Size(0));
            return c + scaled;
        }
        using var a = OneHotBceLoss.Of(adv, labels);
        using var cleanPart = c * (1 - s.AdversarialWeight);
        using var advPart = a * s.AdversarialWeight;
        return cleanPart + advPart;
    }

    /// <summary>taskaugment's soft cross entropy on one-hot labels: the mean over samples and classes of −y·log softmax (CE / C).</summary>
    public static Tensor SoftCrossEntropy(Tensor logits, Tensor labels)
    {
        using var oneHot = F.OneHot(labels, logits.Size(1));
        using var target = oneHot.To(logits.DType);
        using var logp = F.LogSoftmax(logits, 1);
        using var prod = target * logp;
        using var mean = prod.Mean();
        return mean.Neg();
    }

    /// <summary>
    /// The curvature regulariser (official force_cosine, its plain form): g1, g2 the input gradients (create_graph)
    /// of the BCE on one-hot labels of the main task and of <paramref name="task"/>, each from its own forward pass;
    /// per sample R = (1 − cos²(g1, g2))·‖g1 − g2‖²/‖g1 + g2‖², averaged over the batch.
    /// </summary>
    public static Tensor Curvature(MultiTaskNetwork model, Tensor inputs, Tensor y, string task, Tensor taskLabels)
    {
        using var scope = DisposeScope.Open();
        Tensor InputGradient(string output, Tensor labels)
        {
            var xi = inputs.Detach().Clone().RequiresGrad_();
            var outs = model.ForwardAll(xi);
            var loss = OneHotBceLoss.Of(outs[output], labels);
            return Autograd.Grad([loss], [xi], retainGraph: true, createGraph: true)[0]!.Flatten(1);
        }
        var g1 = InputGradient("logits", y);
        var g2 = InputGradient(task, taskLabels);
        var dot = (g1 * g2).Sum(1);
        var n1 = g1.Square().Sum(1);
        var n2 = g2.Square().Sum(1);
        // torch.cosine_similarity's form: x1·x2 / sqrt(max(‖x1‖²‖x2‖², eps²)).
        var cos = dot / (n1 * n2).Clamp(1e-16).Sqrt();
        var diff = (g1 - g2).Square().Sum(1);
        var sum = (g1 + g2).Square().Sum(1);
        var r = ((1 - cos.Square()) * diff / sum).Mean();
        return r.MoveToOuterScope();
    }

    /// <summary>
    /// Puts the step's gradients in the parameters' .grad: for ew the sum's; for mgda, per term, the encoder's
    /// gradient, the min-norm weights of their Gram matrix, the encoder's gradient set to the weighted sum, and the
    /// heads' gradients summed over the terms (LibMTL's backward). Returns the weights.
    /// </summary>
    public static double[] Backward(MultiTaskNetwork model, IReadOnlyList<(string Name, Tensor Loss)> terms, string weighting,
        IOptimizationStep step, out bool converged)
    {
        step.ZeroGrad();
        converged = true;
        if (weighting == "ew" || terms.Count == 1)
        {
            using var total = terms.Skip(1).Aggregate(terms[0].Loss.Clone(), (acc, t) => acc.Add_(t.Loss));
            total.Backward();
            return Enumerable.Repeat(1.0, terms.Count).ToArray();
        }
        using var scope = DisposeScope.Open();
        var named = model.NamedParameters().Where(p => p.Parameter.RequiresGrad).ToList();
        var shared = named.Where(p => p.Name.StartsWith("encoder.", StringComparison.Ordinal)).Select(p => p.Parameter).ToList();
        var heads = named.Where(p => !p.Name.StartsWith("encoder.", StringComparison.Ordinal)).Select(p => p.Parameter).ToList();
        var all = shared.Concat(heads).ToList();
        var taskVectors = new List<Tensor>();
        var headGrads = new Tensor?[heads.Count];
        for (var t = 0; t < terms.Count; t++)
        {
            var grads = Autograd.Grad([terms[t].Loss], all, retainGraph: t < terms.Count - 1, allowUnused: true);
            taskVectors.Add(torch.Cat(shared.Select((p, i) => (grads[i] ?? torch.ZerosLike(p)).Flatten()).ToList(), 0));
            for (var h = 0; h < heads.Count; h++)
                if (grads[shared.Count + h] is { } g) headGrads[h] = headGrads[h] is { } acc ? acc + g : g;
        }
        var g2 = torch.Stack(taskVectors, 0);
        var gram = g2.Mm(g2.Transpose(0, 1)).To(DType.Float64).Cpu().ToArray<double>();
        var n = terms.Count;
        var matrix = new double[n, n];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++) matrix[i, j] = gram[i * n + j];
        var solution = MinNormSolver.Solve(matrix);
        converged = solution.Converged;
        using var w64 = torch.From(solution.Weights, [n, 1]);
        using var w = w64.To(g2.Device, g2.DType);
        var combined = (g2 * w).Sum(0);
        long offset = 0;
        using (torch.NoGrad())
        {
            foreach (var p in shared)
            {
                var count = p.NumEl;
                p.Grad = combined.Narrow(0, offset, count).View(p.Shape).Clone();
                offset += count;
            }
            for (var h = 0; h < heads.Count; h++)
                if (headGrads[h] is { } g) heads[h].Grad = g.Detach().Clone();
        }
        return solution.Weights;
    }

    public void OnEpochEnd(EpochEnd info)
    {
        lastLoss = lossSums.Select((s, i) => counts[i] == 0 ? double.NaN : s / counts[i]).ToArray();
        lastWeight = weightSums.Select((s, i) => counts[i] == 0 ? double.NaN : s / counts[i]).ToArray();
        Array.Clear(lossSums);
        Array.Clear(weightSums);
        Array.Clear(counts);
        lastUnconverged = unconvergedThisEpoch;
        unconvergedThisEpoch = 0;
    }

    // The epoch's running sums and the solver's count: a mid-epoch checkpoint keeps them, so the resumed epoch
    // reports the same averages.
    public Dictionary<string, object?> SaveState() => new()
    {
        ["loss_sums"] = lossSums.Select(v => (object?)v).ToList(),
        ["weight_sums"] = weightSums.Select(v => (object?)v).ToList(),
        ["counts"] = counts.Select(v => (object?)v).ToList(),
        ["unconverged_epoch"] = unconvergedThisEpoch,
        ["unconverged_total"] = UnconvergedSolves,
    };

    public void LoadState(IReadOnlyDictionary<string, object?> state)
    {
        // Checkpoints written before the sums were kept hold none: they were taken at an epoch's end, where the sums are 0.
        if (!state.ContainsKey("loss_sums")) return;
        static double[] Doubles(object? o) => ((System.Collections.IEnumerable)o!).Cast<object?>().Select(v => Convert.ToDouble(v, CultureInfo.InvariantCulture)).ToArray();
        var (losses, weights, n) = (Doubles(state["loss_sums"]), Doubles(state["weight_sums"]), Doubles(state["counts"]));
        if (losses.Length != Terms.Length || weights.Length != Terms.Length || n.Length != Terms.Length)
            throw new FormatException($"GAT state holds {losses.Length} terms, this run has {Terms.Length}");
        losses.CopyTo(lossSums, 0);
        weights.CopyTo(weightSums, 0);
        for (var i = 0; i < n.Length; i++) counts[i] = (long)n[i];
        unconvergedThisEpoch = Convert.ToInt64(state["unconverged_epoch"], CultureInfo.InvariantCulture);
        UnconvergedSolves = Convert.ToInt64(state["unconverged_total"], CultureInfo.InvariantCulture);
    }

    public IReadOnlyList<(string Column, double Value)> Metrics =>
    [
        .. Terms.Select((t, i) => ($"gat_{t}_loss", lastLoss[i])),
        .. Terms.Select((t, i) => ($"gat_w_{t}", lastWeight[i])),
        // Batches of the epoch whose MGDA solve ran out of iterations (the official code would have failed there).
        ("gat_mgda_unconverged", settings.Weighting == "mgda" ? lastUnconverged : double.NaN),
    ];
}
