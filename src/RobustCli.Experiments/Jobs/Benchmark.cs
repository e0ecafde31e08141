using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Models;
using RobustCli.Core.Training;
using RobustCli.Torch;
using RobustCli.Torch.nn;
using RobustCli.Torch.optim;

namespace RobustCli.Experiments.Jobs;

/// <summary>
/// The benchmark harness behind <c>robust bench</c>: the binding's per-call overhead, the images/s of the registered
/// pgd-at method in the real training loop, and an end-to-end epoch of the quickstart's recipe, each repeat run beside
/// PyTorch eager (../shared/bench/reference_pgd_at.py, scripts/bench/reference_train_epoch.py) so both see the same
/// machine, reported as medians and the ratio of medians.
/// </summary>
public sealed class Benchmark(string python, string? refScript, int threads, Device device, bool channelsLast, TextWriter o, string? repoRoot)
{
    /// <summary>A model the throughput is measured on: its batch, input shape and budget.</summary>
    /// <summary>
    /// tools/TorchSharpPeer's TorchSharpPeer.dll: the same PGD-AT step written directly in TorchSharp, run beside
    /// each repeat like the Python reference (models it does not have are skipped). Null: not run.
    /// </summary>
    public string? TorchSharpPeer { get; init; }

    public sealed record ModelSpec(string Name, int Batch, long[] Shape, double Eps, Func<Module> Create);

    public static readonly ModelSpec[] Models =
    [
        new("smallcnn", 128, [1, 28, 28], 0.1, () => new SmallCnn()),
        new("preact18", 64, [3, 32, 32], 8.0 / 255, () => new PreActResNet18()),
    ];

    /// <summary>The figures as indented JSON, written atomically.</summary>
    public static void WriteJson(string path, IReadOnlyDictionary<string, object?> report) =>
        RobustCli.Torch.Serialization.AtomicFile.WriteText(path, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));

    public Dictionary<string, object?> Overhead(int calls)
    {
        using var scope = DisposeScope.Open();
        var x = torch.Zeros([1]);
        for (var i = 0; i < 10_000; i++) x.Add_(1);
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < calls; i++) x.Add_(1);
        var opNs = sw.Elapsed.TotalNanoseconds / calls;
        sw.Restart();
        long sink = 0;
        for (var i = 0; i < calls; i++) sink += x.NumEl;
        var crossNs = sw.Elapsed.TotalNanoseconds / calls;
        var result = new Dictionary<string, object?> { ["robustcli_add_inplace_ns"] = Math.Round(opNs, 1), ["robustcli_numel_ns"] = Math.Round(crossNs, 1) };
        var line = $"per-call overhead: x.Add_(1) on a 1-element tensor {opNs:F0} ns; a bare crossing (NumEl) {crossNs:F0} ns";
        if (refScript != null)
        {
            var py = RunPython($"import torch,timeit; torch.set_num_threads({threads}); x=torch.zeros(1); [x.add_(1) for _ in range(10000)]; print(timeit.timeit(lambda: x.add_(1), number={calls})/{calls}*1e9)");
            if (double.TryParse(py.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var pyNs))
            {
                result["pytorch_add_inplace_ns"] = Math.Round(pyNs, 1);
                line += $"; PyTorch x.add_(1) {pyNs:F0} ns";
            }
        }
        GC.KeepAlive(sink);
        o.WriteLine(line);
        return result;
    }

    /// <summary>
    /// Images/s of the registered pgd-at method run by the real training loop (the code `robust train` runs) over
    /// batch * iters synthetic images held in memory, without the clean-accuracy pass (the reference has none).
    /// </summary>
    public Dictionary<string, object?> Throughput(ModelSpec spec, int steps, int iters, int repeats)
    {
        torch.ManualSeed(0);
        using var model = spec.Create();
        model.To(device);
        if (channelsLast) model.ToMemoryFormat(MemoryFormat.ChannelsLast);
        using var opt = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9, weightDecay: 5e-4);
        var data = Synthetic(spec, spec.Batch * iters);
        var warm = Synthetic(spec, spec.Batch);
        var eps = spec.Eps;
        var ours = new List<double>();
        var theirs = new List<double>();
        var plain = new List<double>();
        var peer = TorchSharpPeer;
        LoopImagesPerSecond(model, opt, warm, spec.Batch, steps, eps, 0, logClean: false); // warm-up
        for (var r = 0; r < repeats; r++)
        {
            ours.Add(LoopImagesPerSecond(model, opt, data, spec.Batch, steps, eps, r + 1, logClean: false));
            if (refScript != null) theirs.Add(ReferenceImagesPerSecond(spec, steps, iters));
            if (peer != null && PeerImagesPerSecond(peer, spec, steps, iters) is { } p) plain.Add(p);
            else peer = null;
            o.WriteLine($"  {spec.Name} repeat {r + 1}/{repeats}: RobustCli {ours[^1]:F1} img/s" + (refScript != null ? $", PyTorch {theirs[^1]:F1} img/s" : "") +
                        (peer != null ? $", plain TorchSharp {plain[^1]:F1} img/s" : ""));
        }
        var mOurs = Median(ours);
        var result = new Dictionary<string, object?>
        {
            ["batch"] = spec.Batch, ["pgd_steps"] = steps, ["iters_per_repeat"] = iters, ["method"] = "pgd-at (registered), training loop",
            ["robustcli_images_per_s"] = Math.Round(mOurs, 2), ["robustcli_runs"] = ours.Select(v => Math.Round(v, 2)).ToArray(),
        };
        var line = $"{spec.Name} (batch {spec.Batch}, PGD-{steps} AT step): RobustCli {mOurs:F1} img/s";
        if (theirs.Count > 0)
        {
            var mTheirs = Median(theirs);
            result["pytorch_images_per_s"] = Math.Round(mTheirs, 2);
            result["pytorch_runs"] = theirs.Select(v => Math.Round(v, 2)).ToArray();
            result["ratio"] = Math.Round(mOurs / mTheirs, 3);
            line += $", PyTorch eager {mTheirs:F1} img/s, ratio {mOurs / mTheirs:F2}";
        }
        if (peer != null && plain.Count > 0)
        {
            var mPlain = Median(plain);
            result["torchsharp_plain_images_per_s"] = Math.Round(mPlain, 2);
            result["torchsharp_plain_runs"] = plain.Select(v => Math.Round(v, 2)).ToArray();
            result["ratio_to_torchsharp_plain"] = Math.Round(mOurs / mPlain, 3);
            line += $", plain TorchSharp {mPlain:F1} img/s, ratio {mOurs / mPlain:F2}";
        }
        o.WriteLine(line);
        return result;
    }

    /// <summary>
    /// One epoch of the quickstart's recipe (SmallCNN, Fashion-MNIST's first n training images, PGD-K at eps 0.1,
    /// Adam 1e-3, batch 128) through the training loop, end to end: batches built from the uint8 images, the
    /// method, the optimizer step and the per-batch metrics; with and without the clean-accuracy pass, each beside
    /// the PyTorch script doing the same.
    /// </summary>
    public Dictionary<string, object?>? Epoch(int n, int steps, int repeats, string? script)
    {
        ImageDataset full;
        try { full = DatasetCatalog.Load("fashion-mnist", train: true, repoRoot: repoRoot); }
        catch (DatasetNotFoundException) { o.WriteLine("epoch: Fashion-MNIST not found (apt-get install dataset-fashion-mnist); skipped"); return null; }
        var data = full.Take(n);
        // The reference reads the IDX files from the folder they were found in (not a subfolder of it).
        var folder = DatasetCatalog.SearchFolders("fashion-mnist", null, repoRoot)
            .FirstOrDefault(f => File.Exists(Path.Combine(f, "train-labels-idx1-ubyte.gz")) || File.Exists(Path.Combine(f, "train-labels-idx1-ubyte")));
        if (folder == null) script = null;
        var result = new Dictionary<string, object?> { ["images"] = data.Count, ["pgd_steps"] = steps, ["batch"] = 128 };
        foreach (var logClean in new[] { true, false })
        {
            var ours = new List<double>();
            var theirs = new List<double>();
            for (var r = 0; r < repeats; r++)
            {
                torch.ManualSeed(0);
                using var model = new SmallCnn();
                model.To(device);
                using var opt = new Adam(model.Parameters(), 1e-3);
                ours.Add(LoopImagesPerSecond(model, opt, data, 128, steps, 0.1, r, logClean));
                if (script != null && File.Exists(script)) theirs.Add(ReferenceEpoch(script, folder!, data.Count, steps, logClean));
            }
            var key = logClean ? "with_clean_accuracy" : "without_clean_accuracy";
            var entry = new Dictionary<string, object?> { ["robustcli_images_per_s"] = Math.Round(Median(ours), 2), ["robustcli_runs"] = ours.Select(v => Math.Round(v, 2)).ToArray() };
            var line = $"epoch of {data.Count} Fashion-MNIST images (PGD-{steps}, train.log_clean_accuracy={logClean.ToString().ToLowerInvariant()}): RobustCli {Median(ours):F1} img/s";
            if (theirs.Count > 0)
            {
                entry["pytorch_images_per_s"] = Math.Round(Median(theirs), 2);
                entry["pytorch_runs"] = theirs.Select(v => Math.Round(v, 2)).ToArray();
                entry["ratio"] = Math.Round(Median(ours) / Median(theirs), 3);
                line += $", PyTorch eager {Median(theirs):F1} img/s, ratio {Median(ours) / Median(theirs):F2}";
            }
            result[key] = entry;
            o.WriteLine(line);
        }
        return result;
    }

    private double LoopImagesPerSecond(Module model, Optimizer opt, ImageDataset data, int batch, int steps, double eps, int epoch, bool logClean)
    {
        var registration = Methods.Registry.Get("pgd-at");
        var method = registration.Create(new MethodBuild(registration.Options.Defaults,
            new AttackSettings(Norm.Linf, eps, 2.5 * eps / Math.Max(steps, 1), steps, RandomStart.Uniform), 0, 0, _ => throw new NotSupportedException()));
        var loader = new DataLoader(data, batch, shuffle: true, seed: 0, device: device);
        var loop = new TrainingLoop(model, new OptimizationStep(opt), new ConstantSchedule(opt.LearningRate), false, method, loader, 10,
            null, null, null, null, 0) { LogCleanAccuracy = logClean };
        var observer = new LastEpoch();
        var sw = Stopwatch.StartNew();
        loop.Run(epoch, epoch + 1, observer);
        if (device.IsCuda) torch.Cuda.Synchronize();
        return data.Count / sw.Elapsed.TotalSeconds;
    }

    private sealed class LastEpoch : ITrainingObserver
    {
        public void OnEpochEnd(int epoch, EpochMetrics metrics) { }
    }

    private static ImageDataset Synthetic(ModelSpec spec, int n)
    {
        var rng = new Random(0);
        var pixels = new byte[(long)n * spec.Shape.Aggregate(1L, (a, b) => a * b)];
        rng.NextBytes(pixels);
        return new ImageDataset("synthetic", pixels, Enumerable.Range(0, n).Select(_ => (long)rng.Next(10)).ToArray(),
            (int)spec.Shape[0], (int)spec.Shape[1], (int)spec.Shape[2], 10);
    }

    private double ReferenceEpoch(string script, string folder, int n, int steps, bool logClean) =>
        ReferenceRun("the reference epoch", [script, folder, n.ToString(CultureInfo.InvariantCulture), steps.ToString(CultureInfo.InvariantCulture)],
            new() { ["LOG_CLEAN"] = logClean ? "1" : "0" });

    private double ReferenceImagesPerSecond(ModelSpec spec, int steps, int iters)
    {
        var env = new Dictionary<string, string> { ["DEVICE"] = device.IsCuda ? "cuda" : "cpu" };
        if (channelsLast) env["CL"] = "1";
        return ReferenceRun("the reference benchmark", [refScript!, spec.Name, spec.Batch.ToString(CultureInfo.InvariantCulture),
            steps.ToString(CultureInfo.InvariantCulture), iters.ToString(CultureInfo.InvariantCulture)], env);
    }

    /// <summary>The plain TorchSharp step's images/s, or null when the peer has no such model (it exits 3).</summary>
    private double? PeerImagesPerSecond(string peer, ModelSpec spec, int steps, int iters)
    {
        // The plain loop is the CPU recipe in the default layout: nothing to compare a CUDA or channels-last run with.
        if (device.IsCuda || channelsLast) return null;
        // The same glibc malloc setting our side runs with (JobRuntime.ConfigureThreads): without it the plain loop
        // page-faults its activations in afresh every step (about 20% slower here), which is not the binding's doing.
        // Exit 3: the peer has no such model.
        return ImagesPerSecond("dotnet", "tools/TorchSharpPeer",
            [peer, "bench", spec.Name, spec.Batch.ToString(CultureInfo.InvariantCulture), steps.ToString(CultureInfo.InvariantCulture), iters.ToString(CultureInfo.InvariantCulture)],
            new() { ["RETAIN_CPU_ALLOCATIONS"] = "1" }, skipExitCode: 3);
    }

    /// <summary>Runs a reference script with the bench's thread count; its "images/s=" field.</summary>
    private double ReferenceRun(string what, string[] args, Dictionary<string, string> env) => ImagesPerSecond(python, what, args, env)!.Value;

    /// <summary>
    /// Runs a reference program with the bench's thread count and returns the "images/s=" field of its output; null
    /// when it exits with <paramref name="skipExitCode"/> (it has nothing to time).
    /// </summary>
    private double? ImagesPerSecond(string program, string what, string[] args, Dictionary<string, string> env, int? skipExitCode = null)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {program} for {what}");
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode == skipExitCode) return null;
        var field = stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(f => f.StartsWith("images/s=", StringComparison.Ordinal));
        if (p.ExitCode != 0 || field == null)
            throw new InvalidOperationException($"{what} failed (exit {p.ExitCode}): {stderr.Result.Trim()} {stdout.Trim()}");
        return double.Parse(field["images/s=".Length..], CultureInfo.InvariantCulture);
    }

    private string RunPython(string code)
    {
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(code);
        using var p = Process.Start(psi)!;
        var s = p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? s : "";
    }

    public static double Median(IReadOnlyList<double> v)
    {
        var s = v.OrderBy(x => x).ToArray();
        return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
