using System.Globalization;
using System.Reflection;
using System.Text;
using RobustCli.Core.Attacks;
using RobustCli.Core.Evaluation;
using RobustCli.Core.Data;
using RobustCli.Core.Models;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace RobustCli.Experiments.Config;

/// <summary>One axis of a sweep: a key path and the values it takes.</summary>
public sealed record SweepAxis(string Path, IReadOnlyList<string> Values);

/// <summary>A loaded config: the typed records, and the sweep axes if the file has a sweep: section.</summary>
public sealed record LoadedConfig(RunConfig Config, IReadOnlyList<SweepAxis> Sweep, string Source);

/// <summary>
/// YAML -> <see cref="RunConfig"/>: parses with YamlDotNet, applies --set overrides to the document, binds every key
/// by reflection (snake_case keys), and validates. Unknown keys, wrong types and bad values are errors that name
/// file:line:column, the key path, what was expected, and the closest valid key for a typo.
/// </summary>
public static class ConfigLoader
{
    public static readonly string[] Methods = ["standard", "pgd-at", "trades", "mart", "fat", "fgsm-rs", "noilin"];
    public static readonly string[] Optimizers = ["sgd", "adam", "adamw"];
    public static readonly string[] Schedules = ["constant", "multistep", "cosine", "onecycle"];

    public static LoadedConfig Load(string path, IEnumerable<string>? sets = null)
    {
        if (!File.Exists(path)) throw new ConfigException($"{path}: config file not found");
        return LoadText(File.ReadAllText(path), path, sets);
    }

    public static LoadedConfig LoadText(string text, string source, IEnumerable<string>? sets = null)
    {
        var ctx = new Context(source);
        var root = Parse(text, source);
        var sweep = ExtractSweep(root, ctx);
        foreach (var s in sets ?? []) ApplySet(root, s, ctx);
        var config = (RunConfig)ctx.Bind(root, typeof(RunConfig), "");
        Validate(config, ctx);
        return new LoadedConfig(config, sweep, source);
    }

    /// <summary>The resolved config as YAML (every key, defaults included), loadable again.</summary>
    public static string ToYaml(RunConfig config) =>
        new SerializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build().Serialize(config);

    private static YamlMappingNode Parse(string text, string source)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new ConfigException($"{source}:{e.Start.Line}:{e.Start.Column}: invalid YAML: {e.Message}");
        }
        if (stream.Documents.Count == 0) return new YamlMappingNode();
        return stream.Documents[0].RootNode as YamlMappingNode
            ?? throw new ConfigException($"{source}:{stream.Documents[0].RootNode.Start.Line}:{stream.Documents[0].RootNode.Start.Column}: a config must be a mapping of keys (data:, model:, train:, ...)");
    }

    private static IReadOnlyList<SweepAxis> ExtractSweep(YamlMappingNode root, Context ctx)
    {
        var key = new YamlScalarNode("sweep");
        if (!root.Children.TryGetValue(key, out var node)) return [];
        root.Children.Remove(key);
        if (node is not YamlMappingNode m) throw new ConfigException($"{ctx.Where(node)}: sweep: expected a mapping of key paths to lists of values (train.beta: [1, 3, 6])");
        var axes = new List<SweepAxis>();
        foreach (var (k, v) in m.Children)
        {
            var path = ((YamlScalarNode)k).Value ?? "";
            if (v is not YamlSequenceNode seq || seq.Children.Count == 0)
                throw new ConfigException($"{ctx.Where(v)}: sweep.{path}: expected a non-empty list of values");
            // Values are validated for their keys when Sweep.Expand applies each combination.
            var values = seq.Children.Select(c => c is YamlScalarNode s ? s.Value ?? "" : throw new ConfigException($"{ctx.Where(c)}: sweep.{path}: values must be scalars")).ToList();
            axes.Add(new SweepAxis(path, values));
        }
        return axes;
    }

    /// <summary>Applies "a.b.c=value"; the value is read as YAML, so lists ([50, 75]) and numbers work.</summary>
    public static void ApplySet(YamlMappingNode root, string assignment, Context ctx)
    {
        var eq = assignment.IndexOf('=');
        if (eq <= 0) throw new ConfigException($"--set {assignment}: expected key.path=value (e.g. --set train.beta=3)");
        var path = assignment[..eq].Trim();
        var valueText = assignment[(eq + 1)..];
        YamlNode value;
        try
        {
            var s = new YamlStream();
            s.Load(new StringReader("v: " + valueText));
            value = ((YamlMappingNode)s.Documents[0].RootNode).Children[new YamlScalarNode("v")];
        }
        catch (YamlException e)
        {
            throw new ConfigException($"--set {assignment}: the value is not valid YAML ({e.Message})");
        }
        ctx.MarkSet(value, assignment);
        var parts = path.Split('.');
        var node = root;
        var type = typeof(RunConfig);
        for (var i = 0; i < parts.Length; i++)
        {
            var prop = FindProperty(type, parts[i]);
            if (prop == null)
                throw new ConfigException($"--set {assignment}: unknown key '{string.Join('.', parts[..(i + 1)])}'{Suggest(parts[i], type)}");
            var key = new YamlScalarNode(parts[i]);
            if (i == parts.Length - 1)
            {
                node.Children[key] = value;
                return;
            }
            if (!node.Children.TryGetValue(key, out var child) || child is not YamlMappingNode childMap)
            {
                childMap = new YamlMappingNode();
                ctx.MarkSet(childMap, assignment);
                node.Children[key] = childMap;
            }
            node = childMap;
            type = prop.PropertyType;
        }
    }

    internal static PropertyInfo? FindProperty(Type type, string key) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).FirstOrDefault(p => p.CanWrite && SnakeCase(p.Name) == key);

    internal static string SnakeCase(string name) => UnderscoredNamingConvention.Instance.Apply(name);

    private static string[] Keys(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).Select(p => SnakeCase(p.Name)).ToArray();

    private static string Suggest(string key, Type type)
    {
        var keys = Keys(type);
        var best = keys.OrderBy(k => Levenshtein(k, key)).FirstOrDefault();
        var hint = best != null && Levenshtein(best, key) <= Math.Max(2, key.Length / 3) ? $"; did you mean '{best}'?" : "";
        return $"{hint} Valid keys here: {string.Join(", ", keys)}";
    }

    internal static int Levenshtein(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }

    /// <summary>Binding state: the source name, where each key path was written, and which nodes came from --set.</summary>
    public sealed class Context(string source)
    {
        private readonly Dictionary<YamlNode, string> fromSet = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<string, YamlNode> nodes = [];

        public void MarkSet(YamlNode node, string assignment) => fromSet[node] = assignment;

        public string Where(YamlNode node) =>
            fromSet.TryGetValue(node, out var s) ? $"--set {s}" : $"{source}:{node.Start.Line}:{node.Start.Column}";

        /// <summary>Where a key path was written (for errors found after binding), or the file when it is a default.</summary>
        public string Where(string path) => nodes.TryGetValue(path, out var n) ? Where(n) : $"{source} (default value)";

        public object Bind(YamlNode node, Type type, string path)
        {
            if (path.Length > 0) nodes[path] = node;
            var underlying = Nullable.GetUnderlyingType(type);
            if (node is YamlScalarNode { Value: null or "" or "null" or "~", Style: ScalarStyle.Plain } && (underlying != null || !type.IsValueType))
                return null!;
            if (underlying != null) type = underlying;
            if (type == typeof(string)) return Scalar(node, path, "a string");
            if (type == typeof(int))
            {
                var s = Scalar(node, path, "an integer");
                return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i
                    : throw new ConfigException($"{Where(node)}: {path}: expected an integer, got '{s}'");
            }
            if (type == typeof(double))
            {
                var s = Scalar(node, path, "a number");
                return ParseNumber(s) ?? throw new ConfigException($"{Where(node)}: {path}: expected a number (such as 0.1, 1e-3 or 8/255), got '{s}'");
            }
            if (type == typeof(bool))
            {
                var s = Scalar(node, path, "true or false");
                return s switch
                {
                    "true" or "True" or "yes" => true,
                    "false" or "False" or "no" => false,
                    _ => throw new ConfigException($"{Where(node)}: {path}: expected true or false, got '{s}'"),
                };
            }
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
            {
                if (node is not YamlSequenceNode seq)
                    throw new ConfigException($"{Where(node)}: {path}: expected a list (e.g. [1, 2])");
                var list = (System.Collections.IList)Activator.CreateInstance(type)!;
                var item = type.GetGenericArguments()[0];
                for (var i = 0; i < seq.Children.Count; i++) list.Add(Bind(seq.Children[i], item, $"{path}[{i}]"));
                return list;
            }
            if (node is not YamlMappingNode map)
                throw new ConfigException($"{Where(node)}: {(path.Length == 0 ? "the config" : path)}: expected a mapping of keys ({string.Join(", ", Keys(type))})");
            var obj = Activator.CreateInstance(type)!;
            var seen = new HashSet<string>();
            foreach (var (k, v) in map.Children)
            {
                var key = (k as YamlScalarNode)?.Value ?? "";
                var full = path.Length == 0 ? key : path + "." + key;
                var prop = FindProperty(type, key) ?? throw new ConfigException($"{Where(k)}: {full}: unknown key{Suggest(key, type)}");
                if (!seen.Add(key)) throw new ConfigException($"{Where(k)}: {full}: duplicate key");
                prop.SetValue(obj, Bind(v, prop.PropertyType, full));
            }
            return obj;
        }

        private string Scalar(YamlNode node, string path, string expected) =>
            node is YamlScalarNode s ? s.Value ?? "" : throw new ConfigException($"{Where(node)}: {path}: expected {expected}, got a {(node is YamlSequenceNode ? "list" : "mapping")}");
    }

    /// <summary>A number, or a fraction a/b as papers write budgets (8/255).</summary>
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

    private static void Validate(RunConfig c, Context ctx)
    {
        var errors = new List<string>();
        void Check(bool ok, string path, string message)
        {
            if (!ok) errors.Add($"{ctx.Where(path)}: {path}: {message}");
        }
        void OneOf(string value, string path, IEnumerable<string> allowed)
        {
            var list = allowed.ToList();
            if (list.Contains(value)) return;
            var best = list.OrderBy(a => Levenshtein(a, value)).First();
            errors.Add($"{ctx.Where(path)}: {path}: '{value}' is not one of {string.Join(", ", list)}" +
                       (Levenshtein(best, value) <= 3 ? $"; did you mean '{best}'?" : ""));
        }
        OneOf(c.Data.Name, "data.name", DatasetCatalog.All.Select(d => d.Name));
        if (!System.Text.RegularExpressions.Regex.IsMatch(c.Model.Arch, @"^wrn\d+-\d+$")) OneOf(c.Model.Arch, "model.arch", ModelFactory.Names);
        OneOf(c.Model.Normalize, "model.normalize", ["auto", "none"]);
        OneOf(c.Train.Method, "train.method", Methods);
        OneOf(c.Train.Optimizer.Name, "train.optimizer.name", Optimizers);
        OneOf(c.Train.Schedule.Name, "train.schedule.name", Schedules);
        OneOf(c.Train.Noilin.Base, "train.noilin.base", ["pgd-at", "trades"]);
        OneOf(c.Train.Noilin.Noise, "train.noilin.noise", ["symmetric", "pairflip"]);
        OneOf(c.Attack.Norm, "attack.norm", ["linf", "l2"]);
        OneOf(c.Attack.RandomStart, "attack.random_start", ["uniform", "normal", "none"]);
        Check(c.Train.Epochs >= 1, "train.epochs", "must be at least 1");
        Check(c.Train.BatchSize >= 1, "train.batch_size", "must be at least 1");
        Check(c.Eval.BatchSize >= 1, "eval.batch_size", "must be at least 1");
        Check(c.Train.Optimizer.Lr > 0, "train.optimizer.lr", "must be > 0");
        Check(c.Train.Optimizer.WeightDecay >= 0, "train.optimizer.weight_decay", "must be >= 0");
        Check(c.Attack.Eps >= 0, "attack.eps", "must be >= 0 (pixel units: 8/255 for CIFAR)");
        Check(c.Attack.Eps <= 1, "attack.eps", "must be <= 1: pixels are in [0, 1], so eps is in pixel units (8/255, not 8)");
        Check(c.Attack.Step > 0, "attack.step", "must be > 0");
        Check(c.Attack.Steps >= 1, "attack.steps", "must be at least 1");
        Check(c.Data.ValSize >= 0, "data.val_size", "must be >= 0");
        Check(c.Data.TrainSubset >= 0, "data.train_subset", "must be >= 0");
        Check(c.Data.TestSubset >= 0, "data.test_subset", "must be >= 0");
        Check(c.Data.CropPadding >= 0, "data.crop_padding", "must be >= 0");
        Check(c.Train.Schedule.PeakFraction is > 0 and < 1, "train.schedule.peak_fraction", "must be in (0, 1)");
        Check(c.Train.Noilin.NMin >= 0 && c.Train.Noilin.NMin <= c.Train.Noilin.NMax, "train.noilin.n_min", "must be in [0, n_max]");
        Check(c.Train.Noilin.NMax <= 1, "train.noilin.n_max", "must be <= 1");
        Check(c.Train.Noilin.Tau >= 1, "train.noilin.tau", "must be at least 1");
        Check(c.Threads >= 0, "threads", "must be >= 0 (0: every core)");
        Check(c.Train.Method != "noilin" || c.Data.ValSize > 0, "data.val_size", "NoiLIn's schedule needs a validation set: set data.val_size > 0");
        try { RobustCli.Torch.Device.Parse(c.Device == "auto" ? "cpu" : c.Device); }
        catch (FormatException e) { errors.Add($"{ctx.Where("device")}: device: {e.Message} (or auto)"); }
        foreach (var (path, spec) in new[] { ("eval.val_attack", c.Eval.ValAttack), ("eval.test_attack", c.Eval.TestAttack) })
        {
            try { AttackPresets.Create(spec, c.Attack.Eps); }
            catch (FormatException e) { errors.Add($"{ctx.Where(path)}: {path}: {e.Message}"); }
        }
        // The final evaluation also takes AutoAttack (autoattack, autoattack:version=plus...).
        foreach (var (spec, i) in c.Eval.Final.Select((a, i) => (a, i)))
        {
            var path = $"eval.final[{i}]";
            try { AttackSuites.Parse(spec, c.Attack.Eps, 10, new SuiteDefaults(AttackSuites.IsAutoAttack(spec) && c.Attack.Norm == "l2" ? Norm.L2 : Norm.Linf)); }
            catch (Exception e) when (e is FormatException or ArgumentException) { errors.Add($"{ctx.Where(path)}: {path}: {e.Message}"); }
        }
        Check(c.Eval.AutoattackN >= 0, "eval.autoattack_n", "must be >= 0 (0: the whole test set)");
        if (errors.Count > 0) throw new ConfigException(string.Join("\n", errors));
    }
}
