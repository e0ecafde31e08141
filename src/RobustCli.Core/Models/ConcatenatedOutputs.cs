using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Models;

/// <summary>
/// A multi-output model seen as one output, its outputs concatenated along the class dimension in OutputNames order
/// (CIFS: logits | probe0 | probe1), so an attack's loss can read them all from one forward pass. Train and eval
/// modes pass through.
/// </summary>
public sealed class ConcatenatedOutputs : Module
{
    private readonly Module inner;

    public ConcatenatedOutputs(Module model)
    {
        if (model is not IMultiOutput) throw new ArgumentException($"{model.GetType().Name} has one output");
        inner = RegisterModule("inner", model);
    }

    public override Tensor Forward(Tensor x)
    {
        var multi = (IMultiOutput)inner;
        var all = multi.ForwardAll(x);
        try { return torch.Cat(multi.OutputNames.Select(n => all[n]).ToList(), 1); }
        finally { foreach (var t in all.Values) t.Dispose(); }
    }
}
