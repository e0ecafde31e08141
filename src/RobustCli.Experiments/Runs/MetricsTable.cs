using System.Globalization;
using CsvHelper;

namespace RobustCli.Experiments.Runs;

/// <summary>
/// metrics.csv read back as columns of numbers, an empty cell as NaN: what plots, reports and diagnostics draw from,
/// so they show exactly what the run wrote. The header's layout (<see cref="MetricsCsv"/>) tells the task's score
/// columns (between train_loss and seconds) from the method's (after images_per_s).
/// </summary>
public sealed class MetricsTable
{
    public IReadOnlyList<string> Columns { get; }
    private readonly double[][] values;

    private MetricsTable(IReadOnlyList<string> columns, double[][] values)
    {
        Columns = columns;
        this.values = values;
    }

    public int Rows => values.Length == 0 ? 0 : values[0].Length;

    public bool Has(string column) => Columns.Contains(column);

    /// <summary>The column's values, one per row (NaN where the cell is empty).</summary>
    public IReadOnlyList<double> this[string column]
    {
        get
        {
            var i = IndexOf(column);
            return i < 0 ? throw new KeyNotFoundException($"metrics.csv has no column '{column}'") : values[i];
        }
    }

    /// <summary>Whether the column holds at least one number.</summary>
    public bool HasValues(string column) => IndexOf(column) is var i and >= 0 && values[i].Any(double.IsFinite);

    /// <summary>The task's score columns, in file order: train_clean_acc ... test_robust_acc (or the _psnr ones).</summary>
    public IReadOnlyList<string> ScoreColumns => Between(MetricsCsv.Leading[^1], MetricsCsv.Trailing[0]);

    /// <summary>The method's (and an expert ensemble's) columns, after the timing columns.</summary>
    public IReadOnlyList<string> MethodColumns => Between(MetricsCsv.Trailing[^1], null);

    private IReadOnlyList<string> Between(string after, string? before)
    {
        var start = IndexOf(after) + 1;
        var end = before == null ? Columns.Count : IndexOf(before);
        return start <= 0 || end < start ? [] : Columns.Skip(start).Take(end - start).ToList();
    }

    private int IndexOf(string column)
    {
        for (var i = 0; i < Columns.Count; i++) if (Columns[i] == column) return i;
        return -1;
    }

    public static MetricsTable Load(string path)
    {
        using var reader = CsvReader.FromFile(path);
        var columns = reader.Headers.ToArray();
        var cells = columns.Select(_ => new List<double>()).ToArray();
        while (reader.Read())
        {
            for (var i = 0; i < columns.Length; i++)
            {
                var text = i < reader.FieldCount ? reader.GetString(i) : "";
                cells[i].Add(text.Length == 0 ? double.NaN
                    : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
                    : throw new FormatException($"{path}: row {cells[i].Count + 1}, column {columns[i]}: '{text}' is not a number"));
            }
        }
        return new MetricsTable(columns, cells.Select(c => c.ToArray()).ToArray());
    }
}
