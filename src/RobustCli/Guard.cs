using RobustCli.Core.Data;
using RobustCli.Experiments.Config;

namespace RobustCli;

/// <summary>Exit codes: 0 success, 1 the run failed, 2 bad usage or bad config. User errors print a message, not a stack trace.</summary>
public static class Guard
{
    public const int Ok = 0, Failed = 1, BadInput = 2;

    public static int Run(TextWriter error, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is ConfigException or DatasetNotFoundException or FormatException or DirectoryNotFoundException or FileNotFoundException
                                      or RobustCli.Torch.nn.StateDictMismatchException)
        {
            error.WriteLine("error: " + e.Message);
            return BadInput;
        }
    }
}
