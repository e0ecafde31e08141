using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Models;
using RobustCli.Core.Training;
using RobustCli.Experiments.Config;
using RobustCli.Torch;
using RobustCli.Torch.optim;

namespace RobustCli.Experiments.Jobs;

/// <summary>The datasets of a run: training (minus validation), validation and test.</summary>
public sealed record RunData(ImageDataset Train, ImageDataset Validation, ImageDataset Test, DatasetSpec Spec);

/// <summary>Builds a run's parts from its config: one place that knows every name a config may use.</summary>
public static class ComponentFactory
{
    public static RunData LoadData(DataConfig c, string? repoRoot, bool needTrain = true)
    {
        var spec = DatasetCatalog.Get(c.Name);
        var test = DatasetCatalog.Load(c.Name, train: false, c.Path, repoRoot);
        if (c.TestSubset > 0) test = test.Take(c.TestSubset);
        if (!needTrain) return new RunData(test.Take(0), test.Take(0), test, spec);
        var full = DatasetCatalog.Load(c.Name, train: true, c.Path, repoRoot);
        var (train, val) = full.SplitValidation(c.ValSize, c.ValSeed);
        if (c.TrainSubset > 0) train = train.Take(c.TrainSubset);
        return new RunData(train, val, test, spec);
    }

    public static Normalization? Normalization(ModelConfig m, DatasetSpec data) =>
        m.Normalize == "none" ? null : new Normalization(data.Mean, data.Std);

    public static Classifier Model(ModelConfig m, DatasetSpec data) =>
        ModelFactory.Create(new ModelSpec(m.Arch, data.NumClasses, data.Channels, Normalization(m, data), m.Depth, m.Width, m.DropRate));

    public static Optimizer Optimizer(OptimizerConfig o, IEnumerable<Tensor> parameters) => o.Name switch
    {
        "sgd" => new SGD(parameters, o.Lr, o.Momentum, 0, o.WeightDecay, o.Nesterov),
        "adam" => new Adam(parameters, o.Lr, o.Beta1, o.Beta2, 1e-8, o.WeightDecay),
        "adamw" => new AdamW(parameters, o.Lr, o.Beta1, o.Beta2, 1e-8, o.WeightDecay),
        _ => throw new ConfigException($"train.optimizer.name: unknown optimizer '{o.Name}'"),
    };

    public static LrSchedule Schedule(TrainConfig t)
    {
        var s = t.Schedule;
        var lr = t.Optimizer.Lr;
        LrSchedule schedule = s.Name switch
        {
            "constant" => new ConstantSchedule(lr),
            "multistep" => new MultiStepSchedule(lr, s.Milestones, s.Gamma),
            "cosine" => new CosineSchedule(lr, t.Epochs, s.MinLr, s.PerStep),
            "onecycle" => PiecewiseLinearSchedule.OneCycle(lr, t.Epochs, s.PeakFraction),
            _ => throw new ConfigException($"train.schedule.name: unknown schedule '{s.Name}'"),
        };
        return s.WarmupEpochs > 0 ? new WarmupSchedule(schedule, s.WarmupEpochs) : schedule;
    }

    /// <summary>Whether the lr changes within an epoch: the one-cycle schedule always does.</summary>
    public static bool SchedulePerStep(ScheduleConfig s) => s.PerStep || s.Name == "onecycle";

    public static AttackSettings TrainingAttack(AttackConfig a) => new(
        a.Norm == "l2" ? Norm.L2 : Norm.Linf, a.Eps, a.Step, a.Steps,
        a.RandomStart switch { "normal" => RandomStart.Normal, "none" => RandomStart.None, _ => RandomStart.Uniform });

    public static ITrainingMethod Method(RunConfig c, int seed)
    {
        var t = c.Train;
        var attack = TrainingAttack(c.Attack);
        ITrainingMethod Base(string name) => name switch
        {
            "standard" => new StandardTraining(),
            "pgd-at" => new PgdAdversarialTraining(attack, t.EpsWarmupEpochs),
            "trades" => new TradesTraining(attack, t.Beta, t.EpsWarmupEpochs),
            "mart" => new MartTraining(attack, t.Beta, t.EpsWarmupEpochs),
            "fat" => new FriendlyAdversarialTraining(attack, t.Fat.TauInit, t.Fat.TauMilestones, t.Fat.Omega, t.EpsWarmupEpochs),
            "fgsm-rs" => new FgsmRsTraining(c.Attack.Eps, t.FgsmAlpha, t.EpsWarmupEpochs),
            _ => throw new ConfigException($"train.method: unknown method '{name}'"),
        };
        if (t.Method != "noilin") return Base(t.Method);
        var n = t.Noilin;
        return new NoiLinTraining(Base(n.Base), n.Noise == "pairflip" ? LabelNoise.PairFlip : LabelNoise.Symmetric,
            n.NMin, n.NMax, n.Tau, n.Gamma, n.HalfCapUntilEpoch, seed);
    }

    /// <summary>The extra metrics.csv columns a method writes (known before the first epoch, for the header).</summary>
    public static IReadOnlyList<string> MethodColumns(RunConfig c) => c.Train.Method switch
    {
        "noilin" => c.Train.Noilin.Base == "fat" ? ["noise_rate", "tau"] : ["noise_rate"],
        "fat" => ["tau"],
        _ => [],
    };
}
