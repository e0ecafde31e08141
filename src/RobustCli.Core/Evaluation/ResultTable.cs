namespace RobustCli.Core.Evaluation;

/// <summary>
/// A table an evaluation writes or shows: named columns and rows of cells, already formatted as they appear (the
/// task decides the digits). The run writers in Experiments turn it into a CSV file, the CLI into a console table.
/// </summary>
public sealed record ResultTable(IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<string>> Rows)
{
    /// <summary>Columns that the console shows right-aligned: every one but the first, which names the row.</summary>
    public static ResultTable Of(IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<string>> rows) => new(columns, rows.ToList());
}
