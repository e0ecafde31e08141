using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RobustCli.Torch.Native;

/// <summary>The allocator handed to the shim for variable-length results; the caller frees with NativeMemory.Free.</summary>
internal static unsafe class NativeAllocator
{
    [UnmanagedCallersOnly]
    internal static void* Alloc(nuint bytes) => NativeMemory.Alloc(bytes == 0 ? 1 : bytes);
}
