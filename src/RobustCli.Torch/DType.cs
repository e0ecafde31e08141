namespace RobustCli.Torch;

/// <summary>Element types; the values are c10::ScalarType codes, which is what crosses the C ABI.</summary>
public enum DType : sbyte
{
    UInt8 = 0,
    Int8 = 1,
    Int16 = 2,
    Int32 = 3,
    Int64 = 4,
    Float16 = 5,
    Float32 = 6,
    Float64 = 7,
    Bool = 11,
    BFloat16 = 15,
}

public static class DTypeExtensions
{
    public static int ElementSize(this DType t) => t switch
    {
        DType.UInt8 or DType.Int8 or DType.Bool => 1,
        DType.Int16 or DType.Float16 or DType.BFloat16 => 2,
        DType.Int32 or DType.Float32 => 4,
        DType.Int64 or DType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown dtype"),
    };

    public static bool IsFloatingPoint(this DType t) =>
        t is DType.Float16 or DType.Float32 or DType.Float64 or DType.BFloat16;

    /// <summary>PyTorch's name (torch.float32 -> "float32").</summary>
    public static string TorchName(this DType t) => t switch
    {
        DType.UInt8 => "uint8", DType.Int8 => "int8", DType.Int16 => "int16", DType.Int32 => "int32",
        DType.Int64 => "int64", DType.Float16 => "float16", DType.Float32 => "float32",
        DType.Float64 => "float64", DType.Bool => "bool", DType.BFloat16 => "bfloat16",
        _ => t.ToString(),
    };
}
