using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Models;

/// <summary>One sub-model's view of a batch: its logits and its rectifier σ(a_m(x)) in (0, 1), shaped [B].</summary>
public sealed record ExpertOutput(Tensor Logits, Tensor Rectifier);

/// <summary>
/// A model made of sub-models that answer together (Synergy-of-Experts): the training method, the adaptive attack
/// and the per-expert validation columns read each expert's logits and rectifier through this.
/// </summary>
public interface IExpertEnsemble
{
    int ExpertCount { get; }
    /// <summary>Every expert on x (pixels in [0, 1]); the caller owns the tensors.</summary>
    IReadOnlyList<ExpertOutput> ForwardExperts(Tensor x);
}

/// <summary>
/// Synergy-of-Experts (Cui, Zhang et al., NeurIPS 2022; cuis15/synergy-of-experts, model_rectified_v2.MoeLike):
/// M sub-models of a base architecture, each normalizing its own input and with a rectifier head Linear(features → 1)
/// on its pooled penultimate features. Expert m's rectified confidence is s_m = max_k softmax(z_m)_k · σ(a_m); each
/// input is answered by the expert with the highest s_m. The hard choice is not differentiable: gradients reach
/// only the selected expert's logits (adaptive attacks use the scores, see <see cref="Attacks.SelectionAdaptiveAttack"/>).
/// Outputs: "logits" (the selected expert's; what attacks and evaluations see), "expert0".., "ensemble" (the log of
/// the experts' mean softmax, the plain ensemble the paper compares with) and "scores" ([B, M], the s_m).
/// Keys: experts.{m}.&lt;the base's keys&gt;, rectifiers.{m}.weight/bias.
/// </summary>
public sealed class SynergyOfExperts : Classifier, IMultiOutput, IExpertEnsemble
{
    public static readonly OptionDeclaration Options = new(
    [
        OptionSpec.Int("experts", 3, "sub-models", min: 1, max: 64),
        OptionSpec.String("base", "resnet20", "the sub-models' architecture: any registered classifier exposing its penultimate features (resnet20, resnet8, smallcnn, preact18, ...)"),
    ], CheckBase);

    /// <summary>Experts with rectified confidences and a selection among them (<see cref="IExpertEnsemble"/>).</summary>
    public static readonly ModelCapability Experts = new("experts", "a model that selects among experts", m => m is IExpertEnsemble);

    public static readonly ModelRegistration Registration = new("soe",
        "Synergy-of-Experts (Cui, Zhang et al. 2022): model.experts sub-models of model.base, each input answered by the expert with the highest rectified confidence",
        Options, b => new SynergyOfExperts(b.Options.String("base"), b.Options.Int("experts"), b.NumClasses, b.InChannels, b.Normalization))
    { Offers = [Experts] };


    private static IEnumerable<OptionError> CheckBase(OptionValues o)
    {
        var name = o.String("base");
        ModelRegistration r;
        try { r = ModelFactory.Get(name); }
        catch (Exception e) when (e is FormatException or ArgumentException or KeyNotFoundException)
        {
            return [new OptionError("base", e.Message)];
        }
        if (r.Name == "soe") return [new OptionError("base", "an expert cannot itself be an SoE")];
        if (!r.Tasks.Contains("classification")) return [new OptionError("base", $"{name} is not a classifier")];
        return [];
    }

    private readonly ModuleList experts, rectifiers;
    private readonly Classifier[] expertModels;
    private readonly Linear[] rectifierHeads;

    public SynergyOfExperts(string baseArch, int count, int numClasses, int inChannels, Normalization? normalization) : base(null, inChannels)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), "an SoE needs at least one expert");
        var reg = ModelFactory.Get(baseArch);
        expertModels = Enumerable.Range(0, count).Select(_ =>
            reg.Create(new ModelBuild(reg.Options.Defaults, numClasses, inChannels, normalization)) as Classifier
            ?? throw new ArgumentException($"{baseArch} is not a classifier")).ToArray();
        var features = expertModels[0].FeatureCount;
        if (features == 0) throw new ArgumentException($"{baseArch} does not expose its penultimate features, which SoE's rectifier heads read; use resnet20, resnet8, smallcnn, preact18, resnet18 or wrn");
        rectifierHeads = Enumerable.Range(0, count).Select(_ => new Linear(features, 1)).ToArray();
        experts = RegisterModule("experts", new ModuleList(expertModels));
        rectifiers = RegisterModule("rectifiers", new ModuleList(rectifierHeads));
        BaseArch = baseArch;
    }

    /// <summary>The experts standardize their inputs themselves (the ensemble's own buffers stay empty).</summary>
    public override bool Normalizes => expertModels.All(e => e.Normalizes);

    public string BaseArch { get; }
    public int ExpertCount => expertModels.Length;
    public Classifier Expert(int m) => expertModels[m];

    public IReadOnlyList<string> OutputNames =>
        ["logits", .. Enumerable.Range(0, ExpertCount).Select(m => $"expert{m}"), "ensemble", "scores"];

    public IReadOnlyList<ExpertOutput> ForwardExperts(Tensor x)
    {
        var result = new ExpertOutput[ExpertCount];
        for (var m = 0; m < ExpertCount; m++)
        {
            var (features, logits) = expertModels[m].ForwardWithFeatures(x);
            using (features)
            using (var a = rectifierHeads[m].Forward(features))
                result[m] = new ExpertOutput(logits, a.Flatten().Sigmoid());
        }
        return result;
    }

    /// <summary>s_m = max_k softmax(z_m)_k · σ(a_m), shaped [B, M].</summary>
    public static Tensor Scores(IReadOnlyList<ExpertOutput> outputs)
    {
        using var scope = DisposeScope.Open();
        var s = torch.Stack(outputs.Select(o => MaxProbability(o.Logits).Mul_(o.Rectifier)).ToList(), 1);
        return s.MoveToOuterScope();
    }

    /// <summary>max_k softmax(z)_k, shaped [B], with its gradient going to the arg-max class (as torch.max(dim) does).</summary>
    public static Tensor MaxProbability(Tensor logits)
    {
        using var p = F.Softmax(logits, 1);
        using var k = logits.Argmax(1, keepDim: true);
        using var g = p.Gather(1, k);
        return g.Flatten();
    }

    /// <summary>The logits of the expert chosen per sample ([B] indices into the experts); gradients reach only those.</summary>
    public static Tensor Select(IReadOnlyList<ExpertOutput> outputs, Tensor choice)
    {
        using var stacked = torch.Stack(outputs.Select(o => o.Logits).ToList(), 1);
        var (b, c) = (stacked.Size(0), stacked.Size(2));
        using var index = choice.View(b, 1, 1).Expand(b, 1, c);
        using var picked = stacked.Gather(1, index);
        return picked.Squeeze(1);
    }

    /// <summary>The collaboration's answer: the logits of each sample's highest-scoring expert.</summary>
    public static Tensor Selected(IReadOnlyList<ExpertOutput> outputs)
    {
        using var scores = Scores(outputs);
        using var choice = scores.Argmax(1);
        return Select(outputs, choice);
    }

    /// <summary>The plain ensemble: log of the mean of the experts' softmax (clamped at 1e-40 as the reference does).</summary>
    public static Tensor Ensemble(IReadOnlyList<ExpertOutput> outputs)
    {
        using var probs = torch.Stack(outputs.Select(o => F.Softmax(o.Logits, 1)).ToList(), 0);
        using var mean = probs.Mean(0);
        using var clamped = mean.Clamp(min: 1e-40);
        return clamped.Log();
    }

    public IReadOnlyDictionary<string, Tensor> ForwardAll(Tensor x)
    {
        var outputs = ForwardExperts(x);
        var scores = Scores(outputs);
        using var choice = scores.Argmax(1);
        var all = new Dictionary<string, Tensor> { ["logits"] = Select(outputs, choice) };
        for (var m = 0; m < outputs.Count; m++) all[$"expert{m}"] = outputs[m].Logits;
        all["ensemble"] = Ensemble(outputs);
        all["scores"] = scores;
        foreach (var o in outputs) o.Rectifier.Dispose();
        return all;
    }

    protected override Tensor Logits(Tensor x)
    {
        var outputs = ForwardExperts(x);
        try
        {
            return Selected(outputs);
        }
        finally
        {
            foreach (var o in outputs) { o.Logits.Dispose(); o.Rectifier.Dispose(); }
        }
    }
}
