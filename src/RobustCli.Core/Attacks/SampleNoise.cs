using RobustCli.Core.Data;
using RobustCli.Torch;

namespace RobustCli.Core.Attacks;

/// <summary>
/// Random numbers that belong to a sample, not to a batch: every value is a hash of (seed, sample index, stream,
/// position), so sample i gets the same random start, windows and signs whether it is attacked alone, in a batch of
/// 50 or of 500, first or after a resume. AutoAttack's reference reseeds the global generator per batch, which ties
/// each result to the batch it fell in; this is the fix. Streams separate the uses (restart r, target t, query q).
/// </summary>
public sealed class SampleNoise
{
    private readonly ulong _seed;

    public SampleNoise(ulong seed, long[] sampleIds)
    {
        _seed = seed;
        SampleIds = sampleIds;
    }

    public long[] SampleIds { get; }
    public int Count => SampleIds.Length;

    /// <summary>The noise of a subset of these samples (positions into <see cref="SampleIds"/>).</summary>
    public SampleNoise Subset(long[] positions) => new(_seed, positions.Select(p => SampleIds[p]).ToArray());

    /// <summary>A stream id from a few small integers (attack stage, restart, target, query...).</summary>
    public static ulong Stream(params long[] parts)
    {
        var h = 0x243f6a8885a308d3UL;
        foreach (var p in parts) h = Mix(h ^ (ulong)p);
        return h;
    }

    /// <summary>Uniform [0, 1) values shaped [samples, ..perSample].</summary>
    public Tensor Uniform(ulong stream, long[] perSample, Device device, DType dtype = DType.Float32) =>
        Make(perSample, device, dtype, (key, count, dst) =>
        {
            for (var j = 0; j < count; j++) dst[j] = (float)UnitDouble(Mix(key + (ulong)j * 0x9e3779b97f4a7c15UL));
        }, stream);

    /// <summary>Standard normal values (Box-Muller) shaped [samples, ..perSample].</summary>
    public Tensor Normal(ulong stream, long[] perSample, Device device, DType dtype = DType.Float32) =>
        Make(perSample, device, dtype, (key, count, dst) =>
        {
            for (var j = 0; j < count; j += 2)
            {
                var u1 = 1.0 - UnitDouble(Mix(key + (ulong)j * 0x9e3779b97f4a7c15UL));
                var u2 = UnitDouble(Mix(key + (ulong)(j + 1) * 0x9e3779b97f4a7c15UL));
                var r = Math.Sqrt(-2.0 * Math.Log(u1));
                dst[j] = (float)(r * Math.Cos(2 * Math.PI * u2));
                if (j + 1 < count) dst[j + 1] = (float)(r * Math.Sin(2 * Math.PI * u2));
            }
        }, stream);

    /// <summary>Per sample, <paramref name="count"/> uniform doubles in [0, 1).</summary>
    public double[] Doubles(ulong stream, int count)
    {
        var result = new double[Count * count];
        for (var i = 0; i < Count; i++)
        {
            var key = Key(i, stream);
            for (var j = 0; j < count; j++) result[i * count + j] = UnitDouble(Mix(key + (ulong)j * 0x9e3779b97f4a7c15UL));
        }
        return result;
    }

    private Tensor Make(long[] perSample, Device device, DType dtype, Action<ulong, int, Span<float>> fill, ulong stream)
    {
        var size = 1;
        foreach (var d in perSample) size = checked(size * (int)d);
        var data = new float[(long)Count * size];
        for (var i = 0; i < Count; i++) fill(Key(i, stream), size, data.AsSpan(i * size, size));
        var shape = new long[perSample.Length + 1];
        shape[0] = Count;
        perSample.CopyTo(shape, 1);
        using var cpu = torch.From<float>(data, shape);
        using var typed = cpu.To(dtype);
        return typed.To(device);
    }

    private ulong Key(int i, ulong stream) => Mix(Mix(_seed ^ 0x5851f42d4c957f2dUL) ^ Mix((ulong)SampleIds[i] + 0x14057b7ef767814fUL) ^ stream);

    private static double UnitDouble(ulong h) => (h >> 11) * (1.0 / (1UL << 53));

    /// <summary>One SplitMix64 step: add the golden-ratio increment, then the avalanche finaliser.</summary>
    private static ulong Mix(ulong z) => SeedMix.Avalanche(z + 0x9e3779b97f4a7c15UL);
}
