using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using RobustCli.Core.Attacks;
using RobustCli.Core.Data;
using RobustCli.Core.Evaluation;
using RobustCli.Core.Models;
using RobustCli.Core.Registry;
using RobustCli.Core.Tasks;
using RobustCli.Core.Training;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace RobustCli.Experiments.Config;

/// <summary>One axis of a sweep: a key path and the values it takes.</summary>
public sealed record SweepAxis(string Path, IReadOnlyList<string> Values);

/// <summary>A loaded config: the typed records, the sweep axes if the file has a sweep: section, and warnings (deprecated keys).</summary>
public sealed record LoadedConfig(RunConfig Config, IReadOnlyList<SweepAxis> Sweep, string Source)
{
    public IReadOnlyList<string> Warnings { get; init; } = [];
    /// <summary>
    /// The slurm: section: the cluster resources of robust sweep --slurm and robust eval --slurm. Kept out of the run's
    /// config, so a job resubmitted with more time or another partition still continues its run.
    /// </summary>
    public SlurmConfig Slurm { get; init; } = new();
}

/// <summary>
/// YAML -> <see cref="RunConfig"/>: parses with YamlDotNet, applies --set overrides to the document, binds every key
/// by reflection (snake_case keys) and the open sections (a method's, an architecture's, a task's options) through
/// their registrations' declarations, and validates. Unknown keys, wrong types and values out of their declared
/// range are errors that name file:line:column, the key path, what was expected, and the closest valid key.
/// </summary>
public static class ConfigLoader
{
    public static IEnumerable<string> Methods => Core.Training.Methods.Registry.Names;
    public static IEnumerable<string> Optimizers => Core.Training.Optimizers.Registry.Names;
    public static IEnumerable<string> Schedules => Core.Training.Schedules.Registry.Names;

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
        var slurm = new SlurmConfig();
        if (root.Children.TryGetValue(new YamlScalarNode("slurm"), out var slurmNode))
        {
            root.Children.Remove(new YamlScalarNode("slurm"));
            slurm = (SlurmConfig)ctx.Bind(slurmNode, typeof(SlurmConfig), "slurm");
        }
        var config = (RunConfig)ctx.Bind(root, typeof(RunConfig), "");
        ctx.ThrowIfErrors();
        slurm.Validate(ctx);
        ResolveOpenSections(config, ctx);
        Validate(config, ctx);
        ctx.ThrowIfErrors();
        return new LoadedConfig(config, sweep, source) { Warnings = ctx.Warnings, Slurm = slurm };
    }

    /// <summary>The resolved config as YAML (every key, defaults and the options of the method, model and task included), loadable again.</summary>
    public static string ToYaml(RunConfig config)
    {
        var text = new SerializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build().Serialize(config);
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        void Inject(YamlMappingNode into, OptionValues? values)
        {
            if (values == null) return;
            foreach (var s in values.Declaration.Specs) into.Children[new YamlScalarNode(s.Key)] = ToNode(values.Values[s.Key]);
        }
        Inject((YamlMappingNode)root.Children[new YamlScalarNode("task")], config.Task.Options);
        Inject((YamlMappingNode)root.Children[new YamlScalarNode("model")], config.Model.Options);
        var train = (YamlMappingNode)root.Children[new YamlScalarNode("train")];
        // Built-in methods' sections are always written; a plug-in's only when the run uses or names it, so a run's
        // config.yaml loads in a process where that plug-in is not registered.
        var used = new HashSet<string>();
        for (var m = config.Train.Method; m != null && used.Add(m);)
        {
            var r = Core.Training.Methods.Registry.TryGet(m, out var reg) ? reg : null;
            m = r?.BaseOption is { } key && config.Train.MethodOptions.TryGetValue(m, out var o) ? o.String(key) : null;
        }
        foreach (var (name, values) in config.Train.MethodOptions)
        {
            if (values.Declaration.Specs.Count == 0) continue;
            var registration = Core.Training.Methods.Registry.Get(name);
            if (!Core.Training.Methods.Registry.IsBuiltIn(name) && !used.Contains(name) && !config.Train.Sections.ContainsKey(registration.Section)) continue;
            var section = new YamlMappingNode();
            Inject(section, values);
            train.Children[new YamlScalarNode(registration.Section)] = section;
        }
        var w = new StringWriter();
        stream.Save(w, assignAnchors: false);
        var yaml = w.ToString();
        return yaml.EndsWith("...\n", StringComparison.Ordinal) ? yaml[..^4] : yaml;
    }

    private static YamlNode ToNode(object? v) => v switch
    {
        IEnumerable<int> list => new YamlSequenceNode(list.Select(i => (YamlNode)new YamlScalarNode(i.ToString(CultureInfo.InvariantCulture)))) { Style = SequenceStyle.Flow },
        IEnumerable<string> names when v is not string => new YamlSequenceNode(names.Select(n => (YamlNode)new YamlScalarNode(n))) { Style = SequenceStyle.Flow },
        double[] { Length: 2 } r when r[0] != r[1] => new YamlSequenceNode(r.Select(d => (YamlNode)new YamlScalarNode(d.ToString("R", CultureInfo.InvariantCulture)))) { Style = SequenceStyle.Flow },
        _ => new YamlScalarNode(OptionSpec.Format(v)),
    };

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
        if (node is not YamlMappingNode m) throw new ConfigException($"{ctx.Where(node)}: sweep: expected a mapping of key paths to lists of values (train.trades.beta: [1, 3, 6])");
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
        if (eq <= 0) throw new ConfigException($"--set {assignment}: expected key.path=value (e.g. --set train.trades.beta=3)");
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
        Type? type = typeof(RunConfig);
        for (var i = 0; i < parts.Length; i++)
        {
            var key = new YamlScalarNode(parts[i]);
            var last = i == parts.Length - 1;
            // slurm: is a section of its own, bound apart from the run's config (LoadText takes it out after the sets).
            if (i == 0 && parts[0] == "slurm" && !last) type = typeof(SlurmConfig);
            else if (type != null)
            {
                var prop = FindProperty(type, parts[i]);
                if (prop == null)
                {
                    // Open sections: a method's section under train (train.trades.beta), an architecture's or a task's option.
                    var isSection = type == typeof(TrainConfig) && !last && Core.Training.Methods.Registry.All.Any(r => r.Section == parts[i]);
                    var isOption = (type == typeof(ModelConfig) || type == typeof(TaskConfig)) && last;
                    if (!isSection && !isOption)
                        throw new ConfigException($"--set {assignment}: unknown key '{string.Join('.', parts[..(i + 1)])}'{Suggest(parts[i], type)}");
                    type = null;
                }
                else type = prop.PropertyType;
            }
            if (last)
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
        }
    }

    internal static PropertyInfo? FindProperty(Type type, string key) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).FirstOrDefault(p => p.GetSetMethod() != null && SnakeCase(p.Name) == key);

    internal static string SnakeCase(string name) => UnderscoredNamingConvention.Instance.Apply(name);

    private static string[] Keys(Type type)
    {
        var keys = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetSetMethod() != null && p.GetCustomAttribute<DeprecatedAttribute>() == null).Select(p => SnakeCase(p.Name)).ToList();
        if (type == typeof(TrainConfig)) keys.AddRange(Core.Training.Methods.Registry.All.Where(r => r.Options.Specs.Count > 0).Select(r => r.Section));
        return keys.ToArray();
    }

    private static string Suggest(string key, Type type)
    {
        var keys = Keys(type);
        // Deprecated keys still load, so a typo of one is suggested too; they are not listed as valid.
        var candidates = keys.Concat(type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttribute<DeprecatedAttribute>() != null).Select(p => SnakeCase(p.Name)));
        return $"{Levenshtein.Suggest(key, candidates)} Valid keys here: {string.Join(", ", keys)}";
    }

    /// <summary>Binding state: the source name, where each key path was written, which nodes came from --set, errors and warnings.</summary>
    public sealed class Context(string source)
    {
        private readonly Dictionary<YamlNode, string> fromSet = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<string, YamlNode> nodes = [];
        private readonly List<string> errors = [];

        public List<string> Warnings { get; } = [];

        public void MarkSet(YamlNode node, string assignment) => fromSet[node] = assignment;

        public string Where(YamlNode node) =>
            fromSet.TryGetValue(node, out var s) ? $"--set {s}" : $"{source}:{node.Start.Line}:{node.Start.Column}";

        /// <summary>Where a key path was written (for errors found after binding), or the file when it is a default.</summary>
        public string Where(string path) => nodes.TryGetValue(path, out var n) ? Where(n) : $"{source} (default value)";

        public void Error(string path, string message) => errors.Add($"{Where(path)}: {path}: {message}");

        public void Error(YamlNode node, string path, string message) => errors.Add($"{Where(node)}: {path}: {message}");

        /// <summary>Errors about <paramref name="path"/> point where <paramref name="writtenAt"/> was written (a deprecated key's new home).</summary>
        public void Alias(string path, string writtenAt)
        {
            if (nodes.TryGetValue(writtenAt, out var n)) nodes.TryAdd(path, n);
        }

        public void ThrowIfErrors()
        {
            if (errors.Count > 0) throw new ConfigException(string.Join("\n", errors.Distinct()));
        }

        public object Bind(YamlNode node, Type type, string path, PropertyInfo? property = null)
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
                var i = int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v
                    : throw new ConfigException($"{Where(node)}: {path}: expected an integer, got '{s}'");
                CheckRange(property, path, node, i, true);
                return i;
            }
            if (type == typeof(double))
            {
                var s = Scalar(node, path, "a number");
                var d = ParseNumber(s) ?? throw new ConfigException($"{Where(node)}: {path}: expected a number (such as 0.1, 1e-3 or 8/255), got '{s}'");
                CheckRange(property, path, node, d, false);
                return d;
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
                for (var i = 0; i < seq.Children.Count; i++) list.Add(Bind(seq.Children[i], item, $"{path}[{i}]", property));
                if (list is List<int> ints && property?.GetCustomAttribute<RangeAttribute>() is { Sorted: true } r &&
                    r.Spec(path, true, isList: true).Check(ints) is { } sortedError && sortedError.Contains("order"))
                    Error(node, path, sortedError);
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
                if (!seen.Add(key)) throw new ConfigException($"{Where(k)}: {full}: duplicate key");
                var prop = FindProperty(type, key);
                if (prop == null)
                {
                    if (obj is IOpenSection open && open.Accept(key, v))
                    {
                        nodes[full] = v;
                        if (v is YamlMappingNode section)
                            foreach (var (sk, sv) in section.Children) nodes[full + "." + ((sk as YamlScalarNode)?.Value ?? "")] = sv;
                        continue;
                    }
                    throw new ConfigException($"{Where(k)}: {full}: unknown key{Suggest(key, type)}");
                }
                if (prop.GetCustomAttribute<DeprecatedAttribute>() is { } dep)
                    Warnings.Add($"{(fromSet.ContainsKey(v) ? Where(v) : Where(k))}: {full} is deprecated: write {dep.Replacement} (a method's options live under its own key)");
                prop.SetValue(obj, Bind(v, prop.PropertyType, full, prop));
            }
            return obj;
        }

        private void CheckRange(PropertyInfo? property, string path, YamlNode node, double value, bool isInt)
        {
            if (property?.GetCustomAttribute<RangeAttribute>() is not { } r) return;
            if (r.Spec(path, isInt).Check(value) is { } message) Error(node, path, message);
        }

        private string Scalar(YamlNode node, string path, string expected) =>
            node is YamlScalarNode s ? s.Value ?? "" : throw new ConfigException($"{Where(node)}: {path}: expected {expected}, got a {(node is YamlSequenceNode ? "list" : "mapping")}");
    }

    /// <summary>A number, or a fraction a/b as papers write budgets (8/255).</summary>
    public static double? ParseNumber(string s) => OptionSpec.ParseNumber(s);

    /// <summary>Binds the written keys of an open section against a registration's declared options; errors carry their place.</summary>
    private static OptionValues BindOptions(IReadOnlyDictionary<string, YamlNode> given, OptionDeclaration declaration, string path, string owner, Context ctx,
        IReadOnlyDictionary<string, object?>? fallback = null)
    {
        var values = new Dictionary<string, object?>();
        foreach (var (key, node) in given)
        {
            var full = $"{path}.{key}";
            var spec = declaration.Find(key);
            if (spec == null)
            {
                var keys = declaration.Keys.ToList();
                ctx.Error(node, full, keys.Count == 0 ? $"unknown key: {owner} takes no options" : $"unknown key{Levenshtein.Suggest(key, keys)} {owner} takes: {string.Join(", ", keys)}");
                continue;
            }
            try
            {
                values[key] = node switch
                {
                    YamlScalarNode { Value: null or "" or "null" or "~", Style: ScalarStyle.Plain } when spec.Nullable => null,
                    YamlScalarNode when spec.Kind is OptionKind.IntList or OptionKind.ChoiceList => throw new FormatException("a list"),
                    YamlScalarNode s => spec.Parse(s.Value ?? ""),
                    YamlSequenceNode seq when spec.Kind is OptionKind.IntList or OptionKind.Range or OptionKind.ChoiceList => spec.Parse("[" + string.Join(",", seq.Children.Select(c => (c as YamlScalarNode)?.Value ?? "x")) + "]"),
                    _ => throw new FormatException($"expected {spec.Expected}"),
                };
            }
            catch (FormatException)
            {
                ctx.Error(node, full, $"expected {spec.Expected}, got '{(node as YamlScalarNode)?.Value ?? node.ToString()}'");
            }
        }
        foreach (var (k, v) in fallback ?? new Dictionary<string, object?>()) values.TryAdd(k, v);
        var resolved = declaration.Resolve(values, out var errors);
        foreach (var e in errors) ctx.Error($"{path}.{e.Key}", e.Message);
        return resolved;
    }

    private static void ResolveOpenSections(RunConfig c, Context ctx)
    {
        if (Tasks.Registry.TryGet(c.Task.Name, out var task)) c.Task.Options = BindOptions(c.Task.Given, task.Options, "task", $"task {task.Name}", ctx);
        else ctx.Error("task.name", $"'{c.Task.Name}' is not one of {string.Join(", ", Tasks.Registry.Names)}{Levenshtein.Suggest(c.Task.Name, Tasks.Registry.Names)}");
        ModelRegistration? model = null;
        try { model = ModelFactory.Get(c.Model.Arch); }
        catch (FormatException e) { ctx.Error("model.arch", e.Message.Replace($"unknown architecture '{c.Model.Arch}'", $"'{c.Model.Arch}' is not a known architecture") + " (and wrnDEPTH-WIDTH)"); }
        if (model != null) c.Model.Options = BindOptions(c.Model.Given, model.Options, "model", $"architecture {model.Name}", ctx);

        // Every method section is checked and resolved, used or not.
        var t = c.Train;
        var former = typeof(TrainConfig).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttribute<DeprecatedAttribute>() != null).ToDictionary(p => SnakeCase(p.Name), p => p.GetValue(t));
        foreach (var r in Core.Training.Methods.Registry.All)
        {
            var given = t.Sections.TryGetValue(r.Section, out var m)
                ? m.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value ?? "", kv => kv.Value) : [];
            var fallback = r.FormerKeys.Where(f => former.GetValueOrDefault(f.Key) != null).ToDictionary(f => f.Value, f => former[f.Key]);
            foreach (var (old, option) in r.FormerKeys) ctx.Alias($"train.{r.Section}.{option}", $"train.{old}");
            var values = BindOptions(given, r.Options, $"train.{r.Section}", $"method {r.Name}", ctx, fallback);
            // Every method's options are kept, defaults included, so `config show` and a run's config.yaml list them all.
            t.MethodOptions[r.Name] = values;
        }
    }

    private static readonly Regex RunName = new("^[A-Za-z0-9][A-Za-z0-9._+-]*$");

    private static void Validate(RunConfig c, Context ctx)
    {
        void Check(bool ok, string path, string message)
        {
            if (!ok) ctx.Error(path, message);
        }
        void OneOf(string value, string path, IEnumerable<string> allowed)
        {
            var list = allowed.ToList();
            if (list.Contains(value)) return;
            var best = list.OrderBy(a => Core.Registry.Levenshtein.Distance(a, value)).First();
            ctx.Error(path, $"'{value}' is not one of {string.Join(", ", list)}" + (Core.Registry.Levenshtein.Distance(best, value) <= 3 ? $"; did you mean '{best}'?" : ""));
        }
        Check(RunName.IsMatch(c.Name) && !c.Name.Contains(".."), "name",
            $"'{c.Name}' is not a folder name: use letters, digits, '.', '_', '-' and '+' (it becomes runs/<name>/), not a path");
        OneOf(c.Data.Name, "data.name", DatasetCatalog.Registry.Names);
        OneOf(c.Model.Normalize, "model.normalize", ["auto", "none"]);
        OneOf(c.Train.Method, "train.method", Methods);
        OneOf(c.Train.Optimizer.Name, "train.optimizer.name", Optimizers);
        OneOf(c.Train.Schedule.Name, "train.schedule.name", Schedules);
        OneOf(c.Attack.Norm, "attack.norm", ["linf", "l2"]);
        OneOf(c.Attack.RandomStart, "attack.random_start", ["uniform", "normal", "none"]);
        if (Core.Training.Methods.Registry.TryGet(c.Train.Method, out var method) && !method.Tasks.Contains(c.Task.Name))
            ctx.Error("train.method", $"{method.Name} does not train the {c.Task.Name} task; methods that do: " +
                                      string.Join(", ", Core.Training.Methods.Registry.All.Where(r => r.Tasks.Contains(c.Task.Name)).Select(r => r.Name)));
        if (method?.Models is { } archs && c.Model.Options != null && !archs.Contains(ModelFactory.Get(c.Model.Arch).Name))
            ctx.Error("model.arch", $"the {method.Name} method trains a model.arch of {string.Join(" or ", archs)}, not {c.Model.Arch}" +
                                    (method.ModelHint != null ? "; " + string.Format(System.Globalization.CultureInfo.InvariantCulture, method.ModelHint, c.Model.Arch) : ""));
        if (method?.Heads != null && c.Train.MethodOptions.TryGetValue(method.Name, out var methodOptions) && methodOptions != null
            && DatasetCatalog.Registry.TryGet(c.Data.Name, out var headData))
        {
            try { method.Heads(methodOptions, headData); }
            catch (ArgumentException e) { ctx.Error($"train.{method.Section}.tasks", e.Message); }
        }
        if (c.Model.Options != null && ModelFactory.Get(c.Model.Arch) is var model && !model.Tasks.Contains(c.Task.Name))
            ctx.Error("model.arch", $"{c.Model.Arch} is not a model for the {c.Task.Name} task; those that are: " +
                                    string.Join(", ", ModelFactory.Registry.All.Where(r => r.Tasks.Contains(c.Task.Name)).Select(r => r.Name)));
        var pictureSets = DatasetCatalog.Registry.All.Where(d => d.Pictures != null).Select(d => d.Name).ToList();
        if (DatasetCatalog.Registry.TryGet(c.Data.Name, out var pictures) && pictures.Pictures != null)
        {
            // Pictures carry no labels: they train only tasks that make their own targets.
            var unlabelled = Tasks.Registry.All.Where(r => !r.Create(new TaskBuild(r.Options.Defaults)).NeedsLabels).Select(r => r.Name).ToList();
            Check(unlabelled.Contains(c.Task.Name), "data.name",
                $"{pictures.Name} is a folder of pictures without labels: it trains the {string.Join(" or ", unlabelled)} task (task: {{name: {unlabelled.FirstOrDefault()}}}), not {c.Task.Name}");
            Check(pictures.Pictures.HasTrain, "data.name", $"{pictures.Name} is a test set; train on one with training pictures ({string.Join(", ", DatasetCatalog.Registry.All.Where(d => d.Pictures?.HasTrain == true).Select(d => d.Name))}) and name {pictures.Name} in data.test_set");
            Check(c.Data.PerClass == 0, "data.per_class", $"{pictures.Name} has no classes; per_class limits a labelled dataset's training images per class");
            if (c.Data.Channels != 0) Check(c.Data.Channels is 1 or 3, "data.channels", $"1 (gray) or 3 (colour), or 0 for the dataset's own; got {c.Data.Channels}");
        }
        if (c.Data.TestSet != null)
        {
            OneOf(c.Data.TestSet, "data.test_set", pictureSets);
            Check(pictures?.Pictures != null, "data.test_set", $"a test set of pictures goes with a training set of pictures ({string.Join(", ", pictureSets)}), not {c.Data.Name}");
        }
        if (DatasetCatalog.Registry.TryGet(c.Data.Name, out var data) && c.Data.Path == null && data.TrainCount is { } n)
            Check(c.Data.ValSize < n, "data.val_size", $"must be smaller than the {n} training images of {data.Name}, got {c.Data.ValSize}");
        // A milestone at or past the last epoch is legal (a sweep may shorten a run) but never applies: a warning.
        var late = c.Train.Schedule.Milestones.Where(m => m >= c.Train.Epochs).ToList();
        if (c.Train.Schedule.Name == "multistep" && late.Count > 0)
            ctx.Warnings.Add($"{ctx.Where("train.schedule.milestones")}: train.schedule.milestones {string.Join(", ", late)} >= train.epochs ({c.Train.Epochs}) never apply");
        if (method?.NeedsValidation is { } why) Check(c.Data.ValSize > 0, "data.val_size", $"{why}: set data.val_size > 0");
        Check(c.Train.Ema.Decay == 0 || c.Train.Ema.Decay >= 0.5, "train.ema.decay", $"an EMA decay below 0.5 averages almost nothing; use 0 (off) or e.g. 0.999, got {c.Train.Ema.Decay}");
        foreach (var (g, i) in c.Train.ParamGroups.Select((g, i) => (g, i)))
            Check(g.Prefix.Length > 0, $"train.param_groups[{i}].prefix", "must name the start of parameter names (e.g. fc. or experts.0.)");
        try { RobustCli.Torch.Device.Parse(c.Device == "auto" ? "cpu" : c.Device); }
        catch (FormatException e) { ctx.Error("device", $"{e.Message} (or auto)"); }
        if (!Tasks.Registry.TryGet(c.Task.Name, out var taskReg) || c.Task.Options == null) return;
        var task = taskReg.Create(new TaskBuild(c.Task.Options));
        var taskLoss = task.EvaluationLoss;
        // An attack that needs what the model does not offer (an expert selection, probe outputs) is refused before
        // training, not after.
        var modelRegistration = c.Model.Options != null ? ModelFactory.Get(c.Model.Arch) : null;
        void NeedsExperts(string path, IEnumerable<Attack> attacks)
        {
            foreach (var a in attacks)
            {
                if (modelRegistration != null && ModelCapability.Missing(a.Requires, modelRegistration) is { } missing)
                {
                    ctx.Error(path, missing.Refusal(a.Name, "attacks", c.Model.Arch));
                    return;
                }
            }
        }
        void MeasuresAccuracy(string path, string spec)
        {
            // An attack that measures a risk (hypocritical perturbations help the model) never gives a robust accuracy.
            if (AttackPresets.RegistrationOf(spec) is { MeasuresRisk: { } risk } r) ctx.Error(path, $"{r.Name} {risk.Refusal}");
        }
        foreach (var (path, spec) in new[] { ("eval.val_attack", c.Eval.ValAttack), ("eval.test_attack", c.Eval.TestAttack) })
        {
            try
            {
                MeasuresAccuracy(path, spec);
                NeedsExperts(path, [AttackPresets.Create(spec, c.Attack.Eps, taskLoss)]);
            }
            catch (FormatException e) { ctx.Error(path, e.Message); }
        }
        // The final evaluation also takes AutoAttack (autoattack, autoattack:version=plus...).
        foreach (var (spec, i) in c.Eval.Final.Select((a, i) => (a, i)))
        {
            var path = $"eval.final[{i}]";
            try
            {
                MeasuresAccuracy(path, spec);
                if (taskLoss != null) AttackPresets.Create(spec, c.Attack.Eps, taskLoss);
                else NeedsExperts(path, AttackSuites.Parse(spec, c.Attack.Eps, 10, new SuiteDefaults(AttackSuites.IsAutoAttack(spec) && c.Attack.Norm == "l2" ? Norm.L2 : Norm.Linf)).Stages);
            }
            catch (Exception e) when (e is FormatException or ArgumentException) { ctx.Error(path, e.Message); }
        }
    }
}
