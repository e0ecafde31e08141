using RobustCli.Core.Registry;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;

namespace RobustCli.Experiments.Config;

// The typed form of a YAML config. Keys are the snake_case of these property names (train.batch_size); every default
// here is what `robust config show` prints. Numbers accept fractions such as 8/255. The options of a method, an
// architecture and a task are not typed here: their registrations declare them (keys, defaults, ranges), and the
// loader binds them into the open sections below.

/// <summary>An allowed range for a number (or each entry of a list), checked where the value was written.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class RangeAttribute(double min = double.NegativeInfinity, double max = double.PositiveInfinity) : Attribute
{
    public bool MinExclusive { get; init; }
    public bool MaxExclusive { get; init; }
    public bool Sorted { get; init; }
    public string? Hint { get; init; }

    public OptionSpec Spec(string key, bool isInt, bool isList = false) => new(key, isList ? OptionKind.IntList : isInt ? OptionKind.Int : OptionKind.Double, null, "")
    {
        Min = double.IsFinite(min) ? min : null, Max = double.IsFinite(max) ? max : null, MinExclusive = MinExclusive, MaxExclusive = MaxExclusive,
        Sorted = Sorted, Hint = Hint, Nullable = true,
    };
}

/// <summary>A key kept only so old configs load: it warns and names the key that replaced it.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class DeprecatedAttribute(string replacement) : Attribute
{
    public string Replacement { get; } = replacement;
}

/// <summary>A section some of whose keys belong to a registration (a method's, an architecture's, a task's options).</summary>
public interface IOpenSection
{
    /// <summary>Keeps a key this type does not declare; false leaves it an unknown key.</summary>
    bool Accept(string key, YamlNode value);
}

public sealed class RunConfig
{
    /// <summary>Run name: runs/&lt;name&gt;/&lt;timestamp&gt;-&lt;id&gt;/.</summary>
    public string Name { get; set; } = "run";
    public int Seed { get; set; }
    /// <summary>auto (cuda:0 when available, else cpu), cpu, cuda, cuda:N.</summary>
    public string Device { get; set; } = "auto";
    /// <summary>CPU threads; 0 means OMP_NUM_THREADS when it is set (robust sweep --jobs and Slurm tasks set it), else every core.</summary>
    [Range(0)] public int Threads { get; set; }
    public TaskConfig Task { get; set; } = new();
    public DataConfig Data { get; set; } = new();
    public ModelConfig Model { get; set; } = new();
    public TrainConfig Train { get; set; } = new();
    public AttackConfig Attack { get; set; } = new();
    public EvalConfig Eval { get; set; } = new();
    public CheckpointConfig Checkpoint { get; set; } = new();
}

/// <summary>What is learned: classification (default) or denoising, with the task's options (task.sigma).</summary>
public sealed class TaskConfig : IOpenSection
{
    public string Name { get; set; } = "classification";
    [YamlIgnore] public Dictionary<string, YamlNode> Given { get; } = [];
    [YamlIgnore] public OptionValues? Options { get; internal set; }
    public bool Accept(string key, YamlNode value) { Given[key] = value; return true; }
}

public sealed class DataConfig
{
    /// <summary>fashion-mnist, mnist, cifar10, cifar100, svhn.</summary>
    public string Name { get; set; } = "cifar10";
    /// <summary>A folder holding the dataset's files, searched first.</summary>
    public string? Path { get; set; }
    /// <summary>Images held out of the training set for validation (class-balanced, chosen with val_seed).</summary>
    [Range(0)] public int ValSize { get; set; } = 1000;
    public int ValSeed { get; set; }
    /// <summary>Train on the first N remaining training images (0: all).</summary>
    [Range(0)] public int TrainSubset { get; set; }
    /// <summary>
    /// The limited-data protocol: train on the first N remaining training images of each class (0: all); applied
    /// before train_subset.
    /// </summary>
    [Range(0)] public int PerClass { get; set; }
    /// <summary>Evaluate on the first N test images (0: all).</summary>
    [Range(0)] public int TestSubset { get; set; }
    [Range(0)] public int CropPadding { get; set; }
    public bool Flip { get; set; }
    /// <summary>Picture sets (denoising): the test set when the training set has none (bsd400 is tested on set68); null: the dataset's own or its default.</summary>
    public string? TestSet { get; set; }
    /// <summary>A folder holding the test set's files, searched first.</summary>
    public string? TestPath { get; set; }
    /// <summary>Picture sets: the side of the square training patches.</summary>
    [Range(1)] public int PatchSize { get; set; } = 50;
    /// <summary>Picture sets: patches cut from each training picture per epoch (the reference's repeat: 960 for Train400).</summary>
    [Range(1)] public int Repeat { get; set; } = 1;
    /// <summary>Picture sets: 1 (gray) or 3 (colour); 0: the dataset's own.</summary>
    [Range(0, 3)] public int Channels { get; set; }
}

/// <summary>The architecture and its declared options (model.depth and model.width for wrn).</summary>
public sealed class ModelConfig : IOpenSection
{
    /// <summary>smallcnn, preact18, resnet18, wrn, wrnD-W, tiny-denoiser.</summary>
    public string Arch { get; set; } = "preact18";
    /// <summary>auto (the dataset's channel mean and std, inside the model) or none.</summary>
    public string Normalize { get; set; } = "auto";
    [YamlIgnore] public Dictionary<string, YamlNode> Given { get; } = [];
    [YamlIgnore] public OptionValues? Options { get; internal set; }
    public bool Accept(string key, YamlNode value) { Given[key] = value; return true; }
}

public sealed class TrainConfig : IOpenSection
{
    /// <summary>A registered method: standard, pgd-at, trades, mart, fat, fgsm-rs, noilin.</summary>
    public string Method { get; set; } = "pgd-at";
    [Range(1)] public int Epochs { get; set; } = 10;
    [Range(1)] public int BatchSize { get; set; } = 128;
    /// <summary>Ramp the training attack's eps (and step) linearly over the first N epochs.</summary>
    [Range(0)] public int EpsWarmupEpochs { get; set; }
    /// <summary>Clip the global 2-norm of the gradients to this before each step (0: off), as clip_grad_norm_.</summary>
    [Range(0)] public double GradClip { get; set; }
    /// <summary>Spend an eval-mode forward per batch on train_clean_acc (PGD-AT, FAT, FGSM-RS); false for throughput figures.</summary>
    public bool LogCleanAccuracy { get; set; } = true;
    public OptimizerConfig Optimizer { get; set; } = new();
    public ScheduleConfig Schedule { get; set; } = new();
    public EmaConfig Ema { get; set; } = new();
    /// <summary>Learning-rate multipliers for parameters by name prefix (heads, sub-models).</summary>
    public List<ParamGroupConfig> ParamGroups { get; set; } = [];
    /// <summary>Deprecated: TRADES' and MART's beta now live at train.trades.beta and train.mart.beta.</summary>
    [YamlIgnore, Deprecated("train.trades.beta (or train.mart.beta)")] public double? Beta { get; set; }
    /// <summary>Deprecated: now train.fgsm_rs.alpha.</summary>
    [YamlIgnore, Deprecated("train.fgsm_rs.alpha")] public double? FgsmAlpha { get; set; }

    /// <summary>Each method's section as written (train.trades: {beta: 3}), by section name.</summary>
    [YamlIgnore] public Dictionary<string, YamlMappingNode> Sections { get; } = [];
    /// <summary>The resolved options of every method the run uses (the method and its base), by method name.</summary>
    [YamlIgnore] public Dictionary<string, OptionValues> MethodOptions { get; } = [];

    public bool Accept(string key, YamlNode value)
    {
        if (value is not YamlMappingNode m || !Core.Training.Methods.Registry.All.Any(r => r.Section == key)) return false;
        Sections[key] = m;
        return true;
    }
}

public sealed class OptimizerConfig
{
    /// <summary>sgd, adam, adamw.</summary>
    public string Name { get; set; } = "sgd";
    [Range(0, MinExclusive = true)] public double Lr { get; set; } = 0.1;
    [Range(0, 1)] public double Momentum { get; set; } = 0.9;
    [Range(0)] public double WeightDecay { get; set; } = 5e-4;
    public bool Nesterov { get; set; }
    [Range(0, 1, MaxExclusive = true)] public double Beta1 { get; set; } = 0.9;
    [Range(0, 1, MaxExclusive = true)] public double Beta2 { get; set; } = 0.999;
}

public sealed class ScheduleConfig
{
    /// <summary>constant, multistep, cosine, onecycle (piecewise linear 0 -> lr -> 0, peak at peak_fraction).</summary>
    public string Name { get; set; } = "multistep";
    /// <summary>multistep: the 0-based epochs from which lr *= gamma once more (torch MultiStepLR stepped once per epoch).</summary>
    [Range(0, Sorted = true)] public List<int> Milestones { get; set; } = [];
    [Range(0, MinExclusive = true)] public double Gamma { get; set; } = 0.1;
    [Range(0)] public double MinLr { get; set; }
    [Range(0, 1, MinExclusive = true, MaxExclusive = true)] public double PeakFraction { get; set; } = 0.4;
    [Range(0)] public double WarmupEpochs { get; set; }
    /// <summary>Update the lr every step (fractional epochs) rather than once per epoch.</summary>
    public bool PerStep { get; set; }
}

/// <summary>An exponential moving average of the weights, evaluated and checkpointed (checkpoints/ema.pt).</summary>
public sealed class EmaConfig
{
    /// <summary>0: off; typical 0.999 (ema = decay * ema + (1 - decay) * weights after every step).</summary>
    [Range(0, 1, MaxExclusive = true)] public double Decay { get; set; }
    /// <summary>Use min(decay, (1 + t) / (10 + t)) at update t, so early averages follow the weights.</summary>
    public bool Warmup { get; set; }
}

/// <summary>Parameters whose names start with prefix get lr * lr_scale.</summary>
public sealed class ParamGroupConfig
{
    public string Prefix { get; set; } = "";
    [Range(0)] public double LrScale { get; set; } = 1;
}

public sealed class AttackConfig
{
    /// <summary>The training attack: linf or l2.</summary>
    public string Norm { get; set; } = "linf";
    [Range(0, 1, Hint = "pixel units: pixels are in [0, 1], so 8/255, not 8")] public double Eps { get; set; } = 8.0 / 255;
    [Range(0, MinExclusive = true)] public double Step { get; set; } = 2.0 / 255;
    [Range(1)] public int Steps { get; set; } = 10;
    /// <summary>uniform, normal (x + 0.001 N(0,1)) or none.</summary>
    public string RandomStart { get; set; } = "uniform";
}

public sealed class EvalConfig
{
    /// <summary>Attack for the per-epoch validation robust accuracy (eps from attack.eps); best.pt is chosen by it.</summary>
    public string ValAttack { get; set; } = "pgd10";
    /// <summary>Attack for test robust accuracy in metrics.csv.</summary>
    public string TestAttack { get; set; } = "pgd20";
    /// <summary>Evaluate on the test set every N epochs (0: never during training; the final evaluation covers the last model).</summary>
    [Range(0)] public int TestEvery { get; set; }
    /// <summary>
    /// Attacks for the final evaluation of the last checkpoint, written to final_eval.csv: presets, and
    /// autoattack (AutoAttack standard; autoattack:version=plus, :norm=l2...), which runs on the first autoattack_n
    /// test points.
    /// </summary>
    public List<string> Final { get; set; } = ["pgd20", "cw20"];
    /// <summary>Test points (the first ones, a fixed subset) for AutoAttack in the final evaluation; 0: all.</summary>
    [Range(0)] public int AutoattackN { get; set; } = 1000;
    [Range(1)] public int BatchSize { get; set; } = 256;
}

public sealed class CheckpointConfig
{
    /// <summary>Keep checkpoints/best.pt, by validation robust accuracy.</summary>
    public bool Best { get; set; } = true;
    /// <summary>
    /// Also write checkpoints/last.pt inside an epoch when this many minutes have passed since the last one (0: only at
    /// epochs' ends), so a preempted or killed run loses at most that much; --resume continues after the batch it holds.
    /// </summary>
    [Range(0)] public double EveryMinutes { get; set; } = 10;
    /// <summary>Also write checkpoints/last.pt inside an epoch every N batches (0: never by count).</summary>
    [Range(0)] public int EverySteps { get; set; }
}
