namespace RobustCli;

/// <summary>Where the checkout and its neighbours are, found from the running binary.</summary>
public static class RepoPaths
{
    /// <summary>The repository root: $ROBUSTCLI_HOME, else the nearest folder above the binary holding RobustCli.sln.</summary>
    public static string? Root
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("ROBUSTCLI_HOME");
            if (!string.IsNullOrEmpty(env) && Directory.Exists(env)) return Path.GetFullPath(env);
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "RobustCli.sln"))) return d.FullName;
            return null;
        }
    }

    /// <summary>The PyTorch reference benchmark, ../shared/bench/reference_pgd_at.py beside the checkout.</summary>
    public static IEnumerable<string> ReferenceBenchmarkCandidates()
    {
        var root = Root;
        if (root == null) yield break;
        yield return Path.GetFullPath(Path.Combine(root, "..", "shared", "bench", "reference_pgd_at.py"));
        yield return Path.Combine(root, "shared", "bench", "reference_pgd_at.py");
    }

    /// <summary>Where `dotnet build` puts tools/TorchSharpPeer: its own bin/ (native engine builds) or build/torchsharp/.</summary>
    public static IEnumerable<string> TorchSharpPeerCandidates()
    {
        var root = Root;
        if (root == null) yield break;
        yield return Path.Combine(root, "tools", "TorchSharpPeer", "bin", "Release", "net10.0", "TorchSharpPeer.dll");
        yield return Path.Combine(root, "build", "torchsharp", "bin", "TorchSharpPeer", "Release", "net10.0", "TorchSharpPeer.dll");
    }
}
