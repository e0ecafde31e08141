using RobustCli.Core.Registry;
using RobustCli.Torch;
using RobustCli.Torch.nn;

namespace RobustCli.Core.Attacks;

/// <summary>
/// Square Attack (Andriushchenko et al., ECCV 2020), the score-based black-box member of AutoAttack: random search
/// on the margin z_y - max_{j != y} z_j, 5,000 queries, one square window changed per query, whose area is a
/// fraction p of the image that shrinks on the reference schedule (<see cref="PSchedule"/>). A candidate is kept when
/// it lowers the margin or fools the model; a fooled sample stops querying. Linf starts from vertical stripes of
/// ±eps and sets the window to ±2 eps per channel (then projects); L2 starts from a tiling of ±nested-square
/// patterns at radius eps and moves mass between two windows keeping the norm at eps.
/// The reference draws one window position (and, for Linf, one sign vector) per query for the whole batch; here
/// each sample draws its own from its own stream, so a sample's result does not depend on its batch. Each sample's
/// search is distributed as in the reference.
/// </summary>
public sealed class SquareAttack(string name, double eps, Norm norm = Norm.Linf, int queries = 5000, double pInit = 0.8,
    int restarts = 1, bool rescaleSchedule = false) : Attack(name, eps, norm)
{
    public static readonly AttackRegistration Registration = new("square", "Square attack: score-based random search (Andriushchenko et al. 2020)",
        new OptionDeclaration(
        [
            OptionSpec.Int("queries", 5000, "queries per point", min: 1),
            OptionSpec.Double("p_init", 0.8, "initial fraction of pixels changed", min: 0, max: 1, minExclusive: true),
            AttackOptions.Restarts(),
            OptionSpec.Bool("rescale_schedule", false, "stretch the p schedule to the query budget"),
        ]),
        b => new SquareAttack(b.Name, b.Eps, b.Norm, b.Options.Int("queries"), b.Options.Double("p_init"), b.Options.Int("restarts"), b.Options.Bool("rescale_schedule")))
    { HasL2 = true, Examples = ["square", "square-l2"] };

    public int Queries { get; } = queries >= 1 ? queries : throw new ArgumentOutOfRangeException(nameof(queries));
    public double PInit { get; } = pInit;
    public int Restarts { get; } = restarts >= 1 ? restarts : throw new ArgumentOutOfRangeException(nameof(restarts));
    public bool RescaleSchedule { get; } = rescaleSchedule;

    /// <summary>The fraction of the image changed at query <paramref name="it"/> (the reference's p_selection).</summary>
    public static double PSchedule(int it, double pInit, int queries = 10000, bool rescale = false)
    {
        if (rescale) it = (int)(it / (double)queries * 10000);
        return it switch
        {
            <= 10 => pInit,
            <= 50 => pInit / 2,
            <= 200 => pInit / 4,
            <= 500 => pInit / 8,
            <= 1000 => pInit / 16,
            <= 2000 => pInit / 32,
            <= 4000 => pInit / 64,
            <= 6000 => pInit / 128,
            <= 8000 => pInit / 256,
            _ => pInit / 512,
        };
    }

    /// <summary>The side of the square at query <paramref name="it"/> for an image of c×h×w.</summary>
    public int Side(int it, int c, int h, int w)
    {
        var p = PSchedule(it, PInit, Queries, RescaleSchedule);
        var s = (int)Math.Round(Math.Sqrt(p * h * w), MidpointRounding.ToEven);
        if (Norm == Norm.Linf) s = Math.Max(s, 1);
        else
        {
            s = Math.Max(s, 3);
            if (s % 2 == 0) s++;
        }
        return Math.Min(s, Math.Min(h, w));
    }

    protected override Tensor Run(Module model, Tensor x, Tensor y)
    {
        if (x.Dim != 4) throw new ArgumentException($"{Name}: Square needs images [N, C, H, W], got {x.Describe()}");
        // Without sample ids (a direct call), the rows of this batch are the samples.
        var rows = new SampleNoise(Seed, Enumerable.Range(0, (int)x.Size(0)).Select(i => (long)i).ToArray());
        return AttackRemaining(model, x, y, 1, Restarts, false, (xs, ys, _, noise, _, restart) =>
        {
            using var __ = torch.NoGrad();
            var found = Single(model, xs, ys, noise!, restart);
            return (model.Forward(found).Argmax(1).Ne(ys), found);
        }, fallbackNoise: rows);
    }

    private static Tensor Margin(Module model, Tensor x, Tensor y)
    {
        var logits = model.Forward(x);
        var zy = logits.Gather(1, y.Unsqueeze(1)).Squeeze(1);
        var others = logits.Scatter(1, y.Unsqueeze(1), double.NegativeInfinity).Amax(1);
        return zy - others;
    }

    private Tensor Single(Module model, Tensor x, Tensor y, SampleNoise noise, int restart)
    {
        using var scope = DisposeScope.Open();
        var (n, c, h, w) = ((int)x.Size(0), (int)x.Size(1), (int)x.Size(2), (int)x.Size(3));
        var xBest = Norm == Norm.Linf ? StripesStart(x, noise, restart) : TilesStart(x, noise, restart);
        var marginMin = Margin(model, xBest, y);
        for (var it = 0; it < Queries; it++)
        {
            var active = marginMin.Gt(0).Nonzero().Flatten();
            var na = (int)active.NumEl;
            if (na == 0) break;
            var positions = active.ToArray<long>();
            var sub = noise.Subset(positions);
            var xCurr = x.IndexSelect(0, active);
            var xBestCurr = xBest.IndexSelect(0, active);
            var yCurr = y.IndexSelect(0, active);
            var marginCurr = marginMin.IndexSelect(0, active);
            var s = Side(it, c, h, w);
            Tensor xNew;
            if (Norm == Norm.Linf)
            {
                var draws = sub.Doubles(SampleNoise.Stream(30, restart, it), 2 + c);
                var window = WindowIndex(draws, 2 + c, 0, na, s, h, w, c, x.Device);
                var signs = new float[na * c];
                for (var i = 0; i < na; i++)
                    for (var ch = 0; ch < c; ch++) signs[i * c + ch] = draws[i * (2 + c) + 2 + ch] < 0.5 ? (float)(-2 * Eps) : (float)(2 * Eps);
                var values = torch.From<float>(signs, [na, c, 1]).To(x.Device).To(x.DType).Expand(na, c, (long)s * s);
                var delta = torch.ZerosLike(xCurr).View(na, c, h * w).Scatter(2, window, values).View(xCurr.Shape);
                xNew = (xBestCurr + delta).Maximum(xCurr - Eps).Minimum(xCurr + Eps).Clamp_(0, 1);
            }
            else xNew = L2Candidate(xCurr, xBestCurr, sub, restart, it, s);
            var margin = Margin(model, xNew, yCurr);
            // Kept when the margin went down or the point is fooled (the loss is the margin itself here).
            var improved = margin.Lt(marginCurr).LogicalOr(margin.Le(0));
            marginMin = marginMin.IndexPut_(active, torch.Where(improved, margin, marginCurr));
            xBest = xBest.IndexPut_(active, torch.Where(improved.View(-1, 1, 1, 1), xNew, xBestCurr));
            scope.DisposeEverythingBut(xBest, marginMin);
            StepDone(it, Queries);
        }
        return xBest.MoveToOuterScope();
    }

    /// <summary>Flat indices [n, c, s*s] of each sample's s×s window at a random top-left corner in [0, h-s) × [0, w-s).</summary>
    private static Tensor WindowIndex(double[] draws, int stride, int offset, int n, int s, int h, int w, int c, Device device)
    {
        var corners = new long[n * 2];
        for (var i = 0; i < n; i++)
        {
            corners[2 * i] = (long)(draws[i * stride + offset] * (h - s));
            corners[2 * i + 1] = (long)(draws[i * stride + offset + 1] * (w - s));
        }
        var corner = torch.From(corners, [n, 2]).To(device);
        var ar = torch.Arange(s, DType.Int64, device);
        var rows = corner.Narrow(1, 0, 1) + ar.Unsqueeze(0);
        var cols = corner.Narrow(1, 1, 1) + ar.Unsqueeze(0);
        var flat = (rows.Unsqueeze(2) * w + cols.Unsqueeze(1)).Flatten(1);
        return flat.Unsqueeze(1).Expand(n, c, (long)s * s);
    }

    /// <summary>Linf start: vertical stripes, ±eps per image, channel and column.</summary>
    private Tensor StripesStart(Tensor x, SampleNoise noise, int restart)
    {
        var u = noise.Uniform(SampleNoise.Stream(31, restart), [x.Size(1), 1, x.Size(3)], x.Device, x.DType);
        var sign = u.Mul(2).Sub(1).Sign();
        return (x + sign * Eps).Clamp_(0, 1);
    }

    /// <summary>L2 start: s = h/5 tiles, each a ±nested-square pattern per channel, scaled to radius eps.</summary>
    private Tensor TilesStart(Tensor x, SampleNoise noise, int restart)
    {
        var (n, c, h, w) = ((int)x.Size(0), (int)x.Size(1), (int)x.Size(2), (int)x.Size(3));
        var s = h / 5;
        var start = (h - s * 5) / 2;
        var tilesH = h / s;
        var tilesW = w / s;
        var pattern = Eta(s);
        var draws = noise.Doubles(SampleNoise.Stream(32, restart), tilesH * tilesW * (1 + c));
        var stride = tilesH * tilesW * (1 + c);
        var delta = new float[n * c * h * w];
        for (var i = 0; i < n; i++)
            for (int th = 0, tile = 0; th < tilesH; th++)
                for (var tw = 0; tw < tilesW; tw++, tile++)
                {
                    var baseDraw = i * stride + tile * (1 + c);
                    var transpose = draws[baseDraw] > 0.5;
                    for (var ch = 0; ch < c; ch++)
                    {
                        var sign = draws[baseDraw + 1 + ch] < 0.5 ? -1f : 1f;
                        for (var r = 0; r < s; r++)
                            for (var q = 0; q < s; q++)
                            {
                                var (row, col) = (start + th * s + r, start + tw * s + q);
                                if (row >= h || col >= w) continue;
                                delta[((i * c + ch) * h + row) * w + col] += sign * (float)(transpose ? pattern[q * s + r] : pattern[r * s + q]);
                            }
                    }
                }
        var d = torch.From<float>(delta, [n, c, h, w]).To(x.Device).To(x.DType);
        return (x + d / PerSampleNorm(d, 2).Add(1e-12) * Eps).Clamp_(0, 1);
    }

    private Tensor L2Candidate(Tensor xCurr, Tensor xBestCurr, SampleNoise sub, int restart, int it, int s)
    {
        var (na, c, h, w) = ((int)xCurr.Size(0), (int)xCurr.Size(1), (int)xCurr.Size(2), (int)xCurr.Size(3));
        const int stride = 5;
        var draws = sub.Doubles(SampleNoise.Stream(33, restart, it), stride + c);
        var w1 = WindowIndex(draws, stride + c, 0, na, s, h, w, c, xCurr.Device);
        var w2 = WindowIndex(draws, stride + c, 2, na, s, h, w, c, xCurr.Device);
        var delta = (xBestCurr - xCurr).View(na, c, h * w);
        var win1 = delta.Gather(2, w1);
        var normsWindow1 = win1.Square().Sum(2, keepDim: true).Sqrt();
        var normsImage = delta.Flatten(1).Norm(2, [1]).View(na, 1, 1);
        var ones = torch.OnesLike(win1);
        var maskImage = torch.ZerosLike(delta).Scatter(2, w1, ones).Scatter(2, w2, ones);
        var normsWindows = (delta * maskImage).Flatten(1).Norm(2, [1]).View(na, 1, 1);
        var pattern = Eta(s);
        var transposed = new float[na * s * s];
        var signs = new float[na * c];
        for (var i = 0; i < na; i++)
        {
            var t = draws[i * (stride + c) + 4] > 0.5;
            for (var r = 0; r < s; r++)
                for (var q = 0; q < s; q++) transposed[i * s * s + r * s + q] = (float)(t ? pattern[q * s + r] : pattern[r * s + q]);
            for (var ch = 0; ch < c; ch++) signs[i * c + ch] = draws[i * (stride + c) + stride + ch] < 0.5 ? -1f : 1f;
        }
        var eta = torch.From<float>(transposed, [na, 1, s * s]).To(xCurr.Device).To(xCurr.DType);
        var sign = torch.From<float>(signs, [na, c, 1]).To(xCurr.Device).To(xCurr.DType);
        var newDeltas = eta * sign + win1 / (normsWindow1 + 1e-12);
        var budget = ((normsImage.Square().RSub(Eps * Eps)).Clamp(min: 0) / c + normsWindows.Square()).Sqrt();
        newDeltas = newDeltas / (newDeltas.Square().Sum(2, keepDim: true).Sqrt() + 1e-12) * budget;
        var moved = delta.Scatter(2, w2, torch.ZerosLike(win1)).Scatter(2, w1, newDeltas).View(xCurr.Shape);
        return (xCurr + moved / PerSampleNorm(moved, 2).Add(1e-12) * Eps).Clamp_(0, 1);
    }

    /// <summary>The reference's eta(s): nested squares decaying as 1/(k+1)^2, +1 on the top half and -1 on the bottom, unit L2 norm (row-major s×s).</summary>
    public static double[] Eta(int s)
    {
        var top = Rectangles(s / 2, s);
        var bottom = Rectangles(s - s / 2, s);
        var d = new double[s * s];
        for (var r = 0; r < s / 2; r++)
            for (var q = 0; q < s; q++) d[r * s + q] = top[r * s + q];
        for (var r = 0; r < s - s / 2; r++)
            for (var q = 0; q < s; q++) d[(r + s / 2) * s + q] = -bottom[r * s + q];
        Normalise(d);
        return d;
    }

    private static double[] Rectangles(int x, int y)
    {
        var delta = new double[x * y];
        if (x == 0 || y == 0) return delta;
        var (cx, cy) = (x / 2 + 1, y / 2 + 1);
        var (r0, c0) = (cx - 1, cy - 1);
        for (var k = 0; k < Math.Max(cx, cy); k++, r0--, c0--)
            for (var r = Math.Max(r0, 0); r < Math.Min(r0 + 2 * k + 1, x); r++)
                for (var q = Math.Max(c0, 0); q < Math.Min(c0 + 2 * k + 1, y); q++)
                    delta[r * y + q] += 1.0 / ((k + 1) * (k + 1));
        Normalise(delta);
        return delta;
    }

    private static void Normalise(double[] d)
    {
        var norm = Math.Sqrt(d.Sum(v => v * v));
        if (norm > 0) for (var i = 0; i < d.Length; i++) d[i] /= norm;
    }
}
