using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Tasks;

/// <summary>Clean and robust scores of a model on a data set (accuracy, PSNR), and the per-sample values behind them.</summary>
public sealed record TaskScores(double Clean, double Robust, double[] CleanPerSample, double[]? RobustPerSample, double Seconds);

/// <summary>
/// What is learned: what a batch holds (images and labels; clean images and noisy observations), what the model's
/// outputs are scored by (accuracy; PSNR), the training loss and the attacks' loss, and how an evaluation measures
/// clean and robust scores. Metrics columns are named from <see cref="Score"/>: train_clean_acc, val_robust_psnr.
/// </summary>
public interface ITask
{
    string Name { get; }
    /// <summary>The short name of the score in column names: "acc", "psnr".</summary>
    string Score { get; }
    /// <summary>How the score is printed: a percentage (accuracy) or decibels.</summary>
    bool ScoreIsFraction { get; }
    /// <summary>Inputs are images in [0, 1], so attacks keep x_adv in the box (a denoiser's unclipped observation is not).</summary>
    bool InputsInBox => true;
    /// <summary>The model output the task reads ("logits" for a classifier; see <see cref="Models.IMultiOutput"/>).</summary>
    string Output => "logits";

    /// <summary>The training inputs and targets from a loaded batch (images, labels); denoising makes the noisy observation here.</summary>
    (Tensor X, Tensor Y) Prepare(Batch batch, ulong seed);
    Tensor Loss(Tensor output, Tensor target);
    IAttackLoss AttackLoss { get; }
    /// <summary>
    /// The objective that attacks named in an evaluation (eval.*, robust eval) must use, or null when each attack keeps
    /// its own (classification: CW's margin, APGD's DLR); a task with one sets it, and attacks that cannot take it are refused.
    /// </summary>
    IAttackLoss? EvaluationLoss => AttackLoss;
    /// <summary>The sum over the batch of the per-sample score of the outputs.</summary>
    double ScoreSum(Tensor output, Tensor target);

    /// <summary>Clean and (with an attack) robust scores over a data set, in eval mode; the model's mode is restored.</summary>
    TaskScores Evaluate(Module model, DataLoader data, Attack? attack, ulong seed);

    /// <summary>The metrics.csv score columns, in order.</summary>
    IReadOnlyList<string> Columns => [$"train_clean_{Score}", $"train_adv_{Score}", $"val_clean_{Score}", $"val_robust_{Score}", $"test_clean_{Score}", $"test_robust_{Score}"];
    /// <summary>The column best.pt is chosen by (higher is better).</summary>
    string SelectionColumn => $"val_robust_{Score}";

    /// <summary>
    /// The evaluation a run ends with and robust eval runs on a checkpoint of this task: what it measures and the rows
    /// it is written as. By default the clean score and the score under each attack (<see cref="ScoreEvaluation"/>).
    /// </summary>
    TaskEvaluation Measure(TaskEvaluationRequest request) => ScoreEvaluation.Run(this, request);

    /// <summary>
    /// Its evaluation is a per-sample robust accuracy (<see cref="Evaluation.RobustnessEvaluator"/>), so what builds on
    /// one applies: AutoAttack, transfer from another model, the hypocritical risk, robustness curves, shards and
    /// merges, adversarial examples saved as tensors, a model's named outputs evaluated apart.
    /// </summary>
    bool MeasuresRobustAccuracy => false;

    /// <summary>What levels (robust eval --sigma) mean for this task, e.g. "noise levels in /255 units"; null: it takes none.</summary>
    string? Levels => null;

    /// <summary>A score of this task as people read it (a summary key such as "pgd20" or "ssim gaussian@25", or <see cref="Score"/>): 65.72% or 28.31 dB.</summary>
    string Format(string key, double value) => !double.IsFinite(value) ? "-"
        : ScoreIsFraction ? (100 * value).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) + "%" : value.ToString("F4", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A batch's targets come from the dataset's labels; false: the task makes its own (denoising trains on pictures without labels).</summary>
    bool NeedsLabels => true;

    /// <summary>The attacks robust eval runs when none is named.</summary>
    IReadOnlyList<string> DefaultAttacks => ["pgd20"];
}
