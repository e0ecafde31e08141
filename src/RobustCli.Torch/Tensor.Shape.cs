using RobustCli.Torch.Native;
using static RobustCli.Torch.Native.NativeMethods;

namespace RobustCli.Torch;

// Shape, views, indexing, joining and splitting.
public sealed partial class Tensor
{
    private enum ShapeOp { Reshape = 0, View, Expand, Permute, Repeat, Flip, SqueezeDims }

    private unsafe Tensor ShapeCall(ShapeOp op, ReadOnlySpan<long> dims)
    {
        fixed (long* p = dims) return Wrap(rcl_shape_op((int)op, Handle, p, dims.Length));
    }

    public Tensor Reshape(params long[] shape) => ShapeCall(ShapeOp.Reshape, shape);
    public Tensor View(params long[] shape) => ShapeCall(ShapeOp.View, shape);
    public Tensor Expand(params long[] shape) => ShapeCall(ShapeOp.Expand, shape);
    public Tensor Permute(params long[] dims) => ShapeCall(ShapeOp.Permute, dims);
    public Tensor Repeat(params long[] repeats) => ShapeCall(ShapeOp.Repeat, repeats);
    public Tensor Flip(params long[] dims) => ShapeCall(ShapeOp.Flip, dims);
    public Tensor Flatten(long startDim = 0, long endDim = -1) => Wrap(rcl_flatten(Handle, startDim, endDim));
    public Tensor Squeeze() => Wrap(rcl_squeeze(Handle, 0, 1));
    public Tensor Squeeze(long dim) => Wrap(rcl_squeeze(Handle, dim, 0));
    public Tensor Squeeze(params long[] dims) => ShapeCall(ShapeOp.SqueezeDims, dims);
    public Tensor Unsqueeze(long dim) => Wrap(rcl_unsqueeze(Handle, dim));
    public Tensor Transpose(long dim0, long dim1) => Wrap(rcl_transpose(Handle, dim0, dim1));
    /// <summary>The transpose of a 2-D tensor.</summary>
    public Tensor T => Transpose(0, 1);
    public Tensor ExpandAs(Tensor other) => Expand(other.Shape);
    public Tensor ViewAs(Tensor other) => View(other.Shape);

    /// <summary>x[..., start:end:step, ...] along <paramref name="dim"/>; null bounds mean the ends.</summary>
    public Tensor Slice(long dim, long? start, long? end, long step = 1) =>
        Wrap(rcl_slice(Handle, dim, start ?? 0, end ?? long.MaxValue, step));
    public Tensor Narrow(long dim, long start, long length) => Wrap(rcl_narrow(Handle, dim, start, length));
    /// <summary>x.select(dim, index): removes the dimension.</summary>
    public Tensor Select(long dim, long index) => Wrap(rcl_select(Handle, dim, index));
    /// <summary>x[index] along the first dimension.</summary>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public Tensor this[long index] => Select(0, index);
    /// <summary>Advanced indexing x[index] with an integer or boolean tensor.</summary>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public Tensor this[Tensor index] => Wrap(rcl_index(Handle, index.Handle));
    public Tensor Index(Tensor index) => Wrap(rcl_index(Handle, index.Handle));
    public Tensor IndexPut_(Tensor index, Tensor values, bool accumulate = false)
    {
        TorchException.Check(rcl_index_put_(Handle, index.Handle, values.Handle, accumulate ? 1 : 0));
        return this;
    }
    public Tensor IndexSelect(long dim, Tensor index) => Wrap(rcl_index_select(Handle, dim, index.Handle));
    public Tensor Gather(long dim, Tensor index) => Wrap(rcl_gather(Handle, dim, index.Handle));
    public Tensor Scatter(long dim, Tensor index, Tensor src) => Wrap(rcl_scatter(0, Handle, dim, index.Handle, src.Handle));
    public Tensor Scatter(long dim, Tensor index, Scalar value) =>
        Wrap(rcl_scatter_value(Handle, dim, index.Handle, value.D, value.I, value.Kind));
    public Tensor ScatterAdd(long dim, Tensor index, Tensor src) => Wrap(rcl_scatter(1, Handle, dim, index.Handle, src.Handle));
    public Tensor MaskedFill(Tensor mask, Scalar value) => Wrap(rcl_masked_fill(Handle, mask.Handle, value.D, value.I, value.Kind));
    public Tensor MaskedFill_(Tensor mask, Scalar value)
    {
        TorchException.Check(rcl_masked_fill_(Handle, mask.Handle, value.D, value.I, value.Kind));
        return this;
    }
    public Tensor MaskedSelect(Tensor mask) => Wrap(rcl_masked_select(Handle, mask.Handle));
    public Tensor Nonzero() => Wrap(rcl_nonzero(Handle));

    public unsafe Tensor Roll(long[] shifts, long[] dims)
    {
        fixed (long* s = shifts)
        fixed (long* d = dims)
            return Wrap(rcl_roll(Handle, s, shifts.Length, d, dims.Length));
    }
    public Tensor Roll(long shift, long dim) => Roll([shift], [dim]);
    public Tensor Rot90(long k = 1, long dim0 = 0, long dim1 = 1) => Wrap(rcl_rot90(Handle, k, dim0, dim1));

    public unsafe Tensor[] Split(long splitSize, long dim = 0) => SplitCall(splitSize, [], 0, dim);
    public unsafe Tensor[] Split(long[] sizes, long dim = 0) => SplitCall(0, sizes, 0, dim);
    public unsafe Tensor[] Chunk(long chunks, long dim = 0) => SplitCall(0, [], chunks, dim);

    private unsafe Tensor[] SplitCall(long splitSize, long[] sizes, long chunks, long dim)
    {
        IntPtr* parts;
        int count;
        fixed (long* s = sizes)
            TorchException.Check(rcl_split(Handle, splitSize, s, sizes.Length, chunks, dim, &NativeAllocator.Alloc, &parts, &count));
        try
        {
            var result = new Tensor[count];
            for (var i = 0; i < count; i++) result[i] = new Tensor(parts[i]);
            return result;
        }
        finally { System.Runtime.InteropServices.NativeMemory.Free(parts); }
    }
}

public sealed partial class Tensor
{
    public Tensor MatMul(Tensor other) => nn.F.MatMul(this, other);
    public Tensor Mm(Tensor other) => nn.F.Mm(this, other);
    public Tensor Bmm(Tensor other) => nn.F.Bmm(this, other);
    public Tensor Softmax(long dim) => nn.F.Softmax(this, dim);
    public Tensor LogSoftmax(long dim) => nn.F.LogSoftmax(this, dim);
}

public sealed partial class Tensor
{
    public unsafe Tensor AsStrided(long[] size, long[] stride, long storageOffset = 0)
    {
        if (size.Length != stride.Length) throw new ArgumentException("size and stride must have the same length");
        fixed (long* s = size)
        fixed (long* t = stride)
            return Wrap(NativeMethods.rcl_as_strided(Handle, s, t, size.Length, storageOffset));
    }
}
