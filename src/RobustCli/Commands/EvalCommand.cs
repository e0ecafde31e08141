using System.CommandLine;
using System.Globalization;
using RobustCli.Core.Attacks;
using RobustCli.Core.Tasks;
using RobustCli.Experiments.Config;
using RobustCli.Experiments.Jobs;
using RobustCli.Experiments.Plots;
using RobustCli.Experiments.Runs;
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
            Description = $"autoattack (AutoAttack, see --version) or an attack preset, repeatable: {string.Join(", ", AttackPresets.Examples)}; options after a colon (pgd20:alpha=0.003,restarts=5, autoattack:version=plus). Default: pgd20 for a classifier, obsatk5 for a denoiser.",
            DefaultValueFactory = _ => [],
        };
        var eps = new Option<string?>("--eps") { Description = "Budget in pixel units (8/255 works); default: the run's attack.eps." };
        var n = new Option<int>("--n") { Description = "Evaluate the first N test images (0: all).", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch-size") { Description = "Evaluation batch size.", DefaultValueFactory = _ => 256 };
        var dataset = new Option<string?>("--dataset") { Description = "Dataset name when the checkpoint has no run config beside it." };
        var arch = new Option<string?>("--arch") { Description = "Architecture when the checkpoint has no run config beside it." };
        var normalize = new Option<string?>("--normalize") { Description = "auto (dataset mean/std inside the model) or none; default: the run's, else none." };
        var dataPath = new Option<string?>("--data-path") { Description = "Folder holding the dataset's files." };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N.", DefaultValueFactory = _ => "auto" };
        var output = new Option<FileInfo?>("--out") { Description = "Summary CSV to write (default: eval-<time>.csv in the run folder, else ./); the per-sample table goes beside it as <name>-samples.csv." };
        var norm = new Option<string>("--norm") { Description = "Threat model for autoattack (and presets without a -l2 suffix): linf or l2.", DefaultValueFactory = _ => "linf" };
        var version = new Option<string>("--version") { Description = "AutoAttack version: standard, plus, rand (randomized defenses) or custom (with --component).", DefaultValueFactory = _ => "standard" };
        var components = new Option<string[]>("--component") { Description = "For --version custom: an attack to run inside AutoAttack, repeatable, in order (apgd-ce, apgd-dlr, apgd-t, fab, fab-t, square; options after a colon)." };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the attacks' random draws (per sample, so results do not depend on --batch-size).", DefaultValueFactory = _ => 0UL };
        var saveAdv = new Option<FileInfo?>("--save-adv") { Description = "Write the adversarial examples (x itself where no attack succeeded) as float tensors [N, C, H, W], one per attack, plus labels: .pt (torch.load) or .safetensors." };
        var stateFile = new Option<FileInfo?>("--state") { Description = "Make the evaluation resumable: progress is saved to this file after every batch, and a rerun with the same settings continues from it." };
        var noProgress = new Option<bool>("--no-progress") { Description = "Plain progress lines instead of live bars." };
        var modelOutput = new Option<string?>("--output") { Description = "Evaluate one named output of a model with several: an SoE's expert0, expert1, ... or ensemble (default: its primary output, the selected expert's)." };
        var sigmas = new Option<double[]>("--sigma") { Description = "Denoisers: a noise level in /255 units to measure at, repeatable (default: the run's task.eval_sigmas, else 15 and 25)." };
        var threads = new Option<int?>("--threads") { Description = "CPU threads (default: OMP_NUM_THREADS when set, else every core); 1 per process when several evaluations share a machine." };
        var epsSweep = new Option<string?>("--eps-sweep") { Description = "A robustness curve: evaluate the attacks at each budget of a comma-separated list (0,1/255,2/255,4/255,8/255,16/255) and plot robust accuracy against eps." };
        var stepsSweep = new Option<string?>("--steps-sweep") { Description = "A robustness curve over the attacks' iterations (10,20,50,100): each attack gets steps=K." };
        var restartsSweep = new Option<string?>("--restarts-sweep") { Description = "A robustness curve over the attacks' random restarts (1,2,5,10): each attack gets restarts=R." };
        var shard = new Option<string?>("--shard")
        {
            Description = "Evaluate shard K of N (K/N): a fixed contiguous share of the points, an independent job (per-sample seeds); robust eval merge joins the shards into the evaluation of all.",
        };
        var shardCount = new Option<int?>("--shards") { Description = "With --slurm: the number of shards, one array task each, and their merge as a job after them." };
        var slurm = new SlurmOptions();
        var which = new Option<string>("--which")
        {
            Description = "For a run folder: best (checkpoints/best.pt, chosen by the validation score; the default) or last (last.pt, the model the run's own final evaluation measured).",
            DefaultValueFactory = _ => "best",
        };
        var allowNonFinite = new Option<bool>("--allow-nonfinite") { Description = "Evaluate weights holding NaN or infinite values (a warning in the table and the JSON) instead of refusing them." };
        var transferFrom = new Option<string?>("--transfer-from") { Description = "Transfer evaluation: craft the attacks on this run folder's (or checkpoint's) model, or read adversarial examples saved by --save-adv, and measure how this model answers them." };
        var cmd = new Command("eval", """
            Evaluate a checkpoint: clean accuracy, robust accuracy per attack, and the per-sample worst case over them.
            autoattack runs AutoAttack (standard: APGD-CE, APGD-T, FAB-T, Square, each on the points still robust);
            its table shows the robust accuracy after each of its attacks.

            Examples:
              robust eval --checkpoint runs/quickstart/20261122-101500-1a2b3c --attack pgd20 --attack autoattack --n 1000
              robust eval --checkpoint model.pt --arch preact18 --dataset cifar10 --eps 8/255 --attack autoattack --state aa.json
              robust eval --checkpoint model.pt --arch wrn28-10 --dataset cifar10 --norm l2 --eps 0.5 --attack autoattack
              robust eval --checkpoint runs/soe-fashion/RUN --attack pgd20 --attack soe-adaptive50 --output expert0
              robust eval --checkpoint runs/soe-fashion/RUN --attack pgd20 --transfer-from runs/soe-fashion-baseline/RUN
              robust eval --checkpoint runs/hat-quickstart/RUN --attack obsatk5 --attack gaussian-noise --sigma 15 --sigma 25 --save-adv strips/
              robust eval --checkpoint dncnn_b.pt --arch dncnn --dataset set68 --attack obsatk5
              robust eval --checkpoint runs/quickstart/RUN --attack pgd20 --attack square --eps-sweep 0,1/255,2/255,4/255,8/255,16/255,32/255,64/255 --n 500
              robust eval --checkpoint runs/quickstart/RUN --attack pgd20 --steps-sweep 10,20,50,100 --n 500
              robust eval --checkpoint runs/quickstart/RUN --attack autoattack --n 1000 --shard 2/4 --out aa/shard2.csv
              robust eval merge aa/all.csv aa/shard1.csv aa/shard2.csv aa/shard3.csv aa/shard4.csv
              robust eval --checkpoint runs/cifar/RUN --attack autoattack --slurm --shards 8 --gpus 1 --time 4:00:00 --submit

            A denoiser (a run of task denoise, or --arch dncnn) gets PSNR and SSIM: noise-free, under Gaussian noise of
            each --sigma and under each attack at that level (its observation carries Gaussian noise of sigma minus the
            attack's level: ObsAtk 5 at sigma 25 starts from 20); --save-adv names a folder for PNG strips
            clean | noisy | adversarial | denoised.
            """)
        {
            checkpoint, attacks, eps, n, batch, dataset, arch, normalize, dataPath, device, output, norm, version, components, seed, saveAdv, stateFile, noProgress,
            modelOutput, transferFrom, sigmas, threads, epsSweep, stepsSweep, restartsSweep, shard, shardCount, which, allowNonFinite,
        };
        foreach (var so in slurm.All) cmd.Options.Add(so);
        cmd.Subcommands.Add(MergeCommand());
        cmd.SetAction(parse => Guard.Run(parse.InvocationConfiguration.Error, () =>
        {
            var o = parse.InvocationConfiguration.Output;
            var err = parse.InvocationConfiguration.Error;
            double? e = null;
            if (parse.GetValue(eps) is { } es)
                e = ConfigLoader.ParseNumber(es) ?? throw new ConfigException($"--eps {es}: expected a number such as 0.03 or 8/255");
            var normalization = parse.GetValue(normalize);
            if (normalization is not (null or "auto" or "none")) throw new ConfigException($"--normalize {normalization}: expected auto or none");
            if (parse.GetValue(batch) < 1) throw new ConfigException($"--batch-size {parse.GetValue(batch)}: must be >= 1");
            if (parse.GetValue(threads) is < 0) throw new ConfigException($"--threads {parse.GetValue(threads)}: must be >= 1 (or 0 for every core)");
            JobRuntime.ConfigureThreads(parse.GetValue(threads));
            var task = EvaluationJob.TaskOf(parse.GetValue(checkpoint)!, parse.GetValue(arch), parse.GetValue(which)!);
            var curve = Sweep(parse, epsSweep, stepsSweep, restartsSweep);
            if (curve != null && !task.MeasuresRobustAccuracy)
                throw new ConfigException($"--eps-sweep, --steps-sweep and --restarts-sweep draw a robust accuracy; the {task.Name} task is measured by its own evaluation" +
                                          (task.Levels != null ? $" ({task.Levels})" : ""));
            slurm.CheckUsed(parse);
            if (parse.GetValue(slurm.Slurm)) return WriteSlurm(parse, o, slurm, shardCount, output, checkpoint);
            if (parse.GetValue(shardCount) != null) throw new ConfigException("--shards goes with --slurm (one array task per shard); here, run each with --shard K/N");
            var sharded = parse.GetValue(shard) is { } shardText ? Shard.Parse(shardText) : null;
            if (sharded != null && (parse.GetValue(saveAdv) != null || curve != null))
                throw new ConfigException("--shard: a shard is one share of one evaluation; leave --save-adv and the sweeps out of it");
            var save = parse.GetValue(saveAdv)?.FullName;
            string? saveFolder = null;
            if (save != null && task.MeasuresRobustAccuracy)
            {
                if (!save.EndsWith(".pt", StringComparison.OrdinalIgnoreCase) && !save.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) && !save.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
                    throw new ConfigException($"--save-adv {save}: name a .pt, .pth or .safetensors file");
            }
            else if (save != null)
            {
                // Other tasks save pictures of what they measured, into a folder.
                if (File.Exists(save) || Path.GetExtension(save) is ".pt" or ".pth" or ".safetensors")
                    throw new ConfigException($"--save-adv {save}: a {task.Name} model's evaluation saves pictures; name a folder for them");
                saveFolder = save;
            }
            var named = parse.GetValue(attacks) ?? [];
            EvaluationRequest Request(Action<string, int, int> progress) =>
                new EvaluationRequest(parse.GetValue(checkpoint)!, curve != null && named.Length == 0 ? ["pgd20"] : named, e, parse.GetValue(n), parse.GetValue(batch),
                    parse.GetValue(dataset), parse.GetValue(arch), parse.GetValue(dataPath), parse.GetValue(device)!, normalization)
                {
                    Norm = parse.GetValue(norm)!,
                    Version = parse.GetValue(version)!,
                    Components = parse.GetValue(components) ?? [],
                    Seed = parse.GetValue(seed),
                    StatePath = parse.GetValue(stateFile)?.FullName,
                    KeepAdversarial = save != null && saveFolder == null,
                    SaveFolder = saveFolder,
                    Levels = parse.GetValue(sigmas) is { Length: > 0 } levels ? levels : null,
                    Log = m => o.WriteLine(m),
                    Warn = m => err.WriteLine("warning: " + m),
                    Progress = progress,
                    Output = parse.GetValue(modelOutput),
                    TransferFrom = parse.GetValue(transferFrom),
                    Shard = sharded,
                    Which = parse.GetValue(which)!,
                    AllowNonFinite = parse.GetValue(allowNonFinite),
                };
            EvaluationReport Evaluate(EvaluationRequest req)
            {
                try { return EvaluationJob.Run(req, RepoPaths.Root); }
                catch (InvalidDataException ex) { throw new ConfigException(ex.Message); }
            }
            if (curve is { } sweep)
            {
                if (save != null || parse.GetValue(stateFile) != null) throw new ConfigException("--save-adv and --state evaluate once; leave them out of a robustness curve");
                return Curve(parse, o, sweep.Parameter, sweep.Values, output, checkpoint,
                    ProgressDisplay.RunWithProgress(parse, parse.GetValue(noProgress), o, progress =>
                        RobustnessCurve.Run(Request(progress), sweep.Parameter, sweep.Values, Evaluate, m => o.WriteLine(m))));
            }
            var report = ProgressDisplay.RunWithProgress(parse, parse.GetValue(noProgress), o, progress => Evaluate(Request(progress)));
            var measured = report.Evaluation;
            o.WriteLine($"{report.CheckpointFile}{(report.Which != null ? $" ({report.Which} checkpoint)" : "")}: {report.Arch} on {report.Dataset}, {measured.Count} test images" +
                        (report.Shard != null ? $" (shard {report.Shard}: points {report.FirstIndex}–{report.FirstIndex + measured.Count - 1} of {report.TotalCount})" : "") +
                        (report.IsRobustness ? $", eps {report.Eps:G4}" : "") + (parse.GetValue(transferFrom) is { } from ? $"; transfer: examples from {from}" : ""));
            Print(o, measured);
            var csv = SummaryCsv(parse, output, checkpoint, sharded);
            var settings = new Dictionary<string, object?>
            {
                ["checkpoint"] = report.CheckpointFile, ["which"] = report.Which, ["arch"] = report.Arch, ["dataset"] = report.Dataset, ["eps"] = report.Eps,
                ["attacks"] = named.Length > 0 ? named : task.DefaultAttacks, ["seed"] = parse.GetValue(seed), ["batch_size"] = parse.GetValue(batch),
                ["output"] = parse.GetValue(modelOutput), ["transfer_from"] = parse.GetValue(transferFrom),
                ["utc"] = DateTime.UtcNow.ToString("o"),
            };
            if (report.Shard != null)
            {
                settings["shard"] = report.Shard.ToString();
                settings["first_index"] = report.FirstIndex;
                settings["total_points"] = report.TotalCount;
            }
            var (samples, json) = EvaluationCsv.WriteEvaluation(csv, measured, settings);
            o.WriteLine($"wrote {csv}, {samples} and {json}" + (saveFolder != null ? $"; pictures in {saveFolder}" : ""));
            if (save != null && saveFolder == null)
            {
                EvaluationJob.SaveAdversarial(report, save);
                o.WriteLine($"wrote {save}");
            }
            return 0;
        }));
        return cmd;
    }

    /// <summary>The one sweep asked for, its values parsed (8/255 as papers write it); null when none.</summary>
    private static (CurveParameter Parameter, double[] Values)? Sweep(ParseResult parse, Option<string?> eps, Option<string?> steps, Option<string?> restarts)
    {
        var given = new[] { (CurveParameter.Eps, eps), (CurveParameter.Steps, steps), (CurveParameter.Restarts, restarts) }
            .Where(g => parse.GetValue(g.Item2) != null).ToList();
        if (given.Count == 0) return null;
        if (given.Count > 1) throw new ConfigException($"{string.Join(" and ", given.Select(g => g.Item2.Name))}: one robustness curve at a time");
        var (p, option) = given[0];
        var text = parse.GetValue(option)!;
        var values = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(v => ConfigLoader.ParseNumber(v) is { } x && x >= 0 ? x
                : throw new ConfigException($"{option.Name} {text}: '{v}' is not a non-negative number (write eps as 0.03 or 8/255)")).ToArray();
        if (values.Length == 0) throw new ConfigException($"{option.Name}: give comma-separated values, such as {(p == CurveParameter.Eps ? "0,2/255,4/255,8/255" : "10,20,50,100")}");
        return (p, values);
    }

    /// <summary>Prints the curve as a table and writes its CSV and figure (PNG, SVG) side by side.</summary>
    private static int Curve(ParseResult parse, TextWriter o, CurveParameter p, double[] values, Option<FileInfo?> output, Option<string> checkpoint,
        IReadOnlyList<CurvePoint> points)
    {
        var key = RobustnessCurve.Key(p);
        var csv = parse.GetValue(output)?.FullName ?? Path.Combine(
            Directory.Exists(parse.GetValue(checkpoint)!) ? parse.GetValue(checkpoint)! : Directory.GetCurrentDirectory(),
            $"{key}-sweep-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.csv");
        var attacks = points.Select(pt => pt.Attack).Distinct().ToList();
        var table = new Table().AddColumn(key);
        foreach (var a in attacks) table.AddColumn(new TableColumn(Markup.Escape(a)).RightAligned());
        foreach (var v in values)
            table.AddRow([RobustnessCurve.Format(p, v), .. attacks.Select(a => points.First(pt => pt.Value == v && pt.Attack == a).Accuracy)
                .Select(acc => (100 * acc).ToString("F2", CultureInfo.InvariantCulture) + "%")]);
        RunsCommand.Plain(o).Write(table);
        RobustnessCurve.WriteCsv(csv, p, points);
        var folder = Path.GetDirectoryName(csv)!;
        var figure = RobustnessCurve.Plot(p, points, $"robust accuracy against {key} ({points[0].N} test images)", Path.GetFileNameWithoutExtension(csv));
        var files = figure.Save(folder);
        o.WriteLine($"wrote {csv}, {string.Join(" and ", files)}");
        return 0;
    }


    /// <summary>An evaluation as the task shows it: its table (first column left, the rest right-aligned), the lines under it and the warnings.</summary>
    private static void Print(TextWriter o, TaskEvaluation e)
    {
        var printed = e.Printed ?? e.Summary;
        var table = new Table().AddColumn(Markup.Escape(printed.Columns[0]));
        foreach (var c in printed.Columns.Skip(1)) table.AddColumn(new TableColumn(Markup.Escape(c)).RightAligned());
        foreach (var row in printed.Rows) table.AddRow(row.Select(Markup.Escape).ToArray());
        RunsCommand.Plain(o).Write(table);
        foreach (var line in e.Notes) o.WriteLine(line);
        if (e.Warnings.Count > 0)
        {
            o.WriteLine($"{e.Warnings.Count} warning(s):");
            foreach (var w in e.Warnings) o.WriteLine("  - " + w);
        }
    }

    /// <summary>
    /// robust eval --slurm --shards N: a job array of the N shards of this evaluation (each resumable through its state
    /// file) and the merge after them, written into the --out folder (default: eval-&lt;time&gt;-shards in the run folder).
    /// </summary>
    private static int WriteSlurm(ParseResult parse, TextWriter o, SlurmOptions slurm, Option<int?> shardCount, Option<FileInfo?> output, Option<string> checkpoint)
    {
        var n = parse.GetValue(shardCount) ?? throw new ConfigException("--slurm: give --shards N, the number of array tasks the evaluation is split into");
        if (n < 1) throw new ConfigException($"--shards {n}: must be >= 1");
        if (parse.GetValue<string?>("--shard") != null) throw new ConfigException("--shard picks one shard; with --slurm --shards N every shard is an array task");
        var ckpt = parse.GetValue(checkpoint)!;
        var located = EvaluationJob.Locate(ckpt);
        var dir = parse.GetValue(output)?.FullName ?? Path.Combine(Directory.Exists(ckpt) ? Path.GetFullPath(ckpt) : Directory.GetCurrentDirectory(),
            $"eval-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}-shards");
        // The evaluation's own arguments, paths made absolute (a task runs wherever Slurm starts it); what names the
        // shards, their files and the cluster is the script's.
        string[] scriptOwned = ["--slurm", "--submit", "--shards", "--shard", "--out", "--state", "--no-progress", .. slurm.All.Select(x => x.Name)];
        string[] paths = ["--checkpoint", "--data-path", "--transfer-from"];
        var args = new List<string>();
        var tokens = parse.Tokens.SkipWhile(t => t.Value != "eval").Skip(1).ToList();
        for (var i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i].Value;
            var takesValue = i + 1 < tokens.Count && tokens[i + 1].Type == System.CommandLine.Parsing.TokenType.Argument;
            if (scriptOwned.Contains(t)) { if (takesValue && t is not ("--slurm" or "--submit" or "--no-progress")) i++; continue; }
            args.Add(t);
            if (paths.Contains(t) && takesValue) { args.Add(Path.GetFullPath(tokens[i + 1].Value)); i++; }
        }
        // A run's config.yaml keeps no slurm: section (resources are not part of a run): the flags give them.
        var loadedSettings = ConfigLoader.LoadText("{}", "--slurm flags", slurm.Sets(parse)).Slurm;
        var robust = CliLauncher.Current();
        var name = "eval-" + (located.Config?.Name ?? Path.GetFileNameWithoutExtension(located.File));
        var (array, merge) = SlurmFiles.WriteEvaluation(dir, n, args, loadedSettings, robust, name);
        o.WriteLine($"wrote {array} ({n} shards) and {merge} (all.csv once every shard succeeded)");
        if (!parse.GetValue(slurm.Submit))
        {
            o.WriteLine($"submit: id=$(sbatch --parsable {Shell.Quote(array)}) && sbatch --dependency=afterok:$id {Shell.Quote(merge)}");
            return 0;
        }
        var arrayId = SlurmOptions.Sbatch(array);
        var mergeId = SlurmOptions.Sbatch(merge, "afterok:" + arrayId);
        SlurmFiles.RecordEvaluationJobs(dir, arrayId, mergeId);
        o.WriteLine($"submitted job array {arrayId} and merge job {mergeId}; the result will be {Path.Combine(dir, "all.csv")}");
        return 0;
    }

    /// <summary>robust eval merge OUT SHARDS...: the shards of one evaluation joined into the evaluation of all its points.</summary>
    private static Command MergeCommand()
    {
        var output = new Argument<FileInfo>("out") { Description = "The merged summary CSV to write (NAME-samples.csv and NAME.json go beside it)." };
        var shards = new Argument<FileInfo[]>("shards") { Description = "The shards' summary CSVs (what robust eval --shard K/N --out wrote), in any order.", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("merge", """
            Join the shards of one evaluation (robust eval --shard K/N) into the evaluation of all its points: the same
            summary, per-sample table and JSON an unsharded run writes, sample by sample equal to it. Shards of
            different evaluations, a missing shard or two overlapping ones are refused.

            Example:
              robust eval merge aa/all.csv aa/shard*.csv
            """)
        {
            output, shards,
        };
        cmd.SetAction(parse => Guard.Run(parse.InvocationConfiguration.Error, () =>
        {
            var o = parse.InvocationConfiguration.Output;
            var merged = EvaluationMerge.Merge(parse.GetValue(shards)!.Select(f => f.FullName).ToList());
            var r = merged.Result;
            var csv = parse.GetValue(output)!.FullName;
            if (Path.GetDirectoryName(csv) is { } dir) Directory.CreateDirectory(dir);
            o.WriteLine($"{merged.Settings.GetValueOrDefault("checkpoint")}: {parse.GetValue(shards)!.Length} shards, {r.Count} test images");
            var eps = merged.Settings.TryGetValue("eps", out var e) && e is System.Text.Json.JsonElement je ? je.GetDouble() : double.NaN;
            var evaluation = EvaluationJob.Tabulate(r, [], 0, eps);
            Print(o, evaluation);
            merged.Settings["utc"] = DateTime.UtcNow.ToString("o");
            var (samples, json) = EvaluationCsv.WriteEvaluation(csv, evaluation, merged.Settings);
            o.WriteLine($"wrote {csv}, {samples} and {json}");
            return 0;
        }));
        return cmd;
    }

    /// <summary>--out, else eval-&lt;time&gt;.csv (eval-&lt;time&gt;-shard-K-of-N.csv) in the run folder (or the current folder for a weights file).</summary>
    private static string SummaryCsv(ParseResult parse, Option<FileInfo?> output, Option<string> checkpoint, Shard? shard = null) =>
        parse.GetValue(output)?.FullName ?? Path.Combine(
            Directory.Exists(parse.GetValue(checkpoint)!) ? parse.GetValue(checkpoint)! : Directory.GetCurrentDirectory(),
            $"eval-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}{(shard != null ? $"-shard-{shard.K}-of-{shard.N}" : "")}.csv");
}
