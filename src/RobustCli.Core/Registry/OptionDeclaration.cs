using System.Globalization;

namespace RobustCli.Core.Registry;

/// <summary>A problem with one option: its key and what is wrong.</summary>
public sealed record OptionError(string Key, string Message);

/// <summary>Thrown when options do not resolve; each error names its key.</summary>
public sealed class OptionException(IReadOnlyList<OptionError> errors)
    : FormatException(string.Join("; ", errors.Select(e => $"{e.Key}: {e.Message}")))
{
    public IReadOnlyList<OptionError> Errors { get; } = errors;
}

/// <summary>
/// The options of one registered thing: the declared keys (with types, defaults and ranges) and an optional check
/// across keys (FAT's milestones, a WideResNet's depth). Resolving given values yields <see cref="OptionValues"/>
/// with every key present.
/// </summary>
public sealed class OptionDeclaration(IReadOnlyList<OptionSpec> specs, Func<OptionValues, IEnumerable<OptionError>>? crossCheck = null)
{
    public static readonly OptionDeclaration None = new([]);

    public IReadOnlyList<OptionSpec> Specs { get; } = specs;

    public OptionSpec? Find(string key) => Specs.FirstOrDefault(s => s.Key == key);

    public IEnumerable<string> Keys => Specs.Select(s => s.Key);

    /// <summary>Given values (already parsed to the declared types) over the defaults; all errors are collected.</summary>
    public OptionValues Resolve(IReadOnlyDictionary<string, object?> given, out List<OptionError> errors)
    {
        errors = [];
        var values = new Dictionary<string, object?>();
        foreach (var (k, v) in given)
        {
            var spec = Find(k);
            if (spec == null)
            {
                errors.Add(new OptionError(k, "unknown option" + Levenshtein.Suggest(k, Keys) + (Specs.Count > 0 ? $" Valid: {string.Join(", ", Keys)}" : " (this takes no options)")));
                continue;
            }
            if (spec.Check(v) is { } message) errors.Add(new OptionError(k, message));
            else values[k] = v;
        }
        foreach (var s in Specs) values.TryAdd(s.Key, s.Default switch { List<int> l => l.ToList(), List<string> n => n.ToList(), double[] d => d.ToArray(), var d => d });
        var result = new OptionValues(this, values);
        if (errors.Count == 0 && crossCheck != null) errors.AddRange(crossCheck(result));
        return result;
    }

    public OptionValues Resolve(IReadOnlyDictionary<string, object?> given)
    {
        var r = Resolve(given, out var errors);
        return errors.Count == 0 ? r : throw new OptionException(errors);
    }

    public OptionValues Defaults => Resolve(new Dictionary<string, object?>());

    /// <summary>Parses "key=value" texts (an attack spec's options) and resolves them.</summary>
    public OptionValues ParseAndResolve(IReadOnlyDictionary<string, string> texts)
    {
        var errors = new List<OptionError>();
        var given = new Dictionary<string, object?>();
        foreach (var (k, t) in texts)
        {
            var spec = Find(k);
            if (spec == null) { given[k] = t; continue; }
            try { given[k] = spec.Parse(t); }
            catch (FormatException) { errors.Add(new OptionError(k, $"{k}={t} is not {spec.Expected}")); }
        }
        var r = Resolve(given, out var more);
        errors.AddRange(more);
        return errors.Count == 0 ? r : throw new OptionException(errors);
    }

    /// <summary>One line per option for help texts: key, default, what it takes, what it does.</summary>
    public IEnumerable<string> HelpLines(string prefix = "") =>
        Specs.Select(s => $"{prefix}{s.Key} (default {OptionSpec.Format(s.Default)}; {s.Expected}): {s.Description}");
}

/// <summary>Resolved option values, every declared key present, read by type.</summary>
public sealed class OptionValues(OptionDeclaration declaration, IReadOnlyDictionary<string, object?> values)
{
    public OptionDeclaration Declaration { get; } = declaration;
    public IReadOnlyDictionary<string, object?> Values { get; } = values;

    private object? Get(string key) =>
        Values.TryGetValue(key, out var v) ? v : throw new KeyNotFoundException($"option '{key}' is not declared");

    public double Double(string key) => Convert.ToDouble(Get(key), CultureInfo.InvariantCulture);
    public double? NullableDouble(string key) => Get(key) is { } v ? Convert.ToDouble(v, CultureInfo.InvariantCulture) : null;
    public int Int(string key) => Convert.ToInt32(Get(key), CultureInfo.InvariantCulture);
    public bool Bool(string key) => (bool)Get(key)!;
    public string String(string key) => (string)Get(key)!;
    public IReadOnlyList<int> Ints(string key) => (IReadOnlyList<int>)Get(key)!;
    public IReadOnlyList<string> Names(string key) => (IReadOnlyList<string>)Get(key)!;
    /// <summary>A Range option: (low, high), equal for a single number.</summary>
    public (double Low, double High) Range(string key) => Get(key) is double[] { Length: 2 } r ? (r[0], r[1]) : throw new InvalidCastException($"option '{key}' is not a range");

    /// <summary>Every key=value in declaration order: the identity of these settings (fingerprints, logs).</summary>
    public string Canonical() => string.Join(",", Declaration.Specs.Select(s => $"{s.Key}={OptionSpec.Format(Values[s.Key])}"));

    public override string ToString() => Canonical();
}
