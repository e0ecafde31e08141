using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

// Usage:
//   TorchSharpPeer bench MODEL BATCH STEPS ITERS        images/s of PGD-k adversarial-training steps (THREADS env)
//   TorchSharpPeer save SEED WEIGHTS.dat INPUT LOGITS    a seeded SmallCNN saved with Module.save, a batch and its logits
//   TorchSharpPeer logits WEIGHTS.dat INPUT LOGITS       a SmallCNN loaded with Module.load: the logits of INPUT
// INPUT and LOGITS are raw little-endian float32 files ([8, 1, 28, 28] and [8, 10]).
// RETAIN_CPU_ALLOCATIONS=1 applies the glibc malloc setting RobustCli's training makes (torch.RetainCpuAllocations:
// mmap threshold 32 MiB, no trimming), to separate its effect from the binding's in a comparison.
if (Environment.GetEnvironmentVariable("RETAIN_CPU_ALLOCATIONS") == "1" && OperatingSystem.IsLinux())
{
    Peer.Mallopt(-3, 32 << 20);
    Peer.Mallopt(-1, int.MaxValue);
}
torch.set_num_threads(int.Parse(Environment.GetEnvironmentVariable("THREADS") ?? Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));
try
{
    return args.FirstOrDefault() switch
    {
        "bench" when args.Length == 5 => Peer.Bench(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture)),
        "save" when args.Length == 5 => Peer.Save(long.Parse(args[1], CultureInfo.InvariantCulture), args[2], args[3], args[4]),
        "logits" when args.Length == 4 => Peer.Logits(args[1], args[2], args[3]),
        _ => Peer.Usage(),
    };
}
catch (Exception e) when (e is IOException or ArgumentException or FormatException)
{
    Console.Error.WriteLine($"TorchSharpPeer: {e.Message}");
    return 1;
}

/// <summary>The small CNN of TRADES/FAT, with the submodule names RobustCli's smallcnn and PyTorch's use.</summary>
internal sealed class SmallCnn : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d c1, c2, c3, c4;
    private readonly Linear f1, f2, f3;

    public SmallCnn() : base("SmallCNN")
    {
        c1 = nn.Conv2d(1, 32, 3);
        c2 = nn.Conv2d(32, 32, 3);
        c3 = nn.Conv2d(32, 64, 3);
        c4 = nn.Conv2d(64, 64, 3);
        f1 = nn.Linear(64 * 4 * 4, 200);
        f2 = nn.Linear(200, 200);
        f3 = nn.Linear(200, 10);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = F.max_pool2d(F.relu(c2.call(F.relu(c1.call(x)))), 2);
        h = F.max_pool2d(F.relu(c4.call(F.relu(c3.call(h)))), 2);
        h = h.flatten(1);
        return f3.call(F.relu(f2.call(F.relu(f1.call(h))))).MoveToOuterDisposeScope();
    }
}

internal static partial class Peer
{
    [LibraryImport("libc", EntryPoint = "mallopt")]
    internal static partial int Mallopt(int param, int value);

    public static int Usage()
    {
        Console.Error.WriteLine("usage: TorchSharpPeer bench MODEL BATCH STEPS ITERS | save SEED WEIGHTS.dat INPUT LOGITS | logits WEIGHTS.dat INPUT LOGITS");
        return 2;
    }

    /// <summary>The step of ../shared/bench/reference_pgd_at.py, in TorchSharp: PGD-k from a uniform start, then one SGD step.</summary>
    public static int Bench(string model, int batch, int steps, int iters)
    {
        if (model != "smallcnn")
        {
            Console.Error.WriteLine($"TorchSharpPeer: no {model} here (smallcnn only)");
            return 3;
        }
        torch.manual_seed(0);
        using var net = new SmallCnn();
        const double eps = 0.1;
        var alpha = 2.5 * eps / Math.Max(steps, 1);
        using var x = torch.rand(batch, 1, 28, 28);
        using var y = torch.randint(0, 10, [batch]);
        using var opt = torch.optim.SGD(net.parameters(), 0.01, momentum: 0.9, weight_decay: 5e-4);
        void Step()
        {
            using var scope = torch.NewDisposeScope();
            net.eval();
            var delta = (torch.rand_like(x) * 2 - 1) * eps;
            for (var k = 0; k < steps; k++)
            {
                delta.requires_grad_(true);
                var loss = F.cross_entropy(net.call((x + delta).clamp(0, 1)), y);
                var g = torch.autograd.grad([loss], [delta])[0];
                delta = (delta.detach() + alpha * g.sign()).clamp(-eps, eps);
            }
            net.train();
            var trainLoss = F.cross_entropy(net.call((x + delta).clamp(0, 1)), y);
            opt.zero_grad();
            trainLoss.backward();
            opt.step();
        }
        Step(); // warm-up, as the Python reference does
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < iters; i++) Step();
        var dt = sw.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{model} bs={batch} pgd{steps} device=cpu engine=torchsharp-plain threads={torch.get_num_threads()} images/s={batch * iters / dt:F1}"));
        return 0;
    }

    public static int Save(long seed, string weights, string input, string logits)
    {
        torch.manual_seed(seed);
        using var net = new SmallCnn();
        net.save(weights);
        using var x = torch.rand(8, 1, 28, 28);
        WriteFloats(input, x);
        net.eval();
        using (torch.no_grad())
        using (var y = net.call(x))
            WriteFloats(logits, y);
        return 0;
    }

    public static int Logits(string weights, string input, string logits)
    {
        using var net = new SmallCnn();
        net.load(weights);
        net.eval();
        using var x = ReadFloats(input, [8, 1, 28, 28]);
        using (torch.no_grad())
        using (var y = net.call(x))
            WriteFloats(logits, y);
        return 0;
    }

    private static void WriteFloats(string path, Tensor t)
    {
        using var c = t.contiguous();
        File.WriteAllBytes(path, MemoryMarshal.AsBytes(c.data<float>().ToArray().AsSpan()).ToArray());
    }

    private static Tensor ReadFloats(string path, long[] shape)
    {
        var bytes = File.ReadAllBytes(path);
        var values = MemoryMarshal.Cast<byte, float>(bytes).ToArray();
        return torch.tensor(values, shape);
    }
}
