namespace RobustCli.Core.Data;

/// <summary>
/// An image-classification dataset held in memory as uint8 pixels (N x C x H x W, row-major) and int64
/// labels. Tensors are made per batch by the loader, so a dataset costs one byte per pixel.
/// </summary>
public sealed class ImageDataset
{
    public string Name { get; }
    public byte[] Pixels { get; }
    public long[] Labels { get; }
    public int Count { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public int NumClasses { get; }

    public ImageDataset(string name, byte[] pixels, long[] labels, int channels, int height, int width, int numClasses)
    {
        if (pixels.LongLength != (long)labels.Length * channels * height * width)
            throw new ArgumentException($"{name}: {pixels.LongLength} pixel bytes do not make {labels.Length} images of {channels}x{height}x{width}");
        foreach (var l in labels)
            if (l < 0 || l >= numClasses) throw new ArgumentException($"{name}: label {l} outside [0, {numClasses})");
        Name = name; Pixels = pixels; Labels = labels; Count = labels.Length;
        Channels = channels; Height = height; Width = width; NumClasses = numClasses;
    }

    public int ImageSize => Channels * Height * Width;

    public ReadOnlySpan<byte> Image(int i) => new(Pixels, i * ImageSize, ImageSize);

    /// <summary>The images at the given indices, in that order.</summary>
    public ImageDataset Subset(IReadOnlyList<int> indices, string? name = null)
    {
        var size = ImageSize;
        var px = new byte[(long)indices.Count * size];
        var lb = new long[indices.Count];
        for (var k = 0; k < indices.Count; k++)
        {
            Image(indices[k]).CopyTo(px.AsSpan(k * size, size));
            lb[k] = Labels[indices[k]];
        }
        return new ImageDataset(name ?? Name, px, lb, Channels, Height, Width, NumClasses);
    }

    public ImageDataset Take(int n) => n >= Count ? this : Subset(Enumerable.Range(0, n).ToArray());

    /// <summary>
    /// Splits off a class-balanced validation set of <paramref name="size"/> images chosen with <paramref name="seed"/>;
    /// the rest is the training set. The same seed always gives the same split.
    /// </summary>
    public (ImageDataset Train, ImageDataset Validation) SplitValidation(int size, int seed)
    {
        if (size <= 0) return (this, Subset([], Name + "/val"));
        if (size >= Count) throw new ArgumentException($"validation size {size} must be smaller than the {Count} training images");
        var rng = new Random(seed);
        var byClass = Enumerable.Range(0, NumClasses).Select(_ => new List<int>()).ToArray();
        foreach (var i in Enumerable.Range(0, Count).OrderBy(_ => rng.Next())) byClass[Labels[i]].Add(i);
        var val = new List<int>();
        for (var k = 0; val.Count < size; k++)
            foreach (var list in byClass)
                if (k < list.Count && val.Count < size) val.Add(list[k]);
        val.Sort();
        var inVal = new HashSet<int>(val);
        var train = Enumerable.Range(0, Count).Where(i => !inVal.Contains(i)).ToArray();
        return (Subset(train, Name + "/train"), Subset(val, Name + "/val"));
    }
}
