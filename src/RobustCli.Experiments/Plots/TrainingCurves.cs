using RobustCli.Experiments.Runs;
using ScottPlot;

namespace RobustCli.Experiments.Plots;

/// <summary>
/// A run's curves from its metrics.csv: the task's scores (clean and robust, train, validation, test) and the
/// training loss against epoch, each with the learning rate on a second axis, and the method's own columns grouped
/// into figures by what they measure (<see cref="Family"/>). Columns the run never filled are left out.
/// </summary>
public static class TrainingCurves
{
    /// <summary>Dark and light shades of each hue, in pairs.</summary>
    internal static readonly IPalette Paired = new ScottPlot.Palettes.Category20();

    /// <summary>Draws every figure of the table; names become plots/&lt;name&gt;.png and .svg.</summary>
    public static IReadOnlyList<Figure> Build(MetricsTable table, string title)
    {
        var figures = new List<Figure>();
        if (table.Rows == 0) return figures;
        var epochs = table["epoch"].ToArray();
        var scores = table.ScoreColumns.Where(table.HasValues).ToList();
        if (scores.Count > 0)
        {
            var accuracy = scores.All(c => c.EndsWith("_acc", StringComparison.Ordinal));
            var plot = NewPlot($"{title}: {(accuracy ? "accuracy" : "scores")}", accuracy ? "accuracy (%)" : ScoreLabel(scores[0]));
            foreach (var c in scores)
            {
                var s = Series(plot, epochs, table[c], accuracy ? 100 : 1, c);
                // Hue says where (train, validation, test), the light shade and square markers say under attack. Not
                // dashes: Skia's SVG backend drops path effects (and says so on stderr at every line).
                var attacked = c.Contains("_adv_") || c.Contains("_robust_");
                var where = c.StartsWith("train", StringComparison.Ordinal) ? 0 : c.StartsWith("val", StringComparison.Ordinal) ? 1 : 2;
                s.Color = Paired.GetColor(2 * where + (attacked ? 1 : 0));
                s.MarkerShape = attacked ? MarkerShape.FilledSquare : MarkerShape.FilledCircle;
            }
            LearningRate(plot, epochs, table);
            figures.Add(new Figure(accuracy ? "accuracy" : "scores", plot));
        }
        if (table.HasValues("train_loss"))
        {
            var plot = NewPlot($"{title}: training loss", "loss");
            Series(plot, epochs, table["train_loss"], 1, "train_loss");
            LearningRate(plot, epochs, table);
            figures.Add(new Figure("loss", plot));
        }
        foreach (var group in table.MethodColumns.Where(table.HasValues).GroupBy(Family))
        {
            var plot = NewPlot($"{title}: {group.Key.Replace('-', ' ')}", group.Count() == 1 ? group.First() : group.Key.Replace('-', ' '));
            foreach (var c in group) Series(plot, epochs, table[c], 1, c);
            figures.Add(new Figure($"method-{group.Key}", plot));
        }
        return figures;
    }

    /// <summary>
    /// Which figure a method column goes to: losses together (gat_main_loss, soe_aux_loss), task weights together
    /// (gat_w_*), an ensemble's accuracies together and its selection rates together (val_expert0_adv_acc,
    /// val_expert1_selected_clean), and any other column alone (noise_rate, tau).
    /// </summary>
    public static string Family(string column) =>
        column.EndsWith("_loss", StringComparison.Ordinal) ? "losses"
        : column.Contains("_w_", StringComparison.Ordinal) ? "task-weights"
        : column.Contains("_selected_", StringComparison.Ordinal) ? "selection"
        : column.EndsWith("_acc", StringComparison.Ordinal) ? "accuracies"
        : column.Replace('_', '-');

    private static string ScoreLabel(string column) =>
        column.EndsWith("_psnr", StringComparison.Ordinal) ? "PSNR (dB)" : column[(column.LastIndexOf('_') + 1)..];

    /// <param name="epochAxis">x is the epoch (whole numbers); false for figures whose x is eps, steps or a histogram's bins.</param>
    internal static Plot NewPlot(string title, string yLabel, bool epochAxis = true)
    {
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel("epoch");
        // Epochs are whole numbers: no tick at 1.1.
        if (epochAxis) plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    /// <summary>One curve; rows with no value are skipped rather than drawn as zero.</summary>
    internal static ScottPlot.Plottables.Scatter Series(Plot plot, double[] x, IReadOnlyList<double> y, double scale, string label)
    {
        var keep = Enumerable.Range(0, x.Length).Where(i => double.IsFinite(y[i])).ToArray();
        var s = plot.Add.Scatter(keep.Select(i => x[i]).ToArray(), keep.Select(i => y[i] * scale).ToArray());
        s.LegendText = label;
        s.MarkerSize = keep.Length > 60 ? 0 : 4;
        return s;
    }

    private static void LearningRate(Plot plot, double[] epochs, MetricsTable table)
    {
        if (!table.HasValues("lr")) return;
        var s = Series(plot, epochs, table["lr"], 1, "learning rate");
        s.Color = Colors.Gray;
        s.MarkerSize = 0;
        s.Axes.YAxis = plot.Axes.Right;
        plot.Axes.Right.Label.Text = "learning rate";
        // A constant rate has no span to scale to (the axis would read -1 to 1 with the line at "0"): show 0 to twice it.
        var lr = table["lr"].Where(double.IsFinite).ToList();
        if (lr.Count > 0 && lr.Max() - lr.Min() <= 1e-12 * Math.Max(1, Math.Abs(lr.Max())))
            plot.Axes.SetLimitsY(0, 2 * Math.Max(lr.Max(), 1e-12), plot.Axes.Right);
    }
}
