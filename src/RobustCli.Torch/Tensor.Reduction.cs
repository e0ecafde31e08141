using static RobustCli.Torch.Native.NativeMethods;

namespace RobustCli.Torch;

// Reductions over all elements or over given dimensions.
public sealed partial class Tensor
{
    private enum R { Sum = 0, Mean, Amax, Amin, All, Any, CountNonzero, Logsumexp, Prod }

    private unsafe Tensor Reduce(R op, long[]? dims, bool keepDim, DType? dtype = null)
    {
        fixed (long* p = dims)
            return Wrap(rcl_reduce((int)op, Handle, p, dims?.Length ?? -1, keepDim ? 1 : 0, dtype.HasValue ? (int)dtype.Value : -1));
    }

    public Tensor Sum() => Reduce(R.Sum, null, false);
    public Tensor Sum(long dim, bool keepDim = false, DType? dtype = null) => Reduce(R.Sum, [dim], keepDim, dtype);
    public Tensor Sum(long[] dims, bool keepDim = false, DType? dtype = null) => Reduce(R.Sum, dims, keepDim, dtype);
    public Tensor Mean() => Reduce(R.Mean, null, false);
    public Tensor Mean(long dim, bool keepDim = false, DType? dtype = null) => Reduce(R.Mean, [dim], keepDim, dtype);
    public Tensor Mean(long[] dims, bool keepDim = false, DType? dtype = null) => Reduce(R.Mean, dims, keepDim, dtype);
    public Tensor Prod() => Reduce(R.Prod, null, false);
    public Tensor Prod(long dim, bool keepDim = false, DType? dtype = null) => Reduce(R.Prod, [dim], keepDim, dtype);
    /// <summary>The largest element (torch.max(x)).</summary>
    public Tensor Max() => Reduce(R.Amax, null, false);
    public Tensor Min() => Reduce(R.Amin, null, false);
    public Tensor Amax(long dim, bool keepDim = false) => Reduce(R.Amax, [dim], keepDim);
    public Tensor Amax(long[] dims, bool keepDim = false) => Reduce(R.Amax, dims, keepDim);
    public Tensor Amin(long dim, bool keepDim = false) => Reduce(R.Amin, [dim], keepDim);
    public Tensor Amin(long[] dims, bool keepDim = false) => Reduce(R.Amin, dims, keepDim);
    public Tensor All() => Reduce(R.All, null, false);
    public Tensor All(long dim, bool keepDim = false) => Reduce(R.All, [dim], keepDim);
    public Tensor Any() => Reduce(R.Any, null, false);
    public Tensor Any(long dim, bool keepDim = false) => Reduce(R.Any, [dim], keepDim);
    public Tensor CountNonzero() => Reduce(R.CountNonzero, null, false);
    public Tensor CountNonzero(long dim) => Reduce(R.CountNonzero, [dim], false);
    public Tensor Logsumexp(long dim, bool keepDim = false) => Reduce(R.Logsumexp, [dim], keepDim);
    public Tensor Logsumexp(long[] dims, bool keepDim = false) => Reduce(R.Logsumexp, dims, keepDim);

    /// <summary>(values, indices) of the maximum along a dimension, as torch.max(x, dim).</summary>
    public unsafe (Tensor Values, Tensor Indices) Max(long dim, bool keepDim = false)
    {
        IntPtr v, i;
        TorchException.Check(rcl_minmax_dim(0, Handle, dim, keepDim ? 1 : 0, &v, &i));
        return (new Tensor(v), new Tensor(i));
    }

    public unsafe (Tensor Values, Tensor Indices) Min(long dim, bool keepDim = false)
    {
        IntPtr v, i;
        TorchException.Check(rcl_minmax_dim(1, Handle, dim, keepDim ? 1 : 0, &v, &i));
        return (new Tensor(v), new Tensor(i));
    }

    public Tensor Argmax() => Wrap(rcl_argminmax(0, Handle, 0, 0, 0));
    public Tensor Argmax(long dim, bool keepDim = false) => Wrap(rcl_argminmax(0, Handle, dim, 1, keepDim ? 1 : 0));
    public Tensor Argmin() => Wrap(rcl_argminmax(1, Handle, 0, 0, 0));
    public Tensor Argmin(long dim, bool keepDim = false) => Wrap(rcl_argminmax(1, Handle, dim, 1, keepDim ? 1 : 0));

    public unsafe (Tensor Values, Tensor Indices) TopK(long k, long dim = -1, bool largest = true, bool sorted = true)
    {
        IntPtr v, i;
        TorchException.Check(rcl_topk(Handle, k, dim, largest ? 1 : 0, sorted ? 1 : 0, &v, &i));
        return (new Tensor(v), new Tensor(i));
    }

    public Tensor Cumsum(long dim) => Wrap(rcl_cumsum(Handle, dim));

    public unsafe (Tensor Values, Tensor Indices) Sort(long dim = -1, bool descending = false, bool stable = false)
    {
        IntPtr v, i;
        TorchException.Check(rcl_sort(Handle, dim, descending ? 1 : 0, stable ? 1 : 0, &v, &i));
        return (new Tensor(v), new Tensor(i));
    }

    /// <summary>Vector p-norm over everything (p may be double.PositiveInfinity), as torch.linalg.vector_norm.</summary>
    public unsafe Tensor Norm(double p = 2) => Wrap(rcl_norm(Handle, p, null, -1, 0));

    public unsafe Tensor Norm(double p, long[] dims, bool keepDim = false)
    {
        fixed (long* d = dims) return Wrap(rcl_norm(Handle, p, d, dims.Length, keepDim ? 1 : 0));
    }

    public Tensor Norm(double p, long dim, bool keepDim = false) => Norm(p, [dim], keepDim);

    public unsafe Tensor Var(bool unbiased = true) => Wrap(rcl_var(0, Handle, null, -1, unbiased ? 1 : 0, 0));
    public unsafe Tensor Std(bool unbiased = true) => Wrap(rcl_var(1, Handle, null, -1, unbiased ? 1 : 0, 0));

    public unsafe Tensor Var(long[] dims, bool unbiased = true, bool keepDim = false)
    {
        fixed (long* d = dims) return Wrap(rcl_var(0, Handle, d, dims.Length, unbiased ? 1 : 0, keepDim ? 1 : 0));
    }

    public unsafe Tensor Std(long[] dims, bool unbiased = true, bool keepDim = false)
    {
        fixed (long* d = dims) return Wrap(rcl_var(1, Handle, d, dims.Length, unbiased ? 1 : 0, keepDim ? 1 : 0));
    }

    public Tensor Var(long dim, bool unbiased = true, bool keepDim = false) => Var([dim], unbiased, keepDim);
    public Tensor Std(long dim, bool unbiased = true, bool keepDim = false) => Std([dim], unbiased, keepDim);
}
