using System.Globalization;
using CsvHelper;
using RobustCli.Core.Training;

namespace RobustCli.Experiments.Runs;

/// <summary>metrics.csv: one row per epoch, flushed to disk as it is written. Unmeasured values are empty cells.</summary>
public sealed class MetricsCsv : IDisposable
{
    /// <summary>The columns around the task's scores: epoch, lr, train_loss | scores | seconds, images_per_s | the method's.</summary>
    public static readonly string[] Leading = ["epoch", "lr", "train_loss"];
    public static readonly string[] Trailing = ["seconds", "images_per_s"];

    private readonly StreamWriter writer;
    private readonly CsvWriter csv;
    private readonly string[] scores, extra;

    private MetricsCsv(StreamWriter writer, string[] scores, string[] extra, bool writeHeader)
    {
        this.writer = writer;
        this.scores = scores;
        this.extra = extra;
        csv = CsvWriter.Create(writer, new CsvWriterOptions { NewLine = "\n" });
        if (!writeHeader) return;
        foreach (var c in Leading.Concat(scores).Concat(Trailing).Concat(extra)) csv.WriteField(c);
        csv.EndRecord();
        Flush();
    }

    /// <summary>Starts a new file, or reopens one keeping only the rows of epochs up to <paramref name="keepEpochs"/> (resume).</summary>
    public static MetricsCsv Open(string path, IReadOnlyList<string> extraColumns, int? keepEpochs = null) =>
        Open(path, ((RobustCli.Core.Tasks.ITask)RobustCli.Core.Tasks.ClassificationTask.Instance).Columns, extraColumns, keepEpochs);

    /// <summary>A file with the task's score columns (train_clean_acc ... or the _psnr ones) and the method's columns.</summary>
    public static MetricsCsv Open(string path, IReadOnlyList<string> scoreColumns, IReadOnlyList<string> extraColumns, int? keepEpochs = null)
    {
        if (keepEpochs is { } keep && File.Exists(path))
        {
            // Rows written after the last checkpoint (a kill between the row and the checkpoint) are dropped.
            var lines = File.ReadAllLines(path);
            var kept = lines.Take(1).Concat(lines.Skip(1).Where(l => int.TryParse(l.Split(',')[0], out var e) && e <= keep)).ToList();
            File.WriteAllText(path, string.Join("\n", kept) + "\n");
            return new MetricsCsv(new StreamWriter(path, append: true), scoreColumns.ToArray(), extraColumns.ToArray(), writeHeader: false);
        }
        return new MetricsCsv(new StreamWriter(path, append: false), scoreColumns.ToArray(), extraColumns.ToArray(), writeHeader: true);
    }

    public void Write(EpochMetrics m)
    {
        csv.WriteField(m.Epoch.ToString(CultureInfo.InvariantCulture));
        csv.WriteField(Format(m.LearningRate));
        csv.WriteField(Format(m.TrainLoss));
        foreach (var column in scores) csv.WriteField(Format(m.Score(column)));
        csv.WriteField(Format(m.Seconds));
        csv.WriteField(Format(m.ImagesPerSecond));
        var undeclared = m.Extra.Select(e => e.Column).Except(extra).ToList();
        if (undeclared.Count > 0)
            throw new InvalidOperationException($"the method reported metrics its registration does not declare: {string.Join(", ", undeclared)}");
        foreach (var column in extra)
        {
            var match = m.Extra.FirstOrDefault(e => e.Column == column);
            csv.WriteField(match.Column == null ? "" : Format(match.Value));
        }
        csv.EndRecord();
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
