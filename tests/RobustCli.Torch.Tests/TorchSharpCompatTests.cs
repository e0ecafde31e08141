using System.Diagnostics;
using System.Security.Cryptography;
using RobustCli.Tests.Shared;
using Xunit;

namespace RobustCli.Torch.Tests;

/// <summary>
/// scripts/torchsharp-compat.sh: on a libstdc++ without GLIBCXX_3.4.32 (Debian 12) it patches the copy of
/// libLibTorchSharp.so in an output folder so that it loads; it never writes to the NuGet cache or the system.
/// </summary>
public class TorchSharpCompatTests
{
    private const string Need = "GLIBCXX_3.4.32";

    private static string NuGetPackages => Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
        ? p : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private static string CachedLibTorchSharp => Path.Combine(NuGetPackages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
    private static string CachedLibTorch => Path.Combine(NuGetPackages, "libtorch-cpu-linux-x64", "2.10.0", "runtimes", "linux-x64", "native");

    private static string SystemLibStdCxx
    {
        get
        {
            var p = new FileInfo("/usr/lib/x86_64-linux-gnu/libstdc++.so.6");
            return (p.ResolveLinkTarget(true) ?? p).FullName;
        }
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr);
    }

    /// <summary>An output folder as a build makes it: libLibTorchSharp.so copied in, libtorch's libraries beside it (linked, not copied: 0.6 GB).</summary>
    private static string OutputFolder()
    {
        var root = TestPaths.TempDir();
        var native = Directory.CreateDirectory(Path.Combine(root, "runtimes", "linux-x64", "native")).FullName;
        File.Copy(CachedLibTorchSharp, Path.Combine(native, "libLibTorchSharp.so"));
        foreach (var lib in Directory.GetFiles(CachedLibTorch))
            File.CreateSymbolicLink(Path.Combine(native, Path.GetFileName(lib)), lib);
        return root;
    }

    private static (int Code, string Output) Load(string library) =>
        Run(TestPaths.Python, "-c", "import ctypes, sys; ctypes.CDLL(sys.argv[1]); print('loaded')", library);

    [Fact]
    public void ThePatchedCopyLoadsAndNeitherTheCacheNorTheSystemIsTouched()
    {
        Assert.True(File.Exists(CachedLibTorchSharp), $"TorchSharp 0.107.0 is not in the NuGet cache ({CachedLibTorchSharp}); `dotnet build RobustCli.sln` restores it");
        var script = Path.Combine(TestPaths.RepoRoot, "scripts", "torchsharp-compat.sh");
        var cacheBefore = Hash(CachedLibTorchSharp);
        var systemBefore = Hash(SystemLibStdCxx);
        var systemLacks = !File.ReadAllText(SystemLibStdCxx, System.Text.Encoding.Latin1).Contains(Need, StringComparison.Ordinal);

        var output = OutputFolder();
        var lib = Path.Combine(output, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var (code, said) = Run("bash", script, output);
        Assert.True(code == 0, said);
        if (systemLacks)
        {
            // As shipped, it does not load here; patched, it does, and a second run leaves it alone.
            var unpatched = OutputFolder();
            var (refused, why) = Load(Path.Combine(unpatched, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"));
            Assert.NotEqual(0, refused);
            Assert.Contains(Need, why);
            Assert.Contains("patched", said);
            Assert.NotEqual(cacheBefore, Hash(lib));
            Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(lib)!, "libstdcxx_ios_init_compat.so")));
            Assert.Equal(0, Run("bash", script, "--check", output).Code);
            Assert.Contains("already patched", Run("bash", script, output).Output);
        }
        else
        {
            Assert.Contains("used as shipped", said);
            Assert.Equal(cacheBefore, Hash(lib));
        }
        var (loaded, message) = Load(lib);
        Assert.True(loaded == 0, message);

        Assert.Equal(cacheBefore, Hash(CachedLibTorchSharp));
        Assert.Equal(systemBefore, Hash(SystemLibStdCxx));
    }

    [Fact]
    public void AFolderWithoutTorchSharpIsAnErrorThatSaysSo()
    {
        var (code, said) = Run("bash", Path.Combine(TestPaths.RepoRoot, "scripts", "torchsharp-compat.sh"), TestPaths.TempDir());
        Assert.Equal(2, code);
        Assert.Contains("no libLibTorchSharp.so", said);
    }
}
