namespace RobustCli.Experiments.Jobs;

/// <summary>Quoting for the shell lines robust writes (Slurm scripts, commands it prints).</summary>
public static class Shell
{
    public static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";
}
