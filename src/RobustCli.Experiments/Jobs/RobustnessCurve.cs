using System.Globalization;
using CsvHelper;
using RobustCli.Experiments.Plots;
using RobustCli.Torch.Serialization;

namespace RobustCli.Experiments.Jobs;

/// <summary>What a robustness curve varies: the budget, the attacks' iterations, or their random restarts.</summary>
public enum CurveParameter { Eps, Steps, Restarts }

/// <summary>One point of a robustness curve: an attack's robust accuracy (or "clean") at one value of the parameter.</summary>
public sealed record CurvePoint(double Value, string Attack, double Accuracy, int N, double Seconds);

/// <summary>
/// Robust accuracy against ε, steps or restarts: the evaluation of <c>robust eval</c> repeated at each value, with
/// the same points and seeds. ε applies to every attack; steps and restarts are given to each attack as its option
/// (pgd20 at 50 steps is pgd20:steps=50), so an attack without that option is refused by name. Curves are how
/// gradient masking shows: an honest model's robust accuracy falls to about zero as ε grows, and never rises
/// with more steps or restarts.
/// </summary>
public static class RobustnessCurve
{
    public static string Key(CurveParameter p) => p switch { CurveParameter.Eps => "eps", CurveParameter.Steps => "steps", _ => "restarts" };

    /// <summary>The request for one value: a new budget, or the option appended to each attack spec.</summary>
    public static EvaluationRequest At(EvaluationRequest template, CurveParameter p, double value)
    {
        if (p == CurveParameter.Eps) return template with { Eps = value };
        var option = $"{Key(p)}={(int)value}";
        return template with { Attacks = template.Attacks.Select(a => a.Contains(':') ? $"{a},{option}" : $"{a}:{option}").ToList() };
    }

    /// <summary>Evaluates at each value in turn; the points are labelled by the attack specs as given (not the per-value ones).</summary>
    public static IReadOnlyList<CurvePoint> Run(EvaluationRequest template, CurveParameter p, IReadOnlyList<double> values,
        Func<EvaluationRequest, EvaluationReport> evaluate, Action<string>? log = null)
    {
        if (values.Count == 0) throw new ArgumentException("a curve needs at least one value");
        if (p != CurveParameter.Eps && values.Any(v => v < 1 || v != Math.Floor(v)))
            throw new Config.ConfigException($"--{Key(p)}-sweep: {Key(p)} must be whole numbers >= 1, got {string.Join(",", values.Select(v => v.ToString(CultureInfo.InvariantCulture)))}");
        var points = new List<CurvePoint>();
        foreach (var v in values)
        {
            var report = evaluate(At(template, p, v));
            var r = report.Result;
            points.Add(new CurvePoint(v, "clean", r.CleanAccuracy, r.Count, r.CleanSeconds));
            for (var i = 0; i < r.Suites.Count; i++)
                points.Add(new CurvePoint(v, template.Attacks[Math.Min(i, template.Attacks.Count - 1)], r.Suites[i].RobustAccuracy, r.Count, r.Suites[i].Seconds));
            log?.Invoke($"{Key(p)} {Format(p, v)}: clean {Pct(r.CleanAccuracy)}, " +
                        string.Join(", ", r.Suites.Select((s, i) => $"{template.Attacks[Math.Min(i, template.Attacks.Count - 1)]} {Pct(s.RobustAccuracy)}")));
        }
        return points;
    }

    private static string Pct(double v) => (100 * v).ToString("F2", CultureInfo.InvariantCulture) + "%";

    /// <summary>ε as written: a short decimal as it is (0.1), a multiple of 1/255 as a fraction (8/255), else to six digits.</summary>
    public static string Format(CurveParameter p, double v)
    {
        if (p != CurveParameter.Eps) return v.ToString("0", CultureInfo.InvariantCulture);
        var text = v.ToString("R", CultureInfo.InvariantCulture);
        if (text.Length <= 5) return text;
        var k = v * 255;
        return Math.Abs(k - Math.Round(k)) < 1e-6 ? $"{Math.Round(k).ToString(CultureInfo.InvariantCulture)}/255" : v.ToString("G6", CultureInfo.InvariantCulture);
    }

    /// <summary>One row per point: parameter value, attack, accuracy, n, seconds.</summary>
    public static void WriteCsv(string path, CurveParameter p, IReadOnlyList<CurvePoint> points) => AtomicFile.Write(path, s =>
    {
        using var w = new StreamWriter(s, leaveOpen: true);
        using var csv = CsvWriter.Create(w, new CsvWriterOptions { NewLine = "\n" });
        foreach (var h in new[] { Key(p), "attack", "accuracy", "n", "seconds" }) csv.WriteField(h);
        csv.EndRecord();
        foreach (var pt in points)
        {
            csv.WriteField(pt.Value.ToString("G10", CultureInfo.InvariantCulture));
            csv.WriteField(pt.Attack);
            csv.WriteField(pt.Accuracy.ToString("G6", CultureInfo.InvariantCulture));
            csv.WriteField(pt.N.ToString(CultureInfo.InvariantCulture));
            csv.WriteField(pt.Seconds.ToString("F1", CultureInfo.InvariantCulture));
            csv.EndRecord();
        }
    });

    /// <summary>Accuracy (%) against the parameter, one curve per attack and the clean accuracy; ε is drawn in /255 units.</summary>
    public static Figure Plot(CurveParameter p, IReadOnlyList<CurvePoint> points, string title, string name) =>
        new(name, AccuracyCurves.Draw(title, p == CurveParameter.Eps ? "ε (× 1/255)" : Key(p),
            points.GroupBy(pt => pt.Attack).Select(g => new AccuracySeries(g.Key,
                g.Select(pt => p == CurveParameter.Eps ? pt.Value * 255 : pt.Value).ToList(), g.Select(pt => pt.Accuracy).ToList()))));
}
