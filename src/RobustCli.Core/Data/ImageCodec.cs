using SkiaSharp;

namespace RobustCli.Core.Data;

/// <summary>
/// Reads and writes image files through SkiaSharp (PNG, JPEG, BMP, GIF, WebP in; PNG out). Pixels are taken as
/// stored, with no colour-space conversion, so a PNG reads byte for byte as scikit-image reads it. Gray is the
/// ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B, rounded), as PIL's convert('L'), OpenCV and MATLAB's rgb2gray
/// make the gray benchmark sets; a gray file read as gray keeps its values.
/// </summary>
public static class ImageCodec
{
    public static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    public static bool IsImage(string path) => Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>Decodes a file into <paramref name="channels"/> (1: gray, 3: RGB) channels.</summary>
    public static Picture Read(string path, int channels)
    {
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "1 (gray) or 3 (RGB)");
        using var codec = SKCodec.Create(path) ?? throw new InvalidDataException($"{path}: not an image SkiaSharp can decode (PNG, JPEG, BMP, GIF, WebP)");
        var (w, h) = (codec.Info.Width, codec.Info.Height);
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
            throw new InvalidDataException($"{path}: decoding failed ({result})");
        if (result == SKCodecResult.IncompleteInput) throw new InvalidDataException($"{path}: the file is truncated");
        var rgba = bitmap.GetPixelSpan();
        var plane = w * h;
        var pixels = new byte[channels * plane];
        for (var i = 0; i < plane; i++)
        {
            byte r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2];
            if (channels == 1) pixels[i] = r == g && g == b ? r : (byte)Math.Round(0.299 * r + 0.587 * g + 0.114 * b, MidpointRounding.AwayFromZero);
            else
            {
                pixels[i] = r;
                pixels[plane + i] = g;
                pixels[2 * plane + i] = b;
            }
        }
        return new Picture(Path.GetFileName(path), pixels, channels, h, w);
    }

    /// <summary>Writes C x H x W floats in [0, 1] (1 or 3 channels) as a PNG, through a temporary file and a rename.</summary>
    public static void WritePng(string path, ReadOnlySpan<float> chw, int channels, int height, int width)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        var dst = bitmap.GetPixelSpan();
        var plane = width * height;
        for (var i = 0; i < plane; i++)
            for (var c = 0; c < 3; c++)
                dst[4 * i + c] = ToByte(chw[(channels == 1 ? 0 : c) * plane + i]);
        for (var i = 0; i < plane; i++) dst[4 * i + 3] = 255;
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        var tmp = path + ".tmp";
        using (var f = File.Create(tmp)) data.SaveTo(f);
        File.Move(tmp, path, overwrite: true);
    }

    private static byte ToByte(float v) => (byte)Math.Clamp(MathF.Round(v * 255f), 0, 255);
}
