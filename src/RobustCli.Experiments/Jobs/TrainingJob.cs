using System.Diagnostics;
using System.Globalization;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Evaluation;
using RobustCli.Core.Models;
using RobustCli.Core.Tasks;
using RobustCli.Core.Training;
using RobustCli.Experiments.Config;
using RobustCli.Experiments.Runs;
using RobustCli.Torch;
using RobustCli.Torch.optim;
using RobustCli.Experiments.Plots;
using Serilog;
using Serilog.Core;

namespace RobustCli.Experiments.Jobs;

/// <summary>Where a job writes and how it reports.</summary>
public sealed record JobOptions(string RunsDir, string? RepoRoot, TextWriter Console, Func<ILogger, IProgressReporter>? Progress = null,
    bool LogToConsole = true, CancellationToken Cancel = default)
{
    /// <summary>The config's warnings (deprecated keys), written to the run's log.</summary>
    public IReadOnlyList<string> ConfigWarnings { get; init; } = [];
}

/// <summary>What a finished (or failed) job leaves: its folder and summary.</summary>
public sealed record JobResult(RunFolder Folder, RunSummary Summary, int ExitCode);

/// <summary>
/// One training run from a resolved config: creates (or, to resume, reopens) the run folder, builds the parts,
/// runs the epoch loop writing metrics.csv, log.txt and checkpoints as it goes, evaluates the last model with the
/// final attacks, and writes summary.json. A resumed run restores model, optimizer, method and RNG state from
/// checkpoints/last.pt and continues at the next epoch, ending where an uninterrupted run would.
/// </summary>
public static class TrainingJob
{
    /// <summary>
    /// The run of <paramref name="config"/> in exactly <paramref name="dir"/>, whatever happened before: started when
    /// the folder holds no run, resumed (from its last checkpoint, or from the beginning when it has none) when it holds
    /// this config's run, left alone when that run completed. The same command can therefore be repeated until it
    /// succeeds — what a requeued Slurm task or a restarted sweep does. A folder holding another config's run is refused.
    /// </summary>
    public static JobResult RunIn(RunConfig config, JobOptions options, string dir)
    {
        if (!RunFolder.Holds(dir)) return Run(config, options, fixedDir: dir);
        var folder = RunFolder.Open(dir);
        var stored = ConfigLoader.ToYaml(ConfigLoader.Load(folder.ConfigFile).Config);
        var given = ConfigLoader.ToYaml(config);
        if (stored != given)
        {
            var a = stored.Split('\n');
            var b = given.Split('\n');
            var i = Enumerable.Range(0, Math.Min(a.Length, b.Length)).FirstOrDefault(k => a[k] != b[k], Math.Min(a.Length, b.Length));
            throw new ConfigException($"--run-dir {dir}: it holds a run of another config (its config.yaml has '{(i < a.Length ? a[i].Trim() : "")}', " +
                                      $"this one '{(i < b.Length ? b[i].Trim() : "")}'); give another folder, or --resume {dir} to continue that run");
        }
        if (File.Exists(folder.SummaryFile) && RunSummary.Load(folder.SummaryFile) is { Status: "completed" } done)
        {
            options.Console.WriteLine($"{folder.Path}: this run already completed; nothing to do");
            return new JobResult(folder, done, 0);
        }
        return Run(config, options, folder.Path);
    }

    public static JobResult Run(RunConfig config, JobOptions options, string? resumeDir = null, string? fixedDir = null)
    {
        // Inputs are checked before a run folder exists: a missing dataset or a bad device leaves nothing behind.
        var device = JobRuntime.ResolveDevice(config.Device);
        // threads: 0 defers to OMP_NUM_THREADS (a sweep's parallel jobs, a Slurm task's cores), else every core.
        JobRuntime.ConfigureThreads(config.Threads == 0 ? null : config.Threads);
        var data = ComponentFactory.LoadData(config.Data, options.RepoRoot);
        var task = ComponentFactory.Task(config.Task);
        var folder = resumeDir != null ? RunFolder.Open(resumeDir) : fixedDir != null ? RunFolder.CreateAt(fixedDir) : RunFolder.Create(options.RunsDir, config.Name);
        // Atomically: a folder with a config.yaml holds a run, so a kill must not leave half of one.
        if (resumeDir == null)
            RobustCli.Torch.Serialization.AtomicFile.WriteText(folder.ConfigFile, ConfigLoader.ToYaml(config));
        using var log = CreateLogger(folder, options);
        var summary = resumeDir != null && File.Exists(folder.SummaryFile) ? RunSummary.Load(folder.SummaryFile) : new RunSummary();
        var wall = Stopwatch.StartNew();
        var previousWall = summary.WallSeconds;
        summary.Status = "running";
        summary.Error = null;
        summary.Name = config.Name;
        summary.Method = config.Train.Method;
        summary.Task = task.Name;
        summary.Dataset = config.Data.Name;
        summary.Arch = config.Model.Arch;
        summary.Seed = config.Seed;
        summary.EpochsPlanned = config.Train.Epochs;
        summary.LibTorchVersion = torch.LibTorchVersion;
        summary.Engine = torch.Engine;
        summary.Device = device.ToString();
        summary.SelectedBy = task.SelectionColumn;
        try
        {
            torch.ManualSeed((ulong)config.Seed);
            // Written now, not at the first epoch's end: a run killed early still says what it is and that it started.
            summary.Save(folder.SummaryFile);
            log.Information("run {Folder}", folder.Path);
            foreach (var w in options.ConfigWarnings) log.Warning("{Warning}", w);
            log.Information("{Method} ({Task}) on {Dataset} with {Arch}, {Epochs} epochs, device {Device}, {Threads} threads, seed {Seed}, engine {Engine}",
                config.Train.Method, task.Name, config.Data.Name, config.Model.Arch, config.Train.Epochs, device, torch.NumThreads, config.Seed, torch.EngineDescription);
            log.Information("data: {Train} training, {Val} validation, {Test} test images", data.Train.Count, data.Validation.Count, data.Test.Count);
            using var model = ComponentFactory.Model(config.Model, data.Spec, data.Channels, config);
            model.To(device);
            using var optimizer = ComponentFactory.Optimizer(config.Train, model);
            var schedule = ComponentFactory.Schedule(config.Train);
            var method = ComponentFactory.Method(config, config.Seed);
            using var emaModel = config.Train.Ema.Decay > 0 ? ComponentFactory.Model(config.Model, data.Spec, data.Channels, config) : null;
            emaModel?.To(device);
            var average = emaModel == null ? null : new WeightAverage(model, emaModel, config.Train.Ema.Decay, config.Train.Ema.Warmup);
            var start = 0;
            double? best = null;
            int? bestEpoch = null;
            EpochProgress? inEpoch = null;
            if (resumeDir != null && File.Exists(folder.LastCheckpoint))
            {
                var r = Checkpoint.Load(folder.LastCheckpoint, model, optimizer, method, average);
                (start, best, bestEpoch, inEpoch) = (r.EpochsDone, r.BestValRobust, r.BestEpoch, r.InEpoch);
                if (inEpoch != null)
                    log.Information("resuming epoch {Epoch} after batch {Batch} from {Checkpoint}", start + 1, inEpoch.BatchesDone, folder.LastCheckpoint);
                else
                    log.Information("resuming after epoch {Epoch} from {Checkpoint}", start, folder.LastCheckpoint);
            }
            else if (resumeDir != null)
            {
                // Killed before its first checkpoint: nothing was learned yet, so the run starts over in its own folder.
                log.Information("no checkpoint yet in {Folder}: starting the run from the beginning", folder.Path);
            }
            var train = new DataLoader(data.Train, config.Train.BatchSize, shuffle: true,
                new Augmentation(config.Data.CropPadding, config.Data.Flip), config.Seed, dropLast: false, device);
            // Whole pictures of different sizes (denoising test sets) go one at a time.
            var val = new DataLoader(data.Validation, data.Validation.FixedShape ? config.Eval.BatchSize : 1, device: device);
            var test = new DataLoader(data.Test, data.Test.FixedShape ? config.Eval.BatchSize : 1, device: device);
            var taskLoss = task.EvaluationLoss;
            var valAttack = AttackPresets.Create(config.Eval.ValAttack, config.Attack.Eps, taskLoss);
            var testAttack = AttackPresets.Create(config.Eval.TestAttack, config.Attack.Eps, taskLoss);
            // A model with several outputs is trained and evaluated on the one the task reads.
            var forward = OutputSelector.For(model, task.Output);
            var step = new OptimizationStep(optimizer, config.Train.GradClip, average);
            var loop = new TrainingLoop(forward, step, schedule, ComponentFactory.SchedulePerStep(config.Train.Schedule), method,
                train, data.Spec.NumClasses, val, valAttack, test, testAttack, config.Eval.TestEvery)
            {
                Task = task, LogCleanAccuracy = config.Train.LogCleanAccuracy, Seed = config.Seed,
                EvaluationModel = emaModel == null ? null : OutputSelector.For(emaModel, task.Output),
            };
            var progress = options.Progress?.Invoke(log) ?? new LogProgressReporter(log);
            // The reports are those of the model as validation measures it (the EMA when kept), which the loop asks too.
            IReadOnlyList<string> extraColumns = [.. ComponentFactory.MethodColumns(config), .. EpochReports.Columns(loop.EvaluatedModel)];
            using (var csv = MetricsCsv.Open(folder.MetricsFile, task.Columns, extraColumns, resumeDir != null ? start : null))
            {
                var observer = new RunRecorder(config, task, folder, csv, log, progress, model, optimizer, method, average, summary, best, bestEpoch, options.Cancel);
                loop.Run(start, config.Train.Epochs, observer, options.Cancel, inEpoch);
                summary.WallSeconds = previousWall + wall.Elapsed.TotalSeconds;
            }
            var evaluated = emaModel ?? model;
            if (emaModel != null) log.Information("the final evaluation measures the EMA of the weights (checkpoints/ema.pt)");
            FinalEvaluation.Run(config, task, folder, evaluated, data.Test, device, log, progress, summary, options.Cancel);
            summary.Status = "completed";
            summary.FinishedUtc = DateTime.UtcNow.ToString("o");
            summary.WallSeconds = previousWall + wall.Elapsed.TotalSeconds;
            summary.Save(folder.SummaryFile);
            log.Information("done in {Seconds:F0}s: {Folder}", summary.WallSeconds, folder.Path);
            return new JobResult(folder, summary, 0);
        }
        catch (Exception e) when (e is ConfigException or DatasetNotFoundException)
        {
            Fail(summary, folder, log, e, wall, previousWall, "failed");
            throw;
        }
        catch (OperationCanceledException e)
        {
            Fail(summary, folder, log, e, wall, previousWall, "interrupted");
            // 130, as a shell reports a process stopped by SIGINT.
            return new JobResult(folder, summary, 130);
        }
        catch (Exception e)
        {
            Fail(summary, folder, log, e, wall, previousWall, "failed");
            return new JobResult(folder, summary, 1);
        }
    }

    private static void Fail(RunSummary summary, RunFolder folder, Logger log, Exception e, Stopwatch wall, double previousWall, string status)
    {
        summary.Status = status;
        summary.Error = e.Message;
        summary.WallSeconds = previousWall + wall.Elapsed.TotalSeconds;
        summary.FinishedUtc = DateTime.UtcNow.ToString("o");
        summary.Save(folder.SummaryFile);
        if (e is OperationCanceledException) log.Warning("interrupted; the same command (or --resume {Folder}) continues from the last checkpoint", folder.Path);
        else if (e is TrainingDivergedException or ConfigException or DatasetNotFoundException) log.Error("{Message}", e.Message);
        else log.Error(e, "the run failed: {Message}", e.Message);
    }

    private static Logger CreateLogger(RunFolder folder, JobOptions options)
    {
        var cfg = new LoggerConfiguration().MinimumLevel.Information()
            .WriteTo.File(folder.LogFile, outputTemplate: "{Timestamp:yyyy-MM-dd HH:mm:ss} [{Level:u3}] {Message:lj}{NewLine}{Exception}");
        if (options.LogToConsole)
            cfg = cfg.WriteTo.Sink(new WriterSink(options.Console, "{Timestamp:HH:mm:ss} {Message:lj}{NewLine}{Exception}"));
        return cfg.CreateLogger();
    }
}
