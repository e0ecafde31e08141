namespace RobustCli.Core.Models;

/// <summary>What a model is built from: architecture name and the data it sees.</summary>
public sealed record ModelSpec(string Arch, int NumClasses, int InChannels, Normalization? Normalization, int Depth = 34, int Width = 10, double DropRate = 0);

/// <summary>The architectures by name. Adding one is a file and a line here.</summary>
public static class ModelFactory
{
    private static readonly Dictionary<string, Func<ModelSpec, Classifier>> Factories = new()
    {
        ["smallcnn"] = s => new SmallCnn(s.InChannels, s.NumClasses, s.Normalization),
        ["preact18"] = s => new PreActResNet18(s.NumClasses, s.InChannels, s.Normalization),
        ["resnet18"] = s => new ResNet18(s.NumClasses, s.InChannels, s.Normalization),
        ["wrn"] = s => new WideResNet(s.Depth, s.Width, s.NumClasses, s.InChannels, s.DropRate, s.Normalization),
        // RobustBench's names for the usual sizes; any wrnDEPTH-WIDTH works.
        ["wrn28-10"] = s => new WideResNet(28, 10, s.NumClasses, s.InChannels, s.DropRate, s.Normalization),
        ["wrn34-10"] = s => new WideResNet(34, 10, s.NumClasses, s.InChannels, s.DropRate, s.Normalization),
    };

    public static IReadOnlyCollection<string> Names => Factories.Keys;

    public static Classifier Create(ModelSpec spec)
    {
        if (Factories.TryGetValue(spec.Arch, out var f)) return f(spec);
        var m = System.Text.RegularExpressions.Regex.Match(spec.Arch, @"^wrn(\d+)-(\d+)$");
        if (m.Success)
            return new WideResNet(int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value), spec.NumClasses, spec.InChannels, spec.DropRate, spec.Normalization);
        throw new ArgumentException($"unknown architecture '{spec.Arch}'; known: {string.Join(", ", Names)} (and wrnDEPTH-WIDTH)");
    }
}
