using System.CommandLine;
using System.Text.RegularExpressions;
using RobustCli.Tests.Shared;

namespace RobustCli.Tests;

/// <summary>
/// A corpus of malformed configs and command lines, tried as a new user would: every one exits 2 with one located
/// message (file:line:column and the key, or the flag) and never a stack trace; `robust train` leaves no run folder.
/// </summary>
public sealed class MalformedInputTests
{
    private static readonly Lazy<string> Data = new(() => TinyData.FashionMnistLike(64, 16));

    /// <summary>The tiny config with one section replaced.</summary>
    private static string Config(string section, string text)
    {
        var sections = new Dictionary<string, string>
        {
            ["name"] = "name: tiny", ["seed"] = "seed: 3", ["device"] = "device: cpu",
            ["data"] = $"data: {{name: fashion-mnist, path: {Data.Value}, val_size: 8, test_subset: 8}}",
            ["model"] = "model: {arch: smallcnn, normalize: none}",
            ["train"] = "train: {method: pgd-at, epochs: 1, batch_size: 16, optimizer: {name: adam, lr: 0.002, weight_decay: 0}, schedule: {name: constant}}",
            ["attack"] = "attack: {eps: 0.1, step: 0.05, steps: 2}",
            ["eval"] = "eval: {val_attack: pgd3, test_attack: pgd3, final: [pgd3]}",
        };
        if (sections.ContainsKey(section)) sections[section] = text;
        var yaml = string.Join("\n", sections.Values) + "\n";
        return sections.ContainsKey(section) ? yaml : yaml + text + "\n";
    }

    private static string T(string train) => $"train: {{method: pgd-at, epochs: 1, batch_size: 16, {train}}}";

    /// <summary>(section, its malformed text, the key the message must name).</summary>
    public static readonly (string Section, string Text, string Key)[] Configs =
    [
        ("attack", "attack: {eps: -0.1}", "attack.eps"),
        ("attack", "attack: {eps: 8}", "attack.eps"),
        ("attack", "attack: {eps: abc}", "attack.eps"),
        ("attack", "attack: {step: 0}", "attack.step"),
        ("attack", "attack: {step: -1}", "attack.step"),
        ("attack", "attack: {steps: 0}", "attack.steps"),
        ("attack", "attack: {norm: l3}", "attack.norm"),
        ("attack", "attack: {random_start: gaussian}", "attack.random_start"),
        ("attack", "attack: [1, 2]", "attack"),
        ("attack", "attack: {epz: 0.1}", "attack.epz"),
        ("name", "name: ../../x", "name"),
        ("name", "name: a/b", "name"),
        ("name", "name: /abs", "name"),
        ("name", "name: ''", "name"),
        ("name", "name: [a]", "name"),
        ("seed", "seed: abc", "seed"),
        ("seed", "seed: 1.5", "seed"),
        ("device", "device: gpu0", "device"),
        ("device", "device: cuda:x", "device"),
        ("train", T("batch_size: 0").Replace("batch_size: 16, ", ""), "train.batch_size"),
        ("train", "train: {epochs: -3}", "train.epochs"),
        ("train", "train: {epochs: ten}", "train.epochs"),
        ("train", "train: {epochs: 1.5}", "train.epochs"),
        ("train", "train: {batch_size: 0}", "train.batch_size"),
        ("train", "train: {method: tradez}", "train.method"),
        ("train", "train: {method: trades, trades: {beta: -1}}", "train.trades.beta"),
        ("train", "train: {method: trades, beta: -1}", "train.trades.beta"),
        ("train", "train: {method: mart, mart: {beta: -2}}", "train.mart.beta"),
        ("train", "train: {trades: {betta: 1}}", "train.trades.betta"),
        ("train", "train: {tradez: {beta: 1}}", "train.tradez"),
        ("train", "train: {trades: 5}", "train.trades"),
        ("train", "train: {optimizer: {momentum: 1.5}}", "train.optimizer.momentum"),
        ("train", "train: {optimizer: {momentum: -0.1}}", "train.optimizer.momentum"),
        ("train", "train: {optimizer: {beta1: 1.2}}", "train.optimizer.beta1"),
        ("train", "train: {optimizer: {beta2: 1}}", "train.optimizer.beta2"),
        ("train", "train: {optimizer: {lr: 0}}", "train.optimizer.lr"),
        ("train", "train: {optimizer: {lr: -0.1}}", "train.optimizer.lr"),
        ("train", "train: {optimizer: {weight_decay: -1}}", "train.optimizer.weight_decay"),
        ("train", "train: {optimizer: {name: adamx}}", "train.optimizer.name"),
        ("train", "train: {optimizer: {nesterov: sometimes}}", "train.optimizer.nesterov"),
        ("train", "train: {schedule: {milestones: [75, 50]}}", "train.schedule.milestones"),
        ("train", "train: {schedule: {milestones: [-1]}}", "train.schedule.milestones"),
        ("train", "train: {schedule: {milestones: 5}}", "train.schedule.milestones"),
        ("train", "train: {schedule: {milestones: [a]}}", "train.schedule.milestones[0]"),
        ("train", "train: {schedule: {gamma: 0}}", "train.schedule.gamma"),
        ("train", "train: {schedule: {name: cosin}}", "train.schedule.name"),
        ("train", "train: {schedule: {peak_fraction: 1}}", "train.schedule.peak_fraction"),
        ("train", "train: {schedule: {warmup_epochs: -1}}", "train.schedule.warmup_epochs"),
        ("train", "train: {schedule: {min_lr: -1}}", "train.schedule.min_lr"),
        ("train", "train: {eps_warmup_epochs: -1}", "train.eps_warmup_epochs"),
        ("train", "train: {grad_clip: -1}", "train.grad_clip"),
        ("train", "train: {ema: {decay: 1}}", "train.ema.decay"),
        ("train", "train: {ema: {decay: 0.3}}", "train.ema.decay"),
        ("train", "train: {ema: {decay: -0.5}}", "train.ema.decay"),
        ("train", "train: {ema: 0.999}", "train.ema"),
        ("train", "train: {param_groups: [{prefix: '', lr_scale: 2}]}", "train.param_groups[0].prefix"),
        ("train", "train: {param_groups: [{prefix: f3., lr_scale: -1}]}", "train.param_groups[0].lr_scale"),
        ("train", "train: {param_groups: [{prefx: f3.}]}", "train.param_groups[0].prefx"),
        ("train", "train: {log_clean_accuracy: 2}", "train.log_clean_accuracy"),
        ("train", "train: {method: noilin, noilin: {n_min: 0.9, n_max: 0.5}}", "train.noilin.n_min"),
        ("train", "train: {noilin: {tau: 0}}", "train.noilin.tau"),
        ("train", "train: {noilin: {base: mart}}", "train.noilin.base"),
        ("train", "train: {noilin: {noise: uniform}}", "train.noilin.noise"),
        ("train", "train: {noilin: {gamma: -1}}", "train.noilin.gamma"),
        ("train", "train: {noilin: {n_max: 2}}", "train.noilin.n_max"),
        ("train", "train: {fat: {tau_init: -1}}", "train.fat.tau_init"),
        ("train", "train: {fat: {tau_milestones: [90, 50]}}", "train.fat.tau_milestones"),
        ("train", "train: {fat: {tau_milestones: 3}}", "train.fat.tau_milestones"),
        ("train", "train: {fat: {omega: -0.1}}", "train.fat.omega"),
        ("train", "train: {fgsm_rs: {alpha: 0}}", "train.fgsm_rs.alpha"),
        ("train", "train: {fgsm_rs: {alpha: -1}}", "train.fgsm_rs.alpha"),
        ("train", "train: {fgsm_alpha: abc}", "train.fgsm_alpha"),
        ("train", "train: {epochz: 3}", "train.epochz"),
        ("train", "train: [1]", "train"),
        ("eval", "eval: {test_every: -1}", "eval.test_every"),
        ("eval", "eval: {batch_size: 0}", "eval.batch_size"),
        ("eval", "eval: {autoattack_n: -5}", "eval.autoattack_n"),
        ("eval", "eval: {val_attack: pgdx}", "eval.val_attack"),
        ("eval", "eval: {val_attack: pgd}", "eval.val_attack"),
        ("eval", "eval: {test_attack: 'pgd20:alpah=1'}", "eval.test_attack"),
        ("eval", "eval: {test_attack: 'pgd20:alpha=x'}", "eval.test_attack"),
        ("eval", "eval: {test_attack: 'pgd20:restarts=0'}", "eval.test_attack"),
        ("eval", "eval: {final: [pgd20, 'cw20:kappa=-1']}", "eval.final[1]"),
        ("eval", "eval: {final: ['autoattack:version=fancy']}", "eval.final[0]"),
        ("eval", "eval: {final: ['square:p_init=2']}", "eval.final[0]"),
        ("eval", "eval: {final: pgd20}", "eval.final"),
        ("eval", "eval: {final: [pgd3, hypocritical]}", "eval.final[1]"),
        ("eval", "eval: {val_attack: hypocritical}", "eval.val_attack"),
        ("eval", "eval: {final: ['pgd20:eps=2']}", "eval.final[0]"),
        ("data", "data: {name: cifar-10}", "data.name"),
        ("data", "data: {val_size: -1}", "data.val_size"),
        ("data", "data: {name: cifar10, val_size: 60000}", "data.val_size"),
        ("data", "data: {crop_padding: -2}", "data.crop_padding"),
        ("data", "data: {train_subset: -1}", "data.train_subset"),
        ("data", "data: {test_subset: -1}", "data.test_subset"),
        ("data", "data: {flip: maybe}", "data.flip"),
        ("data", "data: 5", "data"),
        ("model", "model: {arch: wrn, depth: 33}", "model.depth"),
        ("model", "model: {arch: wrn, depth: 4}", "model.depth"),
        ("model", "model: {arch: wrn, width: 0}", "model.width"),
        ("model", "model: {arch: wrn, drop_rate: 1.5}", "model.drop_rate"),
        ("model", "model: {arch: wrn33-10}", "model.arch"),
        ("model", "model: {arch: resnet19}", "model.arch"),
        ("model", "model: {arch: smallcnn, depth: 34}", "model.depth"),
        ("model", "model: {normalize: sometimes}", "model.normalize"),
        ("model", "model: {arch: tiny-denoiser}", "model.arch"),
        ("model", "model: {arch: wrn, depth: deep}", "model.depth"),
        ("task", "task: {name: segmentation}", "task.name"),
        ("task", "task: {name: denoise, sigma: -1}", "task.sigma"),
        ("task", "task: {name: classification, sigma: 0.1}", "task.sigma"),
        ("checkpoint", "checkpoint: {best: maybe}", "checkpoint.best"),
        ("threads", "threads: -1", "threads"),
        ("modle", "modle: {arch: wrn}", "modle"),
        ("sweep", "sweep: 3", "sweep"),
        ("sweep", "sweep: {train.epochs: []}", "sweep.train.epochs"),
        ("slurm", "slurm: {partiton: gpu}", "slurm.partiton"),
        ("slurm", "slurm: {gpus: -1}", "slurm.gpus"),
        ("slurm", "slurm: {cpus_per_task: 0}", "slurm.cpus_per_task"),
        ("slurm", "slurm: {mem: lots}", "slurm.mem"),
        ("slurm", "slurm: {time: tomorrow}", "slurm.time"),
        ("slurm", "slurm: {sbatch: [constraint=a100]}", "slurm.sbatch"),
        ("checkpoint", "checkpoint: {every_minutes: -5}", "checkpoint.every_minutes"),
        ("checkpoint", "checkpoint: {every_steps: often}", "checkpoint.every_steps"),
    ];

    public static TheoryData<int> ConfigCases() => new(Enumerable.Range(0, Configs.Length));

    private static void AssertClean(int code, string err, string what)
    {
        Assert.True(code == 2, $"{what}: exit {code}, stderr: {err}");
        Assert.StartsWith("error: ", err);
        Assert.DoesNotContain("   at ", err);
        Assert.DoesNotContain("Exception", err);
    }

    [Theory]
    [MemberData(nameof(ConfigCases))]
    public void AMalformedConfigIsALocatedErrorForValidateAndTrain(int i)
    {
        var (section, text, key) = Configs[i];
        var path = Path.Combine(TestPaths.TempDir(), "bad.yaml");
        File.WriteAllText(path, Config(section, text));
        var (code, _, err) = InProcessCli.Run("config", "validate", path);
        AssertClean(code, err, text);
        Assert.Matches(new Regex(@"bad\.yaml:\d+:\d+: "), err);
        Assert.Contains(key, err);
        var runs = TestPaths.TempDir();
        (code, _, err) = InProcessCli.Run("train", "--config", path, "--runs-dir", runs, "--no-progress");
        AssertClean(code, err, "train " + text);
        Assert.Empty(Directory.GetFileSystemEntries(runs));
    }

    /// <summary>Command lines: (arguments, what the message must name). CONFIG is a valid config.</summary>
    public static readonly (string[] Args, string Names)[] Lines =
    [
        (["train", "--config", "CONFIG", "--set", "attack.eps=-1"], "--set attack.eps=-1"),
        (["train", "--config", "CONFIG", "--set", "train.beta=abc"], "--set train.beta=abc"),
        (["train", "--config", "CONFIG", "--set", "train.betta=3"], "did you mean 'beta'?"),
        (["train", "--config", "CONFIG", "--set", "train.trades.beta=-1"], "--set train.trades.beta=-1"),
        (["train", "--config", "CONFIG", "--set", "train.tradez.beta=1"], "unknown key 'train.tradez'"),
        (["train", "--config", "CONFIG", "--set", "model.depth=35"], "--set model.depth=35"),
        (["train", "--config", "CONFIG", "--set", "nokey"], "expected key.path=value"),
        (["train", "--config", "CONFIG", "--set", "train.epochs=[1"], "--set train.epochs=[1"),
        (["train", "--config", "CONFIG", "--set", "name=../../x"], "--set name=../../x"),
        (["train", "--config", "CONFIG", "--device", "cuda:x"], "--set device=cuda:x"),
        (["train", "--config", "CONFIG", "--seed", "abc"], "--seed"),
        (["train", "--config", "CONFIG", "--bogus-flag"], "--bogus-flag"),
        (["train", "--config", "CONFIG", "--name", "a/b"], "--set name=a/b"),
        (["train"], "--config"),
        (["train", "--config", "/nonexistent/c.yaml"], "/nonexistent/c.yaml"),
        (["train", "--resume", "/nonexistent/run"], "/nonexistent/run"),
        (["train", "--resume", "/nonexistent/run", "--config", "CONFIG"], "--resume"),
        (["eval", "--checkpoint", "/nonexistent/run", "--attack", "pgd20"], "--checkpoint /nonexistent/run"),
        (["eval", "--checkpoint", "CONFIG", "--attack", "pgd20", "--eps", "abc"], "--eps abc"),
        (["eval", "--checkpoint", "CONFIG", "--attack", "pgd20", "--norm", "l3"], "--norm"),
        (["eval", "--checkpoint", "CONFIG", "--attack", "pgd20", "--n", "many"], "--n"),
        (["config", "validate", "/nonexistent.yaml"], "/nonexistent.yaml"),
        (["config", "list", "things"], "config list things"),
        (["config", "frobnicate"], "frobnicate"),
        (["sweep", "--config", "SWEEP"], "--set train.trades.beta=x"),
        (["sweep", "--config", "CONFIG", "--jobs", "0"], "--jobs 0"),
        (["sweep", "--config", "CONFIG", "--slurm", "--mem", "lots"], "slurm.mem"),
        (["sweep", "--config", "CONFIG", "--submit"], "go with --slurm"),
        (["sweep", "--config", "CONFIG", "--slurm", "--jobs", "2"], "--jobs runs grid points side by side here"),
        (["sweep", "status", "/nonexistent/sweep"], "not a sweep folder"),
        (["train", "--config", "CONFIG", "--run-dir", "RUNDIR", "--resume", "RUNDIR"], "drop --resume"),
        (["eval", "--checkpoint", "CONFIG", "--attack", "pgd20", "--shard", "3/2"], "--shard 3/2"),
        (["eval", "--checkpoint", "CONFIG", "--attack", "pgd20", "--shards", "2"], "--shards goes with --slurm"),
        (["eval", "--checkpoint", "CONFIG", "--attack", "pgd20", "--slurm"], "give --shards N"),
        (["eval", "merge", "OUT.csv", "/nonexistent/shard.csv"], "/nonexistent/shard.csv"),
        (["bench", "--models", "resnet9000", "--no-reference"], "unknown model 'resnet9000'"),
        (["runs", "show", "/nonexistent/run"], "/nonexistent/run"),
        (["runs", "plot", "/nonexistent/run"], "/nonexistent/run"),
        (["report", "/nonexistent/runs"], "/nonexistent/runs"),
        (["report", "EMPTY"], "no run folder"),
        (["eval", "--checkpoint", "CONFIG", "--attack", "pgd20", "--threads", "-1"], "--threads -1"),
        (["frobnicate"], "frobnicate"),
    ];

    public static TheoryData<int> LineCases() => new(Enumerable.Range(0, Lines.Length));

    [Theory]
    [MemberData(nameof(LineCases))]
    public void AMalformedCommandLineNamesTheFlag(int i)
    {
        var dir = TestPaths.TempDir();
        var config = Path.Combine(dir, "ok.yaml");
        File.WriteAllText(config, Config("", ""));
        var sweep = Path.Combine(dir, "sweep.yaml");
        File.WriteAllText(sweep, Config("", "sweep: {train.trades.beta: [1, x]}"));
        var runs = TestPaths.TempDir();
        var empty = TestPaths.TempDir();
        var runDir = Path.Combine(TestPaths.TempDir(), "run");
        var args = Lines[i].Args.Select(a => a == "CONFIG" ? config : a == "SWEEP" ? sweep : a == "EMPTY" ? empty : a == "RUNDIR" ? runDir : a).ToList();
        if (args[0] is "train" or "sweep" && (args.Count < 2 || args[1] != "status")) args.AddRange(["--runs-dir", runs, "--no-progress"]);
        var (code, _, err) = InProcessCli.Run([.. args]);
        AssertClean(code, err, string.Join(' ', args));
        Assert.Contains(Lines[i].Names, err);
        Assert.Empty(Directory.GetFileSystemEntries(runs));
    }

    [Fact]
    public void TheCorpusHasAtLeastAHundredCases() => Assert.True(Configs.Length + Lines.Length >= 100, $"{Configs.Length + Lines.Length} cases");

    [Fact]
    public void ValSizeBeyondTheDataFoundIsALocatedErrorBeforeAnyRunFolder()
    {
        var path = Path.Combine(TestPaths.TempDir(), "big.yaml");
        File.WriteAllText(path, Config("data", $"data: {{name: fashion-mnist, path: {Data.Value}, val_size: 500}}"));
        var runs = TestPaths.TempDir();
        var (code, _, err) = InProcessCli.Run("train", "--config", path, "--runs-dir", runs, "--no-progress");
        AssertClean(code, err, "val_size 500 of 64");
        Assert.Contains("data.val_size: 500 must be smaller than the 64 training images", err);
        Assert.Empty(Directory.GetFileSystemEntries(runs));
    }

    [Fact]
    public void AnUnexpectedFailureIsOneLineWithExitCode1AndTheDetailsInAFile()
    {
        var e = new StringWriter();
        var code = Guard.Run(e, () => throw new InvalidOperationException("boom\nsecond line"));
        Assert.Equal(1, code);
        var line = e.ToString().Trim();
        Assert.DoesNotContain("\n", line);
        Assert.StartsWith("error: unexpected failure (InvalidOperationException): boom; details in ", line);
        var file = line[(line.LastIndexOf(" in ", StringComparison.Ordinal) + 4)..];
        Assert.Contains("InvalidOperationException", File.ReadAllText(file));
    }
}
