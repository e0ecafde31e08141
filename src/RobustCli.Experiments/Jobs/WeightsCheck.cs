using RobustCli.Experiments.Config;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Experiments.Jobs;

/// <summary>What every evaluation checks of the weights it was handed before measuring them.</summary>
public static class WeightsCheck
{
    /// <summary>
    /// Weights that hold NaN or infinite values measure nothing (a diverged run evaluates at chance without a word):
    /// refused, or with --allow-nonfinite a warning in the table and the JSON.
    /// </summary>
    public static void Finite(string file, StateDict sd, bool allow, List<string> warnings)
    {
        var bad = new List<(string Key, long Count, long Total)>();
        using (DisposeScope.Open())
        {
            foreach (var (k, v) in sd)
            {
                if (!v.DType.IsFloatingPoint() || v.NumEl == 0) continue;
                var count = v.IsFinite().LogicalNot().Sum().Item<long>();
                if (count > 0) bad.Add((k, count, v.NumEl));
            }
        }
        if (bad.Count == 0) return;
        var what = $"{bad.Sum(b => b.Count)} of its values are NaN or infinite, in {bad.Count} tensor(s) ({string.Join(", ", bad.Take(3).Select(b => $"{b.Key}: {b.Count} of {b.Total}"))}{(bad.Count > 3 ? ", ..." : "")})";
        if (!allow)
            throw new ConfigException($"--checkpoint {file}: {what}; a diverged run's weights measure nothing. Evaluate another checkpoint, or pass --allow-nonfinite to measure them anyway");
        warnings.Add($"{file}: {what}; evaluated anyway (--allow-nonfinite)");
    }

    /// <summary>A strict load's differences in one line: the counts, and the first few of each.</summary>
    public static string Summary(StateDictMismatchException e)
    {
        static string Some(IReadOnlyList<string> xs) => string.Join("; ", xs.Take(3)) + (xs.Count > 3 ? "; ..." : "");
        var parts = new List<string>();
        if (e.MissingKeys.Count > 0) parts.Add($"{e.MissingKeys.Count} missing key(s) ({Some(e.MissingKeys)})");
        if (e.UnexpectedKeys.Count > 0) parts.Add($"{e.UnexpectedKeys.Count} unexpected key(s) ({Some(e.UnexpectedKeys)})");
        if (e.ShapeErrors.Count > 0) parts.Add($"{e.ShapeErrors.Count} shape difference(s) ({Some(e.ShapeErrors)})");
        return string.Join(", ", parts) + "; check --arch and its options";
    }

}
