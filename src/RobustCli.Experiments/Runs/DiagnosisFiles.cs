using System.Globalization;
using System.Text;
using System.Text.Json;
using RobustCli.Core.Evaluation;
using RobustCli.Experiments.Plots;
using RobustCli.Torch.Serialization;

namespace RobustCli.Experiments.Runs;

/// <summary>What robust diagnose writes: its verdicts as Markdown and JSON, and its figures.</summary>
public static class DiagnosisFiles
{
    /// <summary>diagnose.md (the checklist as a table), diagnose.json and a figure per check with a curve, written atomically.</summary>
    public static IReadOnlyList<string> Write(string folder, string file, double eps, int points, IReadOnlyList<DiagnosisCheck> checks)
    {
        Directory.CreateDirectory(folder);
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# robust diagnose\n\n{file}, {points} test images, eps {eps:G4}\n\n| check | verdict | measured | meaning |\n| --- | --- | --- | --- |\n");
        foreach (var c in checks) md.Append(CultureInfo.InvariantCulture, $"| {c.Name} | {(c.Passed ? "pass" : "FAIL")} | {c.Measured} | {c.Line.Replace("|", "\\|")} |\n");
        var mdPath = Path.Combine(folder, "diagnose.md");
        var mdBytes = Encoding.UTF8.GetBytes(md.ToString());
        AtomicFile.Write(mdPath, s => s.Write(mdBytes));
        var json = JsonSerializer.SerializeToUtf8Bytes(new
        {
            checkpoint = file, eps, points, passed = checks.All(c => c.Passed),
            checks = checks.Select(c => new { name = c.Name, passed = c.Passed, measured = c.Measured, line = c.Line,
                curve = c.Curve == null ? null : new { parameter = c.Curve.Parameter, values = c.Curve.Values, accuracy = c.Curve.Accuracy } }),
        }, new JsonSerializerOptions { WriteIndented = true });
        var jsonPath = Path.Combine(folder, "diagnose.json");
        AtomicFile.Write(jsonPath, s => s.Write(json));
        return [mdPath, jsonPath, .. Figure.SaveAll(DiagnosisFigures.Build(checks), folder)];
    }
}
