namespace RobustCli.Core.Data;

/// <summary>
/// A dataset's domain-knowledge grouping of its classes (GAT's "macro" task): class → group and the groups' names.
/// </summary>
public sealed record MacroClasses(IReadOnlyList<int> GroupOf, IReadOnlyList<string> Groups)
{
    public long[] Labels(IReadOnlyList<long> classes) => classes.Select(c => (long)GroupOf[(int)c]).ToArray();
}
