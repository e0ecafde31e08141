using static RobustCli.Torch.Native.NativeMethods;

namespace RobustCli.Torch;

/// <summary>An explicit random-number generator (torch.Generator) for random ops, with savable state.</summary>
public sealed class Generator : IDisposable
{
    private IntPtr handle;

    private Generator(IntPtr h)
    {
        if (h == IntPtr.Zero) throw TorchException.FromNative("could not create a generator");
        handle = h;
    }

    public Generator(ulong seed, Device? device = null)
        : this(rcl_generator_new((int)(device ?? Device.CPU).Type, (device ?? Device.CPU).Index, seed)) { }

    /// <summary>The default generator of a device (the one ManualSeed seeds).</summary>
    public static Generator Default(Device device) => new(rcl_generator_default((int)device.Type, device.Index < 0 ? 0 : device.Index));

    internal IntPtr Handle => handle != IntPtr.Zero ? handle : throw new ObjectDisposedException(nameof(Generator));

    public unsafe ulong InitialSeed
    {
        get { ulong s; TorchException.Check(rcl_generator_seed(Handle, &s)); return s; }
    }

    public void ManualSeed(ulong seed) => TorchException.Check(rcl_generator_set_seed(Handle, seed));

    /// <summary>The full state as a uint8 tensor (for checkpoints).</summary>
    public Tensor GetState() => Tensor.Wrap(rcl_generator_get_state(Handle));

    public void SetState(Tensor state) => TorchException.Check(rcl_generator_set_state(Handle, state.Handle));

    public void Dispose()
    {
        var h = Interlocked.Exchange(ref handle, IntPtr.Zero);
        if (h != IntPtr.Zero) rcl_generator_free(h);
        GC.SuppressFinalize(this);
    }

    ~Generator()
    {
        var h = Interlocked.Exchange(ref handle, IntPtr.Zero);
        if (h != IntPtr.Zero) rcl_generator_free(h);
    }
}
