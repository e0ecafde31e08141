namespace RobustCli.Tests.Shared;

/// <summary>Picture folders for denoising tests (linked into the test projects that reference Core).</summary>
public static class TinyPictures
{
    /// <summary>
    /// A folder of <paramref name="count"/> PNG pictures (gray or colour, sizes varying around <paramref name="size"/>):
    /// flat regions split by edges plus a little texture, as photographs have. Returns the folder.
    /// </summary>
    public static string Folder(int count, int size = 40, int channels = 1, int seed = 0, string? folder = null)
    {
        folder ??= TestPaths.TempDir();
        Directory.CreateDirectory(folder);
        var rng = new Random(seed);
        for (var k = 0; k < count; k++)
        {
            int h = size + rng.Next(8), w = size + rng.Next(8);
            var px = new float[channels * h * w];
            var (a, b, cut, slope) = (rng.NextDouble() * 0.8 + 0.1, rng.NextDouble() * 0.8 + 0.1, rng.NextDouble() * w, rng.NextDouble() - 0.5);
            for (var c = 0; c < channels; c++)
                for (var y = 0; y < h; y++)
                    for (var x = 0; x < w; x++)
                        px[(c * h + y) * w + x] = (float)Math.Clamp((x + slope * y > cut ? a : b) + 0.05 * c + 0.04 * rng.NextDouble(), 0, 1);
            RobustCli.Core.Data.ImageCodec.WritePng(Path.Combine(folder, $"pic{k:D2}.png"), px, channels, h, w);
        }
        return folder;
    }

}
