#if !ENGINE_TORCHSHARP
namespace RobustCli.Torch.Native;

internal static partial class NativeMethods
{
    /// <summary>Which engine this build of the binding runs on (the other is TorchSharp; see Engines/).</summary>
    internal const string EngineName = "native";
}
#endif
