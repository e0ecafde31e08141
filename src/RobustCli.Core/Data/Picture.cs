namespace RobustCli.Core.Data;

/// <summary>One decoded image of any size: 8-bit pixels, C x H x W row-major, and the file it came from.</summary>
public sealed record Picture(string Name, byte[] Pixels, int Channels, int Height, int Width)
{
    public int Size => Channels * Height * Width;
}
