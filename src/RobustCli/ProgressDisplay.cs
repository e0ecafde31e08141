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
    private static bool Interactive(ParseResult parse, bool noProgress) =>
        !noProgress && !Console.IsOutputRedirected && !Console.IsErrorRedirected &&
        ReferenceEquals(parse.InvocationConfiguration.Output, Console.Out) && AnsiConsole.Profile.Capabilities.Interactive;

    public static T RunJob<T>(ParseResult parse, JobOptions options, bool noProgress, Func<JobOptions, T> job)
    {
        if (!Interactive(parse, noProgress)) return job(options);
        var state = new State();
        var liveOptions = options with { LogToConsole = false, Progress = _ => state };
        return Live(state, () => job(liveOptions));
    }

    /// <summary>
    /// Runs work that reports (what, done, total) — an evaluation, one bar per attack with its ETA when interactive;
    /// otherwise progress lines with the ETA on <paramref name="output"/>, about one per 10% of each attack.
    /// </summary>
    public static T RunWithProgress<T>(ParseResult parse, bool noProgress, TextWriter output, Func<Action<string, int, int>, T> job)
    {
        if (Interactive(parse, noProgress))
        {
            var state = new State();
            return Live(state, () => job(state.Final));
        }
        var started = new Dictionary<string, (System.Diagnostics.Stopwatch Clock, int Shown, int First)>();
        return job((what, done, total) =>
        {
            if (!started.TryGetValue(what, out var s)) started[what] = s = (System.Diagnostics.Stopwatch.StartNew(), 0, done);
            var tenth = total == 0 ? 10 : done * 10 / total;
            if (tenth <= s.Shown || done == s.First) return;
            started[what] = (s.Clock, tenth, s.First);
            var rate = (done - s.First) / Math.Max(1e-9, s.Clock.Elapsed.TotalSeconds);
            var eta = rate > 0 ? TimeSpan.FromSeconds((total - done) / rate) : TimeSpan.Zero;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {what}: {done}/{total} ({s.Clock.Elapsed.TotalSeconds:F0} s, ETA {eta:hh\\:mm\\:ss})"));
        });
    }

    private static T Live<T>(State state, Func<T> job)
    {
        T result = default!;
        Exception? failure = null;
        var worker = new Thread(() =>
        {
            try { result = job(); }
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
                            if (!tasks.TryGetValue(epoch, out var t)) tasks[epoch] = t = ctx.AddTask(Markup.Escape(e.Description), maxValue: Math.Max(1, e.Batches));
                            t.Description = Markup.Escape(e.Description);
                            t.MaxValue = Math.Max(1, e.Batches);
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
                    $"epoch {m.Epoch}/{epochs} loss {m.TrainLoss:F3} val {Score(m, m.ValidationCleanAccuracy)}/{Score(m, m.ValidationRobustAccuracy)} {m.ImagesPerSecond:F0} img/s");
            }
        }

        private readonly Dictionary<string, int> finalKeys = [];

        /// <summary>One bar per attack (per distinct <paramref name="what"/>), after the epochs' bars.</summary>
        public void Final(string what, int done, int total)
        {
            lock (this)
            {
                if (!finalKeys.TryGetValue(what, out var key)) finalKeys[what] = key = int.MaxValue / 2 + finalKeys.Count;
                if (!Epochs.TryGetValue(key, out var e)) Epochs[key] = e = new EpochState { Batches = total };
                e.Batches = total;
                e.Batch = done;
                e.Description = what;
                e.Finished = done >= total;
            }
        }

        private static string Pct(double v) => double.IsFinite(v) ? (100 * v).ToString("F1", CultureInfo.InvariantCulture) + "%" : "-";

        /// <summary>Accuracies as percentages; other task scores (PSNR) in their own unit.</summary>
        private static string Score(EpochMetrics m, double v) =>
            m.Scores.Count > 0 && !m.Scores[0].Column.EndsWith("_acc", StringComparison.Ordinal) && double.IsFinite(v)
                ? v.ToString("F2", CultureInfo.InvariantCulture) + " dB" : Pct(v);
    }

    private sealed class EpochState
    {
        public int Batches;
        public int Batch;
        public bool Finished;
        public string Description = "";
    }
}
