using RobustCli.Torch;

namespace RobustCli.Experiments.Jobs;

/// <summary>Process-wide torch settings every job and command applies first, in one place.</summary>
public static class JobRuntime
{
    /// <summary>
    /// libtorch defaults to the physical core count, which is 1 on a 2-vCPU VM: set it explicitly, from the
    /// thread that will run the work, before any parallel op. Null means OMP_NUM_THREADS when it is set (as for
    /// PyTorch), else every core; 0 means every core. Also keeps freed CPU tensor memory for reuse
    /// (<see cref="torch.RetainCpuAllocations"/>).
    /// </summary>
    public static int ConfigureThreads(int? threads)
    {
        var n = threads switch
        {
            null when int.TryParse(Environment.GetEnvironmentVariable("OMP_NUM_THREADS"), out var omp) && omp > 0 => omp,
            null or 0 => Environment.ProcessorCount,
            _ => threads.Value,
        };
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
