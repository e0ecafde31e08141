using System.Diagnostics;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Evaluation;
using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Tasks;

/// <summary>Image classification: a batch is images and labels, outputs are logits, scored by accuracy; cross entropy.</summary>
public sealed class ClassificationTask : ITask
{
    public static readonly ClassificationTask Instance = new();

    public static readonly TaskRegistration Registration = new("classification", "image classification: accuracy and robust accuracy",
        OptionDeclaration.None, _ => Instance);

    public string Name => "classification";
    public string Score => "acc";
    public bool ScoreIsFraction => true;
    public IAttackLoss AttackLoss { get; } = new CrossEntropyAttackLoss();
    public IAttackLoss? EvaluationLoss => null;

    public (Tensor X, Tensor Y) Prepare(Batch batch, ulong seed) => (batch.X, batch.Y);

    public Tensor Loss(Tensor output, Tensor target) => F.CrossEntropy(output, target);

    public double ScoreSum(Tensor output, Tensor target)
    {
        using var scope = DisposeScope.Open();
        var predictions = output.Dim == 1 ? output : output.Argmax(1);
        return predictions.Eq(target).Sum().ItemLong();
    }

    public TaskScores Evaluate(Module model, DataLoader data, Attack? attack, ulong seed)
    {
        var sw = Stopwatch.StartNew();
        var r = RobustnessEvaluator.Evaluate(model, data, attack == null ? [] : [attack]);
        var clean = r.Clean.Select(c => c ? 1.0 : 0.0).ToArray();
        var robust = attack == null ? null : r.Suite(attack.Name).Robust.Select((b, i) => b && r.Clean[i] ? 1.0 : 0.0).ToArray();
        return new TaskScores(r.CleanAccuracy, attack == null ? double.NaN : r.RobustAccuracy(attack.Name), clean, robust, sw.Elapsed.TotalSeconds);
    }
}
