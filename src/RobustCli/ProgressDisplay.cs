using System.CommandLine;
using System.Globalization;
using RobustCli.Core.Training;
using RobustCli.Experiments.Jobs;
using Serilog;
using Spectre.Console;

namespace RobustCli;

/// <summary>
/// Runs a job with a live Spectre.Console progress bar per epoch (images/s, ETA) when the console is interactive,
/// or with plain log lines otherwise (redirected output, CI, --no-progress). The job runs on a worker thread while
/// the display is drawn on this one; the full log always goes to the run's log.txt.
/// </summary>
public static class ProgressDisplay
{
    public static T RunJob<T>(ParseResult parse, JobOptions options, bool noProgress, Func<JobOptions, T> job)
    {
        var interactive = !noProgress && !Console.IsOutputRedirected && !Console.IsErrorRedirected &&
                          ReferenceEquals(parse.InvocationConfiguration.Output, Console.Out) && AnsiConsole.Profile.Capabilities.Interactive;
        if (!interactive) return job(options);
        var state = new State();
        var liveOptions = options with { LogToConsole = false, Progress = _ => state };
        T result = default!;
        Exception? failure = null;
        var worker = new Thread(() =>
        {
            try { result = job(liveOptions); }
            catch (Exception e) { failure = e; }
        }, 16 << 20) { Name = "robust-job" };
        AnsiConsole.Progress().AutoClear(false).HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                worker.Start();
                var tasks = new Dictionary<int, ProgressTask>();
                while (true)
                {
                    var done = !worker.IsAlive;
                    lock (state)
                        foreach (var (epoch, e) in state.Epochs)
                        {
                            if (!tasks.TryGetValue(epoch, out var t)) tasks[epoch] = t = ctx.AddTask(e.Description, maxValue: Math.Max(1, e.Batches));
                            t.Description = Markup.Escape(e.Description);
                            t.Value = e.Batch;
                            if (e.Finished) t.StopTask();
                        }
                    if (done) break;
                    ctx.Refresh();
                    Thread.Sleep(250);
                }
            });
        worker.Join();
        if (failure != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        return result;
    }

    private sealed class State : IProgressReporter
    {
        public readonly SortedDictionary<int, EpochState> Epochs = [];

        public void EpochStart(int epoch, int epochs, int batches)
        {
            lock (this) Epochs[epoch] = new EpochState { Batches = batches, Description = $"epoch {epoch + 1}/{epochs}" };
        }

        public void Batch(int epoch, int batch, int batches, double loss, double imagesPerSecond)
        {
            lock (this)
            {
                var e = Epochs[epoch];
                e.Batch = batch;
                e.Description = string.Create(CultureInfo.InvariantCulture, $"epoch {epoch + 1} loss {loss:F4} {imagesPerSecond:F0} img/s");
            }
        }

        public void EpochEnd(EpochMetrics m, int epochs)
        {
            lock (this)
            {
                var e = Epochs[m.Epoch - 1];
                e.Finished = true;
                e.Batch = e.Batches;
                e.Description = string.Create(CultureInfo.InvariantCulture,
                    $"epoch {m.Epoch}/{epochs} loss {m.TrainLoss:F3} val {Pct(m.ValidationCleanAccuracy)}/{Pct(m.ValidationRobustAccuracy)} {m.ImagesPerSecond:F0} img/s");
            }
        }

        public void Final(string what, int done, int total)
        {
            lock (this)
            {
                if (!Epochs.TryGetValue(int.MaxValue, out var e)) Epochs[int.MaxValue] = e = new EpochState { Batches = total };
                e.Batch = done;
                e.Description = what;
                e.Finished = done >= total;
            }
        }

        private static string Pct(double v) => double.IsFinite(v) ? (100 * v).ToString("F1", CultureInfo.InvariantCulture) + "%" : "-";
    }

    private sealed class EpochState
    {
        public int Batches;
        public int Batch;
        public bool Finished;
        public string Description = "";
    }
}
