using RobustCli.Core.Evaluation;
using ScottPlot;

namespace RobustCli.Experiments.Plots;

/// <summary>The figure of each diagnosis check that has data: its curve (accuracy against eps, steps or restarts) or the gradient norms' histogram.</summary>
public static class DiagnosisFigures
{
    public static IReadOnlyList<Figure> Build(IReadOnlyList<DiagnosisCheck> checks)
    {
        var figures = new List<Figure>();
        foreach (var c in checks)
        {
            var verdict = c.Passed ? "pass" : "FAIL";
            if (c.Curve is { } curve)
            {
                var plot = AccuracyCurves.Draw($"{c.Name}: {verdict} ({c.Measured})", curve.Parameter == "eps" ? "ε" : curve.Parameter,
                    curve.Accuracy.Select(kv => new AccuracySeries(kv.Key, curve.Values, kv.Value)));
                figures.Add(new Figure(c.Name, plot));
            }
            else if (c.GradientNorms is { Count: > 0 } norms)
            {
                // log10 of the L1 norms; exact zeros at the floor so they show.
                var logs = norms.Select(n => Math.Log10(Math.Max(n, 1e-30))).ToArray();
                var lo = Math.Floor(logs.Min());
                var hi = Math.Max(lo + 1, Math.Ceiling(logs.Max()));
                var bins = 30;
                var width = (hi - lo) / bins;
                var counts = new double[bins];
                foreach (var v in logs) counts[Math.Min(bins - 1, (int)((v - lo) / width))]++;
                var plot = TrainingCurves.NewPlot($"{c.Name}: {verdict} ({c.Measured})", "points", epochAxis: false);
                plot.XLabel("log10 |∇x loss|₁ at clean points");
                var bars = plot.Add.Bars(Enumerable.Range(0, bins).Select(i => lo + (i + 0.5) * width).ToArray(), counts);
                foreach (var b in bars.Bars) b.Size = width * 0.9;
                plot.HideLegend();
                figures.Add(new Figure(c.Name, plot));
            }
        }
        return figures;
    }
}
