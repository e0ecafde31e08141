using static RobustCli.Torch.Native.NativeMethods;

namespace RobustCli.Torch;

// requires_grad, .grad, backward and detach on the tensor itself.
public sealed partial class Tensor
{
    public bool RequiresGrad
    {
        get => TorchException.CheckNonNegative(rcl_requires_grad(Handle)) == 1;
        set => TorchException.Check(rcl_set_requires_grad(Handle, value ? 1 : 0));
    }

    public Tensor RequiresGrad_(bool flag = true)
    {
        RequiresGrad = flag;
        return this;
    }

    public bool IsLeaf => TorchException.CheckNonNegative(rcl_is_leaf(Handle)) == 1;

    public void RetainGrad() => TorchException.Check(rcl_retain_grad(Handle));

    /// <summary>The accumulated gradient (a new handle to it), or null when there is none.</summary>
    public Tensor? Grad
    {
        get => WrapOptional(rcl_grad(Handle));
        set => TorchException.Check(rcl_set_grad(Handle, value?.Handle ?? IntPtr.Zero));
    }

    /// <summary>Computes gradients of this tensor with respect to the graph's leaves (tensor.backward()).</summary>
    public void Backward(Tensor? gradient = null, bool? retainGraph = null, bool createGraph = false) =>
        TorchException.Check(rcl_backward(Handle, gradient?.Handle ?? IntPtr.Zero,
            retainGraph.HasValue ? (retainGraph.Value ? 1 : 0) : -1, createGraph ? 1 : 0));

    public Tensor Detach() => Wrap(rcl_detach(Handle));

    public Tensor Detach_()
    {
        TorchException.Check(rcl_detach_(Handle));
        return this;
    }
}

/// <summary>torch.autograd: gradients of outputs with respect to chosen inputs.</summary>
public static class Autograd
{
    /// <summary>
    /// torch.autograd.grad. Only the requested inputs' gradients are computed (a PGD step asks for the
    /// input's alone, which skips the weight-gradient kernels). With createGraph the results are
    /// themselves differentiable (double backward). An unused input gives null when allowUnused.
    /// </summary>
    public static unsafe Tensor?[] Grad(IReadOnlyList<Tensor> outputs, IReadOnlyList<Tensor> inputs,
        IReadOnlyList<Tensor?>? gradOutputs = null, bool? retainGraph = null, bool createGraph = false, bool allowUnused = false)
    {
        var outs = torch.Handles(outputs);
        var ins = torch.Handles(inputs);
        var gos = gradOutputs == null ? [] : gradOutputs.Select(g => g?.Handle ?? IntPtr.Zero).ToArray();
        var results = new IntPtr[ins.Length];
        fixed (IntPtr* o = outs)
        fixed (IntPtr* i = ins)
        fixed (IntPtr* g = gos)
        fixed (IntPtr* r = results)
            TorchException.Check(rcl_autograd_grad(o, outs.Length, i, ins.Length, g, gos.Length,
                retainGraph.HasValue ? (retainGraph.Value ? 1 : 0) : -1, createGraph ? 1 : 0, allowUnused ? 1 : 0, r));
        var wrapped = new Tensor?[results.Length];
        for (var k = 0; k < results.Length; k++) wrapped[k] = results[k] == IntPtr.Zero ? null : new Tensor(results[k]);
        return wrapped;
    }

    /// <summary>The gradient of a scalar output with respect to one input.</summary>
    public static Tensor Grad(Tensor output, Tensor input, bool? retainGraph = null, bool createGraph = false) =>
        Grad([output], [input], null, retainGraph, createGraph)[0]!;
}
