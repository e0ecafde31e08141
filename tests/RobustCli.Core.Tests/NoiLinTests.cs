using RobustCli.Core.Training;
using RobustCli.Torch;

namespace RobustCli.Core.Tests;

public sealed class NoiLinTests
{
    [Fact]
    public void SymmetricNoiseFlipsAtTheRateToUniformOtherClasses()
    {
        var rng = new Random(0);
        var labels = Enumerable.Range(0, 100_000).Select(i => (long)(i % 10)).ToArray();
        var noisy = NoiLinTraining.Flip(labels, 0.3, 10, LabelNoise.Symmetric, rng);
        var flipped = Enumerable.Range(0, labels.Length).Where(i => noisy[i] != labels[i]).ToList();
        Assert.InRange(flipped.Count / (double)labels.Length, 0.29, 0.31);
        // From class 0, the flipped labels spread evenly over classes 1..9.
        var fromZero = flipped.Where(i => labels[i] == 0).Select(i => noisy[i]).ToList();
        Assert.DoesNotContain(0L, fromZero);
        foreach (var c in Enumerable.Range(1, 9))
            Assert.InRange(fromZero.Count(v => v == c) / (double)fromZero.Count, 1 / 9.0 - 0.02, 1 / 9.0 + 0.02);
        Assert.Equal(labels, NoiLinTraining.Flip(labels, 0.0, 10, LabelNoise.Symmetric, rng));
    }

    [Fact]
    public void PairFlipGoesToTheNextClass()
    {
        var labels = Enumerable.Range(0, 10_000).Select(i => (long)(i % 10)).ToArray();
        var noisy = NoiLinTraining.Flip(labels, 0.4, 10, LabelNoise.PairFlip, new Random(1));
        for (var i = 0; i < labels.Length; i++)
            Assert.True(noisy[i] == labels[i] || noisy[i] == (labels[i] + 1) % 10);
        Assert.InRange(noisy.Where((v, i) => v != labels[i]).Count() / 10_000.0, 0.38, 0.42);
    }

    private sealed class Inner : ITrainingMethod
    {
        public string Name => "inner";
        public MethodOutput Compute(StepContext ctx, Tensor x, Tensor y) => throw new NotSupportedException();
    }

    [Fact]
    public void RateRisesOnlyWhenValidationAccuracyFallsBelowItsValueTauEpochsEarlier()
    {
        var m = new NoiLinTraining(new Inner(), nMin: 0.05, nMax: 0.6, tau: 2, gamma: 0.05, halfCapUntilEpoch: 4);
        double[] acc = [0.30, 0.40, 0.35, 0.45, 0.30, 0.50, 0.20, 0.20];
        var rates = new List<double>();
        for (var e = 0; e < acc.Length; e++)
        {
            m.OnEpochEnd(new EpochEnd(e, double.NaN, acc[e]));
            rates.Add(m.NoiseRate);
        }
        // Epochs 0-1 fill the window (no rise). Epoch 2: 0.35 >= 0.30, no. 3: 0.45 >= 0.40, no. 4: 0.30 < 0.35, rise.
        // 5: 0.50 >= 0.45, no. 6: 0.20 < 0.30, rise. 7: 0.20 < 0.50, rise.
        var r = 0.05;
        double[] expected = [r, r, r, r, r * 1.05, r * 1.05, r * 1.05 * 1.05, r * 1.05 * 1.05 * 1.05];
        for (var e = 0; e < expected.Length; e++) Assert.Equal(expected[e], rates[e], 12);
    }

    [Fact]
    public void RateIsCappedAtHalfNMaxUntilTheLatePhaseThenAtNMax()
    {
        var m = new NoiLinTraining(new Inner(), nMin: 0.2, nMax: 0.4, tau: 1, gamma: 0.5, halfCapUntilEpoch: 3);
        var rates = new List<double>();
        for (var e = 0; e < 8; e++)
        {
            m.OnEpochEnd(new EpochEnd(e, double.NaN, 1.0 - e * 0.1)); // always falling
            rates.Add(m.NoiseRate);
        }
        Assert.All(rates.Take(4), v => Assert.True(v <= 0.2 + 1e-12));
        Assert.Equal(0.3, rates[4], 12);   // 0.2 * 1.5, no longer held at 0.2
        Assert.Equal(0.4, rates[5], 12);   // 0.45 capped at n_max
        Assert.Equal(0.4, rates[7], 12);
    }

    [Fact]
    public void StateRoundTripsForResume()
    {
        var a = new NoiLinTraining(new Inner(), tau: 3);
        for (var e = 0; e < 5; e++) a.OnEpochEnd(new EpochEnd(e, double.NaN, 0.5 - 0.05 * e));
        var b = new NoiLinTraining(new Inner(), tau: 3);
        b.LoadState(a.SaveState());
        a.OnEpochEnd(new EpochEnd(5, double.NaN, 0.1));
        b.OnEpochEnd(new EpochEnd(5, double.NaN, 0.1));
        Assert.Equal(a.NoiseRate, b.NoiseRate);
        Assert.Equal(a.Metrics, b.Metrics);
    }
}
