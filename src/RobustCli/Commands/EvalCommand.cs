using System.CommandLine;
using System.Globalization;
using RobustCli.Core.Attacks;
using RobustCli.Experiments.Config;
using RobustCli.Experiments.Jobs;
using Spectre.Console;

namespace RobustCli.Commands;

/// <summary><c>robust eval</c>: clean and robust accuracy of a checkpoint under named attacks, with the per-sample worst case.</summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A run folder (uses checkpoints/best.pt, else last.pt) or a weights file (.pt, .safetensors).", Required = true };
        var attacks = new Option<string[]>("--attack")
        {
            Description = $"Attack preset, repeatable: {string.Join(", ", AttackPresets.Examples)}; options after a colon (pgd20:alpha=0.003,restarts=5).",
            DefaultValueFactory = _ => ["pgd20"],
        };
        var eps = new Option<string?>("--eps") { Description = "Budget in pixel units (8/255 works); default: the run's attack.eps." };
        var n = new Option<int>("--n") { Description = "Evaluate the first N test images (0: all).", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch-size") { Description = "Evaluation batch size.", DefaultValueFactory = _ => 256 };
        var dataset = new Option<string?>("--dataset") { Description = "Dataset name when the checkpoint has no run config beside it." };
        var arch = new Option<string?>("--arch") { Description = "Architecture when the checkpoint has no run config beside it." };
        var normalize = new Option<string?>("--normalize") { Description = "auto (dataset mean/std inside the model) or none; default: the run's, else none." };
        var dataPath = new Option<string?>("--data-path") { Description = "Folder holding the dataset's files." };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N.", DefaultValueFactory = _ => "auto" };
        var output = new Option<FileInfo?>("--out") { Description = "CSV to write (default: eval-<time>.csv in the run folder, else ./)." };
        var cmd = new Command("eval", """
            Evaluate a checkpoint: clean accuracy, robust accuracy per attack, and the per-sample worst case over them.

            Examples:
              robust eval --checkpoint runs/quickstart/20261122-101500-1a2b3c --attack pgd20 --attack cw20
              robust eval --checkpoint model.pt --arch preact18 --dataset cifar10 --eps 8/255 --attack pgd50:restarts=10
            """)
        {
            checkpoint, attacks, eps, n, batch, dataset, arch, normalize, dataPath, device, output,
        };
        cmd.SetAction(parse => Guard.Run(parse.InvocationConfiguration.Error, () =>
        {
            var o = parse.InvocationConfiguration.Output;
            double? e = null;
            if (parse.GetValue(eps) is { } es)
                e = ConfigLoader.ParseNumber(es) ?? throw new ConfigException($"--eps {es}: expected a number such as 0.03 or 8/255");
            var norm = parse.GetValue(normalize);
            if (norm is not (null or "auto" or "none")) throw new ConfigException($"--normalize {norm}: expected auto or none");
            JobRuntime.ConfigureThreads(null);
            var req = new EvaluationRequest(parse.GetValue(checkpoint)!, parse.GetValue(attacks)!, e, parse.GetValue(n), parse.GetValue(batch),
                parse.GetValue(dataset), parse.GetValue(arch), parse.GetValue(dataPath), parse.GetValue(device)!, norm);
            var report = EvaluationJob.Run(req, RepoPaths.Root);
            var table = new Table().AddColumn("attack").AddColumn(new TableColumn("accuracy").RightAligned()).AddColumn(new TableColumn("seconds").RightAligned());
            string Pct(double v) => (100 * v).ToString("F2", CultureInfo.InvariantCulture) + "%";
            table.AddRow("clean", Pct(report.Result.CleanAccuracy), "");
            foreach (var a in report.Attacks)
                table.AddRow(Markup.Escape(a.Name), Pct(report.Result.RobustAccuracy(a.Name)), report.Result.Seconds[a.Name].ToString("F1", CultureInfo.InvariantCulture));
            table.AddRow("worst case", Pct(report.Result.WorstCaseAccuracy), "");
            var console = RunsCommand.Plain(o);
            o.WriteLine($"{report.CheckpointFile}: {report.Arch} on {report.Dataset}, {report.Result.Count} test images, eps {report.Eps:G4}");
            console.Write(table);
            var csv = parse.GetValue(output)?.FullName ?? Path.Combine(
                Directory.Exists(req.Checkpoint) ? req.Checkpoint : Directory.GetCurrentDirectory(),
                $"eval-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.csv");
            EvaluationJob.WriteCsv(report, csv);
            o.WriteLine($"wrote {csv}");
            return 0;
        }));
        return cmd;
    }
}
