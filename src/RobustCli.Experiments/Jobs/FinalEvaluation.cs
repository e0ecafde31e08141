using System.Globalization;
using RobustCli.Core.Data;
using RobustCli.Core.Models;
using RobustCli.Core.Tasks;
using RobustCli.Experiments.Config;
using RobustCli.Experiments.Runs;
using RobustCli.Torch;
using RobustCli.Torch.nn;
using Serilog;

namespace RobustCli.Experiments.Jobs;

/// <summary>
/// The evaluation a run ends with: the task measures the last model (the EMA when kept) under eval.final
/// (<see cref="ITask.Measure"/>), the rows go to final_eval.csv and final_eval_samples.csv, the scores to
/// summary.json. A kill during a long one (AutoAttack) resumes where it stopped: per-sample progress is saved
/// beside the run, tied to a checksum of the weights, and removed once the evaluation is written.
/// </summary>
public static class FinalEvaluation
{
    public static void Run(RunConfig config, ITask task, RunFolder folder, Module model, ImageSource test, Device device, ILogger log,
        IProgressReporter progress, RunSummary summary, CancellationToken cancel)
    {
        // A robustness evaluation without attacks measures nothing the metrics' test_clean_acc lacks.
        if (config.Eval.Final.Count == 0 && task.MeasuresRobustAccuracy) return;
        // Evaluated as deployed (BatchNorm running statistics): the checks would otherwise flag train mode.
        model.Eval();
        var states = new List<string>();
        var logged = 0;
        log.Information("final evaluation of the last model on {N} test images: {Attacks}", test.Count, config.Eval.Final.Count == 0 ? "clean" : string.Join(", ", config.Eval.Final));
        var evaluation = task.Measure(new TaskEvaluationRequest(OutputSelector.For(model, task.Output), test, config.Eval.Final, config.Attack.Eps)
        {
            Norm = config.Attack.Norm,
            PresetsFollowNorm = false,
            // The seeds the runs before this shape had: a robustness evaluation draws from the run's seed, others from a stream of their own.
            Seed = task.MeasuresRobustAccuracy ? (ulong)config.Seed : (ulong)(uint)SeedMix.Of(config.Seed, 0xf1a1),
            BatchSize = config.Eval.BatchSize,
            Device = device,
            // AutoAttack costs hundreds of forward-backward passes per point: it gets a fixed subset (the first points).
            CostlySubset = config.Eval.AutoattackN,
            StateFile = part =>
            {
                var path = Path.Combine(folder.Path, $"final_eval_state_{part}.json");
                states.Add(path);
                return path;
            },
            Fingerprint = "weights=" + WeightsChecksum(model),
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
        foreach (var (key, value) in evaluation.Scores)
        {
            summary.Final[key] = value;
            log.Information("  {Key}: {Value}", key, task.ScoreIsFraction ? value.ToString("P2", CultureInfo.InvariantCulture) : value.ToString("F4", CultureInfo.InvariantCulture));
        }
        foreach (var w in evaluation.Warnings) summary.Warnings.Add(w);
        EvaluationCsv.Write(folder.FinalEvalFile, Path.ChangeExtension(folder.FinalEvalFile, null) + "_samples.csv", evaluation);
        foreach (var st in states) File.Delete(st);
    }

    /// <summary>FNV-1a over the bytes of every state tensor: identifies the weights a saved evaluation state belongs to.</summary>
    private static string WeightsChecksum(Module model)
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
}
