namespace RobustCli.Torch;

public enum DeviceType { CPU = 0, CUDA = 1 }

/// <summary>A device as PyTorch names it: "cpu", "cuda", "cuda:1".</summary>
public readonly record struct Device(DeviceType Type, int Index = -1)
{
    public static readonly Device CPU = new(DeviceType.CPU);
    public static Device CUDA(int index = 0) => new(DeviceType.CUDA, index);

    public bool IsCuda => Type == DeviceType.CUDA;

    public static Device Parse(string text)
    {
        var s = text.Trim().ToLowerInvariant();
        if (s == "cpu") return CPU;
        if (s == "cuda") return CUDA(0);
        if (s.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(s.AsSpan(5), out var i) && i >= 0)
            return CUDA(i);
        throw new FormatException($"'{text}' is not a device: expected cpu, cuda or cuda:N");
    }

    public override string ToString() => Type == DeviceType.CPU ? "cpu" : Index < 0 ? "cuda" : $"cuda:{Index}";
}
