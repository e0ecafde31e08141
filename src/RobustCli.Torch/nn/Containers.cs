namespace RobustCli.Torch.nn;

/// <summary>torch.nn.Sequential: children named "0", "1", ... as in PyTorch.</summary>
public sealed class Sequential : Module
{
    private readonly List<Module> layers = [];

    public Sequential(params Module[] modules)
    {
        foreach (var m in modules) Append(m);
    }

    public Sequential Append(Module m)
    {
        layers.Add(RegisterModule(layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), m));
        return this;
    }

    public int Count => layers.Count;
    public Module this[int i] => layers[i];

    public override Tensor Forward(Tensor input)
    {
        if (layers.Count == 0) return input.Detach();
        // Intermediate results are disposed as soon as the next layer has consumed them.
        var x = layers[0].Forward(input);
        for (var i = 1; i < layers.Count; i++)
        {
            var y = layers[i].Forward(x);
            x.Dispose();
            x = y;
        }
        return x;
    }
}

/// <summary>torch.nn.ModuleList: children named "0", "1", ... and no forward of its own (sub-models run side by side).</summary>
public sealed class ModuleList : Module
{
    private readonly List<Module> items = [];

    public ModuleList(IEnumerable<Module> modules)
    {
        foreach (var m in modules) items.Add(RegisterModule(items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), m));
    }

    public int Count => items.Count;
    public Module this[int i] => items[i];

    public override Tensor Forward(Tensor input) =>
        throw new InvalidOperationException("a ModuleList has no forward: call its members");
}

/// <summary>torch.nn.Identity (returns a new handle to the input, as every op here does).</summary>
public sealed class Identity : Module
{
    public override Tensor Forward(Tensor input) => input.View(input.Shape);
}

/// <summary>torch.nn.Flatten (start_dim 1 by default).</summary>
public sealed class Flatten(long startDim = 1, long endDim = -1) : Module
{
    public override Tensor Forward(Tensor input) => input.Flatten(startDim, endDim);
}
