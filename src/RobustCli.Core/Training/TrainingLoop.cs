using System.Diagnostics;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Evaluation;
using RobustCli.Core.Models;
using RobustCli.Core.Tasks;
using RobustCli.Torch;
using RobustCli.Torch.nn;
using RobustCli.Torch.optim;

namespace RobustCli.Core.Training;

/// <summary>
/// One row of metrics.csv: epoch, lr and loss, the task's score columns (train_clean_acc ... test_robust_acc, or
/// the _psnr ones), time, throughput and the method's columns. Accuracies are fractions in [0, 1]; NaN where not
/// measured this epoch.
/// </summary>
public sealed record EpochMetrics(int Epoch, double LearningRate, double TrainLoss, IReadOnlyList<(string Column, double Value)> Scores,
    double Seconds, double ImagesPerSecond, IReadOnlyList<(string Column, double Value)> Extra)
{
    public double Score(string column)
    {
        foreach (var (c, v) in Scores) if (c == column) return v;
        return double.NaN;
    }

    private double Nth(int i) => i < Scores.Count ? Scores[i].Value : double.NaN;
    // The task's columns in their fixed order: train clean, train adversarial, validation clean and robust, test clean and robust.
    public double TrainCleanAccuracy => Nth(0);
    public double TrainAdversarialAccuracy => Nth(1);
    public double ValidationCleanAccuracy => Nth(2);
    public double ValidationRobustAccuracy => Nth(3);
    public double TestCleanAccuracy => Nth(4);
    public double TestRobustAccuracy => Nth(5);
}

/// <summary>Where the loop reports; the experiment layer writes logs, CSV rows and checkpoints from these calls.</summary>
public interface ITrainingObserver
{
    void OnEpochStart(int epoch, int batches) { }
    void OnBatch(int epoch, int batch, int batches, double loss, double imagesPerSecond) { }
    /// <summary>After each batch's step, with the epoch's running sums: where a mid-epoch checkpoint is taken.</summary>
    void OnBatchEnd(EpochProgress progress, int batches) { }
    /// <summary>After the epoch's evaluation; <paramref name="epoch"/> is 0-based and the state is that after it.</summary>
    void OnEpochEnd(int epoch, EpochMetrics metrics);
}

public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>
/// The epoch loop: for each batch, set the learning rate, let the task prepare the batch and the method compute its
/// loss, take the optimisation step (<see cref="OptimizationStep"/>: backward, clipping, optimizer, EMA) and score
/// the outputs; at each epoch's end, validation (clean and robust), the method's hook, and test evaluation when
/// scheduled — on the EMA weights when there are some. The reports the model offers what they need for
/// (<see cref="EpochReports"/>: an expert ensemble's per-expert accuracies) add their columns after the method's. One DisposeScope per batch keeps memory flat. A NaN or
/// infinite loss stops the run with TrainingDivergedException.
/// </summary>
public sealed class TrainingLoop(Module model, OptimizationStep step, LrSchedule schedule, bool schedulePerStep, ITrainingMethod method,
    DataLoader train, int numClasses, DataLoader? validation, Attack? validationAttack, DataLoader? test, Attack? testAttack, int testEvery)
{
    public ITask Task { get; init; } = ClassificationTask.Instance;
    /// <summary>Spend an eval-mode forward per batch on train_clean_acc (train.log_clean_accuracy).</summary>
    public bool LogCleanAccuracy { get; init; } = true;
    /// <summary>The run's seed: per-sample attack noise and denoising observations derive from it.</summary>
    public int Seed { get; init; }

    private Optimizer Optimizer => step.Optimizer;

    /// <summary>The model validation and tests measure instead of the trained one: the EMA of the weights, when kept.</summary>
    public Module? EvaluationModel { get; init; }

    /// <summary>What validation and tests measure: the EMA of the weights when kept, else the trained model.</summary>
    public Module EvaluatedModel => EvaluationModel ?? step.Average?.Model ?? model;

    /// <param name="resume">An epoch a mid-epoch checkpoint left part-done: it continues after its last batch with its sums.</param>
    public void Run(int startEpoch, int epochs, ITrainingObserver observer, CancellationToken cancel = default, EpochProgress? resume = null)
    {
        if (resume != null && (resume.Epoch != startEpoch || resume.BatchesDone < 0 || resume.BatchesDone > train.BatchesPerEpoch))
            throw new ArgumentException($"a mid-epoch state of epoch {resume.Epoch + 1} after {resume.BatchesDone} batches cannot resume epoch {startEpoch + 1} of {train.BatchesPerEpoch} batches");
        var batches = train.BatchesPerEpoch;
        var evalSeed = (ulong)(uint)SeedMix.Of(Seed, 0xe7a1);
        for (var epoch = startEpoch; epoch < epochs; epoch++)
        {
            cancel.ThrowIfCancellationRequested();
            observer.OnEpochStart(epoch, batches);
            var sw = Stopwatch.StartNew();
            var part = epoch == startEpoch ? resume : null;
            double lossSum = part?.LossSum ?? 0, cleanScore = part?.CleanScore ?? 0, advScore = part?.AdversarialScore ?? 0;
            long seen = part?.Seen ?? 0, cleanSeen = part?.CleanSeen ?? 0, advSeen = part?.AdversarialSeen ?? 0;
            var b = part?.BatchesDone ?? 0;
            var earlierSeconds = part?.TrainSeconds ?? 0;
            var noiseSeed = (ulong)(uint)SeedMix.Of(Seed, epoch, 0xa77);
            foreach (var batch in train.Epoch(epoch, b))
            {
                using var owned = batch;
                using var scope = DisposeScope.Open();
                cancel.ThrowIfCancellationRequested();
                schedule.Apply(Optimizer, schedulePerStep ? epoch + b / (double)batches : epoch);
                var (x, y) = Task.Prepare(batch, noiseSeed);
                var ctx = new StepContext(model, epoch, epochs, numClasses, b)
                {
                    Task = Task, SampleIds = batch.SampleIds, NoiseSeed = noiseSeed, LogCleanAccuracy = LogCleanAccuracy,
                };
                var r = step.Run(method, ctx, x, y);
                if (!double.IsFinite(r.Loss))
                    throw new TrainingDivergedException(
                        $"the training loss became {r.Loss} at epoch {epoch + 1}, batch {b + 1}; lower the learning rate or check the data. The last good checkpoint is kept.");
                lossSum += r.Loss * batch.Count;
                seen += batch.Count;
                if (r.CleanOutput != null) { cleanScore += Task.ScoreSum(r.CleanOutput, y); cleanSeen += batch.Count; }
                if (r.AdversarialOutput != null) { advScore += Task.ScoreSum(r.AdversarialOutput, y); advSeen += batch.Count; }
                b++;
                var elapsed = earlierSeconds + sw.Elapsed.TotalSeconds;
                observer.OnBatch(epoch, b, batches, lossSum / seen, seen / elapsed);
                observer.OnBatchEnd(new EpochProgress(epoch, b, lossSum, seen, cleanScore, cleanSeen, advScore, advSeen, elapsed), batches);
            }
            var trainSeconds = earlierSeconds + sw.Elapsed.TotalSeconds;
            double valClean = double.NaN, valRobust = double.NaN, testClean = double.NaN, testRobust = double.NaN;
            if (validation != null && validation.Data.Count > 0)
                (valClean, valRobust) = Scores(Task.Evaluate(EvaluatedModel, validation, validationAttack, evalSeed), validationAttack);
            method.OnEpochEnd(new EpochEnd(epoch, valClean, valRobust));
            IReadOnlyList<(string Column, double Value)> report = [];
            if (validation != null && validation.Data.Count > 0)
                report = EpochReports.For(EvaluatedModel).SelectMany(r => r.Measure(EvaluatedModel, validation, validationAttack, evalSeed)).ToList();
            if (test != null && testEvery > 0 && (epoch + 1) % testEvery == 0)
                (testClean, testRobust) = Scores(Task.Evaluate(EvaluatedModel, test, testAttack, evalSeed + 1), testAttack);
            var columns = Task.Columns;
            double[] values = [Ratio(cleanScore, cleanSeen), Ratio(advScore, advSeen), valClean, valRobust, testClean, testRobust];
            var metrics = new EpochMetrics(epoch + 1, Optimizer.LearningRate, seen == 0 ? double.NaN : lossSum / seen,
                columns.Zip(values).ToList(), earlierSeconds + sw.Elapsed.TotalSeconds, seen / trainSeconds, [.. method.Metrics, .. report]);
            model.Train();
            observer.OnEpochEnd(epoch, metrics);
        }
    }

    private static (double Clean, double Robust) Scores(TaskScores s, Attack? attack) => (s.Clean, attack == null ? double.NaN : s.Robust);

    private static double Ratio(double a, long b) => b == 0 ? double.NaN : a / b;
}
