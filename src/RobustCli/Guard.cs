using RobustCli.Core.Data;
using RobustCli.Experiments.Config;

namespace RobustCli;

/// <summary>
/// Exit codes: 0 success, 1 the run failed, 2 bad usage or bad input. Every command runs inside <see cref="Run"/>:
/// bad input prints one "error:" line and returns 2; anything unexpected prints one line naming it and where the
/// details were written, and returns 1. No input ever prints a .NET stack trace.
/// </summary>
public static class Guard
{
    public const int Ok = 0, Failed = 1, BadInput = 2;

    public static int Run(TextWriter error, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (IsBadInput(e))
        {
            error.WriteLine("error: " + e.Message);
            return BadInput;
        }
        catch (Exception e)
        {
            error.WriteLine($"error: unexpected failure ({e.GetType().Name}): {FirstLine(e.Message)}; details in {WriteDetails(e)}");
            return Failed;
        }
    }

    /// <summary>Mistakes in what the user gave: configs, flags, files, data, weights.</summary>
    public static bool IsBadInput(Exception e) => e is ConfigException or DatasetNotFoundException or FormatException or DirectoryNotFoundException
        or FileNotFoundException or InvalidDataException or RobustCli.Torch.nn.StateDictMismatchException or UnauthorizedAccessException;

    private static string FirstLine(string s) => s.Split('\n')[0];

    /// <summary>The exception with its stack, in a file under the temp folder (a run's own failures also go to its log.txt).</summary>
    private static string WriteDetails(Exception e)
    {
        try
        {
            var path = Path.Combine(Path.GetTempPath(), $"robustcli-error-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}.txt");
            File.WriteAllText(path, e.ToString());
            return path;
        }
        catch (IOException)
        {
            return "(the details could not be written)";
        }
    }
}
