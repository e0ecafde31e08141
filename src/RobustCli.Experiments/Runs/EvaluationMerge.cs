using System.Globalization;
using System.Text.Json;
using CsvHelper;
using RobustCli.Core.Attacks;
using RobustCli.Core.Evaluation;
using RobustCli.Experiments.Config;

namespace RobustCli.Experiments.Runs;

/// <summary>
/// robust eval merge: the shards of one evaluation (robust eval --shard K/N, each leaving NAME.csv, NAME-samples.csv
/// and NAME.json) joined into the evaluation of all the points, as if it had run whole: per-sample outcomes side by
/// side in index order, stage tables recounted from them, seconds summed, the pixel checks and warnings combined.
/// The shards must be of the same evaluation (checkpoint, attacks, eps, seed, points) and cover the points exactly once.
/// </summary>
public static class EvaluationMerge
{
    /// <summary>The settings that must agree across shards; everything else in a shard's JSON describes the shard.</summary>
    private static readonly string[] SameEverywhere = ["checkpoint", "arch", "dataset", "eps", "attacks", "seed", "output", "transfer_from", "total_points"];

    /// <summary>Keys of a shard's JSON that name the shard, not the evaluation.</summary>
    public static readonly string[] ShardKeys = ["shard", "first_index", "total_points", "utc"];

    private sealed record Part(string Csv, JsonElement Json, int First, int Count, string Shard, string[] Header, List<string[]> Rows);

    public sealed record Merged(EvaluationResult Result, Dictionary<string, object?> Settings);

    public static Merged Merge(IReadOnlyList<string> shardCsvs)
    {
        if (shardCsvs.Count == 0) throw new ConfigException("robust eval merge: name the shards' summary CSVs (the files robust eval --shard K/N --out wrote)");
        var parts = shardCsvs.Select(Read).OrderBy(p => p.First).ToList();
        var first = parts[0];
        foreach (var key in SameEverywhere)
            foreach (var p in parts.Skip(1))
                if (Text(first.Json, key) != Text(p.Json, key))
                    throw new ConfigException($"{p.Csv}: {key} is {Text(p.Json, key)}, but {first.Csv} has {Text(first.Json, key)}; these shards are of different evaluations");
        var total = first.Json.GetProperty("total_points").GetInt32();
        var next = 0;
        Part? previous = null;
        foreach (var p in parts)
        {
            if (p.First < next)
                throw new ConfigException($"{p.Csv} (shard {p.Shard}, points {p.First}–{p.First + p.Count - 1}) overlaps {previous!.Csv} (shard {previous.Shard}, points {previous.First}–{previous.First + previous.Count - 1}); give each shard once");
            if (p.First > next)
                throw new ConfigException($"points {next}–{p.First - 1} of {total} are in no shard given (the next one given is {p.Csv}, shard {p.Shard}); add the missing shard's files");
            next = p.First + p.Count;
            previous = p;
        }
        if (next != total)
            throw new ConfigException($"points {next}–{total - 1} of {total} are in no shard given (the last one given is {previous!.Csv}, shard {previous.Shard}); add the missing shard's files");
        if (!first.Header.SequenceEqual(parts[^1].Header) || parts.Any(p => !p.Header.SequenceEqual(first.Header)))
            throw new ConfigException($"the shards' per-sample tables have different columns; they are of different evaluations");

        var rows = parts.SelectMany(p => p.Rows).ToList();
        var labels = rows.Select(r => long.Parse(r[1], CultureInfo.InvariantCulture)).ToArray();
        var clean = rows.Select(r => int.Parse(r[2], CultureInfo.InvariantCulture)).ToArray();
        var suites = Suites(rows, parts.Select(p => p.Json).ToList());
        // The checks of a suite's outcome (Square beating the white-box attacks...) are counted anew over all points;
        // the shards' own counts of them go, the rest (the model's checks, the same in every shard) stays once.
        var shardFinal = parts.SelectMany(p => Suites(p.Rows, [p.Json]).SelectMany(s => FinalWarnings(s.Result, s.State, p.Count))).ToHashSet();
        var warnings = parts.SelectMany(p => p.Json.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()!))
            .Where(w => !shardFinal.Contains(w)).Distinct()
            .Concat(suites.SelectMany(s => FinalWarnings(s.Result, s.State, rows.Count))).ToList();
        var cleanSeconds = parts.Sum(p => p.Json.TryGetProperty("clean_seconds", out var c) ? c.GetDouble() : 0);
        var settings = new Dictionary<string, object?>();
        foreach (var prop in first.Json.EnumerateObject())
            if (!ShardKeys.Contains(prop.Name) && prop.Name is not ("n" or "clean_accuracy" or "clean_seconds" or "suites" or "worst_case_accuracy" or "warnings"))
                settings[prop.Name] = prop.Value.Clone();
        settings["merged_from"] = parts.Select(p => Path.GetFullPath(p.Csv)).ToList();
        return new Merged(new EvaluationResult(labels, clean, suites.Select(s => s.Result).ToList(), cleanSeconds, warnings), settings);
    }

    private static IEnumerable<string> FinalWarnings(SuiteResult r, SuiteState s, int n) =>
        RobustnessEvaluator.FinalWarnings(r.Name, r.AutoAttackVersion, r.Eps, r.Norm, s, n);

    /// <summary>Each suite's per-sample outcome over <paramref name="rows"/>, its stage seconds summed over the shards' JSON.</summary>
    private static List<(SuiteResult Result, SuiteState State)> Suites(List<string[]> rows, List<JsonElement> jsons)
    {
        var suitesJson = jsons.Select(j => j.GetProperty("suites").EnumerateArray().ToList()).ToList();
        var suites = new List<(SuiteResult, SuiteState)>();
        for (var s = 0; s < suitesJson[0].Count; s++)
        {
            var meta = suitesJson[0][s];
            var name = meta.GetProperty("name").GetString()!;
            var stages = meta.GetProperty("stages").EnumerateArray().Select(st => st.GetProperty("attack").GetString()!).ToArray();
            var column = 3 + 3 * s;
            var brokenBy = rows.Select((r, i) => r[column] switch
            {
                "robust" => Outcome.Robust,
                "misclassified" => Outcome.Misclassified,
                "not_evaluated" => Outcome.Pending,
                var a => Array.IndexOf(stages, a) is >= 0 and var k ? k
                    : throw new ConfigException($"per-sample row {i}: '{a}' is no stage of {name} ({string.Join(", ", stages)})"),
            }).ToArray();
            var seconds = new double[stages.Length];
            foreach (var sj in suitesJson)
            {
                var k = 0;
                foreach (var st in sj[s].GetProperty("stages").EnumerateArray()) seconds[k++] += st.GetProperty("seconds").GetDouble();
            }
            var state = new SuiteState
            {
                Name = name, Stages = stages, StagesDone = stages.Length, BrokenBy = brokenBy, StageSeconds = seconds,
                RobustAfterStage = Enumerable.Range(0, stages.Length).Select(k => brokenBy.Count(b => b == Outcome.Robust || b > k)).ToArray(),
                Prediction = rows.Select(r => int.Parse(r[column + 1], CultureInfo.InvariantCulture)).ToArray(),
                PerturbationNorm = rows.Select(r => float.Parse(r[column + 2], CultureInfo.InvariantCulture)).ToArray(),
                MinPixel = suitesJson.Select(sj => Number(sj[s], "min_pixel") ?? double.PositiveInfinity).Min(),
                MaxPixel = suitesJson.Select(sj => Number(sj[s], "max_pixel") ?? double.NegativeInfinity).Max(),
                NanCount = suitesJson.Sum(sj => sj[s].GetProperty("nan_values").GetInt64()),
            };
            var version = meta.GetProperty("autoattack_version").ValueKind == JsonValueKind.String ? meta.GetProperty("autoattack_version").GetString() : null;
            suites.Add((new SuiteResult(state, version, meta.GetProperty("eps").GetDouble(), Enum.Parse<Norm>(meta.GetProperty("norm").GetString()!)), state));
        }
        return suites;
    }

    private static Part Read(string csv)
    {
        if (!File.Exists(csv)) throw new ConfigException($"{csv}: no such file");
        var json = Path.ChangeExtension(csv, ".json");
        var samples = Path.ChangeExtension(csv, null) + "-samples.csv";
        foreach (var f in new[] { json, samples })
            if (!File.Exists(f)) throw new ConfigException($"{csv}: no {Path.GetFileName(f)} beside it (robust eval writes NAME.csv, NAME-samples.csv and NAME.json together)");
        JsonElement doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(json)).RootElement.Clone(); }
        catch (JsonException e) { throw new ConfigException($"{json}: not an evaluation's JSON ({e.Message})"); }
        if (!doc.TryGetProperty("shard", out var shard) || shard.ValueKind != JsonValueKind.String)
            throw new ConfigException($"{json}: not a shard (robust eval --shard K/N writes one); only shards merge");
        var first = doc.GetProperty("first_index").GetInt32();
        var n = doc.GetProperty("n").GetInt32();
        using var reader = CsvReader.FromFile(samples);
        var header = reader.Headers.ToArray();
        var rows = new List<string[]>();
        while (reader.Read()) rows.Add(Enumerable.Range(0, header.Length).Select(i => i < reader.FieldCount ? reader.GetString(i) : "").ToArray());
        if (rows.Count != n) throw new ConfigException($"{samples}: {rows.Count} rows, but {Path.GetFileName(json)} says {n} points; the files are of different evaluations");
        for (var i = 0; i < rows.Count; i++)
            if (rows[i][0] != (first + i).ToString(CultureInfo.InvariantCulture))
                throw new ConfigException($"{samples}: row {i + 1} has index {rows[i][0]}, expected {first + i} (shard {shard.GetString()} starts at point {first})");
        return new Part(csv, doc, first, n, shard.GetString()!, header, rows);
    }

    private static string Text(JsonElement doc, string key) => doc.TryGetProperty(key, out var v) ? v.GetRawText() : "(none)";

    private static double? Number(JsonElement e, string key) => e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
}
