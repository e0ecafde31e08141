using System.CommandLine;
using RobustCli.Experiments.Jobs;
using RobustCli.Torch;

namespace RobustCli.Commands;

/// <summary><c>robust info</c>: versions, threads and devices, the first thing to check on a new machine.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var cmd = new Command("info", "Show RobustCli's version, its tensor engine and libtorch, threads and available devices.");
        cmd.SetAction(parse => Guard.Run(parse.InvocationConfiguration.Error, () =>
        {
            var o = parse.InvocationConfiguration.Output;
            JobRuntime.ConfigureThreads(null);
            o.WriteLine($"RobustCli {typeof(InfoCommand).Assembly.GetName().Version}");
            o.WriteLine($"engine    {torch.EngineDescription}");
            o.WriteLine($"libtorch  {torch.LibTorchVersion}");
            o.WriteLine($"threads   {torch.NumThreads} (of {Environment.ProcessorCount} cores)");
            o.WriteLine($"cuda      engine built with CUDA: {torch.Cuda.IsCompiled}; available: {torch.Cuda.IsAvailable}; devices: {torch.Cuda.DeviceCount}");
            return 0;
        }));
        return cmd;
    }
}
