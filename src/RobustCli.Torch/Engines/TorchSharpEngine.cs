#if ENGINE_TORCHSHARP
using System.Runtime.InteropServices;
using TorchSharp;
using F = TorchSharp.torch.nn.functional;
using TS = TorchSharp.torch;
using TT = TorchSharp.torch.Tensor;
using TScalar = TorchSharp.Scalar;
using TDevice = TorchSharp.torch.Device;
using TDeviceType = TorchSharp.DeviceType;
using TGenerator = TorchSharp.torch.Generator;
using ScalarType = TorchSharp.torch.ScalarType;

namespace RobustCli.Torch.Native;

/// <summary>
/// The shim's C ABI (rcl.h), implemented over TorchSharp's managed API, so the binding above it compiles
/// unchanged against either engine. A handle is a GCHandle to a TorchSharp tensor or generator; every entry
/// clears the error channel first and turns any exception into a failure return with libtorch's short message,
/// exactly as the C++ shim does.
/// </summary>
internal static unsafe partial class NativeMethods
{
    internal const string Library = "LibTorchSharp";
    internal const string EngineName = "torchsharp";

    [ThreadStatic] private static IntPtr lastError;
    private static long live;

    static NativeMethods()
    {
        // TorchSharp, like the shim's loader, defaults to every core unless OMP_NUM_THREADS says otherwise.
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_NUM_THREADS")))
            TS.set_num_threads(Environment.ProcessorCount);
    }

    // ---- the error channel and handles ----

    private static void Clear()
    {
        var p = lastError;
        if (p == IntPtr.Zero) return;
        lastError = IntPtr.Zero;
        Marshal.FreeCoTaskMem(p);
    }

    private static void SetError(Exception e)
    {
        var msg = e.Message;
        // libtorch appends the C++ backtrace ("Exception raised from ...") to what(); the shim reports without it.
        var cut = msg.IndexOf("\nException raised from", StringComparison.Ordinal);
        if (cut >= 0) msg = msg[..cut];
        if (string.IsNullOrWhiteSpace(msg)) msg = "libtorch error without a message";
        Clear();
        lastError = Marshal.StringToCoTaskMemUTF8(msg);
    }

    private static IntPtr Fail(Exception e) { SetError(e); return IntPtr.Zero; }
    private static int Failed(Exception e) { SetError(e); return 1; }

    private static TT T(IntPtr h)
    {
        if (h == IntPtr.Zero) throw new ArgumentException("null tensor handle");
        return (TT)GCHandle.FromIntPtr(h).Target!;
    }

    private static TT? OT(IntPtr h) => h == IntPtr.Zero ? null : T(h);

    /// <summary>A new handle owning <paramref name="t"/>; an undefined result (null) is the "none" handle.</summary>
    private static IntPtr W(TT? t)
    {
        if (t is null || t.IsInvalid) return IntPtr.Zero;
        Interlocked.Increment(ref live);
        return GCHandle.ToIntPtr(GCHandle.Alloc(t));
    }

    /// <summary>A result that TorchSharp may hand back as the input object itself gets an alias of its own.</summary>
    private static IntPtr W(TT t, TT input) => W(ReferenceEquals(t, input) ? input.alias() : t);

    private static IntPtr Tensor(Func<TT> f)
    {
        Clear();
        try { return W(f()); } catch (Exception e) { return Fail(e); }
    }

    private static int Status(Action f)
    {
        Clear();
        try { f(); return 0; } catch (Exception e) { return Failed(e); }
    }

    /// <summary>A count, size or flag; <paramref name="failure"/> (-1 as the shim returns, or 0) when it throws.</summary>
    private static TV Value<TV>(Func<TV> f, TV failure)
    {
        Clear();
        try { return f(); } catch (Exception e) { SetError(e); return failure; }
    }

    /// <summary>An op whose result TorchSharp may hand back as its input object (views, no-op conversions).</summary>
    private static IntPtr View(IntPtr a, Func<TT, TT> f)
    {
        Clear();
        try { var x = T(a); return W(f(x), x); }
        catch (Exception e) { return Fail(e); }
    }

    private static long[] A(long* p, int n) => n <= 0 ? [] : new ReadOnlySpan<long>(p, n).ToArray();
    private static long[] Two(long* p) => [p[0], p[1]];
    private static TT[] TL(IntPtr* ts, int n)
    {
        var v = new TT[n];
        for (var i = 0; i < n; i++) v[i] = T(ts[i]);
        return v;
    }

    private static TScalar S(double v, long iv, int kind) => kind switch { 1 => iv.ToScalar(), 2 => (iv != 0).ToScalar(), _ => v.ToScalar() };

    // A whole alpha is integral, so integer tensors accept add(x, y, alpha=2), as in the shim.
    private static TScalar AL(double alpha) =>
        alpha == Math.Floor(alpha) && Math.Abs(alpha) < 9007199254740992.0 ? ((long)alpha).ToScalar() : alpha.ToScalar();

    private static ScalarType? OD(int dtype) => dtype < 0 ? null : (ScalarType)dtype;

    private static TDevice DEV(int type, int index) => type switch
    {
        0 => TS.CPU,
        1 => new TDevice(TDeviceType.CUDA, index),
        _ => throw new ArgumentException($"unknown device type code {type}"),
    };

    private static TGenerator? GEN(IntPtr g) => g == IntPtr.Zero ? null : (TGenerator)GCHandle.FromIntPtr(g).Target!;

    // ---- errors and lifetime ----

    internal static byte* rcl_last_error() => (byte*)lastError;

    internal static void rcl_tensor_free(IntPtr t)
    {
        if (t == IntPtr.Zero) return;
        var h = GCHandle.FromIntPtr(t);
        (h.Target as TT)?.Dispose();
        h.Free();
        Interlocked.Decrement(ref live);
    }

    internal static long rcl_live_tensors() => Interlocked.Read(ref live);

    // ---- properties ----

    internal static int rcl_ndim(IntPtr t) => Value(() => (int)T(t).ndim, -1);

    private static int CopyDims(long[] dims, long* o, int cap)
    {
        for (var i = 0; i < dims.Length && i < cap; i++) o[i] = dims[i];
        return dims.Length;
    }
    internal static int rcl_shape(IntPtr t, long* o, int cap) => Value(() => CopyDims(T(t).shape, o, cap), -1);
    internal static int rcl_strides(IntPtr t, long* o, int cap) => Value(() => CopyDims(T(t).stride(), o, cap), -1);
    internal static long rcl_numel(IntPtr t) => Value(() => T(t).numel(), -1L);
    internal static int rcl_dtype(IntPtr t) => Value(() => (int)T(t).dtype, -1);

    internal static int rcl_device(IntPtr t, int* type, int* index) => Status(() =>
    {
        var d = T(t).device;
        *type = d.type == TDeviceType.CUDA ? 1 : d.type == TDeviceType.CPU ? 0 : (int)d.type + 100;
        *index = d.index;
    });

    internal static int rcl_is_contiguous(IntPtr t, int memory_format) => Value(() =>
    {
        var x = T(t);
        if (memory_format != 1) return x.is_contiguous() ? 1 : 0;
        // TorchSharp asks only about the default layout: channels-last means the dims permuted to NHWC are.
        if (x.ndim != 4) return 0;
        using var p = x.permute(0, 2, 3, 1);
        return p.is_contiguous() ? 1 : 0;
    }, -1);

    internal static int rcl_item(IntPtr t, double* d, long* i) => Status(() =>
    {
        var x = T(t);
        if (x.numel() != 1) throw new ArgumentException($"a Tensor with {x.numel()} elements cannot be converted to Scalar");
        if (x.is_floating_point() || x.is_complex())
        {
            using var f = x.to_type(ScalarType.Float64);
            *d = f.item<double>();
            *i = (long)*d;
        }
        else if (x.dtype == ScalarType.Bool)
        {
            *i = x.item<bool>() ? 1 : 0;
            *d = *i;
        }
        else
        {
            using var l = x.to_type(ScalarType.Int64);
            *i = l.item<long>();
            *d = *i;
        }
    });

    internal static int rcl_to_string(IntPtr t, delegate* unmanaged<nuint, void*> alloc, byte** o) => Status(() =>
    {
        // libtorch's operator<< ends with "[ CPUFloatType{2,3} ]"; TorchSharp prints the values its own way,
        // so its numpy-style values are followed by the same trailer.
        var x = T(t);
        var values = x.ToString(TorchSharp.TensorStringStyle.Numpy);
        var device = x.device_type == TDeviceType.CUDA ? "CUDA" : "CPU";
        var s = $"{values}\n[ {device}{TypeName(x.dtype)}Type{{{string.Join(",", x.shape)}}} ]";
        var bytes = System.Text.Encoding.UTF8.GetBytes(s);
        var buf = (byte*)alloc((nuint)(bytes.Length + 1));
        bytes.CopyTo(new Span<byte>(buf, bytes.Length));
        buf[bytes.Length] = 0;
        *o = buf;
    });

    private static string TypeName(ScalarType t) => t switch
    {
        ScalarType.Byte => "Byte", ScalarType.Int8 => "Char", ScalarType.Int16 => "Short", ScalarType.Int32 => "Int",
        ScalarType.Int64 => "Long", ScalarType.Float16 => "Half", ScalarType.Float32 => "Float", ScalarType.Float64 => "Double",
        ScalarType.Bool => "Bool", ScalarType.BFloat16 => "BFloat16", _ => t.ToString(),
    };

    // ---- creation ----

    internal static IntPtr rcl_factory(int op, long* sizes, int n, int dtype, int dev_type, int dev_index, int requires_grad, IntPtr gen) => Tensor(() =>
    {
        var sz = A(sizes, n);
        var dev = DEV(dev_type, dev_index);
        var dt = OD(dtype);
        var r = op switch
        {
            0 => TS.empty(sz, dt, dev),
            1 => TS.zeros(sz, dt, dev),
            2 => TS.ones(sz, dt, dev),
            3 => TS.rand(sz, dt, dev, generator: GEN(gen)),
            4 => TS.randn(sz, dt, dev, generator: GEN(gen)),
            _ => throw new ArgumentException("unknown factory op"),
        };
        if (requires_grad != 0) r.requires_grad = true;
        return r;
    });

    internal static IntPtr rcl_full(long* sizes, int n, double v, long iv, int kind, int dtype, int dev_type, int dev_index, int requires_grad) => Tensor(() =>
    {
        using var s = S(v, iv, kind);
        var r = TS.full(A(sizes, n), s, OD(dtype) ?? DefaultFor(kind), DEV(dev_type, dev_index));
        if (requires_grad != 0) r.requires_grad = true;
        return r;
    });

    // at::full infers the dtype from the value (an integral fill gives int64, a bool fill bool), as PyTorch does.
    private static ScalarType DefaultFor(int kind) => kind switch { 1 => ScalarType.Int64, 2 => ScalarType.Bool, _ => TS.get_default_dtype() };

    internal static IntPtr rcl_randint(long low, long high, long* sizes, int n, int dtype, int dev_type, int dev_index, IntPtr gen) =>
        Tensor(() => TS.randint(low, high, A(sizes, n), (ScalarType)(dtype < 0 ? 4 : dtype), DEV(dev_type, dev_index), generator: GEN(gen)));

    internal static IntPtr rcl_randperm(long n, int dtype, int dev_type, int dev_index, IntPtr gen) =>
        Tensor(() => TS.randperm(n, (ScalarType)(dtype < 0 ? 4 : dtype), DEV(dev_type, dev_index), generator: GEN(gen)));

    internal static IntPtr rcl_arange(double start, double end, double step, int dtype, int dev_type, int dev_index) => Tensor(() =>
    {
        // at::arange(double, double, double) gives the default float dtype when none is asked for; so does this.
        using var a = start.ToScalar();
        using var b = end.ToScalar();
        using var c = step.ToScalar();
        return TS.arange(a, b, c, OD(dtype) ?? TS.get_default_dtype(), DEV(dev_type, dev_index));
    });

    internal static IntPtr rcl_linspace(double start, double end, long steps, int dtype, int dev_type, int dev_index) =>
        Tensor(() => TS.linspace(start, end, steps, OD(dtype), DEV(dev_type, dev_index)));

    internal static IntPtr rcl_eye(long n, long m, int dtype, int dev_type, int dev_index) =>
        Tensor(() => TS.eye(n, m < 0 ? n : m, OD(dtype), DEV(dev_type, dev_index)));

    internal static IntPtr rcl_like(int op, IntPtr t, int dtype, IntPtr gen) => Tensor(() =>
    {
        var x = T(t);
        var dt = OD(dtype) ?? x.dtype;
        return op switch
        {
            0 => TS.empty_like(x, dt),
            1 => TS.zeros_like(x, dt),
            2 => TS.ones_like(x, dt),
            3 => TS.empty_like(x, dt).uniform_(0, 1, GEN(gen)),
            4 => TS.empty_like(x, dt).normal_(0, 1, GEN(gen)),
            _ => throw new ArgumentException("unknown factory op"),
        };
    });

    internal static IntPtr rcl_full_like(IntPtr t, double v, long iv, int kind) => Tensor(() =>
    {
        using var s = S(v, iv, kind);
        return TS.full_like(T(t), s);
    });

    // ---- raw bytes ----

    internal static IntPtr rcl_from_bytes(void* data, long nbytes, long* sizes, int n, int dtype, int dev_type, int dev_index, int requires_grad) => Tensor(() =>
    {
        var st = (ScalarType)dtype;
        var cpu = TS.empty(A(sizes, n), st);
        var expect = cpu.numel() * cpu.ElementSize;
        if (expect != nbytes)
        {
            cpu.Dispose();
            throw new ArgumentException($"byte count {nbytes} does not match shape [{string.Join(", ", A(sizes, n))}] of dtype {st} ({expect} bytes)");
        }
        if (nbytes > 0) CopyIn(cpu, data, nbytes);
        var r = dev_type == 0 ? cpu : cpu.to(DEV(dev_type, dev_index), disposeAfter: true);
        if (requires_grad != 0) r.requires_grad = true;
        return r;
    });

    private static void CopyIn(TT cpu, void* data, long nbytes)
    {
        using var src = new UnmanagedMemoryStream((byte*)data, nbytes);
        cpu.ReadBytesFromStream(src, 1 << 20);
    }

    internal static long rcl_nbytes(IntPtr t) => Value(() => { var x = T(t); return x.numel() * x.ElementSize; }, -1L);

    internal static int rcl_to_bytes(IntPtr t, void* dst, long nbytes) => Status(() =>
    {
        using var d = T(t).detach();
        using var c = d.to(TS.CPU);
        using var x = c.contiguous();
        var have = x.numel() * x.ElementSize;
        if (have != nbytes) throw new ArgumentException($"buffer of {nbytes} bytes for a tensor of {have} bytes");
        if (have == 0) return;
        using var o = new UnmanagedMemoryStream((byte*)dst, 0, nbytes, FileAccess.Write);
        x.WriteBytesToStream(o, 1 << 20);
    });

    // ---- conversion and copies ----

    internal static IntPtr rcl_to(IntPtr t, int dtype, int dev_type, int dev_index, int non_blocking, int copy) =>
        View(t, x => x.to(dtype >= 0 ? (ScalarType)dtype : x.dtype, dev_type >= 0 ? DEV(dev_type, dev_index) : x.device, copy != 0, false, non_blocking != 0));

    internal static IntPtr rcl_clone(IntPtr t) => Tensor(() => T(t).clone());

    internal static IntPtr rcl_contiguous(IntPtr t, int memory_format) => View(t, x =>
    {
        if (memory_format != 1) return x.contiguous();
        // channels_last: the NHWC-contiguous copy seen through NCHW dims (as at::contiguous(ChannelsLast)).
        using var p = x.permute(0, 2, 3, 1);
        using var c = p.contiguous();
        return c.permute(0, 3, 1, 2);
    });

    internal static int rcl_copy_(IntPtr dst, IntPtr src) => Status(() => T(dst).copy_(T(src)));

    internal static int rcl_set_data(IntPtr t, IntPtr src) => Status(() =>
    {
        // Tensor::set_data swaps the variable's data (dtype and device included) and keeps the object the caller
        // holds. TorchSharp has no set_data (its set_ needs the same dtype), so the handle is pointed at a detached
        // tensor of src's data with this one's requires_grad: the binding's Tensor object, which the modules and
        // optimisers hold, stays the same, as with the shim.
        if (t == IntPtr.Zero) throw new ArgumentException("null tensor handle");
        var h = GCHandle.FromIntPtr(t);
        var old = (TT)h.Target!;
        var next = T(src).detach();
        if (old.requires_grad) next.requires_grad = true;
        h.Target = next;
        old.Dispose();
    });

    internal static int rcl_fill_(IntPtr t, double v, long iv, int kind) => Status(() =>
    {
        using var s = S(v, iv, kind);
        T(t).fill_(s);
    });

    internal static int rcl_zero_(IntPtr t) => Status(() => T(t).zero_());

    internal static int rcl_random_(int op, IntPtr t, double a, double b, IntPtr gen) => Status(() =>
    {
        var x = T(t);
        switch (op)
        {
            case 0: x.uniform_(a, b, GEN(gen)); break;
            case 1: x.normal_(a, b, GEN(gen)); break;
            case 2: x.bernoulli_(a, GEN(gen)); break;
            default: throw new ArgumentException("unknown random op");
        }
    });

    // ---- element-wise ----

    private static TT Unary(int op, TT a) => op switch
    {
        0 => a.neg(), 1 => a.abs(), 2 => a.sign(), 3 => a.exp(), 4 => a.log(), 5 => a.log1p(), 6 => a.sqrt(),
        7 => a.rsqrt(), 8 => a.floor(), 9 => a.round(), 10 => a.sigmoid(), 11 => a.tanh(), 12 => F.relu(a),
        13 => F.silu(a), 14 => a.logical_not(), 15 => a.ceil(), 16 => a.sin(), 17 => a.cos(), 18 => a.square(),
        19 => a.reciprocal(), 20 => a.trunc(), 21 => a.isnan(), 22 => a.isinf(), 23 => a.isfinite(), 24 => a.log2(),
        25 => a.expm1(), 26 => a.bitwise_not(),
        _ => throw new ArgumentException($"unknown unary op {op}"),
    };

    private static void Unary_(int op, TT a)
    {
        switch (op)
        {
            case 0: a.neg_(); break; case 1: a.abs_(); break; case 2: a.sign_(); break; case 3: a.exp_(); break;
            case 4: a.log_(); break; case 5: a.log1p_(); break; case 6: a.sqrt_(); break; case 7: a.rsqrt_(); break;
            case 8: a.floor_(); break; case 9: a.round_(); break; case 10: a.sigmoid_(); break; case 11: a.tanh_(); break;
            case 12: a.relu_(); break; case 13: F.silu(a, inplace: true); break; case 14: a.logical_not_(); break;
            case 15: a.ceil_(); break; case 16: a.sin_(); break; case 17: a.cos_(); break; case 18: { using var two = 2.ToScalar(); a.pow_(two); break; }
            case 19: a.reciprocal_(); break; case 20: a.trunc_(); break; case 24: a.log2_(); break; case 25: a.expm1_(); break;
            case 26: a.bitwise_not_(); break;
            default: throw new ArgumentException($"unary op {op} has no in-place form");
        }
    }

    internal static IntPtr rcl_unary(int op, IntPtr a) => Tensor(() => Unary(op, T(a)));
    internal static int rcl_unary_(int op, IntPtr a) => Status(() => Unary_(op, T(a)));

    private static TT Binary(int op, TT a, TT b, double alpha)
    {
        switch (op)
        {
            case 0: { using var s = AL(alpha); return a.add(b, s); }
            case 1: { if (alpha == 1) return a.sub(b); using var s = AL(-alpha); return a.add(b, s); }
            case 2: return a.mul(b);
            case 3: return a.div(b);
            case 4: return a.pow(b);
            case 5: return a.minimum(b);
            case 6: return a.maximum(b);
            case 7: return a.eq(b);
            case 8: return a.ne(b);
            case 9: return a.lt(b);
            case 10: return a.le(b);
            case 11: return a.gt(b);
            case 12: return a.ge(b);
            case 13: return a.logical_and(b);
            case 14: return a.logical_or(b);
            case 15: return a.logical_xor(b);
            case 16: return a.remainder(b);
            case 17: return a.fmod(b);
            case 18: return a.atan2(b);
            case 19: return a.div(b, TS.RoundingMode.floor);
            case 20: return a.bitwise_and(b);
            case 21: return a.bitwise_or(b);
            default: throw new ArgumentException($"unknown binary op {op}");
        }
    }

    private static void Binary_(int op, TT a, TT b, double alpha)
    {
        switch (op)
        {
            case 0: { using var s = AL(alpha); a.add_(b, s); return; }
            case 1: { if (alpha == 1) { a.sub_(b); return; } using var s = AL(-alpha); a.add_(b, s); return; }
            case 2: a.mul_(b); return;
            case 3: a.div_(b); return;
            case 4: a.pow_(b); return;
            case 5: { using var m = a.minimum(b); a.copy_(m); return; }
            case 6: { using var m = a.maximum(b); a.copy_(m); return; }
            case 7: a.eq_(b); return;
            case 8: a.ne_(b); return;
            case 9: a.lt_(b); return;
            case 10: a.le_(b); return;
            case 11: a.gt_(b); return;
            case 12: a.ge_(b); return;
            case 13: a.logical_and_(b); return;
            case 14: a.logical_or_(b); return;
            case 15: a.logical_xor_(b); return;
            case 16: a.remainder_(b); return;
            case 17: a.fmod_(b); return;
            case 18: a.atan2_(b); return;
            case 19: a.div_(b, TS.RoundingMode.floor); return;
            case 20: a.bitwise_and_(b); return;
            case 21: a.bitwise_or_(b); return;
            default: throw new ArgumentException($"binary op {op} has no in-place form here");
        }
    }

    /// <summary>The 0-dim tensor PyTorch's Python layer makes of a scalar operand: the dtype result_type gives.</summary>
    private static TT ScalarTensor(TT like, double v, long iv, int kind)
    {
        var dt = kind switch
        {
            0 => like.is_floating_point() ? like.dtype : TS.get_default_dtype(),
            1 => like.dtype == ScalarType.Bool ? ScalarType.Int64 : like.dtype,
            _ => like.dtype,
        };
        using var s = S(v, iv, kind);
        return TS.full([], s, dt, like.device);
    }

    internal static IntPtr rcl_binary(int op, IntPtr a, IntPtr b, double alpha) => Tensor(() => Binary(op, T(a), T(b), alpha));
    internal static int rcl_binary_(int op, IntPtr a, IntPtr b, double alpha) => Status(() => Binary_(op, T(a), T(b), alpha));

    internal static IntPtr rcl_binary_scalar(int op, IntPtr a, double v, long iv, int kind, double alpha, int reverse) => Tensor(() =>
    {
        var x = T(a);
        using var s = S(v, iv, kind);
        if (reverse != 0)
        {
            switch (op)
            {
                case 0: { using var al = AL(alpha); return x.add(s, al); }
                case 2: return x.mul(s);
                case 1: { using var al = AL(alpha); using var nx = x.mul(al); return nx.neg().add_(s); }
                case 3: { using var r = x.reciprocal(); return r.mul(s); }
                case 4: { using var st = ScalarTensor(x, v, iv, kind); return st.pow(x); }
                default: { using var st = ScalarTensor(x, v, iv, kind); return Binary(op, st, x, alpha); }
            }
        }
        switch (op)
        {
            case 0: { using var al = AL(alpha); return x.add(s, al); }
            case 1: { if (alpha == 1) return x.sub(s); using var st = ScalarTensor(x, v, iv, kind); return Binary(1, x, st, alpha); }
            case 2: return x.mul(s);
            case 3: return x.div(s);
            case 4: return x.pow(s);
            case 7: return x.eq(s);
            case 8: return x.ne(s);
            case 9: return x.lt(s);
            case 10: return x.le(s);
            case 11: return x.gt(s);
            case 12: return x.ge(s);
            case 16: return x.remainder(s);
            case 17: return x.fmod(s);
            case 19: return x.div(s, TS.RoundingMode.floor);
            default: { using var st = ScalarTensor(x, v, iv, kind); return Binary(op, x, st, alpha); }
        }
    });

    internal static int rcl_binary_scalar_(int op, IntPtr a, double v, long iv, int kind, double alpha) => Status(() =>
    {
        var x = T(a);
        using var s = S(v, iv, kind);
        switch (op)
        {
            case 0: { using var al = AL(alpha); x.add_(s, al); return; }
            case 1: { if (alpha == 1) { x.sub_(s); return; } using var st = ScalarTensor(x, v, iv, kind); Binary_(1, x, st, alpha); return; }
            case 2: x.mul_(s); return;
            case 3: x.div_(s); return;
            case 4: x.pow_(s); return;
            case 7: x.eq_(s); return;
            case 8: x.ne_(s); return;
            case 9: x.lt_(s); return;
            case 10: x.le_(s); return;
            case 11: x.gt_(s); return;
            case 12: x.ge_(s); return;
            case 16: x.remainder_(s); return;
            case 17: x.fmod_(s); return;
            default:
            {
                using var st = TS.full([], s, x.dtype, x.device);
                Binary_(op, x, st, alpha);
                return;
            }
        }
    });

    internal static IntPtr rcl_clamp(IntPtr a, double lo, double hi, int flags) => Tensor(() =>
    {
        using var l = (flags & 1) != 0 ? lo.ToScalar() : null;
        using var h = (flags & 2) != 0 ? hi.ToScalar() : null;
        return T(a).clamp(l, h);
    });

    internal static int rcl_clamp_(IntPtr a, double lo, double hi, int flags) => Status(() =>
    {
        using var l = (flags & 1) != 0 ? lo.ToScalar() : null;
        using var h = (flags & 2) != 0 ? hi.ToScalar() : null;
        T(a).clamp_(l, h);
    });

    internal static IntPtr rcl_clamp_tensor(IntPtr a, IntPtr lo, IntPtr hi) => Tensor(() => T(a).clamp(OT(lo), OT(hi)));
    internal static int rcl_clamp_tensor_(IntPtr a, IntPtr lo, IntPtr hi) => Status(() => T(a).clamp_(OT(lo), OT(hi)));
    internal static IntPtr rcl_where(IntPtr cond, IntPtr a, IntPtr b) => Tensor(() => TS.where(T(cond), T(a), T(b)));

    internal static IntPtr rcl_ternary(int op, IntPtr a, IntPtr b, IntPtr c, double value) => Tensor(() =>
    {
        using var v = value.ToScalar();
        return op switch
        {
            0 => T(a).addcmul(T(b), T(c), v),
            1 => T(a).addcdiv(T(b), T(c), v),
            2 => T(a).lerp(T(b), v),
            _ => throw new ArgumentException("unknown ternary op"),
        };
    });

    // ---- reductions ----

    internal static IntPtr rcl_reduce(int op, IntPtr a, long* dims, int ndims, int keepdim, int dtype) => Tensor(() =>
    {
        var x = T(a);
        var all = ndims < 0;
        var d = all ? Enumerable.Range(0, (int)x.ndim).Select(i => (long)i).ToArray() : A(dims, ndims);
        var kd = keepdim != 0;
        switch (op)
        {
            case 0: return all && !kd ? x.sum(OD(dtype)) : x.sum(d, kd, OD(dtype));
            case 1: return all && !kd && dtype < 0 ? x.mean() : x.mean(d, kd, OD(dtype));
            case 2: return x.amax(d, kd);
            case 3: return x.amin(d, kd);
            case 4:
                if (all && !kd) return x.all();
                if (d.Length != 1) throw new ArgumentException("all() reduces over one dimension or all of them");
                return x.all(d[0], kd);
            case 5:
                if (all && !kd) return x.any();
                if (d.Length != 1) throw new ArgumentException("any() reduces over one dimension or all of them");
                return x.any(d[0], kd);
            case 6: return all ? TS.count_nonzero(x) : TS.count_nonzero(x, d);
            case 7:
                if (d.Length == 1) return x.logsumexp(d[0], kd);
                return LogSumExp(x, d, kd);
            case 8:
                if (all && !kd) return x.prod(OD(dtype));
                if (d.Length != 1) throw new ArgumentException("prod() reduces over one dimension or all of them");
                return x.prod(d[0], kd, OD(dtype));
            default: throw new ArgumentException("unknown reduction op");
        }
    });

    // TorchSharp's logsumexp takes one dimension; several reduce as at::logsumexp does, max-shifted.
    private static TT LogSumExp(TT x, long[] d, bool kd)
    {
        using var m = x.amax(d, true);
        using var finite = m.isfinite();
        using var zero = TS.zeros_like(m);
        using var shift = TS.where(finite, m, zero);
        using var centred = x.sub(shift);
        using var e = centred.exp();
        using var s = e.sum(d, true);
        using var l = s.log();
        var r = l.add(shift);
        if (kd) return r;
        using (r) return r.squeeze_dims(d);
    }

    private static TT squeeze_dims(this TT r, long[] d)
    {
        var nd = r.ndim;
        var v = d.Select(i => i < 0 ? i + nd : i).OrderByDescending(i => i).ToArray();
        TT cur = r.alias();
        foreach (var i in v)
        {
            var next = cur.squeeze(i);
            cur.Dispose();
            cur = next;
        }
        return cur;
    }

    internal static IntPtr rcl_norm(IntPtr a, double p, long* dims, int ndims, int keepdim) =>
        Tensor(() => TS.linalg.vector_norm(T(a), p, ndims < 0 ? null : A(dims, ndims), keepdim != 0));

    internal static IntPtr rcl_var(int is_std, IntPtr a, long* dims, int ndims, int unbiased, int keepdim) => Tensor(() =>
    {
        var x = T(a);
        if (ndims < 0) return is_std != 0 ? x.std(unbiased != 0) : x.var(unbiased != 0);
        return is_std != 0 ? x.std(A(dims, ndims), unbiased != 0, keepdim != 0) : x.var(A(dims, ndims), unbiased != 0, keepdim != 0);
    });

    internal static int rcl_minmax_dim(int is_min, IntPtr a, long dim, int keepdim, IntPtr* values, IntPtr* indices) => Status(() =>
    {
        var r = is_min != 0 ? T(a).min(dim, keepdim != 0) : T(a).max(dim, keepdim != 0);
        *values = W(r.values);
        *indices = W(r.indexes);
    });

    internal static IntPtr rcl_argminmax(int is_min, IntPtr a, long dim, int has_dim, int keepdim) => Tensor(() =>
    {
        var x = T(a);
        if (has_dim == 0)
        {
            if (keepdim == 0) return is_min != 0 ? x.argmin() : x.argmax();
            using var flat = x.reshape(-1);
            using var r = is_min != 0 ? flat.argmin(0, false) : flat.argmax(0, false);
            return r.reshape(Enumerable.Repeat(1L, (int)x.ndim).ToArray());
        }
        return is_min != 0 ? x.argmin(dim, keepdim != 0) : x.argmax(dim, keepdim != 0);
    });

    internal static int rcl_topk(IntPtr a, long k, long dim, int largest, int sorted, IntPtr* values, IntPtr* indices) => Status(() =>
    {
        var r = T(a).topk((int)k, (int)dim, largest != 0, sorted != 0);
        *values = W(r.values);
        *indices = W(r.indexes);
    });

    internal static IntPtr rcl_cumsum(IntPtr a, long dim) => Tensor(() => T(a).cumsum(dim));

    internal static int rcl_sort(IntPtr a, long dim, int descending, int stable, IntPtr* values, IntPtr* indices) => Status(() =>
    {
        var r = T(a).sort(dim, descending != 0, stable != 0);
        *values = W(r.Values);
        *indices = W(r.Indices);
    });

    // ---- linear algebra ----

    internal static IntPtr rcl_matmul(int op, IntPtr a, IntPtr b) => Tensor(() => op switch
    {
        0 => T(a).matmul(T(b)),
        1 => T(a).mm(T(b)),
        2 => T(a).bmm(T(b)),
        _ => throw new ArgumentException("unknown matmul op"),
    });

    // ---- shape and indexing ----

    internal static IntPtr rcl_shape_op(int op, IntPtr a, long* dims, int n)
    {
        var d = A(dims, n);
        return View(a, x => op switch
        {
            0 => x.reshape(d),
            1 => x.view(d),
            2 => x.expand(d),
            3 => x.permute(d),
            4 => x.repeat(d),
            5 => x.flip(d),
            6 => x.squeeze_dims(d),
            _ => throw new ArgumentException("unknown shape op"),
        });
    }

    internal static IntPtr rcl_flatten(IntPtr a, long start, long end) => View(a, x => x.flatten(start, end));
    internal static IntPtr rcl_squeeze(IntPtr a, long dim, int all) => View(a, x => all != 0 ? x.squeeze() : x.squeeze(dim));
    internal static IntPtr rcl_unsqueeze(IntPtr a, long dim) => View(a, x => x.unsqueeze(dim));
    internal static IntPtr rcl_transpose(IntPtr a, long d0, long d1) => View(a, x => x.transpose(d0, d1));
    internal static IntPtr rcl_slice(IntPtr a, long dim, long start, long end, long step) => View(a, x =>
    {
        // at::slice clamps the end to the size (Python's a[s:e]); TorchSharp passes it through unchanged.
        var size = x.shape[dim < 0 ? dim + x.ndim : dim];
        return x.slice(dim, start, Math.Min(end, size), step);
    });
    internal static IntPtr rcl_narrow(IntPtr a, long dim, long start, long length) => View(a, x => x.narrow(dim, start, length));
    internal static IntPtr rcl_select(IntPtr a, long dim, long index) => View(a, x => x.select(dim, index));
    internal static IntPtr rcl_index_select(IntPtr a, long dim, IntPtr index) => Tensor(() => T(a).index_select(dim, T(index)));
    internal static IntPtr rcl_index(IntPtr a, IntPtr index) => Tensor(() => T(a).index([T(index)]));
    internal static int rcl_index_put_(IntPtr a, IntPtr index, IntPtr values, int accumulate) =>
        Status(() => T(a).index_put_(T(values), [T(index)], accumulate != 0));
    internal static IntPtr rcl_gather(IntPtr a, long dim, IntPtr index) => Tensor(() => T(a).gather(dim, T(index)));
    internal static IntPtr rcl_scatter(int op, IntPtr a, long dim, IntPtr index, IntPtr src) =>
        Tensor(() => op == 1 ? T(a).scatter_add(dim, T(index), T(src)) : T(a).scatter(dim, T(index), T(src)));

    internal static IntPtr rcl_scatter_value(IntPtr a, long dim, IntPtr index, double v, long iv, int kind) => Tensor(() =>
    {
        var x = T(a);
        using var s = S(v, iv, kind);
        using var src = TS.full(T(index).shape, s, x.dtype, x.device);
        return x.scatter(dim, T(index), src);
    });

    internal static IntPtr rcl_masked_fill(IntPtr a, IntPtr mask, double v, long iv, int kind) => Tensor(() =>
    {
        using var s = S(v, iv, kind);
        return T(a).masked_fill(T(mask), s);
    });

    internal static int rcl_masked_fill_(IntPtr a, IntPtr mask, double v, long iv, int kind) => Status(() =>
    {
        using var s = S(v, iv, kind);
        T(a).masked_fill_(T(mask), s);
    });

    internal static IntPtr rcl_masked_select(IntPtr a, IntPtr mask) => Tensor(() => T(a).masked_select(T(mask)));

    internal static IntPtr rcl_cat(IntPtr* ts, int n, long dim, int stack) => Tensor(() =>
    {
        var v = TL(ts, n);
        return stack != 0 ? TS.stack(v, dim) : TS.cat(v, dim);
    });

    internal static int rcl_split(IntPtr a, long split_size, long* sizes, int nsizes, long chunks, long dim,
        delegate* unmanaged<nuint, void*> alloc, IntPtr** o, int* count) => Status(() =>
    {
        var x = T(a);
        var parts = chunks > 0 ? x.chunk(chunks, dim) : split_size > 0 ? x.split(split_size, (int)dim) : x.split(A(sizes, nsizes), dim);
        var buf = (IntPtr*)alloc((nuint)(sizeof(IntPtr) * Math.Max(1, parts.Length)));
        for (var i = 0; i < parts.Length; i++) buf[i] = W(parts[i]);
        *o = buf;
        *count = parts.Length;
    });

    internal static IntPtr rcl_roll(IntPtr a, long* shifts, int nshifts, long* dims, int ndims) =>
        Tensor(() => T(a).roll(A(shifts, nshifts), A(dims, ndims)));

    internal static IntPtr rcl_rot90(IntPtr a, long k, long d0, long d1) => Tensor(() => TS.rot90(T(a), k, (d0, d1)));

    internal static IntPtr rcl_pad(IntPtr a, long* pads, int n, int mode, double value) => Tensor(() =>
    {
        var m = mode switch
        {
            0 => PaddingModes.Constant,
            1 => PaddingModes.Reflect,
            2 => PaddingModes.Replicate,
            3 => PaddingModes.Circular,
            _ => throw new ArgumentException("unknown pad mode"),
        };
        return F.pad(T(a), A(pads, n), m, mode == 0 ? value : 0);
    });

    internal static IntPtr rcl_one_hot(IntPtr a, long num_classes) => Tensor(() => F.one_hot(T(a), num_classes));
    internal static IntPtr rcl_nonzero(IntPtr a) => Tensor(() => T(a).nonzero());
    internal static IntPtr rcl_as_strided(IntPtr a, long* sizes, long* strides, int n, long offset) =>
        Tensor(() => T(a).as_strided(A(sizes, n), A(strides, n), offset));

    // ---- neural-network functions ----

    internal static IntPtr rcl_conv2d(IntPtr x, IntPtr w, IntPtr b, long* stride, long* padding, long* dilation, long groups) =>
        Tensor(() => F.conv2d(T(x), T(w), OT(b), Two(stride), Two(padding), Two(dilation), groups));

    internal static IntPtr rcl_conv_transpose2d(IntPtr x, IntPtr w, IntPtr b, long* stride, long* padding, long* output_padding, long groups, long* dilation) =>
        Tensor(() => F.conv_transpose2d(T(x), T(w), OT(b), Two(stride), Two(padding), Two(output_padding), Two(dilation), groups));

    internal static IntPtr rcl_linear(IntPtr x, IntPtr w, IntPtr b) => Tensor(() => F.linear(T(x), T(w), OT(b)));

    internal static IntPtr rcl_batch_norm(IntPtr x, IntPtr w, IntPtr b, IntPtr running_mean, IntPtr running_var, int training, double momentum, double eps) =>
        Tensor(() => F.batch_norm(T(x), OT(running_mean), OT(running_var), OT(w), OT(b), training != 0, momentum, eps));

    internal static IntPtr rcl_group_norm(IntPtr x, long groups, IntPtr w, IntPtr b, double eps) =>
        Tensor(() => F.group_norm(T(x), groups, OT(w), OT(b), eps));

    internal static IntPtr rcl_layer_norm(IntPtr x, long* shape, int n, IntPtr w, IntPtr b, double eps) =>
        Tensor(() => F.layer_norm(T(x), A(shape, n), OT(w), OT(b), eps));

    internal static IntPtr rcl_dropout(IntPtr x, double p, int train) => Tensor(() => F.dropout(T(x), p, train != 0));

    internal static IntPtr rcl_max_pool2d(IntPtr x, long* kernel, long* stride, long* padding, long* dilation, int ceil_mode) =>
        Tensor(() => F.max_pool2d(T(x), Two(kernel), Two(stride), Two(padding), Two(dilation), ceil_mode != 0));

    internal static IntPtr rcl_avg_pool2d(IntPtr x, long* kernel, long* stride, long* padding, int ceil_mode, int count_include_pad) =>
        Tensor(() => F.avg_pool2d(T(x), Two(kernel), Two(stride), Two(padding), ceil_mode != 0, count_include_pad != 0));

    internal static IntPtr rcl_adaptive_avg_pool2d(IntPtr x, long* out_size) => Tensor(() => F.adaptive_avg_pool2d(T(x), Two(out_size)));

    internal static IntPtr rcl_interpolate(IntPtr x, long* out_size, double scale_h, double scale_w, int mode, int align_corners) => Tensor(() =>
    {
        var m = mode switch { 0 => TS.InterpolationMode.Nearest, 1 => TS.InterpolationMode.Bilinear, _ => throw new ArgumentException("unknown interpolation mode") };
        bool? ac = mode == 1 ? align_corners != 0 : null;
        // Given scales decide the source coordinates (and give the same size), as upsample_*2d(size, scales) does.
        if (scale_h > 0 && scale_w > 0) return F.interpolate(T(x), null, [scale_h, scale_w], m, ac);
        return F.interpolate(T(x), Two(out_size), null, m, ac);
    });

    internal static IntPtr rcl_activation(int op, IntPtr x, double a, double b) => Tensor(() => op switch
    {
        0 => F.leaky_relu(T(x), a),
        1 => F.elu(T(x), a),
        2 => F.gelu(T(x)),
        3 => F.gelu(T(x), TorchSharp.Modules.GELU.Approximate.tanh),
        4 => F.softplus(T(x), a, b),
        // TorchSharp 0.107's hardtanh returns its input unclamped; hardtanh is clamp to [a, b] (its gradient
        // differs only at inputs exactly on a bound).
        5 => Clamp(T(x), a, b),
        _ => throw new ArgumentException("unknown activation"),
    });

    private static TT Clamp(TT x, double lo, double hi)
    {
        using var l = lo.ToScalar();
        using var h = hi.ToScalar();
        return x.clamp(l, h);
    }

    internal static IntPtr rcl_softmax(int log, IntPtr x, long dim) => Tensor(() => log != 0 ? F.log_softmax(T(x), dim) : F.softmax(T(x), dim));

    internal static IntPtr rcl_cross_entropy(IntPtr x, IntPtr target, IntPtr weight, int reduction, long ignore_index, double label_smoothing) =>
        Tensor(() => F.cross_entropy(T(x), T(target), OT(weight), ignore_index, (TS.nn.Reduction)reduction, label_smoothing));

    internal static IntPtr rcl_nll_loss(IntPtr x, IntPtr target, IntPtr weight, int reduction, long ignore_index) => Tensor(() =>
    {
        // TorchSharp's nll_loss has no ignore_index: other than PyTorch's default it is refused, not ignored.
        if (ignore_index != -100) throw new ArgumentException("nll_loss with an ignore_index other than -100 needs the native engine");
        return F.nll_loss(T(x), T(target), OT(weight), (TS.nn.Reduction)reduction);
    });

    internal static IntPtr rcl_kl_div(IntPtr x, IntPtr target, int reduction, int log_target) =>
        Tensor(() => F.kl_div(T(x), T(target), log_target != 0, (TS.nn.Reduction)reduction));

    internal static IntPtr rcl_mse_loss(IntPtr x, IntPtr target, int reduction) => Tensor(() => F.mse_loss(T(x), T(target), (TS.nn.Reduction)reduction));
    internal static IntPtr rcl_l1_loss(IntPtr x, IntPtr target, int reduction) => Tensor(() => F.l1_loss(T(x), T(target), (TS.nn.Reduction)reduction));
    internal static IntPtr rcl_bce(IntPtr x, IntPtr target, IntPtr weight, int reduction) =>
        Tensor(() => F.binary_cross_entropy(T(x), T(target), OT(weight), (TS.nn.Reduction)reduction));
    internal static IntPtr rcl_bce_with_logits(IntPtr x, IntPtr target, IntPtr weight, IntPtr pos_weight, int reduction) =>
        Tensor(() => F.binary_cross_entropy_with_logits(T(x), T(target), OT(weight), (TS.nn.Reduction)reduction, OT(pos_weight)));

    // ---- autograd ----

    internal static int rcl_set_requires_grad(IntPtr t, int flag) => Status(() => T(t).requires_grad = flag != 0);
    internal static int rcl_requires_grad(IntPtr t) => Value(() => T(t).requires_grad ? 1 : 0, -1);
    internal static int rcl_is_leaf(IntPtr t) => Value(() => T(t).is_leaf ? 1 : 0, -1);
    internal static int rcl_retain_grad(IntPtr t) => Status(() => T(t).retain_grad());
    internal static IntPtr rcl_grad(IntPtr t) => Tensor(() => T(t).grad!);
    internal static int rcl_set_grad(IntPtr t, IntPtr g) => Status(() => T(t).grad = OT(g));
    internal static IntPtr rcl_detach(IntPtr t) => Tensor(() => T(t).detach());
    internal static int rcl_detach_(IntPtr t) => Status(() => T(t).detach_());

    internal static int rcl_backward(IntPtr t, IntPtr grad, int retain_graph, int create_graph) => Status(() =>
    {
        bool? retain = retain_graph < 0 ? null : retain_graph != 0;
        var g = OT(grad);
        TS.autograd.backward(T(t), g is null ? null : [g], retain, create_graph != 0);
    });

    internal static int rcl_autograd_grad(IntPtr* outs, int n_out, IntPtr* ins, int n_in, IntPtr* grad_outs, int n_grad_outs,
        int retain_graph, int create_graph, int allow_unused, IntPtr* results) => Status(() =>
    {
        // TorchSharp 0.107's autograd.grad lets libtorch's errors escape its native layer, which ends the process
        // (a second backward through a freed graph, an unused input). Its backward catches them, and with
        // `inputs` it computes exactly these gradients, accumulated into .grad: each input's .grad is set aside,
        // the gradients are read off, and the old .grad put back.
        for (var i = 0; i < n_in; i++) results[i] = IntPtr.Zero;
        var outputs = TL(outs, n_out);
        var inputs = TL(ins, n_in);
        List<TT>? go = null;
        if (n_grad_outs > 0)
        {
            go = new List<TT>(n_grad_outs);
            for (var i = 0; i < n_grad_outs; i++)
                go.Add(OT(grad_outs[i]) ?? throw new ArgumentException("autograd.grad: a missing grad_output needs the native engine"));
        }
        for (var i = 0; i < n_in; i++)
            if (!inputs[i].requires_grad) throw new ArgumentException("One of the differentiated Tensors does not require grad");
        // retain_graph defaults to create_graph, as in torch.autograd.grad.
        var retain = retain_graph < 0 ? create_graph != 0 : retain_graph != 0;
        var saved = new TT?[n_in];
        for (var i = 0; i < n_in; i++)
        {
            saved[i] = inputs[i].grad;
            inputs[i].grad = null;
        }
        try
        {
            TS.autograd.backward(outputs, go, retain, create_graph != 0, inputs);
            for (var i = 0; i < n_in; i++)
            {
                var g = inputs[i].grad;
                if (g is null && allow_unused == 0)
                    throw new ArgumentException($"element {i} of the differentiated Tensors appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.");
                results[i] = W(g);
            }
        }
        catch
        {
            for (var i = 0; i < n_in; i++)
                if (results[i] != IntPtr.Zero) { rcl_tensor_free(results[i]); results[i] = IntPtr.Zero; }
            throw;
        }
        finally
        {
            for (var i = 0; i < n_in; i++)
            {
                inputs[i].grad = saved[i];
                saved[i]?.Dispose();
            }
        }
    });

    internal static int rcl_grad_enabled() => TS.is_grad_enabled() ? 1 : 0;

    internal static int rcl_set_grad_enabled(int flag)
    {
        var prev = TS.is_grad_enabled();
        // The returned guard restores on Dispose only (no finalizer): left alone, the setting stays.
        TS.set_grad_enabled(flag != 0);
        return prev ? 1 : 0;
    }

    internal static int rcl_grads(IntPtr* ts, int n, IntPtr* results) => Status(() =>
    {
        for (var i = 0; i < n; i++) results[i] = W(T(ts[i]).grad);
    });

    internal static int rcl_zero_grads(IntPtr* ts, int n, int set_to_none) => Status(() =>
    {
        for (var i = 0; i < n; i++)
        {
            var p = T(ts[i]);
            using var g = p.grad;
            if (g is null) continue;
            if (set_to_none != 0) { p.grad = null; continue; }
            if (g.requires_grad && !g.is_leaf)
            {
                using var d = g.detach();
                d.zero_();
                p.grad = d;
            }
            else
            {
                g.requires_grad = false;
                g.zero_();
            }
        }
    });

    // ---- multi-tensor updates: TorchSharp has no _foreach_, so one op per tensor (the same arithmetic) ----

    internal static int rcl_foreach_binary_(int op, IntPtr* self, IntPtr* other, int n, double alpha) => Status(() =>
    {
        using var al = alpha.ToScalar();
        for (var i = 0; i < n; i++)
        {
            var a = T(self[i]);
            var b = T(other[i]);
            switch (op)
            {
                case 0: a.add_(b, al); break;
                case 1: a.mul_(b); break;
                case 2: a.div_(b); break;
                default: throw new ArgumentException("unknown foreach binary op");
            }
        }
    });

    internal static int rcl_foreach_scalar_(int op, IntPtr* self, int n, double s) => Status(() =>
    {
        using var sc = s.ToScalar();
        for (var i = 0; i < n; i++)
        {
            var a = T(self[i]);
            switch (op)
            {
                case 0: a.add_(sc); break;
                case 1: a.mul_(sc); break;
                case 2: a.div_(sc); break;
                case 3: a.sub_(sc); break;
                default: throw new ArgumentException("unknown foreach scalar op");
            }
        }
    });

    internal static int rcl_foreach_pointwise_(int op, IntPtr* self, IntPtr* t1, IntPtr* t2, int n, double value) => Status(() =>
    {
        using var v = value.ToScalar();
        for (var i = 0; i < n; i++)
        {
            if (op == 0) T(self[i]).addcmul_(T(t1[i]), T(t2[i]), v);
            else if (op == 1) T(self[i]).addcdiv_(T(t1[i]), T(t2[i]), v);
            else throw new ArgumentException("unknown foreach pointwise op");
        }
    });

    internal static int rcl_foreach_unary(int op, IntPtr* self, int n, IntPtr* results) => Status(() =>
    {
        for (var i = 0; i < n; i++)
        {
            var a = T(self[i]);
            switch (op)
            {
                case 0: results[i] = W(a.sqrt()); break;
                case 1: { using var d = a.detach(); results[i] = W(d.clone()); break; }
                case 2: results[i] = W(a.neg()); break;
                default: throw new ArgumentException("unknown foreach unary op");
            }
        }
    });

    internal static int rcl_foreach_add(IntPtr* self, IntPtr* other, int n, double alpha, IntPtr* results) => Status(() =>
    {
        using var al = alpha.ToScalar();
        for (var i = 0; i < n; i++) results[i] = W(T(self[i]).add(T(other[i]), al));
    });

    internal static int rcl_foreach_add_scalar(IntPtr* self, int n, double s, IntPtr* results) => Status(() =>
    {
        using var sc = s.ToScalar();
        for (var i = 0; i < n; i++) results[i] = W(T(self[i]).add(sc));
    });

    // ---- runtime ----

    private static readonly IntPtr Version = Marshal.StringToCoTaskMemUTF8(LibTorchVersion());

    // TorchSharp reports only its own version; the libtorch it runs is the version of the libtorch package this
    // build referenced, which RobustCli.Torch.csproj records in the assembly's metadata.
    private static string LibTorchVersion() =>
        typeof(NativeMethods).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .OfType<System.Reflection.AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "LibTorchVersion")?.Value ?? "unknown";

    internal static byte* rcl_torch_version() => (byte*)Version;

    internal static int rcl_manual_seed(ulong seed) => Status(() => TS.manual_seed((long)seed));
    internal static int rcl_set_num_threads(int n) => Status(() => TS.set_num_threads(n));
    internal static int rcl_get_num_threads() => Value(TS.get_num_threads, -1);
    internal static int rcl_set_num_interop_threads(int n) => Status(() => TS.set_num_interop_threads(n));

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int param, int value);

    internal static int rcl_cpu_allocator_retain(long mmap_threshold, long trim_threshold) => Status(() =>
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("the allocator setting is glibc's");
        const int mTrimThreshold = -1, mMmapThreshold = -3;
        if (Mallopt(mMmapThreshold, (int)Math.Min(mmap_threshold, int.MaxValue)) != 1) throw new InvalidOperationException($"mallopt(M_MMAP_THRESHOLD) refused {mmap_threshold}");
        if (Mallopt(mTrimThreshold, (int)Math.Min(trim_threshold, int.MaxValue)) != 1) throw new InvalidOperationException($"mallopt(M_TRIM_THRESHOLD) refused {trim_threshold}");
    });

    internal static int rcl_cuda_is_available() => Value(() => TS.cuda.is_available() ? 1 : 0, 0);
    internal static int rcl_cuda_device_count() => Value(TS.cuda.device_count, 0);
    internal static int rcl_cudnn_is_available() => Value(() => TS.cuda.is_cudnn_available() ? 1 : 0, 0);

    // TorchSharp 0.107 exposes neither cuDNN's benchmark/deterministic switches nor autocast: on a machine
    // with CUDA, asking for them is refused with that reason rather than silently ignored. Without CUDA they
    // have no effect on either engine, so the values are kept and read back.
    private static int cudnnBenchmark, cudnnDeterministic;

    internal static int rcl_set_cudnn_flags(int benchmark, int deterministic) => Status(() =>
    {
        if (TS.cuda.is_available() && (benchmark >= 0 || deterministic >= 0))
            throw new NotSupportedException("TorchSharp 0.107 does not expose cuDNN's benchmark/deterministic switches; use the native engine for them");
        if (benchmark >= 0) cudnnBenchmark = benchmark;
        if (deterministic >= 0) cudnnDeterministic = deterministic;
    });

    internal static int rcl_get_cudnn_flags(int* benchmark, int* deterministic) => Status(() =>
    {
        *benchmark = cudnnBenchmark != 0 ? 1 : 0;
        *deterministic = cudnnDeterministic != 0 ? 1 : 0;
    });

    internal static int rcl_autocast_enter(int dev_type, int dtype) => Status(() =>
        throw new NotSupportedException("TorchSharp 0.107 has no autocast; mixed precision needs the native engine"));

    internal static int rcl_autocast_exit(int dev_type) => Status(() =>
        throw new InvalidOperationException("autocast exit without a matching enter"));

    internal static int rcl_autocast_enabled(int dev_type) => 0;

    internal static IntPtr rcl_generator_new(int dev_type, int dev_index, ulong seed)
    {
        Clear();
        try { return GCHandle.ToIntPtr(GCHandle.Alloc(new TGenerator(seed, DEV(dev_type, dev_index)))); }
        catch (Exception e) { return Fail(e); }
    }

    private static readonly HashSet<TGenerator> Defaults = new(ReferenceEqualityComparer.Instance);

    internal static IntPtr rcl_generator_default(int dev_type, int dev_index)
    {
        Clear();
        try
        {
            if (dev_type != 0) throw new ArgumentException("TorchSharp exposes the default generator of the CPU only");
            var g = TGenerator.Default;
            lock (Defaults) Defaults.Add(g);
            return GCHandle.ToIntPtr(GCHandle.Alloc(g));
        }
        catch (Exception e) { return Fail(e); }
    }

    internal static void rcl_generator_free(IntPtr g)
    {
        if (g == IntPtr.Zero) return;
        var h = GCHandle.FromIntPtr(g);
        var gen = (TGenerator)h.Target!;
        bool shared;
        lock (Defaults) shared = Defaults.Contains(gen);
        if (!shared) gen.Dispose();
        h.Free();
    }

    internal static int rcl_generator_set_seed(IntPtr g, ulong seed) => Status(() => GEN(g)!.manual_seed((long)seed));
    internal static int rcl_generator_seed(IntPtr g, ulong* seed) => Status(() => *seed = (ulong)GEN(g)!.initial_seed());
    internal static IntPtr rcl_generator_get_state(IntPtr g) => Tensor(() => GEN(g)!.get_state());
    internal static int rcl_generator_set_state(IntPtr g, IntPtr state) => Status(() => GEN(g)!.set_state(T(state)));

    // ---- CUDA-only ----

    internal static int rcl_cuda_compiled() => TS.cuda.is_available() ? 1 : 0;
    internal static int rcl_cuda_synchronize(int dev_index) => Status(() => TS.cuda.synchronize(dev_index < 0 ? null : new TDevice(TDeviceType.CUDA, dev_index)));
    internal static int rcl_cuda_manual_seed_all(ulong seed) => Status(() => TS.cuda.manual_seed_all((long)seed));

    internal static int rcl_cuda_memory_stats(int dev_index, long* allocated, long* peak_allocated, long* reserved) => Status(() =>
        throw new NotSupportedException("TorchSharp 0.107 does not expose the CUDA caching allocator's statistics"));

    internal static int rcl_cuda_reset_peak(int dev_index) => Status(() =>
        throw new NotSupportedException("TorchSharp 0.107 does not expose the CUDA caching allocator's statistics"));

    internal static int rcl_cuda_empty_cache() => Status(() =>
        throw new NotSupportedException("TorchSharp 0.107 does not expose the CUDA caching allocator"));
}
#endif
