using System.Globalization;

namespace RobustCli.Core.Registry;

/// <summary>Range: a number, or [low, high] (a value drawn per sample from that interval); held as a two-entry double[].</summary>
/// <summary>ChoiceList: a list of distinct names from Choices (GAT's tasks); held as a List&lt;string&gt;.</summary>
public enum OptionKind { Int, Double, Bool, String, Choice, IntList, Range, ChoiceList }

/// <summary>
/// One declared option of a method, attack, model, dataset or task: its key, type, default and allowed range. A
/// registration's list of these is the single source for config validation, `config show`, help texts and the
/// fingerprint of a result.
/// </summary>
public sealed record OptionSpec(string Key, OptionKind Kind, object? Default, string Description)
{
    public double? Min { get; init; }
    public double? Max { get; init; }
    /// <summary>Min (Max) itself is not allowed: a range such as (0, 1].</summary>
    public bool MinExclusive { get; init; }
    public bool MaxExclusive { get; init; }
    public IReadOnlyList<string> Choices { get; init; } = [];
    /// <summary>null is a valid value (it means "derived from other settings", e.g. FGSM-RS's alpha = 1.25 eps).</summary>
    public bool Nullable { get; init; }
    /// <summary>A list must be sorted ascending (milestones).</summary>
    public bool Sorted { get; init; }
    /// <summary>Advice appended to a range error ("pixel units: 8/255, not 8").</summary>
    public string? Hint { get; init; }

    public static OptionSpec Int(string key, int @default, string description, double? min = null, double? max = null) =>
        new(key, OptionKind.Int, @default, description) { Min = min, Max = max };

    public static OptionSpec Double(string key, double? @default, string description, double? min = null, double? max = null,
        bool minExclusive = false, bool maxExclusive = false) =>
        new(key, OptionKind.Double, @default, description) { Min = min, Max = max, MinExclusive = minExclusive, MaxExclusive = maxExclusive, Nullable = @default == null };

    public static OptionSpec Bool(string key, bool @default, string description) => new(key, OptionKind.Bool, @default, description);

    public static OptionSpec String(string key, string @default, string description) => new(key, OptionKind.String, @default, description);

    public static OptionSpec Choice(string key, string @default, string description, params string[] choices) =>
        new(key, OptionKind.Choice, @default, description) { Choices = choices };

    public static OptionSpec Ints(string key, IReadOnlyList<int> @default, string description, double? min = null, bool sorted = false) =>
        new(key, OptionKind.IntList, @default.ToList(), description) { Min = min, Sorted = sorted };

    /// <summary>A list of distinct names, each one of <paramref name="choices"/> (possibly empty).</summary>
    public static OptionSpec Names(string key, IReadOnlyList<string> @default, string description, params string[] choices) =>
        new(key, OptionKind.ChoiceList, @default.ToList(), description) { Choices = choices };

    /// <summary>A number or an interval [low, high]; the default is one number.</summary>
    public static OptionSpec Range(string key, double @default, string description, double? min = null, double? max = null) =>
        new(key, OptionKind.Range, new[] { @default, @default }, description) { Min = min, Max = max };

    /// <summary>What a value must be, in words: "an integer >= 1", "a number in (0, 1]", "one of a, b".</summary>
    public string Expected
    {
        get
        {
            var what = Kind switch
            {
                OptionKind.Int => "an integer",
                OptionKind.Double => "a number",
                OptionKind.Bool => "true or false",
                OptionKind.Choice => "one of " + string.Join(", ", Choices),
                OptionKind.IntList => "a list of integers",
                OptionKind.Range => "a number or an interval [low, high]",
                OptionKind.ChoiceList => "a list of distinct names from " + string.Join(", ", Choices),
                _ => "a string",
            };
            var range = (Min, Max) switch
            {
                ({ } lo, { } hi) => $" in {(MinExclusive ? "(" : "[")}{Fmt(lo)}, {Fmt(hi)}{(MaxExclusive ? ")" : "]")}",
                ({ } lo, null) => $" {(MinExclusive ? ">" : ">=")} {Fmt(lo)}",
                (null, { } hi) => $" {(MaxExclusive ? "<" : "<=")} {Fmt(hi)}",
                _ => "",
            };
            if (Kind is OptionKind.IntList or OptionKind.Range && range.Length > 0) range = ", each" + range;
            if (Sorted) range += ", in increasing order";
            return what + range + (Nullable ? " (or null)" : "");
        }
    }

    private static string Fmt(double v) => v.ToString("G6", CultureInfo.InvariantCulture);

    /// <summary>Parses the text form of a value (an attack spec's "kappa=20", a --set value); throws FormatException.</summary>
    public object? Parse(string text)
    {
        text = text.Trim();
        if (Nullable && text is "" or "null" or "~") return null;
        object? v = Kind switch
        {
            OptionKind.Int => ParseNumber(text) is { } d && d == Math.Floor(d) && Math.Abs(d) < int.MaxValue ? (int)d : null,
            OptionKind.Double => ParseNumber(text),
            OptionKind.Bool => text.ToLowerInvariant() switch { "true" or "yes" or "1" => true, "false" or "no" or "0" => false, _ => null },
            OptionKind.Choice => text.ToLowerInvariant(),
            OptionKind.IntList => ParseList(text),
            OptionKind.Range => ParseRange(text),
            OptionKind.ChoiceList => text.Trim('[', ']', ' ') is var t && t.Length == 0 ? new List<string>()
                : t.Split(',', StringSplitOptions.TrimEntries).Select(n => n.ToLowerInvariant()).ToList(),
            _ => text,
        };
        return v ?? throw new FormatException($"{Key}: expected {Expected}, got '{text}'");
    }

    private static double[]? ParseRange(string text)
    {
        var parts = text.Trim('[', ']', ' ').Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length is not (1 or 2)) return null;
        var values = parts.Select(ParseNumber).ToList();
        if (values.Any(v => v == null)) return null;
        return [values[0]!.Value, values[^1]!.Value];
    }

    private static List<int>? ParseList(string text)
    {
        var t = text.Trim('[', ']', ' ');
        if (t.Length == 0) return [];
        var r = new List<int>();
        foreach (var part in t.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)) return null;
            r.Add(i);
        }
        return r;
    }

    /// <summary>A number, or a fraction a/b as papers write budgets (8/255); null if neither.</summary>
    public static double? ParseNumber(string s)
    {
        s = s.Trim();
        var slash = s.IndexOf('/');
        if (slash > 0)
        {
            var a = ParseNumber(s[..slash]);
            var b = ParseNumber(s[(slash + 1)..]);
            return a.HasValue && b is { } d && d != 0 ? a / d : null;
        }
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : null;
    }

    /// <summary>Null when the value is allowed; otherwise what is wrong, in words.</summary>
    public string? Check(object? value)
    {
        if (value == null) return Nullable ? null : $"expected {Expected}, got null";
        switch (Kind)
        {
            case OptionKind.Int or OptionKind.Double:
                var d = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                return InRange(d) ? null : $"must be {RangeWords()}{(Hint != null ? " (" + Hint + ")" : "")}, got {Fmt(d)}";
            case OptionKind.Choice:
                var s = (string)value;
                if (Choices.Contains(s)) return null;
                var best = Choices.OrderBy(c => Levenshtein.Distance(c, s)).FirstOrDefault();
                return $"'{s}' is not one of {string.Join(", ", Choices)}" + (best != null && Levenshtein.Distance(best, s) <= 3 ? $"; did you mean '{best}'?" : "");
            case OptionKind.Range:
                var r = (double[])value;
                if (r.Any(v => !InRange(v))) return $"every end must be {RangeWords()}, got {Format(r)}";
                return r[0] <= r[1] ? null : $"an interval is [low, high] with low <= high, got {Format(r)}";
            case OptionKind.ChoiceList:
                var names = (IReadOnlyList<string>)value;
                foreach (var n in names.Where(n => !Choices.Contains(n)))
                {
                    var near = Choices.OrderBy(c => Levenshtein.Distance(c, n)).FirstOrDefault();
                    return $"'{n}' is not one of {string.Join(", ", Choices)}" + (near != null && Levenshtein.Distance(near, n) <= 3 ? $"; did you mean '{near}'?" : "");
                }
                var twice = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
                return twice == null ? null : $"'{twice.Key}' is listed twice";
            case OptionKind.IntList:
                var list = (IReadOnlyList<int>)value;
                var bad = list.Where(i => !InRange(i)).ToList();
                if (bad.Count > 0) return $"every entry must be {RangeWords()}, got {string.Join(", ", bad)}";
                if (Sorted && list.Zip(list.Skip(1)).Any(p => p.Second <= p.First)) return $"must be in strictly increasing order, got [{string.Join(", ", list)}]";
                return null;
            default:
                return null;
        }
    }

    private bool InRange(double d) =>
        (Min is not { } lo || (MinExclusive ? d > lo : d >= lo)) && (Max is not { } hi || (MaxExclusive ? d < hi : d <= hi));

    private string RangeWords() => (Min, Max) switch
    {
        ({ } lo, null) when Kind is OptionKind.Int or OptionKind.IntList && !MinExclusive => $"at least {Fmt(lo)}",
        ({ } lo, { } hi) => $"in {(MinExclusive ? "(" : "[")}{Fmt(lo)}, {Fmt(hi)}{(MaxExclusive ? ")" : "]")}",
        ({ } lo, null) => $"{(MinExclusive ? ">" : ">=")} {Fmt(lo)}",
        (null, { } hi) => $"{(MaxExclusive ? "<" : "<=")} {Fmt(hi)}",
        _ => "valid",
    };

    /// <summary>The value as text, the form <see cref="Parse"/> reads back (fingerprints, help).</summary>
    public static string Format(object? v) => v switch
    {
        null => "null",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        double[] { Length: 2 } r => r[0] == r[1] ? r[0].ToString("R", CultureInfo.InvariantCulture) : $"[{r[0].ToString("R", CultureInfo.InvariantCulture)}, {r[1].ToString("R", CultureInfo.InvariantCulture)}]",
        IEnumerable<int> l => "[" + string.Join(", ", l) + "]",
        IEnumerable<string> n => "[" + string.Join(", ", n) + "]",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };
}

/// <summary>Edit distance, for "did you mean" suggestions.</summary>
public static class Levenshtein
{
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }

    /// <summary>"; did you mean 'x'?" when a candidate is close, else "".</summary>
    public static string Suggest(string given, IEnumerable<string> candidates)
    {
        var best = candidates.OrderBy(c => Distance(c, given)).FirstOrDefault();
        return best != null && Distance(best, given) <= Math.Max(2, given.Length / 3) ? $"; did you mean '{best}'?" : "";
    }
}
