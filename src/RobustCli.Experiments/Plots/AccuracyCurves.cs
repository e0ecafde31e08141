using ScottPlot;

namespace RobustCli.Experiments.Plots;

/// <summary>One line of an accuracy figure: its legend, the parameter's values and the accuracies (fractions) at them.</summary>
public sealed record AccuracySeries(string Label, IReadOnlyList<double> X, IReadOnlyList<double> Accuracy);

/// <summary>
/// Accuracy (%) against what an evaluation varied (ε, steps, restarts): one marked line per attack, "clean" in grey,
/// the y axis fixed at 0–100 so figures of different models compare at a glance. Robustness curves and the
/// diagnosis's checks draw through here.
/// </summary>
public static class AccuracyCurves
{
    public static Plot Draw(string title, string xLabel, IEnumerable<AccuracySeries> series)
    {
        var plot = TrainingCurves.NewPlot(title, "accuracy (%)", epochAxis: false);
        plot.XLabel(xLabel);
        plot.ShowLegend(Alignment.UpperRight);
        var palette = new ScottPlot.Palettes.Category10();
        var i = 0;
        foreach (var line in series)
        {
            var s = plot.Add.Scatter(line.X.ToArray(), line.Accuracy.Select(a => 100 * a).ToArray());
            s.LegendText = line.Label;
            s.Color = line.Label == "clean" ? Colors.Gray : palette.GetColor(i++);
            s.MarkerSize = 6;
        }
        plot.Axes.SetLimitsY(-2, 102);
        return plot;
    }
}
