namespace RobustCli.Experiments.Config;

// The typed form of a YAML config. Keys are the snake_case of these property names (train.batch_size);
// every default here is what `robust config show` prints. Numbers accept fractions such as 8/255.

public sealed class RunConfig
{
    /// <summary>Run name: runs/&lt;name&gt;/&lt;timestamp&gt;-&lt;id&gt;/.</summary>
    public string Name { get; set; } = "run";
    public int Seed { get; set; }
    /// <summary>auto (cuda:0 when available, else cpu), cpu, cuda, cuda:N.</summary>
    public string Device { get; set; } = "auto";
    /// <summary>CPU threads; 0 means every core.</summary>
    public int Threads { get; set; }
    public DataConfig Data { get; set; } = new();
    public ModelConfig Model { get; set; } = new();
    public TrainConfig Train { get; set; } = new();
    public AttackConfig Attack { get; set; } = new();
    public EvalConfig Eval { get; set; } = new();
    public CheckpointConfig Checkpoint { get; set; } = new();
}

public sealed class DataConfig
{
    /// <summary>fashion-mnist, mnist, cifar10, cifar100, svhn.</summary>
    public string Name { get; set; } = "cifar10";
    /// <summary>A folder holding the dataset's files, searched first.</summary>
    public string? Path { get; set; }
    /// <summary>Images held out of the training set for validation (class-balanced, chosen with val_seed).</summary>
    public int ValSize { get; set; } = 1000;
    public int ValSeed { get; set; }
    /// <summary>Train on the first N remaining training images (0: all).</summary>
    public int TrainSubset { get; set; }
    /// <summary>Evaluate on the first N test images (0: all).</summary>
    public int TestSubset { get; set; }
    public int CropPadding { get; set; }
    public bool Flip { get; set; }
}

public sealed class ModelConfig
{
    /// <summary>smallcnn, preact18, resnet18, wrn.</summary>
    public string Arch { get; set; } = "preact18";
    /// <summary>auto (the dataset's channel mean and std, inside the model) or none.</summary>
    public string Normalize { get; set; } = "auto";
    /// <summary>WideResNet depth and width.</summary>
    public int Depth { get; set; } = 34;
    public int Width { get; set; } = 10;
    public double DropRate { get; set; }
}

public sealed class TrainConfig
{
    /// <summary>standard, pgd-at, trades, mart, fat, fgsm-rs, noilin.</summary>
    public string Method { get; set; } = "pgd-at";
    public int Epochs { get; set; } = 10;
    public int BatchSize { get; set; } = 128;
    /// <summary>TRADES' and MART's beta.</summary>
    public double Beta { get; set; } = 6.0;
    /// <summary>Ramp the training attack's eps (and step) linearly over the first N epochs.</summary>
    public int EpsWarmupEpochs { get; set; }
    /// <summary>FGSM-RS step (default 1.25 eps).</summary>
    public double? FgsmAlpha { get; set; }
    public OptimizerConfig Optimizer { get; set; } = new();
    public ScheduleConfig Schedule { get; set; } = new();
    public FatConfig Fat { get; set; } = new();
    public NoiLinConfig Noilin { get; set; } = new();
}

public sealed class OptimizerConfig
{
    /// <summary>sgd, adam, adamw.</summary>
    public string Name { get; set; } = "sgd";
    public double Lr { get; set; } = 0.1;
    public double Momentum { get; set; } = 0.9;
    public double WeightDecay { get; set; } = 5e-4;
    public bool Nesterov { get; set; }
    public double Beta1 { get; set; } = 0.9;
    public double Beta2 { get; set; } = 0.999;
}

public sealed class ScheduleConfig
{
    /// <summary>constant, multistep, cosine, onecycle (piecewise linear 0 -> lr -> 0, peak at peak_fraction).</summary>
    public string Name { get; set; } = "multistep";
    /// <summary>multistep: the 0-based epochs from which lr *= gamma once more (torch MultiStepLR stepped once per epoch).</summary>
    public List<int> Milestones { get; set; } = [];
    public double Gamma { get; set; } = 0.1;
    public double MinLr { get; set; }
    public double PeakFraction { get; set; } = 0.4;
    public double WarmupEpochs { get; set; }
    /// <summary>Update the lr every step (fractional epochs) rather than once per epoch.</summary>
    public bool PerStep { get; set; }
}

public sealed class FatConfig
{
    public int TauInit { get; set; }
    /// <summary>1-based epochs after which tau grows by one.</summary>
    public List<int> TauMilestones { get; set; } = [];
    public double Omega { get; set; } = 0.001;
}

public sealed class NoiLinConfig
{
    /// <summary>pgd-at or trades.</summary>
    public string Base { get; set; } = "pgd-at";
    /// <summary>symmetric or pairflip.</summary>
    public string Noise { get; set; } = "symmetric";
    public double NMin { get; set; } = 0.05;
    public double NMax { get; set; } = 0.6;
    public int Tau { get; set; } = 10;
    public double Gamma { get; set; } = 0.05;
    /// <summary>The rate stays at most n_max / 2 while the 0-based epoch is at most this.</summary>
    public int HalfCapUntilEpoch { get; set; } = 90;
}

public sealed class AttackConfig
{
    /// <summary>The training attack: linf or l2.</summary>
    public string Norm { get; set; } = "linf";
    public double Eps { get; set; } = 8.0 / 255;
    public double Step { get; set; } = 2.0 / 255;
    public int Steps { get; set; } = 10;
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
    public int TestEvery { get; set; }
    /// <summary>
    /// Attacks for the final evaluation of the last checkpoint, written to final_eval.csv: presets, and
    /// autoattack (AutoAttack standard; autoattack:version=plus, :norm=l2...), which runs on the first autoattack_n
    /// test points.
    /// </summary>
    public List<string> Final { get; set; } = ["pgd20", "cw20"];
    /// <summary>Test points (the first ones, a fixed subset) for AutoAttack in the final evaluation; 0: all.</summary>
    public int AutoattackN { get; set; } = 1000;
    public int BatchSize { get; set; } = 256;
}

public sealed class CheckpointConfig
{
    /// <summary>Keep checkpoints/best.pt, by validation robust accuracy.</summary>
    public bool Best { get; set; } = true;
}
