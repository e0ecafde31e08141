using System.Globalization;
using RobustCli.Core.Training;
using RobustCli.Torch;
using RobustCli.Torch.nn;
using RobustCli.Torch.optim;
using RobustCli.Torch.Serialization;

namespace RobustCli.Experiments.Runs;

/// <summary>
/// A training checkpoint in torch.save's format: {"model": state_dict, "optimizer": torch.optim layout, "epoch",
/// "method": method state, "rng_cpu": the CPU generator's state, "best_*", and with train.ema "ema": the averaged weights}. PyTorch reads the weights with
/// torch.load(path)["model"]; everything needed to resume exactly is in it. Written atomically. A mid-epoch
/// checkpoint (checkpoint.every_steps / every_minutes) adds "epoch_progress": the batches done of the epoch under
/// way and its metrics' running sums (<see cref="EpochProgress"/>); "epoch" still counts whole epochs.
/// </summary>
public static class Checkpoint
{
    public const string Format = "robustcli-checkpoint/1";

    /// <param name="InEpoch">The part-done epoch of a mid-epoch checkpoint (null at an epoch's end).</param>
    public sealed record Resumed(int EpochsDone, double? BestValRobust, int? BestEpoch, EpochProgress? InEpoch = null);

    public static void Save(string path, Module model, Optimizer optimizer, ITrainingMethod method, int epochsDone, double? bestValRobust, int? bestEpoch,
        WeightAverage? average = null, EpochProgress? inEpoch = null)
    {
        if (inEpoch != null && inEpoch.Epoch != epochsDone)
            throw new ArgumentException($"a mid-epoch checkpoint of epoch {inEpoch.Epoch + 1} must follow {inEpoch.Epoch} whole epochs, not {epochsDone}");
        using var scope = DisposeScope.Open();
        using var gen = Generator.Default(Device.CPU);
        var root = new Dictionary<string, object?>
        {
            ["format"] = Format,
            ["model"] = model.StateDict(),
            ["optimizer"] = optimizer.StateDict(),
            ["epoch"] = (long)epochsDone,
            ["method"] = method.SaveState(),
            ["rng_cpu"] = gen.GetState(),
            ["best_val_robust_acc"] = bestValRobust,
            ["best_epoch"] = bestEpoch.HasValue ? (long)bestEpoch.Value : null,
        };
        if (inEpoch != null)
        {
            root["epoch_progress"] = new Dictionary<string, object?>
            {
                ["batches_done"] = (long)inEpoch.BatchesDone,
                ["loss_sum"] = inEpoch.LossSum,
                ["seen"] = inEpoch.Seen,
                ["clean_score"] = inEpoch.CleanScore,
                ["clean_seen"] = inEpoch.CleanSeen,
                ["adversarial_score"] = inEpoch.AdversarialScore,
                ["adversarial_seen"] = inEpoch.AdversarialSeen,
                ["train_seconds"] = inEpoch.TrainSeconds,
            };
        }
        if (average != null)
        {
            root["ema"] = average.Model.StateDict();
            root["ema_updates"] = average.Updates;
        }
        try { TorchArchive.Save(path, root); }
        finally { Weights.DisposeTensors(root["optimizer"]); }
    }

    public static Resumed Load(string path, Module model, Optimizer optimizer, ITrainingMethod method, WeightAverage? average = null)
    {
        var root = TorchArchive.Load(path) as IDictionary<object, object?>
                   ?? throw new FormatException($"{path}: not a RobustCli checkpoint");
        try
        {
            if (root.TryGetValue("format", out var f) && f as string != Format)
                throw new FormatException($"{path}: checkpoint format '{f}' is not {Format}");
            var sd = (IDictionary<object, object?>)root["model"]!;
            model.LoadStateDict(sd.ToDictionary(kv => (string)kv.Key, kv => (Tensor)kv.Value!));
            optimizer.LoadStateDict(root["optimizer"]!);
            var state = ((IDictionary<object, object?>)root["method"]!).ToDictionary(kv => (string)kv.Key, kv => kv.Value);
            method.LoadState(state);
            using (var gen = Generator.Default(Device.CPU)) gen.SetState((Tensor)root["rng_cpu"]!);
            if (average != null)
            {
                if (!root.TryGetValue("ema", out var emaObj) || emaObj is not IDictionary<object, object?> ema)
                    throw new FormatException($"{path}: the run keeps an EMA of the weights (train.ema) but the checkpoint has none");
                average.Model.LoadStateDict(ema.ToDictionary(kv => (string)kv.Key, kv => (Tensor)kv.Value!));
                average.Updates = Convert.ToInt64(root["ema_updates"], CultureInfo.InvariantCulture);
            }
            var epoch = Convert.ToInt32(root["epoch"], CultureInfo.InvariantCulture);
            double? best = root.TryGetValue("best_val_robust_acc", out var b) && b != null ? Convert.ToDouble(b, CultureInfo.InvariantCulture) : null;
            int? bestEpoch = root.TryGetValue("best_epoch", out var be) && be != null ? Convert.ToInt32(be, CultureInfo.InvariantCulture) : null;
            EpochProgress? inEpoch = null;
            if (root.TryGetValue("epoch_progress", out var pg) && pg is IDictionary<object, object?> p)
            {
                double D(string k) => Convert.ToDouble(p[k], CultureInfo.InvariantCulture);
                long L(string k) => Convert.ToInt64(p[k], CultureInfo.InvariantCulture);
                inEpoch = new EpochProgress(epoch, (int)L("batches_done"), D("loss_sum"), L("seen"), D("clean_score"), L("clean_seen"),
                    D("adversarial_score"), L("adversarial_seen"), D("train_seconds"));
            }
            return new Resumed(epoch, best, bestEpoch, inEpoch);
        }
        finally
        {
            Weights.DisposeTensors(root);
        }
    }

    /// <summary>
    /// The weights an evaluation of a file should measure: a RobustCli checkpoint of a run with train.ema gives its
    /// averaged weights ("ema"), which validation chose best.pt by; anything else goes through the generic loader.
    /// </summary>
    public static StateDict EvaluatedWeights(string path, out bool ema)
    {
        ema = false;
        if (!path.EndsWith(".pt", StringComparison.OrdinalIgnoreCase) || !File.Exists(path)) return Weights.Load(path);
        // One read: our checkpoint's "ema" entry when there is one, else the state dict the generic loader would find.
        var root = TorchArchive.Load(path);
        if (root is IDictionary<object, object?> d && d.TryGetValue("format", out var f) && f as string == Format &&
            d.TryGetValue("ema", out var e) && e is IDictionary<object, object?> averaged)
        {
            var sd = new StateDict();
            foreach (var (k, v) in averaged)
            {
                if (k is not string name || v is not Tensor t || sd.ContainsKey(name))
                {
                    Weights.DisposeTensors(root);
                    throw new FormatException($"{path}: its \"ema\" entry is not a state dict (key {k} holds {v?.GetType().Name ?? "None"})");
                }
                sd.Add(name, t);
            }
            ema = true;
            Weights.DisposeTensors(root, keep: sd.Values.ToHashSet());
            return sd;
        }
        return Weights.FromArchive(root, path);
    }
}
