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
    };

    public static IReadOnlyCollection<string> Names => Factories.Keys;

    public static Classifier Create(ModelSpec spec) =>
        Factories.TryGetValue(spec.Arch, out var f) ? f(spec)
            : throw new ArgumentException($"unknown architecture '{spec.Arch}'; known: {string.Join(", ", Names)}");
}
