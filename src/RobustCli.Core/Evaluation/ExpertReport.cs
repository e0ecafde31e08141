using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Models;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Evaluation;

/// <summary>
/// What each sub-model of an expert ensemble (SoE) contributes, measured on validation after every epoch: each
/// expert's accuracy on the clean images and on the adversarial examples that attack the collaboration (its
/// selected output, with the validation attack and seed, so they are the points val_robust_acc is measured on), the
/// plain ensemble's (mean softmax) on both, the oracle's (some expert is right: the most a selection could reach),
/// and how often each expert is the one selected. Columns, for experts m = 0..M-1: val_expert{m}_clean_acc,
/// val_expert{m}_adv_acc, val_expert{m}_selected_clean, val_expert{m}_selected_adv, then val_ensemble_clean_acc,
/// val_ensemble_adv_acc, val_oracle_clean_acc, val_oracle_adv_acc. The _adv columns are NaN without a validation attack.
/// </summary>
public static class ExpertReport
{
    public static readonly EpochReportRegistration Registration = new("experts",
        "each expert's clean and adversarial validation accuracy, how often it is selected, the plain ensemble and the oracle",
        SynergyOfExperts.Experts, m => Columns(((IExpertEnsemble)m).ExpertCount),
        (m, data, attack, seed) => Measure(m, (IExpertEnsemble)m, data, attack, seed));

    public static IReadOnlyList<string> Columns(int experts) =>
    [
        .. Enumerable.Range(0, experts).SelectMany(m => new[] { $"val_expert{m}_clean_acc", $"val_expert{m}_adv_acc", $"val_expert{m}_selected_clean", $"val_expert{m}_selected_adv" }),
        "val_ensemble_clean_acc", "val_ensemble_adv_acc", "val_oracle_clean_acc", "val_oracle_adv_acc",
    ];

    /// <summary>The report's values in <see cref="Columns"/> order; the model is measured in eval mode and left as it was.</summary>
    public static IReadOnlyList<(string Column, double Value)> Measure(Module model, IExpertEnsemble experts, DataLoader data, Attack? attack, ulong seed)
    {
        var m = experts.ExpertCount;
        var clean = new Tally(m);
        var adv = attack == null ? null : new Tally(m);
        var was = model.Training;
        model.Eval();
        try
        {
            if (attack != null) attack.Seed = seed;
            foreach (var batch in data.Epoch(0))
            {
                using var owned = batch;
                using var scope = DisposeScope.Open();
                var xAdv = attack?.Perturb(model, batch.X, batch.Y, sampleIds: batch.SampleIds);
                using var _ = torch.NoGrad();
                clean.Add(experts.ForwardExperts(batch.X), batch.Y);
                if (xAdv != null) adv!.Add(experts.ForwardExperts(xAdv), batch.Y);
            }
        }
        finally
        {
            if (was) model.Train();
        }
        var values = new List<(string, double)>();
        for (var e = 0; e < m; e++)
        {
            values.Add(($"val_expert{e}_clean_acc", clean.Fraction(clean.Correct[e])));
            values.Add(($"val_expert{e}_adv_acc", adv?.Fraction(adv.Correct[e]) ?? double.NaN));
            values.Add(($"val_expert{e}_selected_clean", clean.Fraction(clean.Selected[e])));
            values.Add(($"val_expert{e}_selected_adv", adv?.Fraction(adv.Selected[e]) ?? double.NaN));
        }
        values.Add(("val_ensemble_clean_acc", clean.Fraction(clean.Ensemble)));
        values.Add(("val_ensemble_adv_acc", adv?.Fraction(adv.Ensemble) ?? double.NaN));
        values.Add(("val_oracle_clean_acc", clean.Fraction(clean.Oracle)));
        values.Add(("val_oracle_adv_acc", adv?.Fraction(adv.Oracle) ?? double.NaN));
        return values;
    }

    private sealed class Tally(int experts)
    {
        public readonly long[] Correct = new long[experts], Selected = new long[experts];
        public long Ensemble, Oracle, Count;

        public void Add(IReadOnlyList<ExpertOutput> outputs, Tensor y)
        {
            using var scores = SynergyOfExperts.Scores(outputs);
            var choice = scores.Argmax(1).ToArray<long>();
            var right = outputs.Select(o => o.Logits.Argmax(1).Eq(y).ToArray<bool>()).ToArray();
            using var ensemble = SynergyOfExperts.Ensemble(outputs);
            var ensembleRight = ensemble.Argmax(1).Eq(y).ToArray<bool>();
            for (var i = 0; i < choice.Length; i++)
            {
                Selected[choice[i]]++;
                var any = false;
                for (var e = 0; e < right.Length; e++)
                {
                    if (!right[e][i]) continue;
                    Correct[e]++;
                    any = true;
                }
                if (any) Oracle++;
                if (ensembleRight[i]) Ensemble++;
            }
            Count += choice.Length;
        }

        public double Fraction(long k) => Count == 0 ? double.NaN : k / (double)Count;
    }
}
