using RobustCli.Torch.nn;

namespace RobustCli.Core.Models;

/// <summary>
/// Something a model offers that an attack, a method or a per-epoch report may need: a named output (CIFS's probe
/// logits), an interface (an expert ensemble's experts). A model's registration lists what it offers
/// (<see cref="ModelRegistration.Offers"/>), so a config is checked before anything is built; <see cref="IsOfferedBy"/>
/// answers for a built model or a view of one (robust eval --output), so a weights file is checked as it loads.
/// Generic code asks these questions and never names the model, attack or method behind them.
/// </summary>
/// <param name="Name">What the declarations match on.</param>
/// <param name="Description">What a model with it is, for refusals: "a model that selects among experts".</param>
public sealed record ModelCapability(string Name, string Description, Func<Module, bool> IsOfferedBy)
{
    /// <summary>A named output of a multi-output model (<see cref="IMultiOutput"/>).</summary>
    public static ModelCapability Output(string output, string? description = null) =>
        new("output:" + output, description ?? $"a model with an output '{output}'", m => m is IMultiOutput mo && mo.OutputNames.Contains(output));

    /// <summary>
    /// Why <paramref name="needer"/> cannot work on the model named <paramref name="shown"/>, in one located-ready line:
    /// "soe-adaptive50 attacks a model that selects among experts (model.arch soe), not smallcnn".
    /// </summary>
    public string Refusal(string needer, string verb, string shown) => $"{needer} {Need(verb, shown)}";

    /// <summary>The refusal without its subject: "attacks a model that selects among experts (model.arch soe), not smallcnn".</summary>
    public string Need(string verb, string shown)
    {
        var offering = ModelFactory.Registry.All.Where(r => r.Offers.Any(o => o.Name == Name)).Select(r => r.Name).ToList();
        return $"{verb} {Description}{(offering.Count > 0 ? $" (model.arch {string.Join(" or ", offering)})" : "")}, not {shown}";
    }

    /// <summary>The first of <paramref name="required"/> that the registration does not offer, or null.</summary>
    public static ModelCapability? Missing(IEnumerable<ModelCapability> required, ModelRegistration model) =>
        required.FirstOrDefault(c => model.Offers.All(o => o.Name != c.Name));

    /// <summary>The first of <paramref name="required"/> that the built model (or view) does not offer, or null.</summary>
    public static ModelCapability? Missing(IEnumerable<ModelCapability> required, Module model) =>
        required.FirstOrDefault(c => !c.IsOfferedBy(model));
}
