namespace RobustCli.Torch.nn;

public sealed class ReLU : Module { public override Tensor Forward(Tensor input) => input.Relu(); }
public sealed class Sigmoid : Module { public override Tensor Forward(Tensor input) => input.Sigmoid(); }
public sealed class Tanh : Module { public override Tensor Forward(Tensor input) => input.Tanh(); }
public sealed class SiLU : Module { public override Tensor Forward(Tensor input) => input.Silu(); }
public sealed class LeakyReLU(double negativeSlope = 0.01) : Module { public override Tensor Forward(Tensor input) => F.LeakyRelu(input, negativeSlope); }
public sealed class ELU(double alpha = 1.0) : Module { public override Tensor Forward(Tensor input) => F.Elu(input, alpha); }
public sealed class GELU(string approximate = "none") : Module { public override Tensor Forward(Tensor input) => F.Gelu(input, approximate); }
public sealed class Softplus(double beta = 1, double threshold = 20) : Module { public override Tensor Forward(Tensor input) => F.Softplus(input, beta, threshold); }
public sealed class MaxPool2d(long kernelSize, long? stride = null, long padding = 0) : Module
{
    public override Tensor Forward(Tensor input) => F.MaxPool2d(input, [kernelSize, kernelSize], [stride ?? kernelSize, stride ?? kernelSize], [padding, padding]);
}
public sealed class AvgPool2d(long kernelSize, long? stride = null, long padding = 0) : Module
{
    public override Tensor Forward(Tensor input) => F.AvgPool2d(input, [kernelSize, kernelSize], [stride ?? kernelSize, stride ?? kernelSize], [padding, padding]);
}
public sealed class AdaptiveAvgPool2d(long outputSize) : Module
{
    public override Tensor Forward(Tensor input) => F.AdaptiveAvgPool2d(input, outputSize);
}
