using System.Text.Json;
using RobustCli.Tests.Shared;

namespace RobustCli.Tests;

/// <summary>robust eval --shard K/N and robust eval merge: shards are independent jobs whose merge equals the whole evaluation.</summary>
public sealed class ShardedEvaluationTests
{
    // PGD with a random start and AutoAttack's APGD-CE and Square: random draws a shard must reproduce per sample.
    private static readonly string[] Attacks =
        ["--attack", "pgd3", "--attack", "autoattack", "--version", "custom", "--component", "apgd-ce:steps=10", "--component", "square:queries=100"];

    /// <summary>Shards run in batches of 7, the whole in one: neither the batch nor the shard may change a sample's outcome.</summary>
    private static string Eval(string dir, string name, params string[] extra)
    {
        var csv = Path.Combine(dir, name + ".csv");
        var batch = extra.Contains("--shard") ? "7" : "64";
        var (code, output, err) = InProcessCli.Run(["eval", "--checkpoint", InProcessCli.TinyPgdAtRun, .. Attacks, "--out", csv, "--no-progress", "--batch-size", batch, .. extra]);
        Assert.True(code == 0, err + output);
        return csv;
    }

    private static string WithoutSeconds(string csv) =>
        string.Join("\n", File.ReadAllLines(csv).Select(l => string.Join(",", l.Split(',').Where((_, i) => i != 2))));

    /// <summary>The JSON without what differs between any two runs (timings, time of day) or names the files merged.</summary>
    private static string Essence(string json)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(json))!.AsObject();
        foreach (var k in new[] { "utc", "clean_seconds", "merged_from", "batch_size" }) node.Remove(k);
        foreach (var suite in node["suites"]!.AsArray())
        {
            suite!.AsObject().Remove("seconds");
            foreach (var stage in suite["stages"]!.AsArray()) stage!.AsObject().Remove("seconds");
        }
        return node.ToJsonString();
    }

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    public void MergedShardsEqualTheWholeEvaluationSampleBySample(int n)
    {
        var dir = TestPaths.TempDir();
        var whole = Eval(dir, "whole");
        var shards = Enumerable.Range(1, n).Select(k => Eval(dir, $"shard{k}", "--shard", $"{k}/{n}")).ToList();
        // Each shard holds its contiguous share, indexed as in the full set.
        var second = File.ReadAllLines(Path.ChangeExtension(shards[1], null) + "-samples.csv");
        Assert.StartsWith((64 / n).ToString(System.Globalization.CultureInfo.InvariantCulture) + ",", second[1]);
        var merged = Path.Combine(dir, "merged.csv");
        var (code, output, err) = InProcessCli.Run(["eval", "merge", merged, .. shards.AsEnumerable().Reverse()]);
        Assert.True(code == 0, err + output);
        Assert.Contains($"{n} shards, 64 test images", output);
        Assert.Equal(File.ReadAllText(Path.ChangeExtension(whole, null) + "-samples.csv"), File.ReadAllText(Path.ChangeExtension(merged, null) + "-samples.csv"));
        Assert.Equal(WithoutSeconds(whole), WithoutSeconds(merged));
        Assert.Equal(Essence(Path.ChangeExtension(whole, ".json")), Essence(Path.ChangeExtension(merged, ".json")));
        // Something was attacked and broken, so the equality says something.
        var json = JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(merged, ".json"))).RootElement;
        var pgd = json.GetProperty("suites")[0].GetProperty("robust_accuracy").GetDouble();
        Assert.True(pgd < json.GetProperty("clean_accuracy").GetDouble(), "PGD broke no point: the test data is too easy");
    }

    [Fact]
    public void AMissingAnOverlappingOrAForeignShardIsRefused()
    {
        var dir = TestPaths.TempDir();
        var a = Eval(dir, "a", "--shard", "1/3", "--n", "30");
        var b = Eval(dir, "b", "--shard", "2/3", "--n", "30");
        var c = Eval(dir, "c", "--shard", "3/3", "--n", "30");
        var half = Eval(dir, "half", "--shard", "1/2", "--n", "30");
        var (code, _, err) = InProcessCli.Run("eval", "merge", Path.Combine(dir, "m.csv"), a, c);
        Assert.Equal(2, code);
        Assert.Contains("points 10–19 of 30 are in no shard given", err);
        (code, _, err) = InProcessCli.Run("eval", "merge", Path.Combine(dir, "m.csv"), a, b);
        Assert.Equal(2, code);
        Assert.Contains("points 20–29 of 30 are in no shard given", err);
        (code, _, err) = InProcessCli.Run("eval", "merge", Path.Combine(dir, "m.csv"), a, half, b, c);
        Assert.Equal(2, code);
        Assert.Contains("overlaps", err);
        (code, _, err) = InProcessCli.Run("eval", "merge", Path.Combine(dir, "m.csv"), a, a, b, c);
        Assert.Equal(2, code);
        Assert.Contains("overlaps", err);
        var other = Path.Combine(dir, "other.csv");
        Assert.Equal(0, InProcessCli.Run("eval", "--checkpoint", InProcessCli.TinyPgdAtRun, "--attack", "pgd3", "--shard", "2/3", "--n", "30", "--out", other, "--no-progress").Code);
        (code, _, err) = InProcessCli.Run("eval", "merge", Path.Combine(dir, "m.csv"), a, other, c);
        Assert.Equal(2, code);
        Assert.Contains("attacks is", err);
        Assert.Contains("different evaluations", err);
        var whole = Eval(dir, "whole", "--n", "30");
        (code, _, err) = InProcessCli.Run("eval", "merge", Path.Combine(dir, "m.csv"), whole);
        Assert.Equal(2, code);
        Assert.Contains("not a shard", err);
        Assert.False(File.Exists(Path.Combine(dir, "m.csv")));
        (code, _, _) = InProcessCli.Run("eval", "merge", Path.Combine(dir, "m.csv"), c, a, b);
        Assert.Equal(0, code);
    }

    [Theory]
    [InlineData("0/3")]
    [InlineData("4/3")]
    [InlineData("two")]
    [InlineData("1/0")]
    public void AMalformedShardIsAClearError(string shard)
    {
        var (code, _, err) = InProcessCli.Run("eval", "--checkpoint", InProcessCli.TinyPgdAtRun, "--attack", "pgd3", "--shard", shard, "--no-progress");
        Assert.Equal(2, code);
        Assert.Contains($"--shard {shard}: expected K/N with 1 <= K <= N", err);
    }
}
