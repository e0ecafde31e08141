using System.Diagnostics;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Evaluation;
using RobustCli.Torch;
using RobustCli.Torch.nn;
using RobustCli.Torch.optim;

namespace RobustCli.Core.Training;

/// <summary>One row of metrics.csv. Accuracies are fractions in [0, 1]; NaN where not measured this epoch.</summary>
public sealed record EpochMetrics(int Epoch, double LearningRate, double TrainLoss, double TrainCleanAccuracy, double TrainAdversarialAccuracy,
    double ValidationCleanAccuracy, double ValidationRobustAccuracy, double TestCleanAccuracy, double TestRobustAccuracy,
    double Seconds, double ImagesPerSecond, IReadOnlyList<(string Column, double Value)> Extra);

/// <summary>Where the loop reports; the experiment layer writes logs, CSV rows and checkpoints from these calls.</summary>
public interface ITrainingObserver
{
    void OnEpochStart(int epoch, int batches) { }
    void OnBatch(int epoch, int batch, int batches, double loss, double imagesPerSecond) { }
    /// <summary>After the epoch's evaluation; <paramref name="epoch"/> is 0-based and the state is that after it.</summary>
    void OnEpochEnd(int epoch, EpochMetrics metrics);
}

public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>
/// The epoch loop: for each batch, set the learning rate, let the method step, and score its predictions; at each
/// epoch's end, validation (clean and robust), the method's hook, and test evaluation when scheduled. One
/// DisposeScope per batch keeps memory flat. A NaN or infinite loss stops the run with TrainingDivergedException.
/// </summary>
public sealed class TrainingLoop(Module model, Optimizer optimizer, LrSchedule schedule, bool schedulePerStep, ITrainingMethod method,
    DataLoader train, int numClasses, DataLoader? validation, Attack? validationAttack, DataLoader? test, Attack? testAttack, int testEvery)
{
    public void Run(int startEpoch, int epochs, ITrainingObserver observer, CancellationToken cancel = default)
    {
        var batches = train.BatchesPerEpoch;
        for (var epoch = startEpoch; epoch < epochs; epoch++)
        {
            cancel.ThrowIfCancellationRequested();
            observer.OnEpochStart(epoch, batches);
            var sw = Stopwatch.StartNew();
            double lossSum = 0;
            long seen = 0, cleanRight = 0, cleanSeen = 0, advRight = 0, advSeen = 0;
            var b = 0;
            foreach (var batch in train.Epoch(epoch))
            {
                using var owned = batch;
                using var scope = DisposeScope.Open();
                cancel.ThrowIfCancellationRequested();
                schedule.Apply(optimizer, schedulePerStep ? epoch + b / (double)batches : epoch);
                var r = method.Step(new StepContext(model, optimizer, epoch, epochs, numClasses, b), batch.X, batch.Y);
                if (!double.IsFinite(r.Loss))
                    throw new TrainingDivergedException(
                        $"the training loss became {r.Loss} at epoch {epoch + 1}, batch {b + 1}; lower the learning rate or check the data. The last good checkpoint is kept.");
                lossSum += r.Loss * batch.Count;
                seen += batch.Count;
                if (r.CleanPredictions != null) { cleanRight += Correct(r.CleanPredictions, batch.Y); cleanSeen += batch.Count; }
                if (r.AdversarialPredictions != null) { advRight += Correct(r.AdversarialPredictions, batch.Y); advSeen += batch.Count; }
                b++;
                observer.OnBatch(epoch, b, batches, lossSum / seen, seen / sw.Elapsed.TotalSeconds);
            }
            var trainSeconds = sw.Elapsed.TotalSeconds;
            double valClean = double.NaN, valRobust = double.NaN, testClean = double.NaN, testRobust = double.NaN;
            if (validation != null && validation.Data.Count > 0)
            {
                var v = RobustnessEvaluator.Evaluate(model, validation, validationAttack == null ? [] : [validationAttack]);
                valClean = v.CleanAccuracy;
                if (validationAttack != null) valRobust = v.RobustAccuracy(validationAttack.Name);
            }
            method.OnEpochEnd(new EpochEnd(epoch, valClean, valRobust));
            if (test != null && testEvery > 0 && (epoch + 1) % testEvery == 0)
            {
                var t = RobustnessEvaluator.Evaluate(model, test, testAttack == null ? [] : [testAttack]);
                testClean = t.CleanAccuracy;
                if (testAttack != null) testRobust = t.RobustAccuracy(testAttack.Name);
            }
            var metrics = new EpochMetrics(epoch + 1, optimizer.LearningRate, seen == 0 ? double.NaN : lossSum / seen,
                Ratio(cleanRight, cleanSeen), Ratio(advRight, advSeen), valClean, valRobust, testClean, testRobust,
                sw.Elapsed.TotalSeconds, seen / trainSeconds, method.Metrics);
            model.Train();
            observer.OnEpochEnd(epoch, metrics);
        }
    }

    private static long Correct(Tensor predictions, Tensor labels)
    {
        using var eq = predictions.Eq(labels);
        using var n = eq.Sum();
        return n.ItemLong();
    }

    private static double Ratio(long a, long b) => b == 0 ? double.NaN : a / (double)b;
}
