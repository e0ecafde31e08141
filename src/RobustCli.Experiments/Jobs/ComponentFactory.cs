using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Models;
using RobustCli.Core.Registry;
using RobustCli.Core.Tasks;
using RobustCli.Torch.nn;
using RobustCli.Core.Training;
using RobustCli.Experiments.Config;
using RobustCli.Torch;
using RobustCli.Torch.optim;

namespace RobustCli.Experiments.Jobs;

/// <summary>The datasets of a run: training (minus validation), validation and test.</summary>
public sealed record RunData(ImageSource Train, ImageSource Validation, ImageSource Test, DatasetSpec Spec)
{
    /// <summary>The channels of the images (a picture set read as gray or colour may differ from its spec).</summary>
    public int Channels => Test.Channels;
}

/// <summary>Builds a run's parts from its config: one place that knows every name a config may use.</summary>
public static class ComponentFactory
{
    public static RunData LoadData(DataConfig c, string? repoRoot, bool needTrain = true)
    {
        var spec = DatasetCatalog.Get(c.Name);
        if (spec.Pictures != null) return LoadPictures(c, spec, repoRoot, needTrain);
        var test = DatasetCatalog.Load(c.Name, train: false, c.Path, repoRoot);
        if (c.TestSubset > 0) test = test.Take(c.TestSubset);
        if (!needTrain) return new RunData(test.Take(0), test.Take(0), test, spec);
        var full = DatasetCatalog.Load(c.Name, train: true, c.Path, repoRoot);
        if (c.ValSize >= full.Count)
            throw new ConfigException($"data.val_size: {c.ValSize} must be smaller than the {full.Count} training images of {full.Name}; lower data.val_size");
        var (train, val) = full.SplitValidation(c.ValSize, c.ValSeed);
        if (c.PerClass > 0) train = train.PerClass(c.PerClass);
        if (c.TrainSubset > 0) train = train.Take(c.TrainSubset);
        return new RunData(train, val, test, spec);
    }

    /// <summary>
    /// A picture set: training patches (data.patch_size, data.repeat, the eight flips and rotations) from the
    /// training pictures less data.val_size whole pictures held out for validation (chosen with data.val_seed), and
    /// the test pictures of the set itself or of data.test_set.
    /// </summary>
    private static RunData LoadPictures(DataConfig c, DatasetSpec spec, string? repoRoot, bool needTrain)
    {
        var layout = spec.Pictures!;
        var testName = c.TestSet ?? (layout.HasTest ? spec.Name : layout.DefaultTest)
            ?? throw new ConfigException($"data.test_set: {spec.Name} has no test pictures; name a test set (set12, set68, cbsd68, kodak24)");
        var testSpec = DatasetCatalog.Get(testName);
        if (testSpec.Pictures == null) throw new ConfigException($"data.test_set: {testName} is not a folder of pictures; use set12, set68, cbsd68, kodak24 or skimage-photos");
        var channels = c.Channels != 0 ? c.Channels : spec.Channels;
        var testPictures = DatasetCatalog.LoadPictures(testName, train: false, channels, c.TestSet == null ? c.TestPath ?? c.Path : c.TestPath, repoRoot);
        var test = new PictureSet($"{testName}/test", testPictures);
        if (c.TestSubset > 0) test = test.Take(c.TestSubset);
        if (!needTrain) return new RunData(Empty(spec.Name, channels), Empty(spec.Name, channels), test, spec);
        var pictures = DatasetCatalog.LoadPictures(spec.Name, train: true, channels, c.Path, repoRoot).ToList();
        if (c.ValSize >= pictures.Count)
            throw new ConfigException($"data.val_size: {c.ValSize} must be smaller than the {pictures.Count} training pictures of {spec.Name}; lower data.val_size");
        new Random(c.ValSeed).Shuffle(CollectionsMarshalSpan(pictures));
        var validation = pictures.Take(c.ValSize).OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
        var training = pictures.Skip(c.ValSize).OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
        if (c.TrainSubset > 0) training = training.Take(c.TrainSubset).ToList();
        PatchSet patches;
        try { patches = new PatchSet($"{spec.Name}/train", training, c.PatchSize, c.Repeat, augment: true); }
        catch (ArgumentException e) { throw new ConfigException($"data.patch_size: {e.Message}"); }
        ImageSource val = validation.Count > 0 ? new PictureSet($"{spec.Name}/val", validation) : Empty(spec.Name + "/val", channels);
        return new RunData(patches, val, test, spec);
    }

    private static ImageDataset Empty(string name, int channels) => new(name, [], [], channels, 1, 1, 1);

    private static Span<Picture> CollectionsMarshalSpan(List<Picture> list) => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list);

    public static Normalization? Normalization(ModelConfig m, DatasetSpec data) =>
        m.Normalize == "none" ? null : new Normalization(data.Mean, data.Std);

    /// <summary>
    /// The run's architecture with its declared options (model.depth ...), for the data it sees, with the heads its
    /// training method asks for (GAT's auxiliary tasks) when the run's config is given.
    /// </summary>
    public static Module Model(ModelConfig m, DatasetSpec data, int? channels = null, RunConfig? run = null) =>
        ModelFactory.Create(m.Arch, m.Options ?? ModelFactory.Get(m.Arch).Options.Defaults, data.NumClasses, channels ?? data.Channels, Normalization(m, data),
            run == null ? null : Heads(run, data));

    /// <summary>The extra heads the run's method asks its model for (none for most methods).</summary>
    public static IReadOnlyList<TaskHead> Heads(RunConfig c, DatasetSpec data)
    {
        if (!Methods.Registry.TryGet(c.Train.Method, out var r) || r.Heads == null) return [];
        var options = c.Train.MethodOptions.TryGetValue(r.Name, out var v) ? v : r.Options.Defaults;
        try { return r.Heads(options, data); }
        catch (ArgumentException e) { throw new ConfigException($"train.{r.Section}: {e.Message}"); }
    }

    public static ITask Task(TaskConfig t) =>
        Tasks.Registry.Get(t.Name).Create(new TaskBuild(t.Options ?? Tasks.Registry.Get(t.Name).Options.Defaults));

    /// <summary>The optimizer over the model's parameters, with train.param_groups' learning-rate multipliers by name prefix.</summary>
    public static Optimizer Optimizer(TrainConfig t, Module model)
    {
        var o = t.Optimizer;
        var named = model.NamedParameters().ToList();
        var parameters = named.Select(p => p.Parameter).ToList();
        var registration = Optimizers.Registry.TryGet(o.Name, out var r) ? r : throw new ConfigException($"train.optimizer.name: unknown optimizer '{o.Name}'");
        var opt = registration.Create(new OptimizerBuild(parameters, OptimizerOptions(o, registration)));
        if (t.ParamGroups.Count > 0)
        {
            // The first group whose prefix matches a parameter's name decides its multiplier; the rest keep 1.
            var scales = named.Select(p => t.ParamGroups.FirstOrDefault(g => p.Name.StartsWith(g.Prefix, StringComparison.Ordinal))?.LrScale ?? 1.0).ToArray();
            foreach (var g in t.ParamGroups.Where(g => !named.Any(p => p.Name.StartsWith(g.Prefix, StringComparison.Ordinal))))
                throw new ConfigException($"train.param_groups: no parameter name starts with '{g.Prefix}'; names look like {string.Join(", ", named.Take(4).Select(p => p.Name))}");
            opt.SetLearningRateScales(scales);
        }
        return opt;
    }

    public static LrSchedule Schedule(TrainConfig t)
    {
        var s = t.Schedule;
        var registration = ScheduleRegistrationOf(s);
        var schedule = registration.Create(new ScheduleBuild(t.Optimizer.Lr, t.Epochs, ScheduleOptions(s, registration)));
        return s.WarmupEpochs > 0 ? new WarmupSchedule(schedule, s.WarmupEpochs) : schedule;
    }

    /// <summary>Whether the lr changes within an epoch: per_step, or a schedule that always does (one-cycle).</summary>
    public static bool SchedulePerStep(ScheduleConfig s) => s.PerStep || ScheduleRegistrationOf(s).AlwaysPerStep;

    private static ScheduleRegistration ScheduleRegistrationOf(ScheduleConfig s) =>
        Schedules.Registry.TryGet(s.Name, out var r) ? r : throw new ConfigException($"train.schedule.name: unknown schedule '{s.Name}'");

    /// <summary>
    /// The keys of the flat train.optimizer section that the named optimizer declares, resolved through its
    /// declaration (the section keeps every key, so config files and `config show` stay as they were).
    /// </summary>
    public static OptionValues OptimizerOptions(OptimizerConfig o, OptimizerRegistration r) => Declared(r.Options, new Dictionary<string, object?>
    {
        ["lr"] = o.Lr, ["momentum"] = o.Momentum, ["weight_decay"] = o.WeightDecay, ["nesterov"] = o.Nesterov, ["beta1"] = o.Beta1, ["beta2"] = o.Beta2,
    });

    /// <summary>The keys of train.schedule that the named schedule declares, resolved through its declaration.</summary>
    public static OptionValues ScheduleOptions(ScheduleConfig s, ScheduleRegistration r) => Declared(r.Options, new Dictionary<string, object?>
    {
        ["milestones"] = s.Milestones, ["gamma"] = s.Gamma, ["min_lr"] = s.MinLr, ["peak_fraction"] = s.PeakFraction, ["per_step"] = s.PerStep,
    });

    private static OptionValues Declared(OptionDeclaration declaration, Dictionary<string, object?> section)
    {
        var values = declaration.Resolve(section.Where(kv => declaration.Find(kv.Key) != null).ToDictionary(kv => kv.Key, kv => kv.Value), out var errors);
        if (errors.Count > 0) throw new ConfigException(string.Join("; ", errors.Select(e => $"{e.Key}: {e.Message}")));
        return values;
    }

    public static AttackSettings TrainingAttack(AttackConfig a) => new(
        a.Norm == "l2" ? Norm.L2 : Norm.Linf, a.Eps, a.Step, a.Steps,
        a.RandomStart switch { "normal" => RandomStart.Normal, "none" => RandomStart.None, _ => RandomStart.Uniform });

    /// <summary>The run's method from the registry, each method built with its own section's options.</summary>
    public static ITrainingMethod Method(RunConfig c, int seed)
    {
        var attack = TrainingAttack(c.Attack);
        OptionValues OptionsOf(string name) =>
            c.Train.MethodOptions.TryGetValue(name, out var v) ? v : Methods.Registry.Get(name).Options.Defaults;
        ITrainingMethod Build(string name) =>
            Methods.Registry.Get(name).Create(new MethodBuild(OptionsOf(name), attack, c.Train.EpsWarmupEpochs, seed, Build)
            {
                Dataset = DatasetCatalog.Registry.TryGet(c.Data.Name, out var d) ? d : null,
            });
        return Build(c.Train.Method);
    }

    /// <summary>The extra metrics.csv columns a method writes, from its registration (known before the first epoch, for the header).</summary>
    public static IReadOnlyList<string> MethodColumns(RunConfig c) =>
        Methods.Columns(c.Train.Method, name => c.Train.MethodOptions.TryGetValue(name, out var v) ? v : Methods.Registry.Get(name).Options.Defaults);
}
