using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Xunit.Abstractions;
using RobustCli.Core.Models;
using RobustCli.Tests.Shared;
using RobustCli.Torch;
using RobustCli.Torch.Serialization;

namespace RobustCli.Tests;

/// <summary>
/// Weight files handed to `robust eval --checkpoint` as an attacker (or a broken disk) would: a corpus written by
/// tests/python/make_hostile_weights.py — truncations, lying headers, shapes and dtypes, deep nesting,
/// self-reference, pickles that would execute code. Each runs in a process of its own (a stack overflow kills a
/// process, not an exception), under /usr/bin/time for its peak memory.
/// </summary>
public sealed class HostileWeightsTests(ITestOutputHelper output)
{
    private sealed record Outcome(int Code, string Said, double Seconds, long MaxRssKiB);

    private static Outcome Eval(string file, string data, string outDir, params string[] extra)
    {
        var rss = Path.Combine(outDir, Path.GetFileName(file) + ".rss");
        var psi = new ProcessStartInfo("/usr/bin/time") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] args =
        [
            "-f", "%M", "-o", rss, "dotnet", Path.Combine(AppContext.BaseDirectory, "robust.dll"),
            "eval", "--checkpoint", file, "--arch", "smallcnn", "--dataset", "fashion-mnist", "--data-path", data, "--eps", "0.1",
            "--attack", "pgd3", "--n", "16", "--threads", "1", "--no-progress", "--out", Path.Combine(outDir, Path.GetFileName(file) + ".csv"), .. extra,
        ];
        foreach (var a in args) psi.ArgumentList.Add(a);
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        // Past 30 s it is a hang (exponential work, an allocation that swaps): a failure of its own, and the corpus goes on.
        if (!p.WaitForExit(30_000))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return new Outcome(-1, $"killed after 30 s\n{stdout.Result}{stderr.Result}", sw.Elapsed.TotalSeconds, -1);
        }
        p.WaitForExit();
        sw.Stop();
        var kib = File.Exists(rss) && long.TryParse(File.ReadAllLines(rss).LastOrDefault(l => l.Trim().Length > 0)?.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var k) ? k : -1;
        return new Outcome(p.ExitCode, stdout.Result + stderr.Result, sw.Elapsed.TotalSeconds, kib);
    }

    [Fact]
    public void EveryHostileFileIsRefusedInOneLineWithExit2QuicklyAndInLittleMemory()
    {
        var dir = TestPaths.TempDir();
        var good = Path.Combine(dir, "good.pt");
        using (var model = ModelFactory.Create(new ModelSpec("smallcnn", 10, 1, null))) Weights.Save(good, model);
        var corpus = Path.Combine(dir, "corpus");
        var marker = Path.Combine(dir, "EXECUTED");
        var expect = JsonSerializer.Deserialize<Dictionary<string, string>>(TestPaths.RunPython("make_hostile_weights.py", good, corpus, marker))!;
        Assert.True(expect.Count(e => e.Value == "refuse") >= 30, $"only {expect.Count} files in the corpus");
        var data = TinyData.FashionMnistLike(16, 16);
        var results = new Dictionary<string, Outcome>();
        var failures = new List<string>();
        foreach (var (name, verdict) in expect.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var r = Eval(Path.Combine(corpus, name), data, dir);
            results[name] = r;
            var lines = r.Said.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (verdict == "load")
            {
                if (r.Code != 0) failures.Add($"{name}: expected to load and evaluate, exit {r.Code}: {r.Said}");
                continue;
            }
            if (r.Code != 2) failures.Add($"{name}: exit {r.Code}, not 2: {r.Said}");
            else if (lines.Length != 1 || !lines[0].StartsWith("error: ", StringComparison.Ordinal))
                failures.Add($"{name}: not one error line ({lines.Length} lines): {r.Said}");
            else if (!lines[0].Contains(name, StringComparison.Ordinal)) failures.Add($"{name}: the message does not name the file: {lines[0]}");
            if (r.Said.Contains("   at ", StringComparison.Ordinal) || r.Said.Contains("unexpected failure", StringComparison.Ordinal) || r.Said.Contains("Stack overflow", StringComparison.OrdinalIgnoreCase))
                failures.Add($"{name}: a crash, not a refusal: {r.Said}");
            if (r.Seconds >= 10) failures.Add($"{name}: took {r.Seconds:F1} s");
            if (r.MaxRssKiB < 0 || r.MaxRssKiB >= 1L << 20) failures.Add($"{name}: peak resident memory {r.MaxRssKiB} KiB");
        }
        output.WriteLine(FormattableString.Invariant($"{results.Count} files; slowest {results.Max(r => r.Value.Seconds):F2} s ({results.MaxBy(r => r.Value.Seconds).Key}); largest peak RSS {results.Max(r => r.Value.MaxRssKiB) / 1024.0:F0} MiB ({results.MaxBy(r => r.Value.MaxRssKiB).Key})"));
        Assert.False(File.Exists(marker), "a pickle executed code");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        // What the refusals say, by kind: the reader names what is wrong, not only that something is.
        string Said(string name) => results[name].Said;
        Assert.Contains("nest more than 100 deep", Said("nested-lists.pt"));
        Assert.Contains("holds itself", Said("self-reference.pt"));
        Assert.Contains("no state dict found", Said("reduce-os-system.pt"));
        Assert.Contains("storage is too short", Said("view-huge.pt"));
        Assert.Contains("storage is too short", Said("storage-too-short.pt"));
        Assert.Contains("compression bomb", Said("compression-bomb.pt"));
        Assert.Contains("needs 4503599627370496 bytes", Said("st-shape-exceeds-data.safetensors"));
        Assert.Contains("negative dimension", Said("st-negative-dim.safetensors"));
        Assert.Contains("not valid JSON", Said("st-bad-json.safetensors"));
        Assert.Contains("NaN or infinite", Said("nan-weights.pt"));
        Assert.Contains("1 of its values are NaN or infinite", Said("inf-weight.pt"));
        Assert.Contains("shape difference", Said("wrong-shape.pt"));
    }

    [Fact]
    public void NonFiniteWeightsAreEvaluatedWithAWarningOnlyWhenAllowed()
    {
        var dir = TestPaths.TempDir();
        var file = Path.Combine(dir, "nan.pt");
        using (var model = ModelFactory.Create(new ModelSpec("smallcnn", 10, 1, null)))
        {
            using var sd = model.StateDict();
            Weights.Save(file, sd.Select(kv => new KeyValuePair<string, Tensor>(kv.Key, kv.Value.DType.IsFloatingPoint() ? kv.Value * double.NaN : kv.Value)).ToList());
        }
        var data = TinyData.FashionMnistLike(16, 16);
        var refused = Eval(file, data, dir);
        Assert.Equal(2, refused.Code);
        Assert.Contains("--allow-nonfinite", refused.Said);
        var allowed = Eval(file, data, dir, "--allow-nonfinite");
        Assert.True(allowed.Code == 0, allowed.Said);
        Assert.Contains("evaluated anyway (--allow-nonfinite)", allowed.Said);
        var json = File.ReadAllText(Path.Combine(dir, "nan.pt.json"));
        Assert.Contains("evaluated anyway (--allow-nonfinite)", json);
    }
}
