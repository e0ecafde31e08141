namespace RobustCli.Experiments.Config;

/// <summary>A mistake in a config or a --set: the message names the place (file:line:column), the key, what was expected and what to do.</summary>
public sealed class ConfigException(string message) : Exception(message);
