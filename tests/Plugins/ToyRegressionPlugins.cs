using System.Diagnostics;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Models;
using RobustCli.Core.Registry;
using RobustCli.Core.Tasks;
using RobustCli.Core.Training;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Tests.Plugins;

/// <summary>
/// A third task, neither classification nor denoising, added the way a researcher would: regress a scalar (the
/// label divided by 9) from the image, scored by the negative squared error (higher is better, as best.pt
/// selection wants), attacked by PGD on the squared error. Its registration, a model and a method for it, and
/// nothing in generic code: training, the final evaluation, robust eval and robust report run it.
/// </summary>
public sealed class ToyRegressionTask : ITask
{
    public static readonly TaskRegistration Registration = new("toy-regression", "regress label/9 from the image; score: negative squared error (a test plug-in)",
        OptionDeclaration.None, _ => new ToyRegressionTask());

    public string Name => "toy-regression";
    public string Score => "neg_mse";
    public bool ScoreIsFraction => false;
    public IAttackLoss AttackLoss { get; } = new SquaredErrorLoss();

    public (Tensor X, Tensor Y) Prepare(Batch batch, ulong seed) => (batch.X, Target(batch.Y));

    private static Tensor Target(Tensor labels) => labels.To(DType.Float32).Div_(9.0);

    public Tensor Loss(Tensor output, Tensor target)
    {
        using var flat = output.Flatten();
        return F.MseLoss(flat, target);
    }

    public double ScoreSum(Tensor output, Tensor target)
    {
        using var scope = DisposeScope.Open();
        var d = output.Flatten() - target;
        return -(d * d).Sum().Item();
    }

    public TaskScores Evaluate(Module model, DataLoader data, Attack? attack, ulong seed)
    {
        var sw = Stopwatch.StartNew();
        var was = model.Training;
        model.Eval();
        var clean = new List<double>();
        var robust = attack == null ? null : new List<double>();
        try
        {
            foreach (var batch in data.Epoch(0))
            {
                using var owned = batch;
                using var scope = DisposeScope.Open();
                var y = Target(batch.Y);
                using (torch.NoGrad()) clean.AddRange(PerSample(model.Forward(batch.X), y));
                if (attack == null) continue;
                attack.Seed = seed;
                var adv = attack.Perturb(model, batch.X, y, sampleIds: batch.SampleIds);
                using (torch.NoGrad()) robust!.AddRange(PerSample(model.Forward(adv), y));
            }
        }
        finally
        {
            if (was) model.Train();
        }
        return new TaskScores(clean.Average(), robust?.Average() ?? double.NaN, clean.ToArray(), robust?.ToArray(), sw.Elapsed.TotalSeconds);
    }

    private static IEnumerable<double> PerSample(Tensor output, Tensor target)
    {
        var d = output.Flatten() - target;
        return (d * d).Neg().ToArray<float>().Select(v => (double)v);
    }

    /// <summary>The squared error of the prediction: what PGD ascends on this task.</summary>
    private sealed class SquaredErrorLoss : IAttackLoss
    {
        public string Name => "squared-error";

        public Tensor Compute(Tensor logits, Tensor labels, Tensor? naturalLogits)
        {
            using var flat = logits.Flatten();
            return F.MseLoss(flat, labels);
        }
    }
}

/// <summary>A small CNN with one output: the toy task's model.</summary>
public sealed class ToyRegressor : Module
{
    public static readonly ModelRegistration Registration = new("toy-regressor", "a small CNN with one output (a test plug-in)", OptionDeclaration.None,
        b => new ToyRegressor(b.InChannels)) { Tasks = ["toy-regression"] };

    private readonly Conv2d conv;
    private readonly Linear head;

    public ToyRegressor(int inChannels)
    {
        conv = RegisterModule("conv", new Conv2d(inChannels, 8, 3, padding: 1));
        head = RegisterModule("head", new Linear(8 * 7 * 7, 1));
    }

    public override Tensor Forward(Tensor x)
    {
        using var a = conv.Forward(x).Relu_();
        using var p = F.MaxPool2d(a, 4);
        using var flat = p.Flatten(1);
        return head.Forward(flat);
    }
}

/// <summary>Plain training on the task's loss (the toy task's method).</summary>
public sealed class ToyFitTraining : ITrainingMethod
{
    public static readonly MethodRegistration Registration = new("toy-fit", "the task's loss on clean inputs (a test plug-in)", OptionDeclaration.None,
        _ => new ToyFitTraining()) { Tasks = ["toy-regression"] };

    public string Name => "toy-fit";

    public MethodOutput Compute(StepContext ctx, Tensor x, Tensor y)
    {
        ctx.Model.Train();
        var output = ctx.Model.Forward(x);
        return new MethodOutput(ctx.Task.Loss(output, y), output, null);
    }
}
