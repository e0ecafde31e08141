using System.Globalization;
using RobustCli.Core.Attacks;
using RobustCli.Core.Models;
using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Training;

/// <summary>
/// Synergy-of-Experts training (Cui, Zhang et al. 2022), the reference's <c>loss_base</c> objective with
/// <c>plus_at</c> "together" (cuis15/synergy-of-experts, learn_rectified_v2.py and model_rectified_v2.py):
/// <list type="bullet">
/// <item>soft assignment w_m,i = softmax_m(temp_c · s_m(x_i)), detached;</item>
/// <item>main loss mean_i Σ_m w_m,i · CE(z_m(x_i), y_i);</item>
/// <item>auxiliary loss: BCE of s_m against the detached true-class probability softmax(temp_true · z_m)_y, averaged
/// over experts and samples, where the max-probability factor of s_m is detached for the samples expert m classifies
/// correctly (so there only the rectifier learns); weight lambda;</item>
/// <item>with <c>adversarial</c>, the same loss on PGD examples crafted against the collaboration (its selected
/// output, cross entropy, the attack: section's budget, experts in train mode as the reference crafts), added to
/// the clean batch's.</item>
/// </list>
/// The reference permutes the adversarial batch; the loss is a mean over samples and BatchNorm's batch statistics
/// do not depend on order, so the permutation changes nothing and is left out. The reference steps one SGD per
/// expert after one backward of the summed loss; one optimizer over every parameter makes the same updates (tested).
/// </summary>
public sealed class SoeTraining(AttackSettings attack, double lambda = 1.0, double tempC = 1.0, double tempTrue = 1.0,
    bool adversarial = true, bool craftInTrainMode = true, int epsWarmupEpochs = 0) : ITrainingMethod
{
    public static readonly MethodRegistration Registration = new("soe",
        "Synergy-of-Experts (Cui, Zhang et al. 2022): soft-assigned CE + rectifier BCE on clean and collaboration-PGD examples; needs model.arch soe",
        new OptionDeclaration(
        [
            OptionSpec.Double("lambda", 1.0, "weight of the rectifier's BCE (adaptivetrainlambda)", min: 0),
            OptionSpec.Double("temp_c", 1.0, "temperature of the soft assignment softmax over the experts' scores (tempC)", min: 0, minExclusive: true),
            OptionSpec.Double("temp_true", 1.0, "temperature of the true-class probability the rectified score is fitted to (tempC_trueonly)", min: 0, minExclusive: true),
            OptionSpec.Bool("adversarial", true, "add the loss on PGD examples crafted against the collaboration (plus_at)"),
            OptionSpec.Bool("craft_in_train_mode", true, "craft with the experts in train mode (BatchNorm batch statistics), as the reference does"),
        ]),
        b => new SoeTraining(b.Attack, b.Options.Double("lambda"), b.Options.Double("temp_c"), b.Options.Double("temp_true"),
            b.Options.Bool("adversarial"), b.Options.Bool("craft_in_train_mode"), b.EpsWarmupEpochs))
    {
        Columns = ["soe_main_loss", "soe_aux_loss"],
        Models = ["soe"],
        ModelHint = "to train SoE sub-models of {0}, write model: {{arch: soe, base: {0}}}",
    };

    public string Name => "soe";

    private double mainSum, auxSum;
    private long batches;
    private double lastMain = double.NaN, lastAux = double.NaN;

    public MethodOutput Compute(StepContext ctx, Tensor x, Tensor y)
    {
        var soe = ctx.Model as IExpertEnsemble
            ?? throw new InvalidOperationException($"the soe method trains a model with several experts (model.arch: soe), not {ctx.Model.GetType().Name}");
        ctx.Model.Train();
        // Clean pass first, then the attack, as the reference orders them (BatchNorm's running statistics follow).
        var clean = soe.ForwardExperts(x);
        var (loss, main, aux) = Loss(clean, y, lambda, tempC, tempTrue);
        var cleanOutput = Selected(clean);
        Tensor? advOutput = null;
        if (adversarial)
        {
            var a = attack.At(ctx.Epoch, epsWarmupEpochs);
            var adv = ctx.Perturb(new PgdAttack("train", a.Eps, a.Alpha, a.Steps, a.Norm, a.Start), x, y, evalMode: !craftInTrainMode);
            ctx.Model.Train();
            var onAdv = soe.ForwardExperts(adv);
            var (advLoss, advMain, advAux) = Loss(onAdv, y, lambda, tempC, tempTrue);
            loss = loss + advLoss;
            main = main + advMain;
            aux = aux + advAux;
            advOutput = Selected(onAdv);
        }
        mainSum += main.Item();
        auxSum += aux.Item();
        batches++;
        return new MethodOutput(loss, cleanOutput, advOutput);
    }

    private static Tensor Selected(IReadOnlyList<ExpertOutput> outputs)
    {
        using var _ = torch.NoGrad();
        return SynergyOfExperts.Selected(outputs);
    }

    /// <summary>
    /// The loss_base objective on one batch: (total, main, auxiliary), the total being main + lambda · auxiliary.
    /// </summary>
    public static (Tensor Total, Tensor Main, Tensor Aux) Loss(IReadOnlyList<ExpertOutput> experts, Tensor y, double lambda = 1.0,
        double tempC = 1.0, double tempTrue = 1.0)
    {
        using var scope = DisposeScope.Open();
        var detectors = new List<Tensor>();
        var bces = new List<Tensor>();
        var ces = new List<Tensor>();
        var yCol = y.View(-1, 1);
        foreach (var e in experts)
        {
            var z = e.Logits;
            var predicted = z.Argmax(1);
            var pMax = SynergyOfExperts.MaxProbability(z);
            // Correctly classified samples: only the rectifier learns from the BCE (the reference's in-place detach).
            var pMaxPartial = torch.Where(predicted.Eq(y), pMax.Detach(), pMax);
            var s = pMaxPartial * e.Rectifier;
            Tensor target;
            using (torch.NoGrad()) target = F.Softmax(z * tempTrue, 1).Gather(1, yCol).Flatten();
            detectors.Add(s);
            bces.Add(F.BinaryCrossEntropy(s, target));
            ces.Add(F.CrossEntropy(z, y, reduction: Reduction.None));
        }
        Tensor weights;
        using (torch.NoGrad()) weights = F.Softmax(torch.Stack(detectors, 0) * tempC, 0);
        var main = (weights * torch.Stack(ces, 0)).Sum(0).Mean();
        var aux = torch.Stack(bces, 0).Mean();
        var total = main + aux * lambda;
        return (total.MoveToOuterScope(), main.MoveToOuterScope(), aux.MoveToOuterScope());
    }

    public void OnEpochEnd(EpochEnd info)
    {
        lastMain = batches == 0 ? double.NaN : mainSum / batches;
        lastAux = batches == 0 ? double.NaN : auxSum / batches;
        mainSum = auxSum = 0;
        batches = 0;
    }

    public IReadOnlyList<(string Column, double Value)> Metrics => [("soe_main_loss", lastMain), ("soe_aux_loss", lastAux)];

    // The epoch's running sums: a mid-epoch checkpoint keeps them, so the resumed epoch reports the same averages.
    public Dictionary<string, object?> SaveState() => new() { ["main_sum"] = mainSum, ["aux_sum"] = auxSum, ["batches"] = batches };

    public void LoadState(IReadOnlyDictionary<string, object?> state)
    {
        // Checkpoints written before the sums were kept hold none: they were taken at an epoch's end, where the sums are 0.
        if (!state.ContainsKey("main_sum")) return;
        mainSum = Convert.ToDouble(state["main_sum"], CultureInfo.InvariantCulture);
        auxSum = Convert.ToDouble(state["aux_sum"], CultureInfo.InvariantCulture);
        batches = Convert.ToInt64(state["batches"], CultureInfo.InvariantCulture);
    }
}
