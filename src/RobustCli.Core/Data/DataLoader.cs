using System.Collections.Concurrent;
using RobustCli.Torch;

namespace RobustCli.Core.Data;

/// <summary>Random crop with zero padding and horizontal flip, the standard CIFAR augmentation.</summary>
public sealed record Augmentation(int CropPadding = 0, bool HorizontalFlip = false)
{
    public static readonly Augmentation None = new();
    public bool IsNone => CropPadding == 0 && !HorizontalFlip;
}

/// <summary>One minibatch: float images in [0, 1] (N x C x H x W), int64 labels and the dataset indices.</summary>
public sealed class Batch(Tensor x, Tensor y, int[] indices) : IDisposable
{
    public Tensor X { get; } = x;
    public Tensor Y { get; } = y;
    public int[] Indices { get; } = indices;
    public int Count => Indices.Length;

    private long[]? sampleIds;

    /// <summary>The dataset indices as the ids per-sample noise is drawn by (attacks, denoising observations).</summary>
    public long[] SampleIds => sampleIds ??= Array.ConvertAll(Indices, i => (long)i);

    public void Dispose()
    {
        X.Dispose();
        Y.Dispose();
    }
}

/// <summary>
/// Minibatches of a dataset with seeded shuffling and augmentation, built on a background thread so the next
/// batch is ready when a step ends. The order and the augmentation of epoch e depend only on (seed, e), so a
/// resumed run sees exactly the batches an uninterrupted one would. The caller disposes each batch.
/// </summary>
public sealed class DataLoader(ImageSource data, int batchSize, bool shuffle = false, Augmentation? augmentation = null,
    int seed = 0, bool dropLast = false, Device? device = null, int prefetch = 2)
{
    public ImageSource Data { get; } = data;
    public Device? Device { get; } = device;
    public int BatchSize { get; } = batchSize > 0 ? batchSize : throw new ArgumentOutOfRangeException(nameof(batchSize), "batch size must be >= 1");

    public int BatchesPerEpoch => dropLast ? Data.Count / BatchSize : (Data.Count + BatchSize - 1) / BatchSize;

    /// <summary>The sample order of an epoch.</summary>
    public int[] Order(int epoch)
    {
        var order = Enumerable.Range(0, Data.Count).ToArray();
        if (shuffle) new Random(SeedMix.Of(seed, epoch, 0x5eed)).Shuffle(order);
        return order;
    }

    /// <summary>
    /// The batches of one epoch, built ahead on a background thread; from <paramref name="firstBatch"/> on for an epoch
    /// resumed from a mid-epoch checkpoint (the batches before it are not built).
    /// </summary>
    public IEnumerable<Batch> Epoch(int epoch, int firstBatch = 0)
    {
        var order = Order(epoch);
        var n = BatchesPerEpoch;
        using var queue = new BlockingCollection<Batch>(Math.Max(1, prefetch));
        using var cts = new CancellationTokenSource();
        Exception? failure = null;
        var producer = Task.Run(() =>
        {
            try
            {
                for (var b = firstBatch; b < n && !cts.IsCancellationRequested; b++)
                {
                    var batch = Build(order, b, epoch);
                    try { queue.Add(batch, cts.Token); }
                    catch (OperationCanceledException) { batch.Dispose(); break; }
                }
            }
            catch (Exception e) { failure = e; }
            finally { queue.CompleteAdding(); }
        });
        try
        {
            foreach (var batch in queue.GetConsumingEnumerable())
                yield return batch;
            if (failure != null) throw new InvalidOperationException("building a batch failed: " + failure.Message, failure);
        }
        finally
        {
            // An abandoned epoch (an exception, a break) stops the producer and frees what it built.
            cts.Cancel();
            try { producer.Wait(); } catch (AggregateException) { }
            while (queue.TryTake(out var left)) left.Dispose();
        }
    }

    private Batch Build(int[] order, int b, int epoch)
    {
        var start = b * BatchSize;
        var count = Math.Min(BatchSize, order.Length - start);
        var indices = order.AsSpan(start, count).ToArray();
        var (height, width) = Data.Shape(indices[0]);
        for (var k = 1; k < count; k++)
            if (Data.Shape(indices[k]) != (height, width))
                throw new InvalidOperationException(
                    $"{Data.Name}: images {indices[0]} ({height}x{width}) and {indices[k]} ({Data.Shape(indices[k]).Height}x{Data.Shape(indices[k]).Width}) differ in size and cannot share a batch; use a batch size of 1 for whole images of different sizes");
        var size = Data.Channels * height * width;
        var pixels = new float[(long)count * size];
        var labels = new long[count];
        var aug = augmentation ?? Augmentation.None;
        var rng = new Random(SeedMix.Of(seed, epoch, b, 0xa06));
        for (var k = 0; k < count; k++)
        {
            labels[k] = Data.Label(indices[k]);
            Data.Write(indices[k], pixels.AsSpan(k * size, size), aug, rng);
        }
        // Made on this background thread, where no DisposeScope is open: the consumer owns them.
        var x = torch.From<float>(pixels, [count, Data.Channels, height, width]);
        var y = torch.From(labels);
        if (Device is { IsCuda: true } d)
        {
            var (xd, yd) = (x.To(d), y.To(d));
            x.Dispose(); y.Dispose();
            (x, y) = (xd, yd);
        }
        return new Batch(x, y, indices);
    }
}
