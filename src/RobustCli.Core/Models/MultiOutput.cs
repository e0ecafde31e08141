using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Models;

/// <summary>
/// A model with several named outputs (logits plus auxiliary heads, per-expert logits, an image and a noise map).
/// <see cref="Module.Forward"/> returns the primary one; tasks, attacks and evaluations that need another read it
/// through an <see cref="OutputSelector"/>. A forward pass that needs gradients inside (CIFS's channel importance)
/// opens them with <c>torch.EnableGrad()</c>, which works inside an evaluation's no-grad passes too.
/// </summary>
public interface IMultiOutput
{
    IReadOnlyList<string> OutputNames { get; }
    /// <summary>Every output of one forward pass; the caller owns them.</summary>
    IReadOnlyDictionary<string, Tensor> ForwardAll(Tensor x);
}

/// <summary>A view of a multi-output model whose Forward returns one named output (train and eval modes pass through).</summary>
public sealed class OutputSelector : Module
{
    private readonly Module inner;

    public OutputSelector(Module inner, string output)
    {
        if (inner is not IMultiOutput m) throw new ArgumentException($"{inner.GetType().Name} has one output; no selector is needed");
        if (!m.OutputNames.Contains(output))
            throw new ArgumentException($"{inner.GetType().Name} has no output '{output}'; it has {string.Join(", ", m.OutputNames)}");
        this.inner = RegisterModule("inner", inner);
        Output = output;
    }

    public string Output { get; }

    /// <summary>The model a task reads: the model itself, or a selector of the task's output when the model has several.</summary>
    public static Module For(Module model, string output) =>
        model is IMultiOutput m && m.OutputNames[0] != output ? new OutputSelector(model, output) : model;

    public override Tensor Forward(Tensor x)
    {
        var all = ((IMultiOutput)inner).ForwardAll(x);
        foreach (var (k, v) in all)
            if (k != Output) v.Dispose();
        return all[Output];
    }
}
