using System.Diagnostics;

namespace RobustCli.Tests;

/// <summary>The CLI in a process of its own (robust.dll beside the tests), so it can be killed as a real run is.</summary>
internal static class CliProcess
{
    public static Process Start(IEnumerable<string> args, System.Text.StringBuilder said, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args.Prepend(Path.Combine(AppContext.BaseDirectory, "robust.dll"))) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { lock (said) said.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { lock (said) said.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Runs to the end; the exit code and everything it printed.</summary>
    public static (int Code, string Said) Run(IEnumerable<string> args, int timeoutSeconds = 600)
    {
        var said = new System.Text.StringBuilder();
        using var p = Start(args, said);
        if (!p.WaitForExit(timeoutSeconds * 1000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"robust {string.Join(" ", args)} ran past {timeoutSeconds} s:\n{said}");
        }
        p.WaitForExit();
        lock (said) return (p.ExitCode, said.ToString());
    }

    /// <summary>
    /// Runs the CLI and kills it with SIGKILL (the whole tree) as soon as <paramref name="ready"/> holds; false when it
    /// finished first (what it printed in <paramref name="said"/>).
    /// </summary>
    public static bool KillWhen(IEnumerable<string> args, Func<bool> ready, System.Text.StringBuilder said, int timeoutSeconds = 300)
    {
        using var p = Start(args, said);
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (DateTime.UtcNow < deadline && !p.HasExited && !ready()) Thread.Sleep(5);
        if (p.HasExited)
        {
            p.WaitForExit();
            return false;
        }
        p.Kill(entireProcessTree: true);
        p.WaitForExit();
        return true;
    }

    /// <summary><see cref="KillWhen(IEnumerable{string}, Func{bool}, System.Text.StringBuilder, int)"/> that fails the test when the process finished first.</summary>
    public static void KillWhen(IEnumerable<string> args, Func<bool> ready, string finishedTooSoon)
    {
        var said = new System.Text.StringBuilder();
        Assert.True(KillWhen(args, ready, said), $"{finishedTooSoon}:\n{said}");
    }
}
