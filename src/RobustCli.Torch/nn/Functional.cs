using static RobustCli.Torch.Native.NativeMethods;

namespace RobustCli.Torch.nn;

public enum Reduction { None = 0, Mean = 1, Sum = 2 }

/// <summary>torch.nn.functional, with PyTorch's names in PascalCase and PyTorch's defaults.</summary>
public static class F
{
    private static IntPtr H(Tensor? t) => t?.Handle ?? IntPtr.Zero;
    private static long[] Two(long v) => [v, v];

    /// <summary>A 2-D hyperparameter (stride, padding, ...) as exactly two values: the shim reads two, so a
    /// wrong length must stop here rather than read past the array. One value means both dimensions.</summary>
    private static long[] Pair(long[]? v, long fallback, string name) => v switch
    {
        null => [fallback, fallback],
        { Length: 1 } => [v[0], v[0]],
        { Length: 2 } => v,
        _ => throw new ArgumentException($"{name} takes one or two values, got {v.Length}", name),
    };

    public static unsafe Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, long[]? stride = null,
        long[]? padding = null, long[]? dilation = null, long groups = 1)
    {
        fixed (long* s = Pair(stride, 1, nameof(stride)))
        fixed (long* p = Pair(padding, 0, nameof(padding)))
        fixed (long* d = Pair(dilation, 1, nameof(dilation)))
            return Tensor.Wrap(rcl_conv2d(input.Handle, weight.Handle, H(bias), s, p, d, groups));
    }

    public static unsafe Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias = null, long[]? stride = null,
        long[]? padding = null, long[]? outputPadding = null, long groups = 1, long[]? dilation = null)
    {
        fixed (long* s = Pair(stride, 1, nameof(stride)))
        fixed (long* p = Pair(padding, 0, nameof(padding)))
        fixed (long* o = Pair(outputPadding, 0, nameof(outputPadding)))
        fixed (long* d = Pair(dilation, 1, nameof(dilation)))
            return Tensor.Wrap(rcl_conv_transpose2d(input.Handle, weight.Handle, H(bias), s, p, o, groups, d));
    }

    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null) =>
        Tensor.Wrap(rcl_linear(input.Handle, weight.Handle, H(bias)));

    public static Tensor MatMul(Tensor a, Tensor b) => Tensor.Wrap(rcl_matmul(0, a.Handle, b.Handle));
    public static Tensor Mm(Tensor a, Tensor b) => Tensor.Wrap(rcl_matmul(1, a.Handle, b.Handle));
    public static Tensor Bmm(Tensor a, Tensor b) => Tensor.Wrap(rcl_matmul(2, a.Handle, b.Handle));

    /// <summary>Batch norm; in training it normalises with batch statistics and updates the running ones in place.</summary>
    public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null,
        Tensor? bias = null, bool training = false, double momentum = 0.1, double eps = 1e-5) =>
        Tensor.Wrap(rcl_batch_norm(input.Handle, H(weight), H(bias), H(runningMean), H(runningVar), training ? 1 : 0, momentum, eps));

    public static Tensor GroupNorm(Tensor input, long numGroups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5) =>
        Tensor.Wrap(rcl_group_norm(input.Handle, numGroups, H(weight), H(bias), eps));

    public static unsafe Tensor LayerNorm(Tensor input, long[] normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        fixed (long* s = normalizedShape)
            return Tensor.Wrap(rcl_layer_norm(input.Handle, s, normalizedShape.Length, H(weight), H(bias), eps));
    }

    /// <summary>Dropout with the global generator (seed it with torch.ManualSeed).</summary>
    public static Tensor Dropout(Tensor input, double p = 0.5, bool training = true) =>
        Tensor.Wrap(rcl_dropout(input.Handle, p, training ? 1 : 0));

    public static unsafe Tensor MaxPool2d(Tensor input, long[] kernelSize, long[]? stride = null, long[]? padding = null,
        long[]? dilation = null, bool ceilMode = false)
    {
        var kernel = Pair(kernelSize, 0, nameof(kernelSize));
        fixed (long* k = kernel)
        fixed (long* s = Pair(stride ?? kernel, 0, nameof(stride)))
        fixed (long* p = Pair(padding, 0, nameof(padding)))
        fixed (long* d = Pair(dilation, 1, nameof(dilation)))
            return Tensor.Wrap(rcl_max_pool2d(input.Handle, k, s, p, d, ceilMode ? 1 : 0));
    }

    public static Tensor MaxPool2d(Tensor input, long kernelSize) => MaxPool2d(input, Two(kernelSize));

    public static unsafe Tensor AvgPool2d(Tensor input, long[] kernelSize, long[]? stride = null, long[]? padding = null,
        bool ceilMode = false, bool countIncludePad = true)
    {
        var kernel = Pair(kernelSize, 0, nameof(kernelSize));
        fixed (long* k = kernel)
        fixed (long* s = Pair(stride ?? kernel, 0, nameof(stride)))
        fixed (long* p = Pair(padding, 0, nameof(padding)))
            return Tensor.Wrap(rcl_avg_pool2d(input.Handle, k, s, p, ceilMode ? 1 : 0, countIncludePad ? 1 : 0));
    }

    public static Tensor AvgPool2d(Tensor input, long kernelSize) => AvgPool2d(input, Two(kernelSize));

    public static unsafe Tensor AdaptiveAvgPool2d(Tensor input, long[] outputSize)
    {
        fixed (long* o = Pair(outputSize, 0, nameof(outputSize))) return Tensor.Wrap(rcl_adaptive_avg_pool2d(input.Handle, o));
    }

    public static Tensor AdaptiveAvgPool2d(Tensor input, long outputSize) => AdaptiveAvgPool2d(input, Two(outputSize));

    /// <summary>F.interpolate for 4-D input: give a size, or a scale factor (output = floor(input * scale)).</summary>
    public static unsafe Tensor Interpolate(Tensor input, long[]? size = null, double? scaleFactor = null,
        InterpolationMode mode = InterpolationMode.Nearest, bool? alignCorners = null)
    {
        if ((size == null) == (scaleFactor == null)) throw new ArgumentException("give exactly one of size and scaleFactor");
        if (mode == InterpolationMode.Nearest && alignCorners.HasValue)
            throw new ArgumentException("alignCorners applies to bilinear interpolation only");
        var shape = input.Shape;
        if (shape.Length != 4) throw new ArgumentException($"interpolate expects a 4-D (N, C, H, W) input, got {input.Describe()}");
        var outSize = size != null ? Pair(size, 0, nameof(size)) : [(long)Math.Floor(shape[2] * scaleFactor!.Value), (long)Math.Floor(shape[3] * scaleFactor.Value)];
        var scale = scaleFactor ?? -1;
        fixed (long* o = outSize)
            return Tensor.Wrap(rcl_interpolate(input.Handle, o, scale, scale, (int)mode, alignCorners == true ? 1 : 0));
    }

    public static Tensor Relu(Tensor x) => x.Relu();
    public static Tensor Sigmoid(Tensor x) => x.Sigmoid();
    public static Tensor Tanh(Tensor x) => x.Tanh();
    public static Tensor Silu(Tensor x) => x.Silu();
    public static Tensor LeakyRelu(Tensor x, double negativeSlope = 0.01) => Tensor.Wrap(rcl_activation(0, x.Handle, negativeSlope, 0));
    public static Tensor Elu(Tensor x, double alpha = 1.0) => Tensor.Wrap(rcl_activation(1, x.Handle, alpha, 0));
    /// <summary>GELU; approximate "tanh" selects the tanh approximation.</summary>
    public static Tensor Gelu(Tensor x, string approximate = "none") => approximate switch
    {
        "none" => Tensor.Wrap(rcl_activation(2, x.Handle, 0, 0)),
        "tanh" => Tensor.Wrap(rcl_activation(3, x.Handle, 0, 0)),
        _ => throw new ArgumentException($"approximate must be 'none' or 'tanh', not '{approximate}'"),
    };
    public static Tensor Softplus(Tensor x, double beta = 1, double threshold = 20) => Tensor.Wrap(rcl_activation(4, x.Handle, beta, threshold));
    public static Tensor Hardtanh(Tensor x, double minVal = -1, double maxVal = 1) => Tensor.Wrap(rcl_activation(5, x.Handle, minVal, maxVal));

    public static Tensor Softmax(Tensor x, long dim) => Tensor.Wrap(rcl_softmax(0, x.Handle, dim));
    public static Tensor LogSoftmax(Tensor x, long dim) => Tensor.Wrap(rcl_softmax(1, x.Handle, dim));

    /// <summary>
    /// Cross entropy of logits against class indices (int64) or class probabilities (soft targets, float),
    /// with optional class weights and label smoothing, as F.cross_entropy.
    /// </summary>
    public static Tensor CrossEntropy(Tensor input, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean,
        long ignoreIndex = -100, double labelSmoothing = 0.0) =>
        Tensor.Wrap(rcl_cross_entropy(input.Handle, target.Handle, H(weight), (int)reduction, ignoreIndex, labelSmoothing));

    public static Tensor NllLoss(Tensor input, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean,
        long ignoreIndex = -100) =>
        Tensor.Wrap(rcl_nll_loss(input.Handle, target.Handle, H(weight), (int)reduction, ignoreIndex));

    /// <summary>KL divergence with input as log-probabilities; "batchmean" is <paramref name="batchMean"/> (sum / batch size).</summary>
    public static Tensor KlDiv(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, bool logTarget = false, bool batchMean = false)
    {
        if (!batchMean) return Tensor.Wrap(rcl_kl_div(input.Handle, target.Handle, (int)reduction, logTarget ? 1 : 0));
        using var sum = Tensor.Wrap(rcl_kl_div(input.Handle, target.Handle, (int)Reduction.Sum, logTarget ? 1 : 0));
        return sum.Div(input.Dim == 0 ? 1 : input.Size(0));
    }

    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
        Tensor.Wrap(rcl_mse_loss(input.Handle, target.Handle, (int)reduction));

    public static Tensor L1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
        Tensor.Wrap(rcl_l1_loss(input.Handle, target.Handle, (int)reduction));

    /// <summary>
    /// torch.nn.functional.binary_cross_entropy on probabilities: logs clamped at -100 and a backward that stays
    /// finite at 0 and 1, as PyTorch's BCELoss (a hand-written −t log p − (1 − t) log(1 − p) gives NaN gradients there).
    /// </summary>
    public static Tensor BinaryCrossEntropy(Tensor input, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean) =>
        Tensor.Wrap(rcl_bce(input.Handle, target.Handle, H(weight), (int)reduction));

    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Tensor? weight = null,
        Tensor? posWeight = null, Reduction reduction = Reduction.Mean) =>
        Tensor.Wrap(rcl_bce_with_logits(input.Handle, target.Handle, H(weight), H(posWeight), (int)reduction));

    public static Tensor OneHot(Tensor labels, long numClasses = -1) => Tensor.Wrap(rcl_one_hot(labels.Handle, numClasses));

    public enum PadMode { Constant = 0, Reflect = 1, Replicate = 2, Circular = 3 }

    /// <summary>F.pad: pads given last dimension first, as (left, right, top, bottom, ...).</summary>
    public static unsafe Tensor Pad(Tensor input, long[] pad, PadMode mode = PadMode.Constant, double value = 0)
    {
        fixed (long* p = pad) return Tensor.Wrap(rcl_pad(input.Handle, p, pad.Length, (int)mode, value));
    }
}

public enum InterpolationMode { Nearest = 0, Bilinear = 1 }
