namespace RobustCli.Core.Data;

/// <summary>
/// The binary versions of CIFAR-10 (records of 1 label byte + 3072 pixel bytes, R, G and B planes of 32x32)
/// and CIFAR-100 (2 label bytes, coarse then fine, + 3072 pixel bytes; the fine label is used).
/// </summary>
public static class CifarReader
{
    private const int ImageBytes = 3 * 32 * 32;

    public static ImageDataset Load(string name, IReadOnlyList<string> files, bool cifar100)
    {
        var labelBytes = cifar100 ? 2 : 1;
        var record = labelBytes + ImageBytes;
        var pixels = new List<byte[]>();
        var labels = new List<long>();
        foreach (var file in files)
        {
            var b = File.ReadAllBytes(file);
            if (b.Length % record != 0) throw new FormatException($"{file}: {b.Length} bytes is not a whole number of {record}-byte CIFAR records");
            for (var off = 0; off < b.Length; off += record)
            {
                labels.Add(b[off + labelBytes - 1]);
                pixels.Add(b[(off + labelBytes)..(off + record)]);
            }
        }
        var all = new byte[(long)pixels.Count * ImageBytes];
        for (var i = 0; i < pixels.Count; i++) pixels[i].CopyTo(all, (long)i * ImageBytes);
        return new ImageDataset(name, all, labels.ToArray(), 3, 32, 32, cifar100 ? 100 : 10);
    }
}
