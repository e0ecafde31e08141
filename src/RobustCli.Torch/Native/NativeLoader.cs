using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace RobustCli.Torch.Native;

/// <summary>Finds librobustcli_native.so and explains every place it tried when it cannot.</summary>
internal static class NativeLoader
{
    private const string FileName = "librobustcli_native.so";
    private static IntPtr handle;
    private static string? failure;

#pragma warning disable CA2255 // The resolver must be in place before the first P/Invoke of any caller.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() =>
        NativeLibrary.SetDllImportResolver(typeof(NativeLoader).Assembly, Resolve);

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != NativeMethods.Library) return IntPtr.Zero;
        if (handle != IntPtr.Zero) return handle;
        if (failure != null) throw new DllNotFoundException(failure);
        var trace = new StringBuilder();
        foreach (var candidate in Candidates())
        {
            if (!File.Exists(candidate)) { trace.AppendLine($"  {candidate}: not found"); continue; }
            if (NativeLibrary.TryLoad(candidate, out handle)) return Loaded(handle);
            trace.AppendLine($"  {candidate}: found but failed to load ({DlError()})");
        }
        if (NativeLibrary.TryLoad(FileName, assembly, path, out handle)) return Loaded(handle);
        trace.AppendLine($"  {FileName} through the system search path: {DlError()}");
        failure = "RobustCli could not load its native shim over libtorch. Tried:\n" + trace +
                  "Build it with `dotnet build` (needs cmake and libtorch-dev: run ./scripts/setup.sh), " +
                  "or point RCL_NATIVE_LIB at a built librobustcli_native.so. A library that is found but " +
                  "fails to load usually means libtorch itself is missing (apt-get install libtorch-dev).";
        throw new DllNotFoundException(failure);
    }

    /// <summary>
    /// libtorch defaults to the physical core count (1 on a 2-vCPU VM); the binding's default is every core,
    /// unless OMP_NUM_THREADS says otherwise. Set once here, before any op, through the export itself
    /// (a P/Invoke from inside the resolver would re-enter it).
    /// </summary>
    private static unsafe IntPtr Loaded(IntPtr lib)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_NUM_THREADS")) &&
            NativeLibrary.TryGetExport(lib, "rcl_set_num_threads", out var fn))
            ((delegate* unmanaged<int, int>)fn)(Environment.ProcessorCount);
        return lib;
    }

    private static IEnumerable<string> Candidates()
    {
        var env = Environment.GetEnvironmentVariable("RCL_NATIVE_LIB");
        if (!string.IsNullOrEmpty(env)) yield return Path.GetFullPath(env);
        yield return Path.Combine(AppContext.BaseDirectory, FileName);
        var asmDir = Path.GetDirectoryName(typeof(NativeLoader).Assembly.Location);
        if (!string.IsNullOrEmpty(asmDir)) yield return Path.Combine(asmDir, FileName);
        yield return Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", FileName);
    }

    private static string DlError()
    {
        try { return Marshal.GetLastPInvokeErrorMessage(); } catch { return "no further detail"; }
    }
}
