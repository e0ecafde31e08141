using RobustCli.Torch.Serialization;
using ScottPlot;

namespace RobustCli.Experiments.Plots;

/// <summary>A named figure, written as &lt;name&gt;.png and &lt;name&gt;.svg, each atomically (a reader never sees half a file).</summary>
public sealed record Figure(string Name, Plot Plot)
{
    public const int Width = 900, Height = 560;

    public IReadOnlyList<string> Save(string folder)
    {
        var png = Path.Combine(folder, Name + ".png");
        var svg = Path.Combine(folder, Name + ".svg");
        var pngBytes = Plot.GetImageBytes(Width, Height, ImageFormat.Png);
        AtomicFile.Write(png, s => s.Write(pngBytes));
        var xml = System.Text.Encoding.UTF8.GetBytes(Plot.GetSvgXml(Width, Height));
        AtomicFile.Write(svg, s => s.Write(xml));
        return [png, svg];
    }

    /// <summary>Writes every figure into the folder; returns the files written.</summary>
    public static IReadOnlyList<string> SaveAll(IEnumerable<Figure> figures, string folder) =>
        figures.SelectMany(f => f.Save(folder)).ToList();
}
