using RobustCli.Torch;
using System.CommandLine;
using System.Text.Json;
using RobustCli.Tests.Shared;

namespace RobustCli.Tests;

public sealed class CliTests
{
    [Fact]
    public void InfoNamesLibtorchAndThreads()
    {
        var (code, output, _) = InProcessCli.Run("info");
        Assert.Equal(0, code);
        // The engine is chosen at build time: our shim over Debian's libtorch 1.13, or TorchSharp 0.107's libtorch 2.10.
        if (torch.Engine == "native")
        {
            Assert.Contains("libtorch  1.", output);
            Assert.Contains("engine    native shim (libtorch 1.", output);
        }
        else
        {
            Assert.Contains("libtorch  2.10", output);
            Assert.Contains("engine    TorchSharp 0.107.0 (libtorch 2.10", output);
        }
        Assert.Contains($"threads   {Environment.ProcessorCount} ", output);
    }

    [Fact]
    public void ARunsSummaryNamesItsEngineAndLibtorch()
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(InProcessCli.TinyPgdAtRun, "summary.json")));
        Assert.Equal(torch.Engine, doc.RootElement.GetProperty("engine").GetString());
        Assert.Equal(torch.LibTorchVersion, doc.RootElement.GetProperty("lib_torch_version").GetString());
        var (code, output, _) = InProcessCli.Run("runs", "show", InProcessCli.TinyPgdAtRun);
        Assert.Equal(0, code);
        Assert.Contains($"{torch.Engine} engine, libtorch {torch.LibTorchVersion}", output);
    }

    [Fact]
    public void BenchWritesMediansAndJson()
    {
        var json = Path.Combine(TestPaths.TempDir(), "bench.json");
        var (code, output, err) = InProcessCli.Run($"bench --models smallcnn --repeats 3 --iters 1 --steps 1 --overhead-calls 1000 --no-reference --json {json}");
        Assert.True(code == 0, err);
        Assert.Contains("smallcnn (batch 128, PGD-1 AT step): RobustCli", output);
        var doc = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        var m = doc.GetProperty("models").GetProperty("smallcnn");
        var runs = m.GetProperty("robustcli_runs").EnumerateArray().Select(e => e.GetDouble()).OrderBy(v => v).ToArray();
        Assert.Equal(3, runs.Length);
        Assert.Equal(runs[1], m.GetProperty("robustcli_images_per_s").GetDouble());
        Assert.True(doc.GetProperty("overhead").GetProperty("robustcli_add_inplace_ns").GetDouble() > 0);
    }

    [Fact]
    public void BenchBesideTheReferenceReportsTheRatio()
    {
        var script = Path.Combine(TestPaths.TempDir(), "reference_pgd_at.py");
        // A stand-in reference with the real one's output format keeps this test fast and independent of ../shared.
        // It reports 50 img/s when asked for channels_last (CL=1), so the test sees the flag reach it.
        File.WriteAllText(script, "import os, sys\nv = 50.0 if os.environ.get('CL') == '1' else 100.0\nprint(f'{sys.argv[1]} bs={sys.argv[2]} pgd{sys.argv[3]} device=cpu images/s={v}')\n");
        var json = Path.Combine(Path.GetDirectoryName(script)!, "bench.json");
        var (code, output, err) = InProcessCli.Run($"bench --models smallcnn --repeats 1 --iters 1 --steps 1 --overhead-calls 1000 --reference {script} --torchsharp-peer {TestPaths.TorchSharpPeer} --json {json}");
        Assert.True(code == 0, err);
        var m = JsonDocument.Parse(File.ReadAllText(json)).RootElement.GetProperty("models").GetProperty("smallcnn");
        Assert.Equal(100.0, m.GetProperty("pytorch_images_per_s").GetDouble());
        // The same step in plain TorchSharp (tools/TorchSharpPeer, a process of its own) beside it, with its ratio.
        var plain = m.GetProperty("torchsharp_plain_images_per_s").GetDouble();
        Assert.True(plain > 0);
        Assert.InRange(m.GetProperty("ratio_to_torchsharp_plain").GetDouble(), m.GetProperty("robustcli_images_per_s").GetDouble() / plain * 0.99, m.GetProperty("robustcli_images_per_s").GetDouble() / plain * 1.01);
        Assert.Contains("plain TorchSharp", output);
        Assert.InRange(m.GetProperty("ratio").GetDouble(), m.GetProperty("robustcli_images_per_s").GetDouble() / 100.0 - 0.002, m.GetProperty("robustcli_images_per_s").GetDouble() / 100.0 + 0.002);
        Assert.Contains("ratio", output);
        (code, _, err) = InProcessCli.Run($"bench --models smallcnn --repeats 1 --iters 1 --steps 1 --overhead-calls 1000 --channels-last --reference {script} --json {json}");
        Assert.True(code == 0, err);
        var cl = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        Assert.True(cl.GetProperty("machine").GetProperty("channels_last").GetBoolean());
        Assert.Equal(50.0, cl.GetProperty("models").GetProperty("smallcnn").GetProperty("pytorch_images_per_s").GetDouble());
        // The plain TorchSharp loop has no channels-last recipe: nothing is compared rather than something unlike.
        Assert.False(cl.GetProperty("models").GetProperty("smallcnn").TryGetProperty("torchsharp_plain_images_per_s", out _));
    }

    [Fact]
    public void BenchRejectsAnUnknownModelWithExitCode2()
    {
        var (code, _, err) = InProcessCli.Run("bench --models resnet9000 --no-reference");
        Assert.Equal(2, code);
        Assert.Contains("unknown model 'resnet9000'", err);
    }
}
