using System.Runtime.InteropServices;
using RobustCli.Torch.Native;

namespace RobustCli.Torch;

/// <summary>An error raised inside libtorch (bad shape, bad dtype, ...), with libtorch's own message.</summary>
public sealed class TorchException(string message) : Exception(message)
{
    internal static unsafe TorchException FromNative(string fallback)
    {
        var p = NativeMethods.rcl_last_error();
        var msg = p == null ? fallback : Marshal.PtrToStringUTF8((IntPtr)p) ?? fallback;
        return new TorchException(msg);
    }

    /// <summary>Throws when a native call returned failure (non-zero status).</summary>
    internal static void Check(int status)
    {
        if (status != 0) throw FromNative("libtorch call failed without a message");
    }

    /// <summary>Throws when a native call that returns a count or flag returned a negative value.</summary>
    internal static int CheckNonNegative(int value)
    {
        if (value < 0) throw FromNative("libtorch call failed without a message");
        return value;
    }

    internal static long CheckNonNegative(long value)
    {
        if (value < 0) throw FromNative("libtorch call failed without a message");
        return value;
    }
}
