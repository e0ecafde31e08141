namespace RobustCli.Core.Data;

/// <summary>
/// Whole pictures of any size (a denoising test set: Set12, BSD68, Kodak24), one sample each and label 0. Pictures
/// of different sizes cannot share a batch: evaluate them with a batch size of 1, as the reference code does.
/// </summary>
public sealed class PictureSet(string name, IReadOnlyList<Picture> pictures) : ImageSource
{
    public IReadOnlyList<Picture> Pictures { get; } = pictures.Count > 0 ? pictures : throw new ArgumentException($"{name}: no pictures");
    public override string Name { get; } = name;
    public override int Count => Pictures.Count;
    public override int Channels => Pictures[0].Channels;
    public override int NumClasses => 1;
    public override bool FixedShape => Pictures.All(p => p.Height == Pictures[0].Height && p.Width == Pictures[0].Width);
    public override (int Height, int Width) Shape(int index) => (Pictures[index].Height, Pictures[index].Width);
    public override long Label(int index) => 0;

    public override void Write(int index, Span<float> destination, Augmentation augmentation, Random random)
    {
        var src = Pictures[index].Pixels;
        for (var i = 0; i < src.Length; i++) destination[i] = src[i] / 255f;
    }

    public PictureSet Take(int n) => n >= Count ? this : new PictureSet(Name, Pictures.Take(n).ToList());
}

/// <summary>
/// Random square patches of pictures for training a denoiser, as the reference's training set: each epoch visits
/// every picture <c>repeat</c> times (sample i is picture i mod n), cutting a patch at a random place and, with
/// augmentation, applying one of the eight flips and rotations of the square. Pictures smaller than the patch are
/// refused when the set is made.
/// </summary>
public sealed class PatchSet : ImageSource
{
    public PatchSet(string name, IReadOnlyList<Picture> pictures, int patchSize, int repeat, bool augment)
    {
        if (pictures.Count == 0) throw new ArgumentException($"{name}: no pictures");
        if (patchSize < 1) throw new ArgumentOutOfRangeException(nameof(patchSize), patchSize, "a patch is at least 1 pixel");
        if (repeat < 1) throw new ArgumentOutOfRangeException(nameof(repeat), repeat, "repeat is at least 1");
        if (pictures.FirstOrDefault(p => p.Height < patchSize || p.Width < patchSize) is { } small)
            throw new ArgumentException($"{name}: {small.Name} ({small.Height}x{small.Width}) is smaller than a {patchSize}x{patchSize} patch; lower data.patch_size");
        if (pictures.Select(p => p.Channels).Distinct().Count() > 1) throw new ArgumentException($"{name}: pictures with different channel counts");
        Name = name; Pictures = pictures; PatchSize = patchSize; Repeat = repeat; Augment = augment;
    }

    public IReadOnlyList<Picture> Pictures { get; }
    public int PatchSize { get; }
    public int Repeat { get; }
    public bool Augment { get; }
    public override string Name { get; }
    public override int Count => Pictures.Count * Repeat;
    public override int Channels => Pictures[0].Channels;
    public override int NumClasses => 1;
    public override bool FixedShape => true;
    public override (int Height, int Width) Shape(int index) => (PatchSize, PatchSize);
    public override long Label(int index) => 0;

    public override void Write(int index, Span<float> destination, Augmentation augmentation, Random random)
    {
        var p = Pictures[index % Pictures.Count];
        var top = random.Next(p.Height - PatchSize + 1);
        var left = random.Next(p.Width - PatchSize + 1);
        var mode = Augment ? random.Next(8) : 0;
        var s = PatchSize;
        for (var c = 0; c < p.Channels; c++)
            for (var y = 0; y < s; y++)
                for (var x = 0; x < s; x++)
                {
                    var (sy, sx) = Source(mode, y, x, s);
                    destination[(c * s + y) * s + x] = p.Pixels[(c * p.Height + top + sy) * p.Width + left + sx] / 255f;
                }
    }

    /// <summary>
    /// Where output pixel (y, x) of a transformed s x s patch comes from, for the eight symmetries of the square in
    /// the reference's order: identity, flip up-down, rotate 90 (counter-clockwise), rotate 90 then flip, rotate 180,
    /// rotate 180 then flip, rotate 270, rotate 270 then flip (numpy's rot90 and flipud).
    /// </summary>
    public static (int Y, int X) Source(int mode, int y, int x, int s)
    {
        var flip = mode is 1 or 3 or 5 or 7;
        if (flip) y = s - 1 - y;
        return (mode / 2) switch
        {
            0 => (y, x),
            1 => (x, s - 1 - y),          // rot90: out[y, x] = in[x, s-1-y]
            2 => (s - 1 - y, s - 1 - x),  // rot180
            _ => (s - 1 - x, y),          // rot270: out[y, x] = in[s-1-x, y]
        };
    }
}
