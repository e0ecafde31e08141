using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using RobustCli.Core.Attacks;
using RobustCli.Core.Evaluation;
using RobustCli.Experiments.Config;
using RobustCli.Experiments.Jobs;
using RobustCli.Experiments.Plots;
using RobustCli.Experiments.Runs;
using RobustCli.Torch.Serialization;
using Spectre.Console;

namespace RobustCli.Commands;

/// <summary><c>robust diagnose RUN_OR_FILE</c>: the adaptive-attack checklist as measured verdicts; exit 3 when one fails.</summary>
public static class DiagnoseCommand
{
    public const int CheckFailed = 3;

    public static Command Create()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A run folder or a weights file (then --arch, --dataset, --eps)." };
        var n = new Option<int>("--n") { Description = "Test points to diagnose on (0: all).", DefaultValueFactory = _ => 500 };
        var eps = new Option<string?>("--eps") { Description = "Budget (8/255 works); default: the run's attack.eps." };
        var norm = new Option<string>("--norm") { Description = "linf or l2.", DefaultValueFactory = _ => "linf" };
        var batch = new Option<int>("--batch-size") { Description = "Evaluation batch size.", DefaultValueFactory = _ => 256 };
        var dataset = new Option<string?>("--dataset") { Description = "Dataset when the checkpoint has no run config beside it." };
        var arch = new Option<string?>("--arch") { Description = "Architecture when the checkpoint has no run config beside it." };
        var normalize = new Option<string?>("--normalize") { Description = "auto or none; default: the run's, else none." };
        var dataPath = new Option<string?>("--data-path") { Description = "Folder holding the dataset's files." };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N.", DefaultValueFactory = _ => "auto" };
        var threads = new Option<int?>("--threads") { Description = "CPU threads (default: OMP_NUM_THREADS, else every core)." };
        var queries = new Option<int>("--square-queries") { Description = "Queries of the black-box Square attack.", DefaultValueFactory = _ => 1000 };
        var transferFrom = new Option<string?>("--transfer-from") { Description = "A run folder (or a checkpoint beside its run's config) of another model on the same data: adds the transfer check, PGD-20 crafted on it against PGD-20 here." };
        var output = new Option<DirectoryInfo?>("--out") { Description = "Folder for diagnose.md, diagnose.json and the figures (default: RUN/diagnose, else ./diagnose)." };
        var cmd = new Command("diagnose", """
            Check an evaluation against gradient masking, as the adaptive-attack methodology asks, with measured
            verdicts, each with its figure: robust accuracy reaches about 0 at a large eps; more steps or restarts
            never raise it; AutoAttack's white-box attacks are no weaker than PGD-20; black-box Square is no
            stronger than white-box PGD, nor is a transfer attack from another model (--transfer-from); the input
            gradient at clean points is not vanishing; the forward pass is
            deterministic (else use EOT); AutoAttack's own warnings. Exit code 0 when every check passes, 3 when one
            fails, so a CI pipeline can gate on it.

            Examples:
              robust diagnose runs/quickstart/RUN
              robust diagnose model.pt --arch preact18 --dataset cifar10 --eps 8/255 --n 1000
              robust diagnose runs/quickstart/RUN --transfer-from runs/trades/RUN
            """) { checkpoint, n, eps, norm, batch, dataset, arch, normalize, dataPath, device, threads, queries, transferFrom, output };
        cmd.SetAction(parse => Guard.Run(parse.InvocationConfiguration.Error, () =>
        {
            var o = parse.InvocationConfiguration.Output;
            double? e = null;
            if (parse.GetValue(eps) is { } es)
                e = ConfigLoader.ParseNumber(es) ?? throw new ConfigException($"--eps {es}: expected a number such as 0.03 or 8/255");
            var threatModel = AttackSuites.ParseNorm(parse.GetValue(norm)!);
            if (parse.GetValue(batch) < 1) throw new ConfigException($"--batch-size {parse.GetValue(batch)}: must be >= 1");
            if (parse.GetValue(queries) < 1) throw new ConfigException($"--square-queries {parse.GetValue(queries)}: must be >= 1");
            if (parse.GetValue(threads) is < 0) throw new ConfigException($"--threads {parse.GetValue(threads)}: must be >= 1 (or 0 for every core)");
            JobRuntime.ConfigureThreads(parse.GetValue(threads));
            var req = new EvaluationRequest(parse.GetValue(checkpoint)!, [], e, parse.GetValue(n), parse.GetValue(batch), parse.GetValue(dataset),
                parse.GetValue(arch), parse.GetValue(dataPath), parse.GetValue(device)!, parse.GetValue(normalize)) { Log = m => o.WriteLine(m) };
            IReadOnlyList<DiagnosisCheck> checks;
            string file;
            double budget;
            int points;
            try
            {
                using var loaded = EvaluationJob.Load(req, RepoPaths.Root);
                foreach (var w in loaded.Warnings) parse.InvocationConfiguration.Error.WriteLine("warning: " + w);
                (file, budget, points) = (loaded.File, loaded.Eps, loaded.Test.Count);
                o.WriteLine($"{loaded.File}: {loaded.Arch} on {loaded.Dataset}, {loaded.Test.Count} test images, eps {loaded.Eps:G4} ({parse.GetValue(norm)})");
                using var source = parse.GetValue(transferFrom) is { } from
                    ? EvaluationJob.Load(req with { Checkpoint = from, Arch = null, Normalize = null, Eps = loaded.Eps, Dataset = loaded.Dataset }, RepoPaths.Root)
                    : null;
                if (source != null && source.Test.Count != loaded.Test.Count)
                    throw new ConfigException($"--transfer-from {parse.GetValue(transferFrom)}: its test set has {source.Test.Count} points here, this model's {loaded.Test.Count}; give a model trained on the same data");
                checks = MaskingDiagnosis.Run(loaded.Evaluated, loaded.Test, loaded.NumClasses,
                    new MaskingDiagnosis.Options(loaded.Eps, threatModel, parse.GetValue(batch), loaded.Device, SquareQueries: parse.GetValue(queries))
                    {
                        Log = m => o.WriteLine("  " + m), TransferSource = source?.Evaluated, TransferName = source?.File ?? "",
                    });
            }
            catch (InvalidDataException ex) { throw new ConfigException(ex.Message); }
            var table = new Table().AddColumn("check").AddColumn("verdict").AddColumn("measured");
            foreach (var c in checks) table.AddRow(c.Name, c.Passed ? "pass" : "FAIL", Markup.Escape(c.Measured));
            RunsCommand.Plain(o).Write(table);
            foreach (var c in checks) o.WriteLine($"{(c.Passed ? "pass" : "FAIL")}  {c.Name}: {c.Line}");
            var folder = parse.GetValue(output)?.FullName ?? Path.Combine(
                Directory.Exists(parse.GetValue(checkpoint)!) ? parse.GetValue(checkpoint)! : Directory.GetCurrentDirectory(), "diagnose");
            var files = DiagnosisFiles.Write(folder, file, budget, points, checks);
            var failed = checks.Count(c => !c.Passed);
            o.WriteLine(failed == 0 ? $"every check passed ({checks.Count})" : $"{failed} of {checks.Count} checks failed");
            o.WriteLine($"wrote {string.Join(", ", files)}");
            return failed == 0 ? 0 : CheckFailed;
        }));
        return cmd;
    }
}
