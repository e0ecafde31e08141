using RobustCli.Core.Training;
using Serilog;

namespace RobustCli.Experiments.Jobs;

/// <summary>How a run shows its progress: plain log lines (default, and when output is redirected) or a live display (the CLI's).</summary>
public interface IProgressReporter
{
    void EpochStart(int epoch, int epochs, int batches);
    void Batch(int epoch, int batch, int batches, double loss, double imagesPerSecond);
    void EpochEnd(EpochMetrics metrics, int epochs);
    /// <summary>Progress of the work after the epochs (the final evaluation): done of total items.</summary>
    void Final(string what, int done, int total) { }
}

/// <summary>Progress as log lines: about ten per epoch, so a redirected log stays readable.</summary>
public sealed class LogProgressReporter(ILogger log) : IProgressReporter
{
    private DateTime epochStart;

    public void EpochStart(int epoch, int epochs, int batches) => epochStart = DateTime.UtcNow;

    public void Batch(int epoch, int batch, int batches, double loss, double imagesPerSecond)
    {
        var every = Math.Max(1, batches / 10);
        if (batch % every != 0 && batch != batches) return;
        var elapsed = (DateTime.UtcNow - epochStart).TotalSeconds;
        var eta = batch == 0 ? 0 : elapsed / batch * (batches - batch);
        log.Information("epoch {Epoch} batch {Batch}/{Batches} loss {Loss:F4} {Speed:F1} img/s eta {Eta:F0}s",
            epoch + 1, batch, batches, loss, imagesPerSecond, eta);
    }

    public void EpochEnd(EpochMetrics metrics, int epochs) { }
}
