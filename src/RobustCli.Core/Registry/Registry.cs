namespace RobustCli.Core.Registry;

/// <summary>What every registration has: a name, a line of description and its declared options.</summary>
public interface IRegistration
{
    string Name { get; }
    string Description { get; }
    OptionDeclaration Options { get; }
}

/// <summary>
/// Name → registration for one kind (methods, attacks, models, datasets, tasks). Adding a thing is its own file
/// plus one <see cref="Register"/> line in the kind's list of built-ins; a test or a plug-in may register more.
/// </summary>
public sealed class Registry<T>(string kind, IEnumerable<T> builtIns) where T : IRegistration
{
    private readonly List<T> entries = builtIns.ToList();
    private readonly HashSet<string> builtInNames = builtIns.Select(e => e.Name).ToHashSet();
    private readonly object gate = new();

    public string Kind { get; } = kind;

    public IReadOnlyList<T> All { get { lock (gate) return entries.ToList(); } }

    public IEnumerable<string> Names => All.Select(e => e.Name);

    /// <summary>Adds (or, for the same name, replaces) a registration.</summary>
    public void Register(T entry)
    {
        lock (gate)
        {
            entries.RemoveAll(e => e.Name == entry.Name);
            entries.Add(entry);
        }
    }

    /// <summary>Whether the name is one of the built-ins (every process knows it) rather than a plug-in's registration.</summary>
    public bool IsBuiltIn(string name) => builtInNames.Contains(name);

    public bool TryGet(string name, out T entry)
    {
        lock (gate)
        {
            var found = entries.FirstOrDefault(e => e.Name == name);
            entry = found!;
            return found != null;
        }
    }

    /// <summary>The registration, or a FormatException naming the known ones and the closest.</summary>
    public T Get(string name) => TryGet(name, out var e) ? e
        : throw new FormatException($"unknown {Kind} '{name}'{Levenshtein.Suggest(name, Names)} Known: {string.Join(", ", Names)}");
}
