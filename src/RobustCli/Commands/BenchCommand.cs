using System.CommandLine;
using RobustCli.Experiments.Jobs;
using RobustCli.Torch;

namespace RobustCli.Commands;

/// <summary>
/// <c>robust bench</c> (the harness is <see cref="Benchmark"/>): the binding's per-call overhead, the images/s of the registered pgd-at method in the real
/// training loop, and an end-to-end epoch of the quickstart's recipe, each repeat run beside PyTorch eager
/// (../shared/bench/reference_pgd_at.py, scripts/bench/reference_train_epoch.py) so both see the same machine,
/// reported as medians and the ratio of medians.
/// </summary>
public static class BenchCommand
{
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
        var python = new Option<string>("--python") { Description = "Python with PyTorch for the reference.", DefaultValueFactory = _ => OperatingSystem.IsWindows() ? "python" : "/usr/bin/python3" };
        var peer = new Option<FileInfo?>("--torchsharp-peer") { Description = "tools/TorchSharpPeer's TorchSharpPeer.dll: the same step in plain TorchSharp, timed beside each repeat (default: its build in the checkout, when there is one)." };
        var noPeer = new Option<bool>("--no-torchsharp-peer") { Description = "Do not time the plain TorchSharp step." };
        var noReference = new Option<bool>("--no-reference") { Description = "Time RobustCli alone." };
        var channelsLast = new Option<bool>("--channels-last") { Description = "Store weights and inputs channels_last on both sides (the reference gets CL=1)." };
        var calls = new Option<int>("--overhead-calls") { Description = "Calls timed for the per-call overhead.", DefaultValueFactory = _ => 200_000 };
        var epochImages = new Option<int>("--epoch-images") { Description = "Fashion-MNIST training images for the end-to-end epoch figure (0: skip it).", DefaultValueFactory = _ => 2560 };
        var epochReference = new Option<FileInfo?>("--epoch-reference") { Description = "Path of reference_train_epoch.py (default: scripts/bench/ in the checkout)." };
        var cmd = new Command("bench", """
            Benchmark the tensor binding, the registered pgd-at method through the real training loop (synthetic data in
            memory, no clean-accuracy pass) beside PyTorch eager (../shared/bench/reference_pgd_at.py) and the same step
            in plain TorchSharp (tools/TorchSharpPeer, smallcnn), and one
            end-to-end epoch of the quickstart's recipe on Fashion-MNIST (data loading, metrics, with and without the
            clean-accuracy pass) beside scripts/bench/reference_train_epoch.py; repeat by repeat, medians and ratios.

            Examples:
              robust bench
              robust bench --models preact18 --repeats 9 --json bench.json
              robust bench --device cuda --channels-last
            """)
        {
            models, repeats, iters, steps, threads, device, json, reference, python, noReference, peer, noPeer, calls, channelsLast, epochImages, epochReference,
        };
        cmd.SetAction(parse => Guard.Run(parse.InvocationConfiguration.Error, () =>
        {
            var o = parse.InvocationConfiguration.Output;
            var err = parse.InvocationConfiguration.Error;
            var nThreads = JobRuntime.ConfigureThreads(parse.GetValue(threads));
            var dev = JobRuntime.ResolveDevice(parse.GetValue(device)!);
            var selected = new List<Benchmark.ModelSpec>();
            foreach (var name in parse.GetValue(models)!.SelectMany(m => m.Split(',', StringSplitOptions.RemoveEmptyEntries)))
            {
                var spec = Benchmark.Models.FirstOrDefault(m => m.Name == name);
                if (spec == null)
                {
                    err.WriteLine($"error: unknown model '{name}'; expected one of: {string.Join(", ", Benchmark.Models.Select(m => m.Name))}");
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
            string? peerDll = null;
            if (!parse.GetValue(noPeer) && !parse.GetValue(noReference))
            {
                peerDll = parse.GetValue(peer)?.FullName ?? RepoPaths.TorchSharpPeerCandidates().Where(File.Exists).OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault();
                if (parse.GetValue(peer) is { } given && !given.Exists)
                {
                    err.WriteLine($"error: --torchsharp-peer {given.FullName}: no such file; build it with `dotnet build tools/TorchSharpPeer -c Release`");
                    return 2;
                }
            }
            var runner = new Benchmark(parse.GetValue(python)!, refScript, nThreads, dev, parse.GetValue(channelsLast), o, RepoPaths.Root) { TorchSharpPeer = peerDll };
            o.WriteLine($"RobustCli bench: {torch.EngineDescription}, device {dev}, {nThreads} threads, {Environment.ProcessorCount} cores, {parse.GetValue(repeats)} repeats (medians)");
            var report = new Dictionary<string, object?>
            {
                ["machine"] = new Dictionary<string, object?> { ["cores"] = Environment.ProcessorCount, ["threads"] = nThreads, ["device"] = dev.ToString(), ["libtorch"] = torch.LibTorchVersion, ["engine"] = torch.Engine, ["channels_last"] = parse.GetValue(channelsLast) },
                ["overhead"] = runner.Overhead(parse.GetValue(calls)),
            };
            var results = new Dictionary<string, object?>();
            foreach (var spec in selected)
                results[spec.Name] = runner.Throughput(spec, parse.GetValue(steps), parse.GetValue(iters) ?? (spec.Name == "smallcnn" ? 10 : 2), parse.GetValue(repeats));
            report["models"] = results;
            if (parse.GetValue(epochImages) > 0)
            {
                var epochScript = parse.GetValue(noReference) ? null
                    : parse.GetValue(epochReference)?.FullName ?? (RepoPaths.Root is { } root ? Path.Combine(root, "scripts", "bench", "reference_train_epoch.py") : null);
                report["epoch"] = runner.Epoch(parse.GetValue(epochImages), parse.GetValue(steps), parse.GetValue(repeats), epochScript);
            }
            if (parse.GetValue(json) is { } file)
            {
                Benchmark.WriteJson(file.FullName, report);
                o.WriteLine($"wrote {file.FullName}");
            }
            return 0;
        }));
        return cmd;
    }
}
