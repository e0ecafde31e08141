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
        summary.Device = device.ToString();
        summary.SelectedBy = task.SelectionColumn;
        try
        {
            torch.ManualSeed((ulong)config.Seed);
            // Written now, not at the first epoch's end: a run killed early still says what it is and that it started.
            summary.Save(folder.SummaryFile);
            log.Information("run {Folder}", folder.Path);
            foreach (var w in options.ConfigWarnings) log.Warning("{Warning}", w);
            log.Information("{Method} ({Task}) on {Dataset} with {Arch}, {Epochs} epochs, device {Device}, {Threads} threads, seed {Seed}, libtorch {Version}",
                config.Train.Method, task.Name, config.Data.Name, config.Model.Arch, config.Train.Epochs, device, torch.NumThreads, config.Seed, torch.LibTorchVersion);
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
                var observer = new Observer(config, task, folder, csv, log, progress, model, optimizer, method, average, summary, best, bestEpoch, options.Cancel);
                loop.Run(start, config.Train.Epochs, observer, options.Cancel, inEpoch);
                summary.WallSeconds = previousWall + wall.Elapsed.TotalSeconds;
            }
            var evaluated = emaModel ?? model;
            if (emaModel != null) log.Information("the final evaluation measures the EMA of the weights (checkpoints/ema.pt)");
            if (task is ClassificationTask)
                FinalEvaluation(config, folder, evaluated, test, log, progress, summary, options.Cancel);
            else
                FinalTaskEvaluation(config, task, folder, OutputSelector.For(evaluated, task.Output), test, log, summary);
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

    private static void FinalEvaluation(RunConfig config, RunFolder folder, RobustCli.Torch.nn.Module model, DataLoader test, ILogger log, IProgressReporter progress,
        RunSummary summary, CancellationToken cancel)
    {
        if (config.Eval.Final.Count == 0) return;
        var testData = (ImageDataset)test.Data;
        var classes = testData.NumClasses;
        var norm = config.Attack.Norm == "l2" ? Norm.L2 : Norm.Linf;
        var suites = config.Eval.Final.Select(a => AttackSuites.Parse(a, config.Attack.Eps, classes,
            new SuiteDefaults(AttackSuites.IsAutoAttack(a) ? norm : Norm.Linf, Seed: (ulong)config.Seed), m => log.Warning("{Message}", m))).ToList();
        // AutoAttack costs hundreds of forward-backward passes per point: it gets a fixed subset (the first points).
        var full = suites.Where(s => s.AutoAttackVersion == null).ToList();
        var subset = suites.Where(s => s.AutoAttackVersion != null).ToList();
        var results = new List<EvaluationResult>();
        // Evaluated as deployed (BatchNorm running statistics): the checks would otherwise flag train mode.
        model.Eval();
        // A kill during a long final evaluation (AutoAttack) resumes where it stopped: per-sample progress is saved
        // beside the run, tied to a checksum of the weights, and removed once the evaluation is written.
        var weights = WeightsChecksum(model);
        var states = new List<string>();
        foreach (var (group, data, part) in new[] { (full, testData, "attacks"), (subset, config.Eval.AutoattackN > 0 ? testData.Take(config.Eval.AutoattackN) : testData, "autoattack") })
        {
            if (group.Count == 0) continue;
            var statePath = Path.Combine(folder.Path, $"final_eval_state_{part}.json");
            states.Add(statePath);
            var names = string.Join(", ", group.Select(s => s.Name));
            log.Information("final evaluation of the last model on {N} test images: {Attacks}", data.Count, names);
            var logged = 0;
            var r = RobustnessEvaluator.Evaluate(model, data, group, new EvaluationOptions
            {
                BatchSize = test.BatchSize,
                Device = test.Device,
                StatePath = statePath,
                Fingerprint = "weights=" + weights,
                Cancel = cancel,
                Log = m => log.Information("  {Message}", m),
                Warn = m => log.Warning("  {Message}", m),
                Progress = (what, done, total) =>
                {
                    progress.Final($"final evaluation ({what})", done, total);
                    // About five progress lines per attack: a long attack should not look like a hang.
                    if (total == 0 || (done * 5 / total <= logged && done != total)) { if (done == 0) logged = 0; return; }
                    logged = done * 5 / total;
                    log.Information("  {What}: {Done}/{Total}", what, done, total);
                },
            });
            var suffix = data.Count == testData.Count ? "" : $"@{data.Count}";
            summary.Final["clean" + suffix] = r.CleanAccuracy;
            foreach (var s in r.Suites)
            {
                summary.Final[s.Name + suffix] = s.RobustAccuracy;
                log.Information("  {Attack}: {Acc:P2} ({Seconds:F0}s)", s.Name, s.RobustAccuracy, s.Seconds);
            }
            if (r.Suites.Count > 1)
            {
                summary.Final["worst_case" + suffix] = r.WorstCaseAccuracy;
                log.Information("  clean {Clean:P2}, worst case over the attacks {Worst:P2}", r.CleanAccuracy, r.WorstCaseAccuracy);
            }
            foreach (var w in r.Warnings) summary.Warnings.Add(w);
            results.Add(r);
        }
        EvaluationCsv.Write(folder.FinalEvalFile, results.ToArray());
        EvaluationCsv.WriteSamples(Path.ChangeExtension(folder.FinalEvalFile, null) + "_samples.csv", results.Count == 1 ? results[0] : Merge(results));
        foreach (var st in states) File.Delete(st);
    }

    /// <summary>
    /// The final evaluation of a task other than classification (denoising): the clean score and the score under
    /// each final attack on the test set, written to final_eval.csv (attack, the task's score, seconds, n) and
    /// per sample to final_eval_samples.csv.
    /// </summary>
    private static void FinalTaskEvaluation(RunConfig config, ITask task, RunFolder folder, RobustCli.Torch.nn.Module model, DataLoader test,
        ILogger log, RunSummary summary)
    {
        var seed = (ulong)(uint)SeedMix.Of(config.Seed, 0xf1a1);
        if (task is DenoiseTask denoise)
        {
            // Named as written, so obsatk5 and obsatk5:zero_mean=false stay apart.
            var attacks = config.Eval.Final.Select(spec => AttackPresets.Create(spec, config.Attack.Eps, task.EvaluationLoss, displayName: spec)).ToList();
            log.Information("final evaluation on {N} test pictures at sigma {Sigmas}: Gaussian noise{Attacks}", test.Data.Count,
                string.Join(", ", denoise.EvalSigmas), string.Concat(attacks.Select(a => ", " + a.Name)));
            var result = DenoisingEvaluator.Evaluate(model, denoise, test.Data, attacks, new DenoisingEvaluationOptions
            {
                Sigmas = denoise.EvalSigmas.Select(v => (double)v).ToList(), Seed = seed, BatchSize = test.BatchSize, Device = test.Device,
                Log = m => log.Information("  {Message}", m),
            });
            foreach (var r in result.Rows)
            {
                summary.Final["psnr " + r.Key] = r.MeanPsnr;
                summary.Final["ssim " + r.Key] = r.MeanSsim;
            }
            DenoisingCsv.Write(folder.FinalEvalFile, Path.ChangeExtension(folder.FinalEvalFile, null) + "_samples.csv", result);
            return;
        }
        var rows = new List<(string Name, double Value, double Seconds, double[] PerSample)>();
        var clean = task.Evaluate(model, test, null, seed);
        rows.Add(("clean", clean.Clean, clean.Seconds, clean.CleanPerSample));
        foreach (var spec in config.Eval.Final)
        {
            var attack = AttackPresets.Create(spec, config.Attack.Eps, task.EvaluationLoss);
            var r = task.Evaluate(model, test, attack, seed);
            rows.Add((attack.Name, r.Robust, r.Seconds, r.RobustPerSample!));
            log.Information("  {Attack}: {Score} {Value:F2} ({Seconds:F0}s)", attack.Name, task.Score, r.Robust, r.Seconds);
        }
        log.Information("  clean {Score} {Value:F2}", task.Score, clean.Clean);
        foreach (var r in rows) summary.Final[r.Name] = r.Value;
        EvaluationCsv.WriteTaskScores(folder.FinalEvalFile, Path.ChangeExtension(folder.FinalEvalFile, null) + "_samples.csv", task.Score, rows);
    }

    /// <summary>FNV-1a over the bytes of every state tensor: identifies the weights a saved evaluation state belongs to.</summary>
    private static string WeightsChecksum(RobustCli.Torch.nn.Module model)
    {
        using var scope = DisposeScope.Open();
        using var sd = model.StateDict();
        var h = 1469598103934665603UL;
        foreach (var (k, v) in sd)
        {
            foreach (var c in k) h = (h ^ c) * 1099511628211UL;
            foreach (var b in v.Contiguous().Cpu().ToBytes()) h = (h ^ b) * 1099511628211UL;
        }
        return h.ToString("x16");
    }

    /// <summary>Per-sample rows over the full test set; suites run on a subset leave the later rows empty.</summary>
    private static EvaluationResult Merge(List<EvaluationResult> results)
    {
        var main = results.OrderByDescending(r => r.Count).First();
        var suites = results.SelectMany(r => r.Suites.Select(s => Pad(s, main.Count))).ToList();
        return new EvaluationResult(main.Labels, main.CleanPrediction, suites, main.CleanSeconds, results.SelectMany(r => r.Warnings).ToList());
    }

    private static SuiteResult Pad(SuiteResult s, int n)
    {
        if (s.Count == n) return s;
        var st = new SuiteState
        {
            Name = s.Name, Stages = s.Stages.ToArray(), StageSeconds = s.StageSeconds, RobustAfterStage = s.RobustAfterStage, StagesDone = s.Stages.Count,
            BrokenBy = s.BrokenBy.Concat(Enumerable.Repeat(Outcome.Pending, n - s.Count)).ToArray(),
            Prediction = s.Prediction.Concat(Enumerable.Repeat(-1, n - s.Count)).ToArray(),
            PerturbationNorm = s.PerturbationNorm.Concat(Enumerable.Repeat(float.NaN, n - s.Count)).ToArray(),
        };
        return new SuiteResult(st, s.AutoAttackVersion, s.Eps, s.Norm);
    }

    /// <summary>Writes each epoch's row, checkpoints and summary, and feeds the progress display.</summary>
    private sealed class Observer(RunConfig config, ITask task, RunFolder folder, MetricsCsv csv, ILogger log, IProgressReporter progress,
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
        private string Pct(double v) => !double.IsFinite(v) ? "-" : task.ScoreIsFraction
            ? (100 * v).ToString("F2", CultureInfo.InvariantCulture) + "%" : v.ToString("F2", CultureInfo.InvariantCulture) + " dB";
    }
}
