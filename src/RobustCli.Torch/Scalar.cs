namespace RobustCli.Torch;

/// <summary>
/// A Python-like number: integers stay integers (int tensor + 1 is int) and floats promote
/// (int tensor + 1.0 is float), as in PyTorch.
/// </summary>
public readonly struct Scalar
{
    internal readonly double D;
    internal readonly long I;
    internal readonly int Kind; // 0 floating, 1 integral, 2 bool

    private Scalar(double d, long i, int kind) { D = d; I = i; Kind = kind; }

    public static implicit operator Scalar(double v) => new(v, 0, 0);
    public static implicit operator Scalar(float v) => new(v, 0, 0);
    public static implicit operator Scalar(long v) => new(v, v, 1);
    public static implicit operator Scalar(int v) => new(v, v, 1);
    public static implicit operator Scalar(bool v) => new(v ? 1 : 0, v ? 1 : 0, 2);

    public bool IsFloatingPoint => Kind == 0;
    public double ToDouble() => Kind == 0 ? D : I;
    public override string ToString() => Kind == 0 ? D.ToString(System.Globalization.CultureInfo.InvariantCulture) : Kind == 1 ? I.ToString(System.Globalization.CultureInfo.InvariantCulture) : (I != 0).ToString();
}
