using System.CommandLine;
using System.CommandLine.Parsing;
using RobustCli.Tests.Shared;

namespace RobustCli.Tests;

/// <summary>The CLI as a user runs it (parse errors, exit codes, the guard against stack traces), in this process, with its output captured.</summary>
internal static class InProcessCli
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = Cli.Run(args, new InvocationConfiguration { Output = o, Error = e });
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>A command line as one string, split as a shell would (quotes keep spaces).</summary>
    public static (int Code, string Out, string Err) Run(string commandLine) => Run(CommandLineParser.SplitCommandLine(commandLine).ToArray());

    /// <summary>
    /// One tiny PGD-AT run (4 epochs on 256 Fashion-MNIST-like images, 64 test points), trained once per test process
    /// and shared by the tests that only read it (evaluations, curves, diagnoses).
    /// </summary>
    public static string TinyPgdAtRun => tinyPgdAtRun.Value;

    private static readonly Lazy<string> tinyPgdAtRun = new(() =>
    {
        var data = TinyData.FashionMnistLike(256, 64);
        var config = Path.Combine(TestPaths.TempDir(), "c.yaml");
        File.WriteAllText(config, TinyData.Config(data, "pgd-at", 4).Replace("final: [pgd3, cw3]", "final: [pgd3]").Replace("test_subset: 48", "test_subset: 64"));
        var runs = TestPaths.TempDir();
        var (code, _, err) = Run("train", "--config", config, "--runs-dir", runs, "--no-progress");
        Assert.True(code == 0, err);
        return Directory.GetDirectories(Path.Combine(runs, "tiny")).Single();
    });
}
