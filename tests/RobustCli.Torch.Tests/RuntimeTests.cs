using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Torch.Tests;

/// <summary>Errors, memory, scopes, dtypes and the runtime switches.</summary>
public sealed class RuntimeTests
{
    [Fact]
    public void ShapeMismatchIsAnExceptionWithLibtorchsMessageAndTheProcessGoesOn()
    {
        using var scope = DisposeScope.Open();
        var a = torch.Ones(2, 3);
        var b = torch.Ones(4, 5);
        var ex = Assert.Throws<TorchException>(() => a.Mm(b));
        Assert.Contains("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)", ex.Message);
        Assert.DoesNotContain("frame #", ex.Message); // the short message, no C++ backtrace
        var conv = Assert.Throws<TorchException>(() => F.Conv2d(torch.Ones(1, 3, 8, 8), torch.Ones(4, 2, 3, 3)));
        Assert.Contains("expected input[1, 3, 8, 8] to have 2 channels", conv.Message);
        Assert.Throws<TorchException>(() => a.View(5));
        Assert.Throws<ArgumentException>(() => F.Conv2d(torch.Ones(1, 3, 8, 8), torch.Ones(4, 3, 3, 3), stride: [1, 1, 1]));
        Assert.Throws<TorchException>(() => a + b);
        // The next call works and sees no stale error.
        Assert.Equal(6.0, a.Sum().Item());
        Assert.Equal(new long[] { 2, 5 }, a.Mm(torch.Ones(3, 5)).Shape);
    }

    [Fact]
    public void ErrorsStayOnTheirThread()
    {
        using var scope = DisposeScope.Open();
        var a = torch.Ones(2, 3);
        string? otherThreadMessage = null;
        var t = new Thread(() =>
        {
            using var s = DisposeScope.Open();
            try { a.View(7); } catch (TorchException e) { otherThreadMessage = e.Message; }
        });
        t.Start();
        t.Join();
        Assert.Contains("invalid for input of size 6", otherThreadMessage);
        Assert.Equal(new long[] { 2 }, a.Sum(1).Shape); // this thread's next call is unaffected
    }

    [Fact]
    public void DisposedTensorThrowsInsteadOfCrashing()
    {
        var t = torch.Ones(2);
        t.Dispose();
        Assert.True(t.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => t.Sum());
        t.Dispose(); // twice is harmless
    }

    [Fact]
    public void ScopeFreesWhatItOwnsExceptMovedAndDetached()
    {
        var liveBefore = Tensor.NativeLiveCount;
        Tensor kept, moved, inner;
        using (var outer = DisposeScope.Open())
        {
            using (DisposeScope.Open())
            {
                inner = torch.Ones(3);
                moved = (inner * 2).MoveToOuterScope();
                kept = torch.Zeros(2).DetachFromScope();
                Assert.Equal(1, DisposeScope.Current!.OwnedCount);
            }
            Assert.True(inner.IsDisposed);
            Assert.False(moved.IsDisposed);
            Assert.Equal(1, outer.OwnedCount);
        }
        Assert.True(moved.IsDisposed);
        Assert.False(kept.IsDisposed);
        kept.Dispose();
        Assert.Equal(liveBefore, Tensor.NativeLiveCount);
        Assert.Null(DisposeScope.Current);
    }

    [Fact]
    public void DisposeEverythingButKeepsTheNamedTensors()
    {
        using var scope = DisposeScope.Open();
        var a = torch.Ones(2);
        var b = torch.Ones(2);
        scope.DisposeEverythingBut(b);
        Assert.True(a.IsDisposed);
        Assert.False(b.IsDisposed);
        Assert.Equal(1, scope.OwnedCount);
    }

    [Fact]
    public void HundredThousandSmallOpsInScopesLeaveMemoryAndLiveCountsFlat()
    {
        using var x = torch.Rand(16).DetachFromScope();
        void Loop(int n)
        {
            for (var i = 0; i < n; i++)
            {
                using var s = DisposeScope.Open();
                var y = (x * 2 + 1).Relu().Sum();
                _ = y.Exp();
            }
        }
        Loop(5_000); // warm the allocators
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var managedBefore = Tensor.LiveCount;
        var nativeBefore = Tensor.NativeLiveCount;
        var rssBefore = Environment.WorkingSet;
        Loop(20_000); // 100,000 ops: 5 per iteration
        var managedAfter = Tensor.LiveCount;
        var nativeAfter = Tensor.NativeLiveCount;
        GC.Collect();
        var rssAfter = Environment.WorkingSet;
        Assert.Equal(managedBefore, managedAfter);
        Assert.Equal(nativeBefore, nativeAfter);
        Assert.True(rssAfter - rssBefore < 32L << 20, $"resident memory grew by {(rssAfter - rssBefore) >> 20} MiB over 100,000 ops");
    }

    [Fact]
    public void FinalizerFreesAnAbandonedTensor()
    {
        var before = Tensor.NativeLiveCount;
        static void Abandon() { _ = torch.Ones(1000).DetachFromScope(); }
        for (var i = 0; i < 100; i++) Abandon();
        for (var i = 0; i < 5 && Tensor.NativeLiveCount > before; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.True(Tensor.NativeLiveCount <= before, $"{Tensor.NativeLiveCount - before} abandoned tensors were never freed");
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    [InlineData(DType.BFloat16)]
    [InlineData(DType.Float16)]
    [InlineData(DType.Int64)]
    [InlineData(DType.Int32)]
    [InlineData(DType.UInt8)]
    [InlineData(DType.Bool)]
    public void DtypesRoundTrip(DType dtype)
    {
        using var scope = DisposeScope.Open();
        var t = torch.From(new[] { 0.0, 1.0, 2.0, 3.0 }).To(dtype);
        Assert.Equal(dtype, t.DType);
        var back = t.To(DType.Float64).ToArray<double>();
        Assert.Equal(dtype == DType.Bool ? new[] { 0.0, 1, 1, 1 } : new[] { 0.0, 1, 2, 3 }, back);
        Assert.Equal(4 * dtype.ElementSize(), t.NBytes);
    }

    [Fact]
    public void ArraysInAndOut()
    {
        using var scope = DisposeScope.Open();
        var t = torch.From(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        Assert.Equal(new long[] { 2, 3 }, t.Shape);
        Assert.Equal(new float[] { 1, 4, 2, 5, 3, 6 }, t.T.Contiguous().ToArray<float>());
        Assert.Equal(6L, t[1][2].ItemLong());
        Assert.Equal(5.0f, t[1][1].Item<float>());
        Assert.Throws<ArgumentException>(() => t.ToArray<double>());
        Assert.Throws<TorchException>(() => torch.From(new float[] { 1, 2, 3 }, [2, 2]));
    }

    [Fact]
    public void InPlaceOpsReturnTheSameObject()
    {
        using var scope = DisposeScope.Open();
        var t = torch.Ones(3);
        Assert.Same(t, t.Add_(1).Mul_(3).Clamp_(0, 5));
        Assert.Equal(new float[] { 5, 5, 5 }, t.ToArray<float>());
    }

    [Fact]
    public void ThreadsAndDevices()
    {
        var before = torch.NumThreads;
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_NUM_THREADS")))
            Assert.Equal(Environment.ProcessorCount, before); // the binding's default: every core
        torch.NumThreads = 1;
        Assert.Equal(1, torch.NumThreads);
        torch.NumThreads = before;
        Assert.Equal(Device.CPU, Device.Parse("cpu"));
        Assert.Equal(Device.CUDA(1), Device.Parse("cuda:1"));
        Assert.Throws<FormatException>(() => Device.Parse("tpu"));
        Assert.Equal(torch.Cuda.IsCompiled && torch.Cuda.DeviceCount > 0, torch.Cuda.IsAvailable);
        if (!torch.Cuda.IsAvailable)
        {
            var ex = Assert.Throws<TorchException>(() => torch.Ones([1], device: Device.CUDA()));
            Assert.Contains("CUDA", ex.Message);
        }
        // The native engine runs on Debian's libtorch 1.13 here; TorchSharp 0.107 ships libtorch 2.10.
        Assert.StartsWith(torch.Engine == "torchsharp" ? "2.10" : "1.", torch.LibTorchVersion.Length > 0 ? torch.LibTorchVersion : "?");
        Assert.Contains(torch.LibTorchVersion, torch.EngineDescription);
    }

    [Fact]
    public void CpuAllocatorRetentionIsAcceptedByGlibc()
    {
        Assert.True(torch.RetainCpuAllocations());
        Assert.Throws<ArgumentOutOfRangeException>(() => torch.RetainCpuAllocations(mmapThresholdBytes: -1));
        Assert.True(torch.RetainCpuAllocations());
        using var scope = DisposeScope.Open();
        Assert.Equal(64.0 * 1024 * 1024 / 4, torch.Ones(64L * 1024 * 1024 / 4 / 4, 4).Sum().Item());
    }

    [Fact]
    public void ChannelsLastKeepsValuesAndChangesStrides()
    {
        using var scope = DisposeScope.Open();
        var x = torch.Rand(2, 3, 4, 5);
        var cl = x.Contiguous(MemoryFormat.ChannelsLast);
        Assert.True(cl.IsContiguous(MemoryFormat.ChannelsLast));
        Assert.False(cl.IsContiguous());
        Assert.Equal(new long[] { 60, 1, 15, 3 }, cl.Strides);
        Assert.Equal(x.ToArray<float>(), cl.ToArray<float>());
        using var conv = new Conv2d(3, 4, 3);
        var y = conv.Forward(x);
        conv.ToMemoryFormat(MemoryFormat.ChannelsLast);
        Assert.True(conv.Weight.IsContiguous(MemoryFormat.ChannelsLast));
        var expected = y.ToArray<float>();
        var actual = conv.Forward(cl).Contiguous().ToArray<float>();
        if (torch.Engine == "native") Assert.Equal(expected, actual);
        else
        {
            // libtorch 2.10 convolves channels-last input with another kernel (oneDNN) than NCHW input: the sums
            // run in another order, so the two agree to float rounding rather than bit for bit.
            Assert.Equal(expected.Length, actual.Length);
            for (var i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-5, $"element {i}: {expected[i]} vs {actual[i]}");
        }
    }

    [Fact]
    public void GeneratorStateRestoresTheStream()
    {
        using var scope = DisposeScope.Open();
        using var g = new Generator(5);
        var state = g.GetState();
        var first = torch.Rand([6], generator: g).ToArray<float>();
        g.SetState(state);
        Assert.Equal(first, torch.Rand([6], generator: g).ToArray<float>());
        g.ManualSeed(5);
        Assert.Equal(5UL, g.InitialSeed);
        Assert.Equal(first, torch.Rand([6], generator: g).ToArray<float>());
    }

    [Fact]
    public void CudnnSwitchesAndAutocastStateAreKept()
    {
        var bench = torch.Backends.CudnnBenchmark;
        torch.Backends.CudnnBenchmark = true;
        Assert.True(torch.Backends.CudnnBenchmark);
        torch.Backends.CudnnBenchmark = bench;
        torch.Backends.CudnnDeterministic = true;
        Assert.True(torch.Backends.CudnnDeterministic);
        torch.Backends.CudnnDeterministic = false;
        Assert.False(Autocast.IsEnabled(Device.CUDA()));
        if (torch.Engine == "torchsharp")
        {
            // TorchSharp 0.107 has no autocast: asking for it is refused with that reason, never ignored.
            var ex = Assert.Throws<TorchException>(() => torch.Autocast(Device.CUDA()));
            Assert.Contains("autocast", ex.Message);
            Assert.False(Autocast.IsEnabled(Device.CUDA()));
            return;
        }
        // The autocast guard toggles libtorch's thread-local state and restores it, also on the CPU build.
        using (torch.Autocast(Device.CUDA()))
            Assert.True(Autocast.IsEnabled(Device.CUDA()));
        Assert.False(Autocast.IsEnabled(Device.CUDA()));
    }

    [Fact]
    public void PrintsLikePyTorch()
    {
        using var scope = DisposeScope.Open();
        var s = torch.From(new float[] { 1, 2 }).ToString();
        Assert.Contains("1", s);
        Assert.Contains("CPUFloatType{2}", s);
        Assert.Equal("Tensor[2] float32 cpu", torch.From(new float[] { 1, 2 }).Describe());
    }
}
