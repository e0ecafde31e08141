using System.Runtime.InteropServices;
using static RobustCli.Torch.Native.NativeMethods;

namespace RobustCli.Torch;

// Dtype and device conversion, copies, data in and out, and random fills.
public sealed partial class Tensor
{
    public Tensor To(DType dtype, bool copy = false) => Wrap(rcl_to(Handle, (int)dtype, -1, -1, 0, copy ? 1 : 0));
    public Tensor To(Device device, bool nonBlocking = false, bool copy = false) =>
        Wrap(rcl_to(Handle, -1, (int)device.Type, device.Index, nonBlocking ? 1 : 0, copy ? 1 : 0));
    public Tensor To(Device device, DType dtype, bool nonBlocking = false) =>
        Wrap(rcl_to(Handle, (int)dtype, (int)device.Type, device.Index, nonBlocking ? 1 : 0, 0));
    public Tensor Cpu() => To(Device.CPU);
    public Tensor Cuda(int index = 0) => To(Device.CUDA(index));
    public Tensor Float() => To(DType.Float32);
    public Tensor Double() => To(DType.Float64);
    public Tensor Long() => To(DType.Int64);
    public Tensor Bool() => To(DType.Bool);

    public Tensor Clone() => Wrap(rcl_clone(Handle));
    public Tensor Contiguous(MemoryFormat format = MemoryFormat.Contiguous) => Wrap(rcl_contiguous(Handle, (int)format));

    /// <summary>Copies src into this tensor (broadcasting, converting dtype and device).</summary>
    public Tensor Copy_(Tensor src)
    {
        TorchException.Check(rcl_copy_(Handle, src.Handle));
        return this;
    }

    /// <summary>Replaces this tensor's data with src's, keeping this object and its autograd identity (param.data = src).</summary>
    public void SetData(Tensor src) => TorchException.Check(rcl_set_data(Handle, src.Handle));

    public Tensor Fill_(Scalar value)
    {
        TorchException.Check(rcl_fill_(Handle, value.D, value.I, value.Kind));
        return this;
    }

    public Tensor Zero_()
    {
        TorchException.Check(rcl_zero_(Handle));
        return this;
    }

    public Tensor Uniform_(double from = 0, double to = 1, Generator? generator = null)
    {
        TorchException.Check(rcl_random_(0, Handle, from, to, generator?.Handle ?? IntPtr.Zero));
        return this;
    }

    public Tensor Normal_(double mean = 0, double std = 1, Generator? generator = null)
    {
        TorchException.Check(rcl_random_(1, Handle, mean, std, generator?.Handle ?? IntPtr.Zero));
        return this;
    }

    public Tensor Bernoulli_(double p, Generator? generator = null)
    {
        TorchException.Check(rcl_random_(2, Handle, p, 0, generator?.Handle ?? IntPtr.Zero));
        return this;
    }

    /// <summary>Number of bytes of the data (numel * element size).</summary>
    public long NBytes => TorchException.CheckNonNegative(rcl_nbytes(Handle));

    /// <summary>Copies the elements (row-major, from any device) into dst, whose element type must match.</summary>
    public unsafe void CopyTo<T>(Span<T> dst) where T : unmanaged
    {
        CheckElementType<T>();
        var bytes = NBytes;
        if ((long)dst.Length * sizeof(T) != bytes)
            throw new ArgumentException($"destination holds {dst.Length} elements, the tensor {NumEl}");
        fixed (T* p = dst) TorchException.Check(rcl_to_bytes(Handle, p, bytes));
    }

    /// <summary>The elements as a flat array, row-major.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        var a = new T[NumEl];
        CopyTo<T>(a);
        return a;
    }

    /// <summary>The raw bytes of the elements, row-major (used by the weight writers).</summary>
    public unsafe byte[] ToBytes()
    {
        var a = new byte[NBytes];
        fixed (byte* p = a) TorchException.Check(rcl_to_bytes(Handle, p, a.Length));
        return a;
    }

    private void CheckElementType<T>() where T : unmanaged
    {
        var ok = DType switch
        {
            DType.Float32 => typeof(T) == typeof(float),
            DType.Float64 => typeof(T) == typeof(double),
            DType.Int64 => typeof(T) == typeof(long),
            DType.Int32 => typeof(T) == typeof(int),
            DType.UInt8 => typeof(T) == typeof(byte),
            DType.Int8 => typeof(T) == typeof(sbyte),
            DType.Int16 => typeof(T) == typeof(short),
            DType.Bool => typeof(T) == typeof(bool) || typeof(T) == typeof(byte),
            DType.Float16 => typeof(T) == typeof(Half) || typeof(T) == typeof(ushort),
            DType.BFloat16 => typeof(T) == typeof(ushort),
            _ => false,
        };
        if (!ok) throw new ArgumentException($"a {DType.TorchName()} tensor cannot be read as {typeof(T).Name}; convert it with To() first");
    }

    internal static DType DTypeOf<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return DType.Float32;
        if (typeof(T) == typeof(double)) return DType.Float64;
        if (typeof(T) == typeof(long)) return DType.Int64;
        if (typeof(T) == typeof(int)) return DType.Int32;
        if (typeof(T) == typeof(byte)) return DType.UInt8;
        if (typeof(T) == typeof(sbyte)) return DType.Int8;
        if (typeof(T) == typeof(short)) return DType.Int16;
        if (typeof(T) == typeof(bool)) return DType.Bool;
        if (typeof(T) == typeof(Half)) return DType.Float16;
        throw new NotSupportedException($"no tensor dtype for {typeof(T).Name}");
    }

    internal static unsafe Tensor FromBytes(ReadOnlySpan<byte> data, long[] shape, DType dtype, Device device, bool requiresGrad = false)
    {
        fixed (byte* p = data)
        fixed (long* s = shape)
            return Wrap(rcl_from_bytes(p, data.Length, s, shape.Length, (int)dtype, (int)device.Type, device.Index, requiresGrad ? 1 : 0));
    }

    internal static Tensor FromSpan<T>(ReadOnlySpan<T> data, long[] shape, Device device, bool requiresGrad) where T : unmanaged =>
        FromBytes(MemoryMarshal.AsBytes(data), shape, DTypeOf<T>(), device, requiresGrad);
}
