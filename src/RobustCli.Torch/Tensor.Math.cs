using RobustCli.Torch.Native;
using static RobustCli.Torch.Native.NativeMethods;

namespace RobustCli.Torch;

// Element-wise math, comparisons and their in-place forms, with PyTorch's broadcasting and type promotion.
public sealed partial class Tensor
{
    private enum U
    {
        Neg = 0, Abs, Sign, Exp, Log, Log1p, Sqrt, Rsqrt, Floor, Round, Sigmoid, Tanh, Relu, Silu, LogicalNot, Ceil,
        Sin, Cos, Square, Reciprocal, Trunc, IsNan, IsInf, IsFinite, Log2, Expm1, BitwiseNot,
    }

    private enum B
    {
        Add = 0, Sub, Mul, Div, Pow, Minimum, Maximum, Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr, LogicalXor,
        Remainder, Fmod, Atan2, FloorDivide, BitwiseAnd, BitwiseOr,
    }

    private Tensor Un(U op) => Wrap(rcl_unary((int)op, Handle));
    private Tensor UnInPlace(U op) { TorchException.Check(rcl_unary_((int)op, Handle)); return this; }
    private Tensor Bin(B op, Tensor other, double alpha = 1) => Wrap(rcl_binary((int)op, Handle, other.Handle, alpha));
    private Tensor BinInPlace(B op, Tensor other, double alpha = 1)
    {
        TorchException.Check(rcl_binary_((int)op, Handle, other.Handle, alpha));
        return this;
    }
    private Tensor BinS(B op, Scalar s, double alpha = 1, bool reverse = false) =>
        Wrap(rcl_binary_scalar((int)op, Handle, s.D, s.I, s.Kind, alpha, reverse ? 1 : 0));
    private Tensor BinSInPlace(B op, Scalar s, double alpha = 1)
    {
        TorchException.Check(rcl_binary_scalar_((int)op, Handle, s.D, s.I, s.Kind, alpha));
        return this;
    }

    public Tensor Neg() => Un(U.Neg);
    public Tensor Abs() => Un(U.Abs);
    public Tensor Sign() => Un(U.Sign);
    public Tensor Exp() => Un(U.Exp);
    public Tensor Log() => Un(U.Log);
    public Tensor Log1p() => Un(U.Log1p);
    public Tensor Log2() => Un(U.Log2);
    public Tensor Expm1() => Un(U.Expm1);
    public Tensor Sqrt() => Un(U.Sqrt);
    public Tensor Rsqrt() => Un(U.Rsqrt);
    public Tensor Floor() => Un(U.Floor);
    public Tensor Ceil() => Un(U.Ceil);
    public Tensor Round() => Un(U.Round);
    public Tensor Trunc() => Un(U.Trunc);
    public Tensor Sigmoid() => Un(U.Sigmoid);
    public Tensor Tanh() => Un(U.Tanh);
    public Tensor Relu() => Un(U.Relu);
    public Tensor Silu() => Un(U.Silu);
    public Tensor Sin() => Un(U.Sin);
    public Tensor Cos() => Un(U.Cos);
    public Tensor Square() => Un(U.Square);
    public Tensor Reciprocal() => Un(U.Reciprocal);
    public Tensor LogicalNot() => Un(U.LogicalNot);
    public Tensor BitwiseNot() => Un(U.BitwiseNot);
    public Tensor IsNan() => Un(U.IsNan);
    public Tensor IsInf() => Un(U.IsInf);
    public Tensor IsFinite() => Un(U.IsFinite);

    public Tensor Neg_() => UnInPlace(U.Neg);
    public Tensor Abs_() => UnInPlace(U.Abs);
    public Tensor Sign_() => UnInPlace(U.Sign);
    public Tensor Exp_() => UnInPlace(U.Exp);
    public Tensor Log_() => UnInPlace(U.Log);
    public Tensor Log1p_() => UnInPlace(U.Log1p);
    public Tensor Sqrt_() => UnInPlace(U.Sqrt);
    public Tensor Rsqrt_() => UnInPlace(U.Rsqrt);
    public Tensor Floor_() => UnInPlace(U.Floor);
    public Tensor Round_() => UnInPlace(U.Round);
    public Tensor Sigmoid_() => UnInPlace(U.Sigmoid);
    public Tensor Tanh_() => UnInPlace(U.Tanh);
    public Tensor Relu_() => UnInPlace(U.Relu);
    public Tensor Silu_() => UnInPlace(U.Silu);
    public Tensor Square_() => UnInPlace(U.Square);
    public Tensor Reciprocal_() => UnInPlace(U.Reciprocal);

    public Tensor Add(Tensor other, double alpha = 1) => Bin(B.Add, other, alpha);
    public Tensor Add(Scalar other, double alpha = 1) => BinS(B.Add, other, alpha);
    public Tensor Sub(Tensor other, double alpha = 1) => Bin(B.Sub, other, alpha);
    public Tensor Sub(Scalar other, double alpha = 1) => BinS(B.Sub, other, alpha);
    public Tensor Mul(Tensor other) => Bin(B.Mul, other);
    public Tensor Mul(Scalar other) => BinS(B.Mul, other);
    public Tensor Div(Tensor other) => Bin(B.Div, other);
    public Tensor Div(Scalar other) => BinS(B.Div, other);
    public Tensor Pow(Tensor exponent) => Bin(B.Pow, exponent);
    public Tensor Pow(Scalar exponent) => BinS(B.Pow, exponent);
    public Tensor Remainder(Scalar other) => BinS(B.Remainder, other);
    public Tensor Remainder(Tensor other) => Bin(B.Remainder, other);
    public Tensor FloorDivide(Scalar other) => BinS(B.FloorDivide, other);
    public Tensor FloorDivide(Tensor other) => Bin(B.FloorDivide, other);
    public Tensor Fmod(Scalar other) => BinS(B.Fmod, other);
    public Tensor Atan2(Tensor other) => Bin(B.Atan2, other);
    public Tensor Minimum(Tensor other) => Bin(B.Minimum, other);
    public Tensor Maximum(Tensor other) => Bin(B.Maximum, other);

    /// <summary>s - this (PyTorch's rsub).</summary>
    public Tensor RSub(Scalar s) => BinS(B.Sub, s, 1, reverse: true);
    /// <summary>s / this.</summary>
    public Tensor RDiv(Scalar s) => BinS(B.Div, s, 1, reverse: true);
    /// <summary>s ** this.</summary>
    public Tensor RPow(Scalar s) => BinS(B.Pow, s, 1, reverse: true);

    public Tensor Add_(Tensor other, double alpha = 1) => BinInPlace(B.Add, other, alpha);
    public Tensor Add_(Scalar other, double alpha = 1) => BinSInPlace(B.Add, other, alpha);
    public Tensor Sub_(Tensor other, double alpha = 1) => BinInPlace(B.Sub, other, alpha);
    public Tensor Sub_(Scalar other, double alpha = 1) => BinSInPlace(B.Sub, other, alpha);
    public Tensor Mul_(Tensor other) => BinInPlace(B.Mul, other);
    public Tensor Mul_(Scalar other) => BinSInPlace(B.Mul, other);
    public Tensor Div_(Tensor other) => BinInPlace(B.Div, other);
    public Tensor Div_(Scalar other) => BinSInPlace(B.Div, other);
    public Tensor Pow_(Scalar exponent) => BinSInPlace(B.Pow, exponent);
    public Tensor Pow_(Tensor exponent) => BinInPlace(B.Pow, exponent);
    public Tensor Minimum_(Tensor other) => BinInPlace(B.Minimum, other);
    public Tensor Maximum_(Tensor other) => BinInPlace(B.Maximum, other);

    public Tensor Eq(Tensor other) => Bin(B.Eq, other);
    public Tensor Eq(Scalar other) => BinS(B.Eq, other);
    public Tensor Ne(Tensor other) => Bin(B.Ne, other);
    public Tensor Ne(Scalar other) => BinS(B.Ne, other);
    public Tensor Lt(Tensor other) => Bin(B.Lt, other);
    public Tensor Lt(Scalar other) => BinS(B.Lt, other);
    public Tensor Le(Tensor other) => Bin(B.Le, other);
    public Tensor Le(Scalar other) => BinS(B.Le, other);
    public Tensor Gt(Tensor other) => Bin(B.Gt, other);
    public Tensor Gt(Scalar other) => BinS(B.Gt, other);
    public Tensor Ge(Tensor other) => Bin(B.Ge, other);
    public Tensor Ge(Scalar other) => BinS(B.Ge, other);
    public Tensor LogicalAnd(Tensor other) => Bin(B.LogicalAnd, other);
    public Tensor LogicalOr(Tensor other) => Bin(B.LogicalOr, other);
    public Tensor LogicalXor(Tensor other) => Bin(B.LogicalXor, other);
    public Tensor BitwiseAnd(Tensor other) => Bin(B.BitwiseAnd, other);
    public Tensor BitwiseOr(Tensor other) => Bin(B.BitwiseOr, other);

    /// <summary>self + value * t1 * t2.</summary>
    public Tensor Addcmul(Tensor t1, Tensor t2, double value = 1) => Wrap(rcl_ternary(0, Handle, t1.Handle, t2.Handle, value));
    /// <summary>self + value * t1 / t2.</summary>
    public Tensor Addcdiv(Tensor t1, Tensor t2, double value = 1) => Wrap(rcl_ternary(1, Handle, t1.Handle, t2.Handle, value));
    public Tensor Lerp(Tensor end, double weight) => Wrap(rcl_ternary(2, Handle, end.Handle, end.Handle, weight));

    private const int HasMin = 1, HasMax = 2;

    public Tensor Clamp(double? min = null, double? max = null) =>
        Wrap(rcl_clamp(Handle, min ?? 0, max ?? 0, (min.HasValue ? HasMin : 0) | (max.HasValue ? HasMax : 0)));
    public Tensor Clamp_(double? min = null, double? max = null)
    {
        TorchException.Check(rcl_clamp_(Handle, min ?? 0, max ?? 0, (min.HasValue ? HasMin : 0) | (max.HasValue ? HasMax : 0)));
        return this;
    }
    public Tensor Clamp(Tensor? min, Tensor? max) =>
        Wrap(rcl_clamp_tensor(Handle, min?.Handle ?? IntPtr.Zero, max?.Handle ?? IntPtr.Zero));
    public Tensor Clamp_(Tensor? min, Tensor? max)
    {
        TorchException.Check(rcl_clamp_tensor_(Handle, min?.Handle ?? IntPtr.Zero, max?.Handle ?? IntPtr.Zero));
        return this;
    }

    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);
    public static Tensor operator +(Tensor a, Scalar b) => a.Add(b);
    public static Tensor operator +(Scalar a, Tensor b) => b.Add(a);
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);
    public static Tensor operator -(Tensor a, Scalar b) => a.Sub(b);
    public static Tensor operator -(Scalar a, Tensor b) => b.RSub(a);
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);
    public static Tensor operator *(Tensor a, Scalar b) => a.Mul(b);
    public static Tensor operator *(Scalar a, Tensor b) => b.Mul(a);
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);
    public static Tensor operator /(Tensor a, Scalar b) => a.Div(b);
    public static Tensor operator /(Scalar a, Tensor b) => b.RDiv(a);
    public static Tensor operator -(Tensor a) => a.Neg();
    public static Tensor operator !(Tensor a) => a.LogicalNot();
    public static Tensor operator &(Tensor a, Tensor b) => a.LogicalAnd(b);
    public static Tensor operator |(Tensor a, Tensor b) => a.LogicalOr(b);
}
