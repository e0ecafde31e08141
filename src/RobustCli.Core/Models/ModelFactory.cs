using System.Text.RegularExpressions;
using RobustCli.Core.Registry;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Models;

/// <summary>
/// What a model is built from: its declared options, the data it sees, and the extra heads its training method
/// asks for (GAT's auxiliary tasks; empty for every other method).
/// </summary>
public sealed record ModelBuild(OptionValues Options, int NumClasses, int InChannels, Normalization? Normalization)
{
    public IReadOnlyList<TaskHead> Heads { get; init; } = [];
}

/// <summary>An architecture by name: its options (config keys under model:), the tasks it serves, its factory.</summary>
public sealed record ModelRegistration(string Name, string Description, OptionDeclaration Options, Func<ModelBuild, Module> Create) : IRegistration
{
    public IReadOnlyList<string> Tasks { get; init; } = ["classification"];
    /// <summary>What the model offers attacks, methods and reports that need more than logits (experts, probe outputs).</summary>
    public IReadOnlyList<ModelCapability> Offers { get; init; } = [];
    /// <summary>
    /// The extra heads a bare weights file of this architecture holds (a multi-task encoder's decoders), read off its
    /// keys so it loads whole without the run's config; null: the architecture has no optional heads.
    /// </summary>
    public Func<IReadOnlyDictionary<string, RobustCli.Torch.Tensor>, IReadOnlyList<TaskHead>>? HeadsFromWeights { get; init; }
    /// <summary>
    /// The options and input channels a bare weights file of this architecture was built with, read off its tensors
    /// (a DnCNN's depth, width and channels); null: the declared defaults, and the dataset's channels.
    /// </summary>
    public Func<IReadOnlyDictionary<string, RobustCli.Torch.Tensor>, (OptionValues Options, int? InChannels)>? FromWeights { get; init; }
}

/// <summary>What a model is built from, in one record (architecture name, data, and the WideResNet sizes).</summary>
public sealed record ModelSpec(string Arch, int NumClasses, int InChannels, Normalization? Normalization, int Depth = 34, int Width = 10, double DropRate = 0);

/// <summary>The architectures by name. Each carries its registration in its own file; adding one is that file plus one line in the list below (or a Register call).</summary>
public static class ModelFactory
{
    public static readonly Registry<ModelRegistration> Registry = new("architecture",
    [
        SmallCnn.Registration,
        PreActResNet18.Registration,
        ResNet18.Registration,
        WideResNet.Registration,
        // RobustBench's names for the usual sizes; any wrnDEPTH-WIDTH works.
        WideResNet.Sized(28, 10),
        WideResNet.Sized(34, 10),
        CifarResNet.Registration,
        // SoE's sub-model, and the usual sizes; any resnetDEPTH with depth 6n + 2 works.
        CifarResNet.Sized(20),
        CifarResNet.Sized(8),
        CifarResNet.Sized(32),
        CifarResNet.Sized(56),
        SynergyOfExperts.Registration,
        CifsResNet18.Registration,
        MultiTaskNetwork.ResNet18,
        MultiTaskNetwork.ResNet50,
        MultiTaskNetwork.Wrn,
        TinyDenoiser.Registration,
        DnCNN.Registration,
        DnCNN.Sized("dncnn-s", 17, "DnCNN-S: 17 convolutions (gray, one noise level in the paper)"),
        DnCNN.Sized("dncnn-b", 20, "DnCNN-B: 20 convolutions (gray, blind)"),
        DnCNN.Sized("dncnn-c", 20, "DnCNN-C: 20 convolutions (colour, blind; data.channels 3)"),
    ]);

    public static IEnumerable<string> Names => Registry.Names;

    /// <summary>The registration of an architecture name; wrnDEPTH-WIDTH names any WideResNet size, resnetDEPTH any CIFAR ResNet.</summary>
    public static ModelRegistration Get(string arch)
    {
        if (Registry.TryGet(arch, out var r)) return r;
        var m = Regex.Match(arch, @"^wrn(\d+)-(\d+)$");
        if (m.Success && int.TryParse(m.Groups[1].Value, out var d) && int.TryParse(m.Groups[2].Value, out var w))
        {
            if ((d - 4) % 6 != 0 || d < 10 || w < 1) throw new FormatException($"architecture '{arch}': a WideResNet's depth is 6n + 4 (16, 22, 28, 34, 40) and its width >= 1");
            return WideResNet.Sized(d, w);
        }
        var rn = Regex.Match(arch, @"^resnet(\d+)$");
        if (rn.Success && int.TryParse(rn.Groups[1].Value, out var depth))
        {
            if (depth < 8 || (depth - 2) % 6 != 0) throw new FormatException($"architecture '{arch}': a CIFAR ResNet's depth is 6n + 2 (8, 14, 20, 32, 44, 56, 110)");
            return CifarResNet.Sized(depth);
        }
        return Registry.Get(arch);
    }

    public static Module Create(string arch, OptionValues options, int numClasses, int inChannels, Normalization? normalization,
        IReadOnlyList<TaskHead>? heads = null) =>
        Get(arch).Create(new ModelBuild(options, numClasses, inChannels, normalization) { Heads = heads ?? [] });

    /// <summary>A classifier from a <see cref="ModelSpec"/>; the WideResNet sizes fill the options the architecture declares.</summary>
    public static Classifier Create(ModelSpec spec)
    {
        var r = Get(spec.Arch);
        var given = new Dictionary<string, object?>();
        if (r.Options.Find("depth") != null) given["depth"] = spec.Depth;
        if (r.Options.Find("width") != null) given["width"] = spec.Width;
        if (r.Options.Find("drop_rate") != null) given["drop_rate"] = spec.DropRate;
        var m = r.Create(new ModelBuild(r.Options.Resolve(given), spec.NumClasses, spec.InChannels, spec.Normalization));
        return m as Classifier ?? throw new ArgumentException($"'{spec.Arch}' is not a classifier");
    }
}
