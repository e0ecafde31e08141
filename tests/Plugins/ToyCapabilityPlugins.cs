using RobustCli.Core.Attacks;
using RobustCli.Core.Models;
using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Tests.Plugins;

/// <summary>
/// A classifier with two named outputs: "logits" (primary) and "aux", a second head on the same features. It offers
/// the "aux" output as a capability, which <see cref="ToyAuxAttack"/> requires. Registered from the tests only.
/// </summary>
public sealed class ToyTwoOutputModel : Classifier, IMultiOutput
{
    public static readonly ModelCapability Aux = ModelCapability.Output("aux", "a model with an aux head");

    public static readonly ModelRegistration Registration = new("toy-two-output", "a small CNN with a second (aux) head (a test plug-in)",
        OptionDeclaration.None, b => new ToyTwoOutputModel(b.InChannels, b.NumClasses, b.Normalization)) { Offers = [Aux] };

    private readonly Conv2d conv;
    private readonly Linear head, aux;

    public ToyTwoOutputModel(int inChannels, int numClasses, Normalization? normalization) : base(normalization, inChannels)
    {
        conv = RegisterModule("conv", new Conv2d(inChannels, 16, 3, padding: 1));
        head = RegisterModule("head", new Linear(16 * 7 * 7, numClasses));
        aux = RegisterModule("aux", new Linear(16 * 7 * 7, numClasses));
    }

    public IReadOnlyList<string> OutputNames => ["logits", "aux"];

    public override long FeatureCount => 16 * 7 * 7;

    protected override Tensor Features(Tensor x)
    {
        using var a = conv.Forward(x).Relu_();
        using var p = F.MaxPool2d(a, 4);
        return p.Flatten(1);
    }

    protected override Tensor Head(Tensor features) => head.Forward(features);

    public IReadOnlyDictionary<string, Tensor> ForwardAll(Tensor x)
    {
        var (features, logits) = ForwardWithFeatures(x);
        using (features) return new Dictionary<string, Tensor> { ["logits"] = logits, ["aux"] = aux.Forward(features) };
    }
}

/// <summary>FGSM on the cross entropy of the model's "aux" output: it needs a model that has one (<see cref="ToyTwoOutputModel.Aux"/>).</summary>
public sealed class ToyAuxAttack(string name, double eps) : Attack(name, eps, Norm.Linf)
{
    public static readonly AttackRegistration Registration = new("toy-aux", "FGSM on the aux head's cross entropy (a test plug-in)",
        OptionDeclaration.None, b => new ToyAuxAttack(b.Name, b.Eps)) { Requires = [ToyTwoOutputModel.Aux] };

    protected override Tensor Run(Module model, Tensor x, Tensor y)
    {
        // Not disposed: a view owns nothing but disposing it would free the model it wraps.
        var view = OutputSelector.For(model, "aux");
        var g = InputGradient(view, x, y, new CrossEntropyAttackLoss(), null);
        using var _ = torch.NoGrad();
        var adv = x.Clone();
        adv.Add_(g.Sign(), Eps);
        return Project(adv, x);
    }
}
