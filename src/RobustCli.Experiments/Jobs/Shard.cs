using System.Globalization;
using RobustCli.Experiments.Config;

namespace RobustCli.Experiments.Jobs;

/// <summary>
/// Shard K of N (1-based) of an evaluation's points: a fixed contiguous share, points [⌊(K−1)·n/N⌋, ⌊K·n/N⌋). Random
/// draws are per sample and keyed by the full set's index, so the shards of an evaluation are independent jobs
/// whose merge (robust eval merge) equals the unsharded evaluation sample by sample.
/// </summary>
public sealed record Shard(int K, int N)
{
    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var k)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 && k >= 1 && k <= n)
            return new Shard(k, n);
        throw new ConfigException($"--shard {text}: expected K/N with 1 <= K <= N, e.g. 2/8 (the second of eight shards)");
    }

    /// <summary>The first point and the number of points of this shard of <paramref name="count"/>.</summary>
    public (int Start, int Count) Range(int count)
    {
        var start = (int)((long)(K - 1) * count / N);
        var end = (int)((long)K * count / N);
        return (start, end - start);
    }

    public override string ToString() => $"{K}/{N}";
}
