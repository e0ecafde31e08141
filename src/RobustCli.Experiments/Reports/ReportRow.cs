using System.Globalization;
using CsvHelper;
using RobustCli.Experiments.Runs;
using YamlDotNet.RepresentationModel;

namespace RobustCli.Experiments.Reports;

/// <summary>
/// One run as a report sees it, read only from the run's files: summary.json (method, final evaluation, epochs,
/// wall time, device), config.yaml (every key, flattened to dotted paths, so a report can show the ones that differ
/// between runs) and the evaluation tables `robust eval` wrote into the folder (an AutoAttack run after training).
/// </summary>
public sealed record ReportRow(string Run, string Path, RunSummary Summary, IReadOnlyDictionary<string, string> Config,
    IReadOnlyList<(string Key, double Value)> Results)
{
    public static ReportRow Load(string runPath, string displayName)
    {
        var run = RunFolder.Open(runPath);
        if (!File.Exists(run.SummaryFile)) throw new FileNotFoundException($"{run.Path} has no summary.json: the run never started its first epoch");
        var summary = RunSummary.Load(run.SummaryFile);
        var config = OwnSettings(Flatten(run.ConfigFile));
        var results = new List<(string, double)>();
        foreach (var (k, v) in summary.Final)
            if (v is { } value) results.Add((k, value));
        // robust eval's tables in the folder, oldest first; a key the training's final evaluation already has stays.
        var full = FullTestCount(run.FinalEvalFile);
        foreach (var file in Directory.GetFiles(run.Path, "*.csv").Where(f => System.IO.Path.GetFileName(f) is not ("final_eval.csv" or "metrics.csv"))
                     .OrderBy(File.GetLastWriteTimeUtc).ThenBy(f => f, StringComparer.Ordinal))
        {
            foreach (var (attack, accuracy, n) in EvaluationRows(file))
            {
                // Stages of a suite (autoattack/apgd-t) are cumulative steps, not results of their own.
                if (attack.Contains('/')) continue;
                var key = n == full ? attack : $"{attack}@{n}";
                if (!results.Any(r => r.Item1 == key)) results.Add((key, accuracy));
            }
        }
        return new ReportRow(displayName, run.Path, summary, config, results);
    }

    public double? this[string key] => Results.Where(r => r.Key == key).Select(r => (double?)r.Value).FirstOrDefault();

    private static int? FullTestCount(string finalEval) =>
        File.Exists(finalEval) ? EvaluationRows(finalEval).Where(r => r.Attack == "clean").Select(r => (int?)r.N).FirstOrDefault() : null;

    /// <summary>The rows of an evaluation table (attack, accuracy, seconds, n); any other CSV gives none.</summary>
    internal static IEnumerable<(string Attack, double Accuracy, int N)> EvaluationRows(string path)
    {
        using var reader = CsvReader.FromFile(path);
        if (!reader.Headers.SequenceEqual(["attack", "accuracy", "seconds", "n"])) yield break;
        while (reader.Read())
        {
            if (double.TryParse(reader.GetString(1), NumberStyles.Float, CultureInfo.InvariantCulture, out var a) &&
                int.TryParse(reader.GetString(3), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
                yield return (reader.GetString(0), a, n);
        }
    }

    /// <summary>
    /// A resolved config lists every method's options (train.trades.beta in a GAT run); only the run's own method's
    /// (and that of the method it wraps: NoiLIn's train.noilin.base) are its settings.
    /// </summary>
    internal static Dictionary<string, string> OwnSettings(Dictionary<string, string> config)
    {
        static string Section(string method) => method.Replace('-', '_');
        var method = config.GetValueOrDefault("train.method") ?? "";
        var own = new HashSet<string>(StringComparer.Ordinal) { Section(method) };
        if (config.GetValueOrDefault($"train.{Section(method)}.base") is { } wrapped) own.Add(Section(wrapped));
        var sections = RobustCli.Core.Training.Methods.Registry.Names.Select(Section).ToHashSet(StringComparer.Ordinal);
        return config.Where(kv => kv.Key.Split('.') is not ["train", var section, _, ..] || !sections.Contains(section) || own.Contains(section))
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
    }

    /// <summary>config.yaml as dotted key paths to scalar text; a list becomes "[a, b]".</summary>
    internal static Dictionary<string, string> Flatten(string configFile)
    {
        var yaml = new YamlStream();
        using (var r = new StreamReader(configFile)) yaml.Load(r);
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        if (yaml.Documents.Count > 0) Walk(yaml.Documents[0].RootNode, "", keys);
        return keys;
    }

    private static void Walk(YamlNode node, string path, Dictionary<string, string> keys)
    {
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (k, v) in map.Children) Walk(v, path.Length == 0 ? ((YamlScalarNode)k).Value ?? "" : $"{path}.{((YamlScalarNode)k).Value}", keys);
                break;
            case YamlSequenceNode seq:
                keys[path] = "[" + string.Join(", ", seq.Children.Select(c => c is YamlScalarNode s ? s.Value : c.ToString())) + "]";
                break;
            case YamlScalarNode s:
                keys[path] = s.Value ?? "";
                break;
        }
    }
}
