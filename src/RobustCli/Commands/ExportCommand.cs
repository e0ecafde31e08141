using System.CommandLine;
using RobustCli.Experiments.Runs;

namespace RobustCli.Commands;

/// <summary><c>robust export RUN --format torchsharp|pytorch|safetensors</c>: a run's weights for another ecosystem.</summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("checkpoint") { Description = "A run folder (its best checkpoint, or --which last) or a weights file (.pt, .safetensors, .dat)." };
        var format = new Option<string>("--format")
        {
            Description = "torchsharp (TorchSharp's Module.save format, .dat), pytorch (torch.save, .pt) or safetensors.",
            Required = true,
        };
        format.AcceptOnlyFromAmong(WeightsExport.Formats.Select(f => f.Name).ToArray());
        var output = new Option<FileInfo?>("--out") { Description = "File to write (default: <run>/export/<which>.<ext>, or beside the weights file)." };
        var which = new Option<string>("--which") { Description = "A run's best (by validation) or last checkpoint.", DefaultValueFactory = _ => "best" };
        which.AcceptOnlyFromAmong("best", "last");
        var cmd = new Command("export", """
            Write a run's weights (the ones `robust eval` measures: a run with train.ema gives its averaged weights)
            in TorchSharp's Module.save format, torch.save's, or safetensors, with PyTorch's key names.

            Examples:
              robust export runs/quickstart/RUN --format torchsharp
              robust export runs/quickstart/RUN --format pytorch --which last --out smallcnn.pt
              robust export model.dat --format safetensors
            """) { source, format, output, which };
        cmd.SetAction(parse => Guard.Run(parse.InvocationConfiguration.Error, () =>
        {
            var o = parse.InvocationConfiguration.Output;
            var r = WeightsExport.Export(parse.GetValue(source)!, parse.GetValue(format)!, parse.GetValue(output)?.FullName, parse.GetValue(which)!);
            o.WriteLine($"wrote {r.Path}: {r.Tensors} tensors of {r.Source}{(r.Ema ? " (its averaged weights, train.ema)" : "")} in {r.Format.Name} format");
            o.WriteLine("load with " + string.Format(System.Globalization.CultureInfo.InvariantCulture, r.Format.LoadHint, r.Path));
            return 0;
        }));
        return cmd;
    }
}
