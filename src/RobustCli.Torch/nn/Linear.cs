namespace RobustCli.Torch.nn;

/// <summary>torch.nn.Linear (weight [out, in]; PyTorch's default initialisation).</summary>
public sealed class Linear : Module
{
    public Tensor Weight { get; }
    public Tensor? Bias { get; }

    public Linear(long inFeatures, long outFeatures, bool bias = true, Device? device = null)
    {
        Weight = RegisterParameter("weight", torch.Empty([outFeatures, inFeatures], device: device));
        if (bias) Bias = RegisterParameter("bias", torch.Empty([outFeatures], device: device));
        Init.DefaultLayerInit(Weight, Bias);
    }

    public override Tensor Forward(Tensor input) => F.Linear(input, Weight, Bias);
}
