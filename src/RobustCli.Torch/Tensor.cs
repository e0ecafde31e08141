using System.Runtime.InteropServices;
using RobustCli.Torch.Native;

namespace RobustCli.Torch;

/// <summary>
/// A libtorch tensor. The object owns one native handle (one reference on the storage): dispose it, or
/// let the <see cref="DisposeScope"/> that was open when it was made dispose it. The finalizer is only a
/// safety net. Every operation returns a new Tensor the caller owns, except in-place operations
/// (trailing underscore in PyTorch, <c>..._</c> here), which return this object, as PyTorch returns self.
/// </summary>
public sealed partial class Tensor : IDisposable
{
    private static long liveCount;
    private static long peakCount;
    private IntPtr handle;

    internal DisposeScope? Scope;

    internal Tensor(IntPtr handle)
    {
        this.handle = handle;
        var n = Interlocked.Increment(ref liveCount);
        if (n > Volatile.Read(ref peakCount)) Volatile.Write(ref peakCount, n);
        DisposeScope.Current?.Attach(this);
    }

    /// <summary>Managed Tensor objects alive now (not yet disposed or finalized).</summary>
    public static long LiveCount => Interlocked.Read(ref liveCount);
    public static long PeakCount => Interlocked.Read(ref peakCount);
    /// <summary>Native tensor handles alive now, counted by the shim itself.</summary>
    public static long NativeLiveCount => NativeMethods.rcl_live_tensors();

    /// <summary>Wraps a handle a native call returned; NULL means failure and throws libtorch's message.</summary>
    internal static Tensor Wrap(IntPtr h)
    {
        if (h == IntPtr.Zero) throw TorchException.FromNative("libtorch returned no tensor");
        return new Tensor(h);
    }

    /// <summary>Wraps a handle that may legitimately be NULL (an undefined tensor, e.g. a missing grad).</summary>
    internal static Tensor? WrapOptional(IntPtr h)
    {
        if (h != IntPtr.Zero) return new Tensor(h);
        unsafe
        {
            if (NativeMethods.rcl_last_error() != null) throw TorchException.FromNative("libtorch call failed");
        }
        return null;
    }

    public IntPtr Handle
    {
        get
        {
            var h = handle;
            if (h == IntPtr.Zero) throw new ObjectDisposedException(nameof(Tensor), "the tensor was disposed");
            return h;
        }
    }

    public bool IsDisposed => handle == IntPtr.Zero;

    /// <summary>Moves this tensor to the scope around its current one (or out of all scopes).</summary>
    public Tensor MoveToOuterScope()
    {
        var outer = Scope?.Outer;
        Scope = null;
        outer?.Attach(this);
        return this;
    }

    /// <summary>Hands this tensor (made outside any scope, or detached) to the innermost scope open on this thread.</summary>
    public Tensor AttachToCurrentScope()
    {
        var current = DisposeScope.Current;
        if (current != null && Scope != current) current.Attach(this);
        return this;
    }

    /// <summary>Takes this tensor out of every scope: the caller (or the finalizer) frees it.</summary>
    public Tensor DetachFromScope()
    {
        Scope = null;
        return this;
    }

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    ~Tensor() => Free();

    private void Free()
    {
        var h = Interlocked.Exchange(ref handle, IntPtr.Zero);
        if (h == IntPtr.Zero) return;
        NativeMethods.rcl_tensor_free(h);
        Interlocked.Decrement(ref liveCount);
    }

    // ---- properties ----

    public int Dim => TorchException.CheckNonNegative(NativeMethods.rcl_ndim(Handle));

    public unsafe long[] Shape
    {
        get
        {
            long* buf = stackalloc long[16];
            var n = TorchException.CheckNonNegative(NativeMethods.rcl_shape(Handle, buf, 16));
            if (n > 16) throw new NotSupportedException("tensors of more than 16 dimensions");
            return new ReadOnlySpan<long>(buf, n).ToArray();
        }
    }

    public unsafe long[] Strides
    {
        get
        {
            long* buf = stackalloc long[16];
            var n = TorchException.CheckNonNegative(NativeMethods.rcl_strides(Handle, buf, 16));
            return new ReadOnlySpan<long>(buf, Math.Min(n, 16)).ToArray();
        }
    }

    /// <summary>Size of one dimension (negative counts from the end).</summary>
    public long Size(int dim)
    {
        var s = Shape;
        return s[dim < 0 ? dim + s.Length : dim];
    }

    public long NumEl => TorchException.CheckNonNegative(NativeMethods.rcl_numel(Handle));

    public DType DType => (DType)TorchException.CheckNonNegative(NativeMethods.rcl_dtype(Handle));

    public unsafe Device Device
    {
        get
        {
            int type, index;
            TorchException.Check(NativeMethods.rcl_device(Handle, &type, &index));
            return new Device((DeviceType)type, index);
        }
    }

    public bool IsContiguous() => TorchException.CheckNonNegative(NativeMethods.rcl_is_contiguous(Handle, 0)) == 1;
    public bool IsContiguous(MemoryFormat format) =>
        TorchException.CheckNonNegative(NativeMethods.rcl_is_contiguous(Handle, (int)format)) == 1;

    /// <summary>The value of a one-element tensor, as PyTorch's <c>item()</c>.</summary>
    public unsafe double Item()
    {
        double d;
        long i;
        TorchException.Check(NativeMethods.rcl_item(Handle, &d, &i));
        return d;
    }

    public unsafe long ItemLong()
    {
        double d;
        long i;
        TorchException.Check(NativeMethods.rcl_item(Handle, &d, &i));
        return i;
    }

    public T Item<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(double)) return (T)(object)Item();
        if (typeof(T) == typeof(float)) return (T)(object)(float)Item();
        if (typeof(T) == typeof(long)) return (T)(object)ItemLong();
        if (typeof(T) == typeof(int)) return (T)(object)(int)ItemLong();
        if (typeof(T) == typeof(bool)) return (T)(object)(ItemLong() != 0);
        throw new NotSupportedException($"item of type {typeof(T).Name}");
    }

    public override unsafe string ToString()
    {
        if (IsDisposed) return "Tensor(disposed)";
        byte* p;
        TorchException.Check(NativeMethods.rcl_to_string(Handle, &NativeAllocator.Alloc, &p));
        try { return Marshal.PtrToStringUTF8((IntPtr)p) ?? ""; }
        finally { NativeMemory.Free(p); }
    }

    /// <summary>Shape, dtype and device in one line, for messages.</summary>
    public string Describe() => $"Tensor[{string.Join(", ", Shape)}] {DType.TorchName()} {Device}";
}

public enum MemoryFormat { Contiguous = 0, ChannelsLast = 1 }
