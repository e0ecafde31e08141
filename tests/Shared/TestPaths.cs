using System.Diagnostics;
using System.Text;

namespace RobustCli.Tests.Shared;

/// <summary>Locates the repository, its fixtures and Debian's PyTorch for the tests.</summary>
public static class TestPaths
{
    public static string RepoRoot
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "RobustCli.sln"))) return d.FullName;
            throw new InvalidOperationException("repository root (RobustCli.sln) not found above " + AppContext.BaseDirectory);
        }
    }

    public static string Fixture(string name) => Path.Combine(RepoRoot, "tests", "fixtures", name);
    public static string PythonScript(string name) => Path.Combine(RepoRoot, "tests", "python", name);

    /// <summary>Debian's python3 with torch 1.13 (the python3 first on PATH may lack torch).</summary>
    public const string Python = "/usr/bin/python3";

    /// <summary>Runs a Python script with arguments; throws with its stderr when it fails.</summary>
    public static string RunPython(string script, params string[] args) =>
        Run(Python, [PythonScript(script), .. args], new() { ["PYTHONDONTWRITEBYTECODE"] = "1" }, script,
            "install python3-torch (./scripts/setup.sh)");

    /// <summary>
    /// tools/TorchSharpPeer, built beside the tests (plain TorchSharp code: Module.save / Module.load, the bench's
    /// reference); the native engine's build puts it in its bin/, the TorchSharp engine's under build/torchsharp/.
    /// </summary>
    public static string TorchSharpPeer
    {
        get
        {
            string[] candidates =
            [
                Path.Combine(RepoRoot, "tools", "TorchSharpPeer", "bin", "Release", "net10.0", "TorchSharpPeer.dll"),
                Path.Combine(RepoRoot, "build", "torchsharp", "bin", "TorchSharpPeer", "Release", "net10.0", "TorchSharpPeer.dll"),
            ];
            return candidates.Where(File.Exists).OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
                ?? throw new InvalidOperationException("tools/TorchSharpPeer is not built; searched " + string.Join(", ", candidates) + ". Run `dotnet build RobustCli.sln -c Release`.");
        }
    }

    /// <summary>Runs tools/TorchSharpPeer with arguments (2 threads); throws with its stderr when it fails.</summary>
    public static string RunTorchSharpPeer(params string[] args) =>
        Run("dotnet", [TorchSharpPeer, .. args], new() { ["THREADS"] = "2" }, "TorchSharpPeer", "install the .NET SDK");

    /// <summary>Runs a program and returns its standard output; throws with its stderr when it fails.</summary>
    private static string Run(string program, string[] args, Dictionary<string, string> env, string what, string hint)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {program}: {hint}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{what} {string.Join(' ', args.Skip(1))} failed ({p.ExitCode}):\n{stderr}");
        return stdout.Result;
    }

    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "robustcli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }
}
