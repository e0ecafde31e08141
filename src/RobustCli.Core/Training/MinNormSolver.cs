namespace RobustCli.Core.Training;

/// <summary>
/// MGDA's task weights (Sener and Koltun 2018, as LibMTL and GAT's official code solve it): the point of the simplex
/// minimising ‖Σ w_t g_t‖² given the Gram matrix of the task gradients. Two tasks have the closed form
/// w1 = (g2·g2 − g1·g2)/‖g1 − g2‖², set to 0.999 or 0.001 at the ends; more tasks start from the best pair and run
/// the reference's Frank-Wolfe updates (at most 250, stopping when Σ|Δw| &lt; 1e-5). The reference returns nothing
/// when the loop runs out; this returns the last iterate and says so.
/// </summary>
public static class MinNormSolver
{
    public const int MaxIterations = 250;
    public const double StopCriterion = 1e-5;

    public sealed record Solution(double[] Weights, bool Converged, int Iterations);

    /// <summary>The min-norm element of the segment between v1 and v2: (weight of v1, squared norm).</summary>
    public static (double Gamma, double Cost) FromTwo(double v1v1, double v1v2, double v2v2)
    {
        if (v1v2 >= v1v1) return (0.999, v1v1);
        if (v1v2 >= v2v2) return (0.001, v2v2);
        var gamma = -1.0 * ((v1v2 - v2v2) / (v1v1 + v2v2 - 2 * v1v2));
        return (gamma, v2v2 + gamma * (v1v2 - v2v2));
    }

    public static Solution Solve(double[,] gram)
    {
        var n = gram.GetLength(0);
        if (n != gram.GetLength(1)) throw new ArgumentException("the Gram matrix must be square");
        if (n == 1) return new Solution([1.0], true, 0);
        var best = double.PositiveInfinity;
        (int I, int J, double Gamma) pair = (0, 1, 0.5);
        for (var i = 0; i < n; i++)
            for (var j = i + 1; j < n; j++)
            {
                var (c, d) = FromTwo(gram[i, i], gram[i, j], gram[j, j]);
                if (d < best) (best, pair) = (d, (i, j, c));
            }
        var sol = new double[n];
        sol[pair.I] = pair.Gamma;
        sol[pair.J] = 1 - pair.Gamma;
        if (n < 3) return new Solution(sol, true, 0);

        for (var iter = 0; iter < MaxIterations; iter++)
        {
            var gradDir = new double[n];
            for (var i = 0; i < n; i++)
                for (var j = 0; j < n; j++)
                    gradDir[i] -= gram[i, j] * sol[j];
            var next = NextPoint(sol, gradDir);
            double v1v1 = Quad(sol, sol, gram), v1v2 = Quad(sol, next, gram), v2v2 = Quad(next, next, gram);
            var (nc, _) = FromTwo(v1v1, v1v2, v2v2);
            var newSol = new double[n];
            double change = 0;
            for (var i = 0; i < n; i++)
            {
                newSol[i] = nc * sol[i] + (1 - nc) * next[i];
                change += Math.Abs(newSol[i] - sol[i]);
            }
            if (change < StopCriterion) return new Solution(sol, true, iter + 1);
            sol = newSol;
        }
        return new Solution(sol, false, MaxIterations);
    }

    private static double Quad(double[] a, double[] b, double[,] gram)
    {
        double s = 0;
        for (var i = 0; i < a.Length; i++)
            for (var j = 0; j < b.Length; j++)
                s += a[i] * b[j] * gram[i, j];
        return s;
    }

    private static double[] NextPoint(double[] cur, double[] grad)
    {
        var n = cur.Length;
        var mean = grad.Sum() / n;
        var proj = grad.Select(g => g - mean).ToArray();
        var t = 1.0;
        var tm1 = Enumerable.Range(0, n).Where(i => proj[i] < 0).Select(i => -cur[i] / proj[i]).Where(v => v > 1e-7).ToList();
        var tm2 = Enumerable.Range(0, n).Where(i => proj[i] > 0).Select(i => (1 - cur[i]) / proj[i]).Where(v => v > 1e-7).ToList();
        if (tm1.Count > 0) t = tm1.Min();
        if (tm2.Count > 0) t = Math.Min(t, tm2.Min());
        return ProjectToSimplex(proj.Select((p, i) => p * t + cur[i]).ToArray());
    }

    /// <summary>Euclidean projection onto the simplex, as the reference's _projection2simplex.</summary>
    public static double[] ProjectToSimplex(double[] y)
    {
        var m = y.Length;
        var sorted = y.OrderByDescending(v => v).ToArray();
        double tmpsum = 0, tmax = (y.Sum() - 1.0) / m;
        for (var i = 0; i < m - 1; i++)
        {
            tmpsum += sorted[i];
            var candidate = (tmpsum - 1) / (i + 1.0);
            if (candidate > sorted[i + 1])
            {
                tmax = candidate;
                break;
            }
        }
        return y.Select(v => Math.Max(v - tmax, 0)).ToArray();
    }
}
