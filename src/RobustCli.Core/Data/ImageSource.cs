namespace RobustCli.Core.Data;

/// <summary>
/// What a <see cref="DataLoader"/> draws samples from: a fixed-size classification set held in memory
/// (<see cref="ImageDataset"/>), the whole pictures of an image folder (<see cref="PictureSet"/>) or random patches
/// of them (<see cref="PatchSet"/>). A sample is written as floats in [0, 1], C x H x W; random choices (a crop, a
/// flip, a patch's place) come from the generator the loader seeds per (seed, epoch, batch), so an epoch is the
/// same after a resume.
/// </summary>
public abstract class ImageSource
{
    public abstract string Name { get; }
    public abstract int Count { get; }
    public abstract int Channels { get; }
    /// <summary>Classes of the labels (1 for sets without labels: the images are the targets).</summary>
    public abstract int NumClasses { get; }
    /// <summary>Every sample has the same height and width, so any of them batch together.</summary>
    public abstract bool FixedShape { get; }

    /// <summary>The height and width sample <paramref name="index"/> is written at.</summary>
    public abstract (int Height, int Width) Shape(int index);

    public abstract long Label(int index);

    /// <summary>Writes sample <paramref name="index"/> into <paramref name="destination"/> (C x H x W floats in [0, 1]).</summary>
    public abstract void Write(int index, Span<float> destination, Augmentation augmentation, Random random);
}
