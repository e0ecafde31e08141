using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
using RobustCli.Core.Training;

namespace RobustCli.Experiments.Runs;

/// <summary>metrics.csv: one row per epoch, flushed to disk as it is written. Unmeasured values are empty cells.</summary>
public sealed class MetricsCsv : IDisposable
{
    public static readonly string[] FixedColumns =
    [
        "epoch", "lr", "train_loss", "train_clean_acc", "train_adv_acc", "val_clean_acc", "val_robust_acc",
        "test_clean_acc", "test_robust_acc", "seconds", "images_per_s",
    ];

    private readonly StreamWriter writer;
    private readonly CsvWriter csv;
    private readonly string[] extra;

    private MetricsCsv(StreamWriter writer, string[] extra, bool writeHeader)
    {
        this.writer = writer;
        this.extra = extra;
        csv = new CsvWriter(writer, new CsvConfiguration(CultureInfo.InvariantCulture) { NewLine = "\n" });
        if (!writeHeader) return;
        foreach (var c in FixedColumns.Concat(extra)) csv.WriteField(c);
        csv.NextRecord();
        Flush();
    }

    /// <summary>Starts a new file, or reopens one keeping only the rows of epochs up to <paramref name="keepEpochs"/> (resume).</summary>
    public static MetricsCsv Open(string path, IReadOnlyList<string> extraColumns, int? keepEpochs = null)
    {
        if (keepEpochs is { } keep && File.Exists(path))
        {
            // Rows written after the last checkpoint (a kill between the row and the checkpoint) are dropped.
            var lines = File.ReadAllLines(path);
            var kept = lines.Take(1).Concat(lines.Skip(1).Where(l => int.TryParse(l.Split(',')[0], out var e) && e <= keep)).ToList();
            File.WriteAllText(path, string.Join("\n", kept) + "\n");
            return new MetricsCsv(new StreamWriter(path, append: true), extraColumns.ToArray(), writeHeader: false);
        }
        return new MetricsCsv(new StreamWriter(path, append: false), extraColumns.ToArray(), writeHeader: true);
    }

    public void Write(EpochMetrics m)
    {
        csv.WriteField(m.Epoch.ToString(CultureInfo.InvariantCulture));
        foreach (var v in new[] { m.LearningRate, m.TrainLoss, m.TrainCleanAccuracy, m.TrainAdversarialAccuracy, m.ValidationCleanAccuracy,
                     m.ValidationRobustAccuracy, m.TestCleanAccuracy, m.TestRobustAccuracy, m.Seconds, m.ImagesPerSecond })
            csv.WriteField(Format(v));
        foreach (var column in extra)
        {
            var match = m.Extra.FirstOrDefault(e => e.Column == column);
            csv.WriteField(match.Column == null ? "" : Format(match.Value));
        }
        csv.NextRecord();
        Flush();
    }

    private static string Format(double v) => double.IsFinite(v) ? v.ToString("G6", CultureInfo.InvariantCulture) : "";

    private void Flush()
    {
        csv.Flush();
        writer.Flush();
        writer.BaseStream.Flush();
    }

    public void Dispose()
    {
        csv.Dispose();
        writer.Dispose();
    }
}
