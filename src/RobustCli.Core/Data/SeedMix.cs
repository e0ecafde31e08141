namespace RobustCli.Core.Data;

/// <summary>
/// Derives a seed from several integers (seed, epoch, batch, ...) with SplitMix64. Deterministic across processes,
/// unlike HashCode.Combine, whose seed is random per process: a resumed run must draw what the killed one drew.
/// </summary>
public static class SeedMix
{
    public static int Of(params int[] parts)
    {
        ulong h = 0x9E3779B97F4A7C15UL;
        foreach (var p in parts)
        {
            h ^= (ulong)(uint)p + 0x9E3779B97F4A7C15UL + (h << 6) + (h >> 2);
            h = Avalanche(h);
        }
        return (int)(h & 0x7FFFFFFF);
    }

    /// <summary>SplitMix64's finaliser: a bijective avalanche mix of 64 bits.</summary>
    public static ulong Avalanche(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
