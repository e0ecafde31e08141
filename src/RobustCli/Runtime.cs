using RobustCli.Torch;

namespace RobustCli;

/// <summary>Process-wide torch settings every command applies first.</summary>
public static class Runtime
{
    /// <summary>
    /// libtorch defaults to the physical core count, which is 1 on a 2-vCPU VM: set it explicitly, from the
    /// thread that will run the work, before any parallel op. Default: all cores. Also keeps freed CPU
    /// tensor memory for reuse (<see cref="torch.RetainCpuAllocations"/>).
    /// </summary>
    public static int ConfigureThreads(int? threads)
    {
        var n = threads ?? Environment.ProcessorCount;
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(threads), n, "thread count must be >= 1");
        torch.NumThreads = n;
        torch.RetainCpuAllocations();
        return n;
    }

    /// <summary>"auto" picks cuda:0 when libtorch sees a GPU, else the CPU.</summary>
    public static Device ResolveDevice(string spec) =>
        spec.Equals("auto", StringComparison.OrdinalIgnoreCase)
            ? (torch.Cuda.IsAvailable ? Device.CUDA(0) : Device.CPU)
            : Device.Parse(spec);
}
