using RobustCli.Core.Registry;

namespace RobustCli.Core.Attacks;

/// <summary>Options several attack families declare alike (steps, restarts, alpha, targets), worded once.</summary>
internal static class AttackOptions
{
    public static OptionSpec Steps(int d) => OptionSpec.Int("steps", d, "iterations", min: 1);
    public static OptionSpec Restarts(int d = 1) => OptionSpec.Int("restarts", d, "random restarts; a sample keeps the first that fools the model", min: 1);
    public static OptionSpec Alpha(string derived) => OptionSpec.Double("alpha", null, $"step size in pixel units; null: {derived}", min: 0, minExclusive: true);
    public static OptionSpec Targets => OptionSpec.Int("targets", 9, "target classes tried, runner-up first", min: 1);
}
