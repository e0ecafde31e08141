using System.Globalization;
using RobustCli.Core.Attacks;
using RobustCli.Core.Evaluation;
using RobustCli.Torch.Serialization;

namespace RobustCli.Experiments.Runs;

/// <summary>The evaluation table as CSV (attack, accuracy, seconds, n), for robust eval and a run's final_eval.csv alike.</summary>
public static class EvaluationCsv
{
    public static void Write(string path, EvaluationResult r, IEnumerable<Attack> attacks)
    {
        string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
        var n = r.Count.ToString(CultureInfo.InvariantCulture);
        var rows = new List<string> { "attack,accuracy,seconds,n", $"clean,{F(r.CleanAccuracy)},,{n}" };
        foreach (var a in attacks)
            rows.Add($"{a.Name},{F(r.RobustAccuracy(a.Name))},{r.Seconds[a.Name].ToString("F1", CultureInfo.InvariantCulture)},{n}");
        rows.Add($"worst_case,{F(r.WorstCaseAccuracy)},,{n}");
        AtomicFile.Write(path, s =>
        {
            using var w = new StreamWriter(s, leaveOpen: true);
            w.Write(string.Join("\n", rows) + "\n");
        });
    }
}
