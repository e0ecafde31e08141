using System.Diagnostics;
using System.Globalization;
using RobustCli.Core.Tasks;
using RobustCli.Core.Training;
using RobustCli.Experiments.Config;
using RobustCli.Experiments.Jobs;
using RobustCli.Experiments.Plots;
using RobustCli.Torch.optim;
using Serilog;

namespace RobustCli.Experiments.Runs;

/// <summary>
/// What a training run records as it goes, in its folder: each epoch's metrics.csv row, then best.pt and last.pt (and
/// ema.pt), summary.json and the curves in plots/; mid-epoch checkpoints when due or when the run is being stopped.
/// It also feeds the progress display. The training loop calls it (<see cref="ITrainingObserver"/>).
/// </summary>
public sealed class RunRecorder(RunConfig config, ITask task, RunFolder folder, MetricsCsv csv, ILogger log, IProgressReporter progress,
    RobustCli.Torch.nn.Module model, Optimizer optimizer, ITrainingMethod method, WeightAverage? average, RunSummary summary, double? best, int? bestEpoch,
    CancellationToken cancel) : ITrainingObserver
{
    private double? best = best;
    private int? bestEpoch = bestEpoch;

    public void OnEpochStart(int epoch, int batches) => progress.EpochStart(epoch, config.Train.Epochs, batches);

    public void OnBatch(int epoch, int batch, int batches, double loss, double imagesPerSecond) =>
        progress.Batch(epoch, batch, batches, loss, imagesPerSecond);

    private readonly Stopwatch sinceCheckpoint = Stopwatch.StartNew();

    /// <summary>
    /// A mid-epoch checkpoint every checkpoint.every_steps batches or every_minutes, and when the run is being
    /// stopped (SIGTERM, Ctrl-C): the state after this batch with the epoch's running sums. Never at an epoch's
    /// last batch, whose end writes the full checkpoint.
    /// </summary>
    public void OnBatchEnd(EpochProgress p, int batches)
    {
        if (p.BatchesDone >= batches) return;
        var bySteps = config.Checkpoint.EverySteps > 0 && p.BatchesDone % config.Checkpoint.EverySteps == 0;
        var byTime = config.Checkpoint.EveryMinutes > 0 && sinceCheckpoint.Elapsed.TotalMinutes >= config.Checkpoint.EveryMinutes;
        if (!bySteps && !byTime && !cancel.IsCancellationRequested) return;
        Checkpoint.Save(folder.LastCheckpoint, model, optimizer, method, p.Epoch, best, bestEpoch, average, p);
        sinceCheckpoint.Restart();
        log.Information("checkpoint inside epoch {Epoch} after batch {Batch}/{Batches}: {Checkpoint}", p.Epoch + 1, p.BatchesDone, batches, folder.LastCheckpoint);
    }

    /// <summary>The curves are a view of metrics.csv, redrawn whole; one that cannot be drawn costs a warning, never the run.</summary>
    private void DrawCurves()
    {
        try
        {
            Figure.SaveAll(TrainingCurves.Build(MetricsTable.Load(folder.MetricsFile), $"{config.Name} ({config.Train.Method})"), folder.PlotsDir);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            log.Warning("could not draw the curves into {Plots}: {Error}", folder.PlotsDir, e.Message);
        }
    }

    public void OnEpochEnd(int epoch, EpochMetrics m)
    {
        // Row first, then checkpoints: a kill in between leaves a row that resume drops.
        csv.Write(m);
        var selected = m.Score(task.SelectionColumn);
        var improved = double.IsFinite(selected) && (best == null || selected > best);
        if (improved)
        {
            best = selected;
            bestEpoch = m.Epoch;
        }
        // best.pt before last.pt: a kill between them resumes from the previous epoch, which redoes this one and
        // writes both again; the other order could leave a last.pt that says "best at this epoch" beside an older best.pt.
        var next = folder.LastCheckpoint + ".next";
        Checkpoint.Save(next, model, optimizer, method, m.Epoch, best, bestEpoch, average);
        if (improved && config.Checkpoint.Best)
        {
            File.Copy(next, folder.BestCheckpoint + ".tmp", overwrite: true);
            File.Move(folder.BestCheckpoint + ".tmp", folder.BestCheckpoint, overwrite: true);
        }
        if (average != null) RobustCli.Torch.Serialization.Weights.Save(folder.EmaCheckpoint, average.Model);
        File.Move(next, folder.LastCheckpoint, overwrite: true);
        sinceCheckpoint.Restart();
        summary.EpochsDone = m.Epoch;
        summary.BestEpoch = bestEpoch;
        summary.BestValRobustAcc = best;
        if (improved) summary.BestValCleanAcc = Num(m.ValidationCleanAccuracy);
        summary.Last = new Dictionary<string, double?> { ["train_loss"] = Num(m.TrainLoss) };
        foreach (var (c, v) in m.Scores) summary.Last[c] = Num(v);
        // The method's and an expert ensemble's columns too (noise_rate, val_expert0_adv_acc, ...).
        foreach (var (c, v) in m.Extra) summary.Last[c] = Num(v);
        summary.Save(folder.SummaryFile);
        DrawCurves();
        progress.EpochEnd(m, config.Train.Epochs);
        log.Information("epoch {Epoch}/{Epochs} lr {Lr:G4} loss {Loss:F4} train clean {TrainClean} adv {TrainAdv} | val clean {ValClean} robust {ValRobust}{Test} | {Seconds:F0}s {Speed:F1} img/s{Extra}{Ema}",
            m.Epoch, config.Train.Epochs, m.LearningRate, m.TrainLoss, Pct(m.TrainCleanAccuracy), Pct(m.TrainAdversarialAccuracy),
            Pct(m.ValidationCleanAccuracy), Pct(m.ValidationRobustAccuracy),
            double.IsFinite(m.TestCleanAccuracy) ? $" | test clean {Pct(m.TestCleanAccuracy)} robust {Pct(m.TestRobustAccuracy)}" : "",
            m.Seconds, m.ImagesPerSecond, string.Concat(m.Extra.Select(e => $" {e.Column} {e.Value:G4}")), average != null ? " (validation on the EMA weights)" : "");
    }

    private static double? Num(double v) => double.IsFinite(v) ? v : null;
    private string Pct(double v) => task.Format(task.Score, v);
}
