using System.CommandLine;
using RobustCli.Experiments.Jobs;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RobustCli.Core.Models;
using RobustCli.Core.Training;
using RobustCli.Torch;
using RobustCli.Torch.nn;
using RobustCli.Torch.optim;

namespace RobustCli.Commands;

/// <summary>
/// <c>robust bench</c>: the binding's per-call overhead and the images/s of one PGD-10 adversarial-training
/// step, each repeat run beside ../shared/bench/reference_pgd_at.py (PyTorch eager) so both see the same
/// machine, reported as medians and the ratio of medians.
/// </summary>
public static class BenchCommand
{
    public sealed record ModelSpec(string Name, int Batch, long[] Shape, double Eps, Func<Module> Create);

    public static readonly ModelSpec[] Models =
    [
        new("smallcnn", 128, [1, 28, 28], 0.1, () => new SmallCnn()),
        new("preact18", 64, [3, 32, 32], 8.0 / 255, () => new PreActResNet18()),
    ];

    public static Command Create()
    {
        var models = new Option<string[]>("--models") { Description = "Models to time (smallcnn, preact18).", DefaultValueFactory = _ => ["smallcnn", "preact18"], AllowMultipleArgumentsPerToken = true };
        var repeats = new Option<int>("--repeats") { Description = "Timed repeats per model (medians are reported).", DefaultValueFactory = _ => 5 };
        var iters = new Option<int?>("--iters") { Description = "AT steps per repeat (default: 10 for smallcnn, 2 for preact18)." };
        var steps = new Option<int>("--steps") { Description = "PGD attack steps per AT step.", DefaultValueFactory = _ => 10 };
        var threads = new Option<int?>("--threads") { Description = "CPU threads for both sides (default: all cores)." };
        var device = new Option<string>("--device") { Description = "cpu, cuda, cuda:N or auto.", DefaultValueFactory = _ => "cpu" };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the figures as JSON to this file." };
        var reference = new Option<FileInfo?>("--reference") { Description = "Path of reference_pgd_at.py (default: ../shared/bench/ beside the checkout)." };
        var python = new Option<string>("--python") { Description = "Python with PyTorch for the reference.", DefaultValueFactory = _ => "/usr/bin/python3" };
        var noReference = new Option<bool>("--no-reference") { Description = "Time RobustCli alone." };
        var channelsLast = new Option<bool>("--channels-last") { Description = "Store weights and inputs channels_last on both sides (the reference gets CL=1)." };
        var calls = new Option<int>("--overhead-calls") { Description = "Calls timed for the per-call overhead.", DefaultValueFactory = _ => 200_000 };
        var cmd = new Command("bench", """
            Benchmark the tensor binding and a PGD-10 adversarial-training step beside PyTorch eager
            (../shared/bench/reference_pgd_at.py), repeat by repeat; prints medians and their ratio.

            Examples:
              robust bench
              robust bench --models preact18 --repeats 9 --json bench.json
              robust bench --device cuda --channels-last
            """)
        {
            models, repeats, iters, steps, threads, device, json, reference, python, noReference, calls, channelsLast,
        };
        cmd.SetAction(parse =>
        {
            var o = parse.InvocationConfiguration.Output;
            var err = parse.InvocationConfiguration.Error;
            var nThreads = JobRuntime.ConfigureThreads(parse.GetValue(threads));
            var dev = JobRuntime.ResolveDevice(parse.GetValue(device)!);
            var selected = new List<ModelSpec>();
            foreach (var name in parse.GetValue(models)!.SelectMany(m => m.Split(',', StringSplitOptions.RemoveEmptyEntries)))
            {
                var spec = Models.FirstOrDefault(m => m.Name == name);
                if (spec == null)
                {
                    err.WriteLine($"error: unknown model '{name}'; expected one of: {string.Join(", ", Models.Select(m => m.Name))}");
                    return 2;
                }
                selected.Add(spec);
            }
            string? refScript = null;
            if (!parse.GetValue(noReference))
            {
                refScript = parse.GetValue(reference)?.FullName ?? RepoPaths.ReferenceBenchmarkCandidates().FirstOrDefault(File.Exists);
                if (refScript == null || !File.Exists(refScript))
                {
                    err.WriteLine("error: reference_pgd_at.py not found; searched: " + string.Join(", ", RepoPaths.ReferenceBenchmarkCandidates()) +
                                  ". Pass --reference PATH, or --no-reference to time RobustCli alone.");
                    return 2;
                }
            }
            var runner = new Runner(parse.GetValue(python)!, refScript, nThreads, dev, parse.GetValue(channelsLast), o);
            o.WriteLine($"RobustCli bench: libtorch {torch.LibTorchVersion}, device {dev}, {nThreads} threads, {Environment.ProcessorCount} cores, {parse.GetValue(repeats)} repeats (medians)");
            var report = new Dictionary<string, object?>
            {
                ["machine"] = new Dictionary<string, object?> { ["cores"] = Environment.ProcessorCount, ["threads"] = nThreads, ["device"] = dev.ToString(), ["libtorch"] = torch.LibTorchVersion, ["channels_last"] = parse.GetValue(channelsLast) },
                ["overhead"] = runner.Overhead(parse.GetValue(calls)),
            };
            var results = new Dictionary<string, object?>();
            foreach (var spec in selected)
                results[spec.Name] = runner.Throughput(spec, parse.GetValue(steps), parse.GetValue(iters) ?? (spec.Name == "smallcnn" ? 10 : 2), parse.GetValue(repeats));
            report["models"] = results;
            if (parse.GetValue(json) is { } file)
            {
                File.WriteAllText(file.FullName, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
                o.WriteLine($"wrote {file.FullName}");
            }
            return 0;
        });
        return cmd;
    }

    private sealed class Runner(string python, string? refScript, int threads, Device device, bool channelsLast, TextWriter o)
    {
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

        public Dictionary<string, object?> Throughput(ModelSpec spec, int steps, int iters, int repeats)
        {
            torch.ManualSeed(0);
            using var model = spec.Create();
            model.To(device);
            using var opt = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9, weightDecay: 5e-4);
            using var scope = DisposeScope.Open();
            var x = torch.Rand([spec.Batch, .. spec.Shape], device: device);
            if (channelsLast)
            {
                model.ToMemoryFormat(MemoryFormat.ChannelsLast);
                x = x.Contiguous(MemoryFormat.ChannelsLast);
            }
            var y = torch.RandInt(0, 10, [spec.Batch], device: device);
            var step = new PgdAdversarialStep(model, opt, spec.Eps, 2.5 * spec.Eps / Math.Max(steps, 1), steps);
            using (DisposeScope.Open()) step.Run(x, y); // warm-up
            var ours = new List<double>();
            var theirs = new List<double>();
            for (var r = 0; r < repeats; r++)
            {
                var sw = Stopwatch.StartNew();
                for (var i = 0; i < iters; i++)
                {
                    using var s = DisposeScope.Open();
                    step.Run(x, y);
                }
                if (device.IsCuda) torch.Cuda.Synchronize();
                ours.Add(spec.Batch * iters / sw.Elapsed.TotalSeconds);
                if (refScript != null) theirs.Add(ReferenceImagesPerSecond(spec, steps, iters));
                o.WriteLine($"  {spec.Name} repeat {r + 1}/{repeats}: RobustCli {ours[^1]:F1} img/s" + (refScript != null ? $", PyTorch {theirs[^1]:F1} img/s" : ""));
            }
            var mOurs = Median(ours);
            var result = new Dictionary<string, object?>
            {
                ["batch"] = spec.Batch, ["pgd_steps"] = steps, ["iters_per_repeat"] = iters,
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
            o.WriteLine(line);
            return result;
        }

        private double ReferenceImagesPerSecond(ModelSpec spec, int steps, int iters)
        {
            var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { refScript!, spec.Name, spec.Batch.ToString(CultureInfo.InvariantCulture), steps.ToString(CultureInfo.InvariantCulture), iters.ToString(CultureInfo.InvariantCulture) })
                psi.ArgumentList.Add(a);
            psi.Environment["THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
            psi.Environment["DEVICE"] = device.IsCuda ? "cuda" : "cpu";
            if (channelsLast) psi.Environment["CL"] = "1";
            using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {python}");
            var stdout = p.StandardOutput.ReadToEnd();
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            var field = stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(f => f.StartsWith("images/s=", StringComparison.Ordinal));
            if (p.ExitCode != 0 || field == null)
                throw new InvalidOperationException($"the reference benchmark failed (exit {p.ExitCode}): {stderr.Trim()} {stdout.Trim()}");
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
    }

    internal static double Median(IReadOnlyList<double> v)
    {
        var s = v.OrderBy(x => x).ToArray();
        return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
