namespace RobustCli.Core.Data;

/// <summary>
/// An image-classification dataset held in memory as uint8 pixels (N x C x H x W, row-major) and int64
/// labels. Tensors are made per batch by the loader, so a dataset costs one byte per pixel.
/// </summary>
public sealed class ImageDataset : ImageSource
{
    public override string Name { get; }
    public byte[] Pixels { get; }
    public long[] Labels { get; }
    public override int Count { get; }
    public override int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public override int NumClasses { get; }
    public override bool FixedShape => true;
    public override (int Height, int Width) Shape(int index) => (Height, Width);
    public override long Label(int index) => Labels[index];

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

    /// <summary>The image, padded-cropped and flipped as <paramref name="augmentation"/> says (the standard CIFAR augmentation).</summary>
    public override void Write(int index, Span<float> destination, Augmentation augmentation, Random random)
    {
        var src = Image(index);
        if (augmentation.IsNone)
        {
            for (var i = 0; i < src.Length; i++) destination[i] = src[i] / 255f;
            return;
        }
        int c = Channels, h = Height, w = Width, p = augmentation.CropPadding;
        var dy = p > 0 ? random.Next(2 * p + 1) - p : 0;
        var dx = p > 0 ? random.Next(2 * p + 1) - p : 0;
        var flip = augmentation.HorizontalFlip && random.Next(2) == 1;
        for (var ch = 0; ch < c; ch++)
            for (var y = 0; y < h; y++)
            {
                var sy = y + dy;
                for (var x = 0; x < w; x++)
                {
                    var sx = (flip ? w - 1 - x : x) + dx;
                    destination[(ch * h + y) * w + x] = sy < 0 || sy >= h || sx < 0 || sx >= w ? 0f : src[(ch * h + sy) * w + sx] / 255f;
                }
            }
    }

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

    /// <summary>The first <paramref name="n"/> images of each class, in dataset order (the limited-data protocol).</summary>
    public ImageDataset PerClass(int n)
    {
        var taken = new Dictionary<long, int>();
        var keep = new List<int>();
        for (var i = 0; i < Count; i++)
        {
            var c = taken.GetValueOrDefault(Labels[i]);
            if (c >= n) continue;
            taken[Labels[i]] = c + 1;
            keep.Add(i);
        }
        return Subset(keep, $"{Name}[{n} per class]");
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
