using RobustCli.Core.Registry;

namespace RobustCli.Core.Tasks;

/// <summary>What a task is built from.</summary>
public sealed record TaskBuild(OptionValues Options);

/// <summary>A task by name with its options (config keys under task:).</summary>
public sealed record TaskRegistration(string Name, string Description, OptionDeclaration Options, Func<TaskBuild, ITask> Create) : IRegistration;

/// <summary>The tasks by name. Adding one is its file plus one line here.</summary>
public static class Tasks
{
    public static readonly Registry<TaskRegistration> Registry = new("task",
    [
        ClassificationTask.Registration,
        DenoiseTask.Registration,
    ]);
}
