using RobustCli.Torch;

namespace RobustCli.Core.Attacks;

/// <summary>
/// FAB's projections (Croce and Hein, ICML 2020, and AutoAttack's fab_projections.py): for each row t, the
/// minimum-norm step d such that t + d lies on the hyperplane w·z = b and inside the [0, 1] box (or as close to
/// the hyperplane as the box allows). Each is a sort plus a binary search over the breakpoints of a piecewise
/// linear function. The reference restricts every branch to the rows it applies to with boolean indexing; here
/// every branch is computed for all rows and the right one is picked per row, which gives the same values with
/// fewer kernel launches and no data-dependent shapes. Call inside a <see cref="DisposeScope"/>.
/// </summary>
public static class FabProjections
{
    /// <summary>Linf: rows of t [m, d], w [m, d], b [m] → d [m, d].</summary>
    public static Tensor Linf(Tensor t, Tensor w, Tensor b)
    {
        var dim = t.Size(1);
        // Orient each hyperplane so that t lies on its non-negative side.
        var sign = (w * t).Sum(1).Sub(b).Ge(0).To(t.DType).Mul(2).Sub(1);
        w = w * sign.Unsqueeze(1);
        b = b * sign;
        var a = w.Lt(0).To(t.DType);
        var wNonZero = w.Ne(0).To(t.DType);
        var d = (a - t) * wNonZero;
        var p = a - t * (a * 2 - 1);
        var indp = p.Sort(1).Indices;
        b = b - (w * t).Sum(1);
        var b0 = (w * d).Sum(1);
        var indp2 = indp.Flip(1);
        var ws = w.Gather(1, indp2);
        var bs2 = -ws * d.Gather(1, indp2);
        var s = ws.Abs().Cumsum(1);
        var sb = bs2.Cumsum(1) + b0.Unsqueeze(1);
        var sLast = s.Select(1, dim - 1);
        var sbLast = sb.Select(1, dim - 1);
        var b2 = sbLast - sLast * p.Gather(1, indp.Narrow(1, 0, 1)).Squeeze(1);
        var cL = (b - b2).Gt(0);
        var c2 = (b - b0).Gt(0).LogicalAnd((b - b2).Le(0));

        var lb = torch.Zeros([t.Size(0)], t.DType, t.Device);
        var ub = torch.Full([t.Size(0)], dim - 1, t.DType, t.Device);
        for (var k = 0; k < (int)Math.Ceiling(Math.Log2(dim)); k++)
        {
            var mid = (lb + ub).Div(2).Floor();
            var mid2 = mid.Long().Unsqueeze(1);
            var indcurr = indp.Gather(1, mid2.RSub(dim - 1));
            var b3 = sb.Gather(1, mid2) - s.Gather(1, mid2) * p.Gather(1, indcurr);
            var c = (b - b3.Squeeze(1)).Gt(0);
            lb = torch.Where(c, mid, lb);
            ub = torch.Where(c, ub, mid);
        }
        var lbi = lb.Long().Unsqueeze(1);

        // Rows where even moving every coordinate to its box limit does not reach the plane: go all the way.
        var lambdaL = ((b - sbLast) / -sLast).Clamp(min: 0).Unsqueeze(1);
        var dL = (a * 2 - 1) * lambdaL;
        var lambda2 = ((b.Unsqueeze(1) - sb.Gather(1, lbi)) / -s.Gather(1, lbi)).Clamp(min: 0);
        var d2 = lambda2.Minimum(d) * a + (-lambda2).Maximum(d) * (1 - a);
        var result = torch.Where(cL.Unsqueeze(1), dL, torch.Where(c2.Unsqueeze(1), d2, d));
        return result * wNonZero;
    }

    /// <summary>L2: rows of t [m, d], w [m, d], b [m] → d [m, d].</summary>
    public static Tensor L2(Tensor t, Tensor w, Tensor b)
    {
        var dim = t.Size(1);
        var c = (w * t).Sum(1) - b;
        var flip = c.Lt(0);
        w = torch.Where(flip.Unsqueeze(1), -w, w);
        c = torch.Where(flip, -c, c);

        var wSmall = w.Abs().Lt(1e-8);
        var r = (t / w).Maximum((t - 1) / w).Clamp(-1e12, 1e12);
        r = r.MaskedFill(wSmall, 1e12);
        r = r.MaskedFill(r.Eq(-1e12), 1e12);
        var (rs, indr) = r.Sort(1);
        var rs2 = torch.Cat([rs.Narrow(1, 1, dim - 1), torch.Zeros([t.Size(0), 1], t.DType, t.Device)], 1);
        rs = rs.MaskedFill(rs.Eq(1e12), 0);
        rs2 = rs2.MaskedFill(rs2.Eq(1e12), 0);

        var w3s = (w * w).Gather(1, indr);
        var w5 = w3s.Sum(1, keepDim: true);
        var ws = w5 - w3s.Cumsum(1);
        var d = -(r * w) * wSmall.LogicalNot().To(t.DType);
        var rs0 = rs.Narrow(1, 0, 1);
        var s = torch.Cat([-w5 * rs0, ((rs - rs2) * ws).Cumsum(1) - w5 * rs0], 1);

        var c4 = (s.Select(1, 0) + c).Lt(0);
        var c3 = ((d * w).Sum(1) + c).Gt(0);
        var c2 = c4.LogicalNot().LogicalAnd(c3.LogicalNot());

        var lb = torch.Zeros([t.Size(0)], t.DType, t.Device);
        var ub = torch.Full([t.Size(0)], dim - 1, t.DType, t.Device);
        for (var k = 0; k < (int)Math.Ceiling(Math.Log2(dim)); k++)
        {
            var mid = (lb + ub).Div(2).Floor();
            var mid2 = mid.Long().Unsqueeze(1);
            var cc = (s.Gather(1, mid2).Squeeze(1) + c).Gt(0);
            lb = torch.Where(cc, mid, lb);
            ub = torch.Where(cc, ub, mid);
        }
        var lbi = lb.Long().Unsqueeze(1);

        // Rows whose hyperplane is reached before any coordinate hits the box: the plain orthogonal projection.
        var d4 = -(c.Unsqueeze(1) / w5) * w;
        var wsAt = ws.Gather(1, lbi);
        var alpha = (s.Gather(1, lbi) + c.Unsqueeze(1)) / wsAt + rs.Gather(1, lbi);
        alpha = alpha.MaskedFill(wsAt.Eq(0), 0);
        var c5 = alpha.Gt(r).To(t.DType);
        var d2 = d * c5 - alpha * w * (1 - c5);
        var result = torch.Where(c4.Unsqueeze(1), d4, torch.Where(c2.Unsqueeze(1), d2, d));
        return result * wSmall.LogicalNot().To(t.DType);
    }
}
