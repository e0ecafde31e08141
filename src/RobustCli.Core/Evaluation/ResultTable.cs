namespace RobustCli.Core.Evaluation;

/// <summary>
/// A table an evaluation writes or shows: named columns and rows of cells, already formatted as they appear (the
/// task decides the digits). The run writers in Experiments turn it into a CSV file, the CLI into a console table.
/// </summary>
public sealed record ResultTable(IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<string>> Rows);
