using System.Runtime.InteropServices;
using RobustCli.Torch.Native;
using static RobustCli.Torch.Native.NativeMethods;

namespace RobustCli.Torch;

/// <summary>The <c>torch.*</c> namespace: tensor factories and runtime switches, with PyTorch's names in PascalCase.</summary>
#pragma warning disable CS8981 // lower-case on purpose: reads as PyTorch's torch namespace
public static unsafe partial class torch
#pragma warning restore CS8981
{
    private enum Factory { Empty = 0, Zeros, Ones, Rand, Randn }

    private static unsafe Tensor Make(Factory op, long[] shape, DType dtype, Device? device, bool requiresGrad, Generator? gen)
    {
        var d = device ?? Device.CPU;
        fixed (long* s = shape)
            return Tensor.Wrap(rcl_factory((int)op, s, shape.Length, (int)dtype, (int)d.Type, d.Index, requiresGrad ? 1 : 0,
                gen?.Handle ?? IntPtr.Zero));
    }

    public static Tensor Empty(long[] shape, DType dtype = DType.Float32, Device? device = null, bool requiresGrad = false) =>
        Make(Factory.Empty, shape, dtype, device, requiresGrad, null);
    public static Tensor Zeros(long[] shape, DType dtype = DType.Float32, Device? device = null, bool requiresGrad = false) =>
        Make(Factory.Zeros, shape, dtype, device, requiresGrad, null);
    public static Tensor Ones(long[] shape, DType dtype = DType.Float32, Device? device = null, bool requiresGrad = false) =>
        Make(Factory.Ones, shape, dtype, device, requiresGrad, null);
    /// <summary>Uniform on [0, 1).</summary>
    public static Tensor Rand(long[] shape, DType dtype = DType.Float32, Device? device = null, Generator? generator = null, bool requiresGrad = false) =>
        Make(Factory.Rand, shape, dtype, device, requiresGrad, generator);
    public static Tensor Randn(long[] shape, DType dtype = DType.Float32, Device? device = null, Generator? generator = null, bool requiresGrad = false) =>
        Make(Factory.Randn, shape, dtype, device, requiresGrad, generator);

    public static Tensor Zeros(params long[] shape) => Zeros(shape, DType.Float32);
    public static Tensor Ones(params long[] shape) => Ones(shape, DType.Float32);
    public static Tensor Rand(params long[] shape) => Rand(shape, DType.Float32);
    public static Tensor Randn(params long[] shape) => Randn(shape, DType.Float32);

    public static unsafe Tensor Full(long[] shape, Scalar value, DType? dtype = null, Device? device = null, bool requiresGrad = false)
    {
        var d = device ?? Device.CPU;
        fixed (long* s = shape)
            return Tensor.Wrap(rcl_full(s, shape.Length, value.D, value.I, value.Kind, dtype.HasValue ? (int)dtype.Value : -1,
                (int)d.Type, d.Index, requiresGrad ? 1 : 0));
    }

    /// <summary>Integers uniform on [low, high).</summary>
    public static unsafe Tensor RandInt(long low, long high, long[] shape, DType dtype = DType.Int64, Device? device = null, Generator? generator = null)
    {
        var d = device ?? Device.CPU;
        fixed (long* s = shape)
            return Tensor.Wrap(rcl_randint(low, high, s, shape.Length, (int)dtype, (int)d.Type, d.Index, generator?.Handle ?? IntPtr.Zero));
    }

    public static Tensor RandPerm(long n, DType dtype = DType.Int64, Device? device = null, Generator? generator = null)
    {
        var d = device ?? Device.CPU;
        return Tensor.Wrap(rcl_randperm(n, (int)dtype, (int)d.Type, d.Index, generator?.Handle ?? IntPtr.Zero));
    }

    /// <summary>[start, end) in steps; dtype null infers as PyTorch does (int64 for integral bounds is the caller's choice here: pass it).</summary>
    public static Tensor Arange(double start, double end, double step = 1, DType dtype = DType.Int64, Device? device = null)
    {
        var d = device ?? Device.CPU;
        return Tensor.Wrap(rcl_arange(start, end, step, (int)dtype, (int)d.Type, d.Index));
    }

    public static Tensor Arange(long end, DType dtype = DType.Int64, Device? device = null) => Arange(0, end, 1, dtype, device);

    public static Tensor Linspace(double start, double end, long steps, DType dtype = DType.Float32, Device? device = null)
    {
        var d = device ?? Device.CPU;
        return Tensor.Wrap(rcl_linspace(start, end, steps, (int)dtype, (int)d.Type, d.Index));
    }

    public static Tensor Eye(long n, long m = -1, DType dtype = DType.Float32, Device? device = null)
    {
        var d = device ?? Device.CPU;
        return Tensor.Wrap(rcl_eye(n, m, (int)dtype, (int)d.Type, d.Index));
    }

    public static Tensor ZerosLike(Tensor t, DType? dtype = null) => Tensor.Wrap(rcl_like((int)Factory.Zeros, t.Handle, dtype.HasValue ? (int)dtype.Value : -1, IntPtr.Zero));
    public static Tensor OnesLike(Tensor t, DType? dtype = null) => Tensor.Wrap(rcl_like((int)Factory.Ones, t.Handle, dtype.HasValue ? (int)dtype.Value : -1, IntPtr.Zero));
    public static Tensor EmptyLike(Tensor t, DType? dtype = null) => Tensor.Wrap(rcl_like((int)Factory.Empty, t.Handle, dtype.HasValue ? (int)dtype.Value : -1, IntPtr.Zero));
    public static Tensor RandLike(Tensor t, Generator? generator = null) => Tensor.Wrap(rcl_like((int)Factory.Rand, t.Handle, -1, generator?.Handle ?? IntPtr.Zero));
    public static Tensor RandnLike(Tensor t, Generator? generator = null) => Tensor.Wrap(rcl_like((int)Factory.Randn, t.Handle, -1, generator?.Handle ?? IntPtr.Zero));
    public static Tensor FullLike(Tensor t, Scalar value) => Tensor.Wrap(rcl_full_like(t.Handle, value.D, value.I, value.Kind));

    /// <summary>A tensor holding a copy of <paramref name="data"/>, shaped by <paramref name="shape"/> (default: 1-D).</summary>
    public static Tensor From<T>(T[] data, long[]? shape = null, Device? device = null, bool requiresGrad = false) where T : unmanaged =>
        Tensor.FromSpan<T>(data, shape ?? [data.Length], device ?? Device.CPU, requiresGrad);

    public static Tensor From<T>(ReadOnlySpan<T> data, long[] shape, Device? device = null, bool requiresGrad = false) where T : unmanaged =>
        Tensor.FromSpan(data, shape, device ?? Device.CPU, requiresGrad);

    /// <summary>A 0-dimensional tensor.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32, Device? device = null) => Full([], value, dtype, device);

    // ---- joining ----

    public static unsafe Tensor Cat(IReadOnlyList<Tensor> tensors, long dim = 0)
    {
        var h = Handles(tensors);
        fixed (IntPtr* p = h) return Tensor.Wrap(rcl_cat(p, h.Length, dim, 0));
    }

    public static unsafe Tensor Stack(IReadOnlyList<Tensor> tensors, long dim = 0)
    {
        var h = Handles(tensors);
        fixed (IntPtr* p = h) return Tensor.Wrap(rcl_cat(p, h.Length, dim, 1));
    }

    public static Tensor Where(Tensor condition, Tensor a, Tensor b) => Tensor.Wrap(rcl_where(condition.Handle, a.Handle, b.Handle));

    /// <summary>Drops (setToNone) or zeroes the gradients of many tensors in one native call.</summary>
    internal static void ZeroGrads(IReadOnlyList<Tensor> tensors, bool setToNone)
    {
        var h = Handles(tensors);
        fixed (IntPtr* p = h) TorchException.Check(rcl_zero_grads(p, h.Length, setToNone ? 1 : 0));
    }

    internal static IntPtr[] Handles(IReadOnlyList<Tensor> tensors)
    {
        var h = new IntPtr[tensors.Count];
        for (var i = 0; i < h.Length; i++) h[i] = tensors[i].Handle;
        return h;
    }

    // ---- runtime ----

    /// <summary>The libtorch version the engine runs on (e.g. "1.13.1" for the shim over Debian's, "2.10.0" for TorchSharp's).</summary>
    public static unsafe string LibTorchVersion => Marshal.PtrToStringUTF8((IntPtr)rcl_torch_version()) ?? "unknown";

    /// <summary>The tensor engine this build runs on: "native" (our shim) or "torchsharp" (chosen at build time, -p:Engine=TorchSharp).</summary>
    public static string Engine => EngineName;

    /// <summary>The engine and its libtorch in one phrase, for `robust info`, logs and summary.json.</summary>
    public static string EngineDescription => EngineName == "torchsharp"
        ? $"TorchSharp {EngineVersion} (libtorch {LibTorchVersion})"
        : $"native shim (libtorch {LibTorchVersion})";

    /// <summary>TorchSharp's package version on that engine; the shim's own version (the binding's) otherwise.</summary>
    public static string EngineVersion =>
#if ENGINE_TORCHSHARP
        typeof(TorchSharp.torch).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "unknown";
#else
        typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "unknown";
#endif

    /// <summary>Seeds the CPU generator and every CUDA device's default generator.</summary>
    public static void ManualSeed(ulong seed) => TorchException.Check(rcl_manual_seed(seed));

    /// <summary>Intra-op threads. libtorch defaults to the physical core count (1 on a 2-vCPU VM), so set it explicitly.</summary>
    public static int NumThreads
    {
        get => TorchException.CheckNonNegative(rcl_get_num_threads());
        set => TorchException.Check(rcl_set_num_threads(value));
    }

    public static void SetNumInteropThreads(int n) => TorchException.Check(rcl_set_num_interop_threads(n));

    /// <summary>
    /// Keeps freed CPU tensor memory in the process (glibc malloc thresholds) so the large activations of
    /// a training step are reused rather than page-faulted in afresh: about 10-15% on PreActResNet-18 PGD-AT
    /// here. The price is that resident memory stays at its peak, as with PyTorch's CUDA caching allocator.
    /// Returns false where the C library is not glibc.
    /// </summary>
    public static bool RetainCpuAllocations(long mmapThresholdBytes = 32L << 20, long trimThresholdBytes = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(mmapThresholdBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(trimThresholdBytes);
        var r = rcl_cpu_allocator_retain(mmapThresholdBytes, trimThresholdBytes);
        if (r != 0 && rcl_last_error() != null) throw TorchException.FromNative("mallopt failed");
        return r == 0;
    }

    public static class Cuda
    {
        /// <summary>Whether the shim was compiled with CUDA support (cuda.cpp).</summary>
        public static bool IsCompiled => rcl_cuda_compiled() == 1;
        public static bool IsAvailable => rcl_cuda_is_available() == 1;
        public static int DeviceCount => rcl_cuda_device_count();
        public static bool CudnnIsAvailable => rcl_cudnn_is_available() == 1;
        public static void Synchronize(int device = -1) => TorchException.Check(rcl_cuda_synchronize(device));
        public static void ManualSeedAll(ulong seed) => TorchException.Check(rcl_cuda_manual_seed_all(seed));
        public static void EmptyCache() => TorchException.Check(rcl_cuda_empty_cache());
        public static void ResetPeakMemoryStats(int device = -1) => TorchException.Check(rcl_cuda_reset_peak(device));

        public static unsafe (long Allocated, long PeakAllocated, long Reserved) MemoryStats(int device = -1)
        {
            long a, p, r;
            TorchException.Check(rcl_cuda_memory_stats(device, &a, &p, &r));
            return (a, p, r);
        }
    }

    public static class Backends
    {
        public static unsafe bool CudnnBenchmark
        {
            get { int b, d; TorchException.Check(rcl_get_cudnn_flags(&b, &d)); return b == 1; }
            set => TorchException.Check(rcl_set_cudnn_flags(value ? 1 : 0, -1));
        }

        public static unsafe bool CudnnDeterministic
        {
            get { int b, d; TorchException.Check(rcl_get_cudnn_flags(&b, &d)); return d == 1; }
            set => TorchException.Check(rcl_set_cudnn_flags(-1, value ? 1 : 0));
        }
    }

    /// <summary>Opens a region where gradients are not recorded (torch.no_grad()); dispose to restore.</summary>
    public static GradMode NoGrad() => new(false);
    /// <summary>Opens a region where gradients are recorded (torch.enable_grad()).</summary>
    public static GradMode EnableGrad() => new(true);
    public static bool IsGradEnabled => rcl_grad_enabled() == 1;

    /// <summary>bfloat16 (or float16) autocast for the forward pass on CUDA, as torch.autocast("cuda", dtype).</summary>
    public static Autocast Autocast(Device device, DType dtype = DType.BFloat16) => new(device, dtype);
}

/// <summary>Restores the previous grad mode on dispose. Thread-local, as in libtorch.</summary>
public readonly struct GradMode : IDisposable
{
    private readonly int previous;
    internal GradMode(bool enabled) { previous = rcl_set_grad_enabled(enabled ? 1 : 0); }
    public void Dispose() => rcl_set_grad_enabled(previous);
}

/// <summary>An autocast region; forward passes inside run matmuls and convolutions in the given low precision.</summary>
public sealed class Autocast : IDisposable
{
    private readonly int deviceType;
    private bool open;

    internal Autocast(Device device, DType dtype)
    {
        deviceType = (int)device.Type;
        TorchException.Check(rcl_autocast_enter(deviceType, (int)dtype));
        open = true;
    }

    public static bool IsEnabled(Device device) => TorchException.CheckNonNegative(rcl_autocast_enabled((int)device.Type)) == 1;

    public void Dispose()
    {
        if (!open) return;
        open = false;
        TorchException.Check(rcl_autocast_exit(deviceType));
    }
}
